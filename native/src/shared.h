/* SPDX-License-Identifier: BSD-3-Clause
 *
 * shared.h - the memzone the primary publishes for every secondary.
 *
 * It lives in hugepage memory mapped at the same virtual address in all
 * processes of the file prefix, so it may hold rte_ring pointers. The
 * primary writes the device and ring tables under its control thread;
 * counters are written by exactly one lcore each (bridge counters by the
 * primary's worker, ring counters per lcore id), so no atomics are needed
 * on the hot path and readers sum per-lcore rows.
 */
#ifndef SPP_SHARED_H
#define SPP_SHARED_H

#include <stdint.h>
#include <sys/types.h>
#include <rte_ether.h>
#include <rte_ring.h>

#include "common.h"

#define SPP_SHARED_MZ "spp_shared"
#define SPP_SHARED_MAGIC 0x53505058u /* "SPPX" */
#define SPP_SHARED_VERSION 1

struct spp_bridge_counters {
	uint64_t rx;
	uint64_t rx_drop;
	uint64_t tx;
	uint64_t tx_drop;
} __rte_cache_aligned;

/* a device owned by the primary: phy:N (af_xdp, PCI) or vhost:N */
struct spp_shared_dev {
	uint8_t in_use;
	uint8_t kind;          /* SPP_DEV_BRIDGED / SPP_DEV_DIRECT */
	uint16_t ethdev_id;
	uint16_t nb_queues;
	uint8_t vhost_client;
	char name[SPP_NAMESIZE];
	char driver[SPP_NAMESIZE];
	struct rte_ether_addr mac;
	struct rte_ring *rx_ring;  /* device -> secondaries (bridged only) */
	struct rte_ring *tx_ring;  /* secondaries -> device (bridged only) */
	struct spp_bridge_counters ctr;
};

struct spp_ring_counters {
	uint64_t enq;
	uint64_t enq_drop;
	uint64_t deq;
} __rte_cache_aligned;

/*
 * Who polls rx queue q of a directly polled phy:N (claim.c). pid is taken
 * with a compare-and-swap, so two processes cannot both win; the owner
 * text only explains a refusal.
 */
#define SPP_MAX_DEV_QUEUES 16

struct spp_queue_claim {
	int32_t pid;                     /* 0: free */
	char owner[SPP_NAMESIZE];
};

struct spp_shared {
	uint32_t magic;
	uint32_t version;
	uint16_t nb_phy;
	uint16_t nb_rings;
	pid_t lcore_owner[SPP_MAX_LCORES];  /* which process runs lcore id i */
	struct spp_shared_dev phy[SPP_MAX_PHY];
	struct spp_shared_dev vhost[SPP_MAX_VHOST];
	struct rte_ring *ring[SPP_MAX_RINGS];
	struct spp_ring_counters ring_ctr[SPP_MAX_RINGS][SPP_MAX_LCORES];
	struct spp_queue_claim rx_claim[SPP_MAX_PHY][SPP_MAX_DEV_QUEUES];
};

/* the mapping in this process; NULL until created or attached */
extern struct spp_shared *spp_shm;

int spp_shared_create(void);
int spp_shared_attach(void);
int spp_lcores_claim(void);
void spp_lcores_release(void);
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
