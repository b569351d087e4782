/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pool.h - the primary's one mbuf pool: how many mbufs each thing that can
 * hold them needs, and creating the pool so that the af_xdp PMD can use
 * every mbuf in it.
 */
#ifndef SPP_POOL_H
#define SPP_POOL_H

#include <stdint.h>
#include <rte_mempool.h>

/* mbufs a device can hold at most, ring pair included when it is bridged */
unsigned int pool_need_dev(const char *driver, uint16_t nb_queues, uint16_t nb_rxd,
			   uint16_t nb_txd, int bridged, unsigned int bridge_ring_size);
/* mbufs a ring can hold */
unsigned int pool_need_ring(unsigned int size);
/* mbufs the lcores of all SPP processes keep in caches or hold in bursts */
unsigned int pool_need_lcores(unsigned int nb_lcores);

struct pool_fence {
	unsigned int outside;  /* mbufs withdrawn: they lie outside the PMD's UMEM */
	void **objs;
};

/* Create the pool; with `afxdp`, withdraw the mbufs an af_xdp UMEM would miss. */
struct rte_mempool *pool_create(unsigned int nb_mbufs, int afxdp, struct pool_fence *fence);

#endif /* SPP_POOL_H */
