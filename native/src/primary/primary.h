/* SPDX-License-Identifier: BSD-3-Clause
 *
 * primary.h - the DPDK primary's internals. The primary is split by
 * concern, as DPDK's testpmd is:
 *   primary.c       set-up, mbuf pool, devices (phy, ring, vhost), life cycle
 *   owners.c        who reads and writes which ring side; processes and
 *                   their lcores; reaping processes that died
 *   patch.c         patch forwarding (patch, forward, stop)
 *   plan.c          the bridge lcores' plans, built from all of the above
 *   bridge.c        the bridge lcores, running their plans
 *   primary_info.c  status and counters
 *   mp_server.c     the service thread answering secondaries (common/mp.h)
 * The first part is what the service thread does for secondaries (the
 * callbacks primary.c gives it); the rest is shared by these files only.
 * Calls go one way: primary.c and patch.c use owners.c; all three publish
 * through plan.c, which hands the plans to bridge.c.
 *
 * One writer at a time: every change of the primary's state - from the
 * control thread (the Python main lcore) or from a secondary's request
 * (run on the service thread) - happens under spp_pri.lock. The bridge
 * lcores never take it: they read immutable plans that a change replaces
 * under RCU (bridge.c).
 */
#ifndef SPP_PRIMARY_H
#define SPP_PRIMARY_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "common/common.h"
#include "common/pool.h"
#include "common/shared.h"
#include "common/xsk.h"

/* ------------------------------------------------------------------ */
/* for the service thread (mp_server.c); each takes the state lock     */

/* A secondary starts: it will run the lcores in `lcore_mask` (2 x 64 bits). */
int spp_primary_attach_process(pid_t pid, uint16_t client_id, const uint64_t *lcore_mask);
/* A secondary leaves in order: its ring sides and lcores are free again. */
int spp_primary_detach_process(pid_t pid);
/* Claim (or release) the reading (`consumer`) or writing side of a port or ring. */
int spp_primary_side(pid_t pid, uint16_t client_id, int type, unsigned int id, int consumer,
		     int claim);
/* Free what processes that died without detaching held; returns how many. */
int spp_primary_reap(void);

/* ------------------------------------------------------------------ */
/* internal to the primary's files                                     */

/* patch SRC DST: frames from SRC go to DST while forwarding is on */
struct patch {
	int src_type;
	unsigned int src_id;
	int dst_type;
	unsigned int dst_id;
};

#define MAX_PATCHES (SPP_MAX_PHY + SPP_MAX_VHOST + SPP_MAX_RINGS)

struct patch_table {
	int forwarding;
	unsigned int nb;
	struct patch patch[MAX_PATCHES];   /* at most one per source */
};

/*
 * State more than one of those files uses (defined in primary.c). State
 * only one file uses is static there: the configuration and device
 * placement (primary.c), the baselines of "clear" (primary_info.c). The device and ring tables and the owner records
 * live in the shared memzone (spp_shm, shared.h), written by the same
 * files under the same lock.
 */
struct primary_state {
	pthread_mutex_t lock;            /* see above; pri_lock() */
	/* written once by setup (primary.c), under the lock */
	struct rte_mempool *pool;
	struct pool_fence fence;
	unsigned int pool_size;          /* usable mbufs */
	/* primary.c, under the lock; read by spp_primary_pool_info() without it */
	uint64_t reserved;               /* mbufs the existing devices, rings and lcores can hold */
	/* owners.c (reaping), under the lock; read by spp_primary_pool_info() without it */
	uint64_t lost;                   /* mbufs left in the caches of processes that died */
	/* primary.c (phy port set-up), under the lock; read by primary_info.c under it */
	struct xsk_fds xsk[SPP_MAX_PHY]; /* AF_XDP sockets of each af_xdp phy port */
	/* patch.c, under the lock; read by plan.c under it */
	struct patch_table patches;
};

extern struct primary_state spp_pri;

static inline void
pri_lock(void)
{
	pthread_mutex_lock(&spp_pri.lock);
}

static inline void
pri_unlock(void)
{
	pthread_mutex_unlock(&spp_pri.lock);
}

/* The phy or vhost device (type, id), or NULL if there is none (lock held). */
static inline struct spp_shared_dev *
dev_of(int type, unsigned int id)
{
	if (type == SPP_RES_PHY && id < SPP_MAX_PHY && spp_shm->phy[id].in_use)
		return &spp_shm->phy[id];
	if (type == SPP_RES_VHOST && id < SPP_MAX_VHOST && spp_shm->vhost[id].in_use)
		return &spp_shm->vhost[id];
	return NULL;
}

static inline const char *
res_name(int type)
{
	return type == SPP_RES_PHY ? "phy" : type == SPP_RES_RING ? "ring" : "vhost";
}

/* owners.c - one side of a ring: who reads and who writes (lock held) */

struct side {
	struct spp_owner *owner;
	struct rte_ring *ring;
	int consumer;
	struct spp_shared_dev *dev;   /* bridged device, or NULL for ring:N */
	uint16_t ring_id;             /* ring:N */
	char what[48];
};

/* 1: resolved; 0: nothing to own (a directly polled device); < 0: error */
int side_resolve(int type, unsigned int id, int consumer, struct side *s);
/* `pid` owns the side from now on; a dead previous owner is reaped first. */
int side_claim(struct side *s, pid_t pid, uint16_t client_id);
/* `died`: the owner is gone, maybe half-way through an operation on its side. */
int side_release(struct side *s, pid_t pid, int died);

/* plan.c - the bridge lcores' plans (lock held) */

/* Build and publish the plans of the bridge lcores from the devices, their
 * readers and the patches; before spp_primary_start() it does nothing. */
int plan_publish(const struct primary_state *pri);

#endif /* SPP_PRIMARY_H */
