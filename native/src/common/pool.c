/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pool.c - size and create the primary's mbuf pool.
 *
 * Sizing follows l2fwd: the pool holds at least what every place that can
 * keep mbufs may keep at once - device descriptor rings, the af_xdp PMD's
 * fill and completion rings, the bridge ring pairs, ring:N, and the caches
 * and bursts of the lcores of all SPP processes - so no reader falling
 * behind, and no port nobody reads, can starve another port.
 *
 * The UMEM fence. DPDK 22.11's af_xdp PMD (rte_eth_af_xdp.c,
 * xdp_umem_configure) registers as UMEM the bytes from the page holding
 * the pool's first memory chunk, populated_size * object size long. But
 * the mempool never splits an object across two hugepages: it leaves the
 * tail of each page unused, so the pool spans more than populated_size *
 * object size, and the last objects lie beyond the UMEM. The kernel
 * refuses their descriptors (tx_invalid_descs; fill-ring entries are
 * skipped), so a frame in such an mbuf - any mbuf this process allocates,
 * e.g. a private copy for a VLAN rewrite - is counted as sent and never
 * leaves, and the mbuf is never completed. (With 32k mbufs of 2368 bytes,
 * 37 page tails hold 23 objects: the 22-23 frames lost per primary
 * lifetime.) DPDK 24.07 maps the pool's real memory range instead
 * (commit 97039941b2, "net/af_xdp: parse UMEM map info from mempool").
 * Here the pool withdraws, once at creation, every mbuf the PMD's range
 * does not cover, so none of them ever carries a frame.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "common/common.h"
#include "common/pool.h"

/* the af_xdp PMD (22.11): fill ring pre-filled with this many mbufs per queue,
 * completion ring of this size; its tx ring has the rx queue's descriptor count */
#define AFXDP_FILL_DESCS 2048
#define AFXDP_COMP_DESCS 2048
/* what one lcore holds between taking a burst and passing it on: the burst,
 * private copies for VLAN rewrites, and slack */
#define LCORE_INFLIGHT (4 * SPP_BURST)

unsigned int
pool_need_dev(const char *driver, uint16_t nb_queues, uint16_t nb_rxd, uint16_t nb_txd,
	      int bridged, unsigned int bridge_ring_size)
{
	unsigned int per_queue;

	if (strcmp(driver, "net_af_xdp") == 0)
		per_queue = AFXDP_FILL_DESCS + nb_rxd + AFXDP_COMP_DESCS;
	else if (strcmp(driver, "net_vhost") == 0)
		per_queue = 0;  /* copies into and out of the guest: holds nothing */
	else
		per_queue = nb_rxd + nb_txd;
	return nb_queues * per_queue + (bridged ? 2 * bridge_ring_size : 0);
}

unsigned int
pool_need_ring(unsigned int size)
{
	return size;
}

unsigned int
pool_need_lcores(unsigned int nb_lcores)
{
	/* a cache grows to 1.5 x its size before it flushes */
	return nb_lcores * (SPP_POOL_CACHE + SPP_POOL_CACHE / 2 + LCORE_INFLIGHT);
}

/* What DPDK 22.11's af_xdp PMD registers as UMEM for this pool. */
static void
afxdp_umem_range(const struct rte_mempool *mp, uintptr_t *lo, uintptr_t *hi)
{
	const struct rte_mempool_memhdr *memhdr = STAILQ_FIRST(&mp->mem_list);
	uintptr_t addr = (uintptr_t)memhdr->addr;
	uint64_t obj_size = rte_mempool_calc_obj_size(mp->elt_size, mp->flags, NULL);

	*lo = addr & ~((uintptr_t)getpagesize() - 1);
	*hi = *lo + (uint64_t)mp->populated_size * obj_size + (addr - *lo);
}

static int
outside_umem(const struct rte_mempool *mp, const void *obj, uintptr_t lo, uintptr_t hi)
{
	uintptr_t start = (uintptr_t)obj - mp->header_size;

	return start < lo || start + mp->header_size + mp->elt_size + mp->trailer_size > hi;
}

struct fence_count {
	uintptr_t lo, hi;
	unsigned int outside;
};

static void
count_outside(struct rte_mempool *mp, void *arg, void *obj, __rte_unused unsigned int idx)
{
	struct fence_count *c = arg;

	c->outside += outside_umem(mp, obj, c->lo, c->hi);
}

/* Take every object out, keep those outside the UMEM, put the rest back. */
static int
withdraw_outside(struct rte_mempool *mp, uintptr_t lo, uintptr_t hi, struct pool_fence *fence)
{
	unsigned int total = mp->populated_size, got = 0, i, kept = 0, chunk = 256;
	void **all = calloc(total, sizeof(*all));

	fence->objs = calloc(fence->outside, sizeof(*fence->objs));
	if (all == NULL || fence->objs == NULL) {
		free(all);
		return -ENOMEM;
	}
	while (got < total && chunk > 0) {
		unsigned int n = RTE_MIN(chunk, total - got);

		if (rte_mempool_generic_get(mp, &all[got], n, NULL) == 0)
			got += n;
		else
			chunk /= 2;
	}
	for (i = 0; i < got; i++) {
		if (kept < fence->outside && outside_umem(mp, all[i], lo, hi))
			fence->objs[kept++] = all[i];
		else
			rte_mempool_generic_put(mp, &all[i], 1, NULL);
	}
	free(all);
	fence->outside = kept;
	return 0;
}

struct rte_mempool *
pool_create(unsigned int nb_mbufs, int afxdp, struct pool_fence *fence)
{
	struct rte_mempool *mp;
	struct fence_count c = { 0 };

	memset(fence, 0, sizeof(*fence));
	mp = rte_pktmbuf_pool_create(SPP_POOL_NAME, nb_mbufs, SPP_POOL_CACHE, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (mp == NULL) {
		spp_fail(rte_errno, "cannot create mbuf pool of %u mbufs: %s", nb_mbufs,
			 rte_strerror(rte_errno));
		return NULL;
	}
	if (!afxdp)
		return mp;
	afxdp_umem_range(mp, &c.lo, &c.hi);
	rte_mempool_obj_iter(mp, count_outside, &c);
	if (c.outside == 0)
		return mp;
	fence->outside = c.outside;
	if (withdraw_outside(mp, c.lo, c.hi, fence) != 0) {
		rte_mempool_free(mp);
		spp_fail(ENOMEM, "out of memory fencing the mbuf pool");
		return NULL;
	}
	SPP_LOG(INFO, "mbuf pool: %u of %u mbufs lie outside the af_xdp UMEM; withdrawn",
		fence->outside, mp->populated_size);
	return mp;
}
