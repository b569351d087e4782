/* SPDX-License-Identifier: BSD-3-Clause
 *
 * shared.h - the memzone the primary publishes for every secondary.
 *
 * It lives in hugepage memory mapped at the same virtual address in all
 * processes of the file prefix, so it may hold rte_ring pointers. Only the
 * primary writes the device and ring tables and the owner records, under
 * its state lock (secondaries ask it over rte_mp); counters are written by
 * exactly one lcore each (bridge counters by the primary lcore running the
 * lane, ring counters per lcore id), so no atomics are needed on the hot
 * path and readers sum per-lcore rows.
 *
 * Ownership: every side of a ring a secondary touches (the reader of a
 * bridged device's rx ring, the writer of its tx ring, the reader and the
 * writer of ring:N) belongs to at most one process at a time. A process may
 * use its side from several of its lcores (the ring is multi-producer or
 * multi-consumer for that), but two processes never share a side. So when
 * a process dies half-way through an enqueue or dequeue, nobody else is
 * waiting on that side: the primary rolls its head back to its tail and
 * the ring works again for the next owner (see ring_side_rollback()).
 */
#ifndef SPP_SHARED_H
#define SPP_SHARED_H

#include <stdint.h>
#include <sys/types.h>
#include <rte_ether.h>
#include <rte_ring.h>

#include "common/common.h"

#define SPP_SHARED_MZ "spp_shared"
#define SPP_SHARED_MAGIC 0x53505058u /* "SPPX" */
#define SPP_SHARED_VERSION 2

/* Written by the lcore running the device's rx lane (first line) and by the
 * lcore running its tx lanes (second line): one writer per line. */
struct spp_bridge_counters {
	uint64_t rx;            /* frames taken from the device */
	uint64_t rx_drop;       /* taken but not deliverable: ring full, no reader */
	uint64_t rx_no_reader;  /* part of rx_drop: no process reads the port */
	uint64_t tx __rte_cache_aligned;  /* frames the device accepted */
	uint64_t tx_drop;       /* refused by the device and dropped (device -> device patch) */
} __rte_cache_aligned;

/* who holds one side of a ring; pid 0: nobody */
struct spp_owner {
	pid_t pid;
	uint16_t client_id;     /* spp_vf client id; 0 for the primary itself */
};

/* a device owned by the primary: phy:N (af_xdp, PCI) or vhost:N */
struct spp_shared_dev {
	uint8_t in_use;
	uint8_t kind;          /* SPP_DEV_BRIDGED / SPP_DEV_DIRECT */
	uint16_t ethdev_id;
	uint16_t nb_queues;
	uint8_t vhost_client;
	uint16_t lcore;        /* primary lcore bridging it (UINT16_MAX: none yet) */
	char name[SPP_NAMESIZE];
	char driver[SPP_NAMESIZE];
	struct rte_ether_addr mac;
	struct rte_ring *rx_ring;  /* device -> its reader (bridged only) */
	struct rte_ring *tx_ring;  /* its writer -> device (bridged only) */
	struct spp_owner reader;   /* consumer of rx_ring */
	struct spp_owner writer;   /* producer of tx_ring */
	uint64_t drained;          /* frames freed from its rings when a side was released */
	struct spp_bridge_counters ctr;
};

struct spp_ring_counters {
	uint64_t enq;
	uint64_t enq_drop;
	uint64_t deq;
} __rte_cache_aligned;

/*
 * Who polls rx queue q of a directly polled phy:N (queue_claim.c). pid is
 * taken with a compare-and-swap, so two processes cannot both win; the
 * owner text only explains a refusal.
 */
struct spp_queue_claim {
	int32_t pid;                     /* 0: free */
	char owner[SPP_NAMESIZE];
};

struct spp_shared {
	uint32_t magic;
	uint32_t version;
	uint16_t nb_phy;
	uint16_t nb_rings;
	pid_t primary_pid;
	pid_t lcore_owner[SPP_MAX_LCORES];  /* which process runs lcore id i */
	struct spp_shared_dev phy[SPP_MAX_PHY];
	struct spp_shared_dev vhost[SPP_MAX_VHOST];
	struct rte_ring *ring[SPP_MAX_RINGS];
	struct spp_owner ring_reader[SPP_MAX_RINGS];
	struct spp_owner ring_writer[SPP_MAX_RINGS];
	uint64_t ring_drained[SPP_MAX_RINGS];
	struct spp_ring_counters ring_ctr[SPP_MAX_RINGS][SPP_MAX_LCORES];
	struct spp_queue_claim rx_claim[SPP_MAX_PHY][SPP_MAX_DEV_QUEUES];
};

/* the mapping in this process; NULL until created or attached */
extern struct spp_shared *spp_shm;

int spp_shared_create(void);
int spp_shared_attach(void);
int spp_pid_alive(pid_t pid);
int spp_queue_claim(unsigned int phy, unsigned int queue, const char *owner);
int spp_queue_release(unsigned int phy, unsigned int queue, const char *owner);

static inline void
spp_ring_count_enq(uint16_t ring, unsigned int lcore, uint16_t done, uint16_t dropped)
{
	struct spp_ring_counters *c = &spp_shm->ring_ctr[ring][lcore];

	c->enq += done;
	c->enq_drop += dropped;
}

static inline void
spp_ring_count_deq(uint16_t ring, unsigned int lcore, uint16_t done)
{
	spp_shm->ring_ctr[ring][lcore].deq += done;
}

#endif /* SPP_SHARED_H */
