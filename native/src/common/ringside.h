/* SPDX-License-Identifier: BSD-3-Clause
 *
 * ringside.h - what the primary does to one side of a ring whose owner
 * left or died: roll back a half-done operation, and free what is queued.
 *
 * An enqueue or dequeue moves the side's head first, copies, then moves
 * its tail. A thread killed in between leaves head != tail, and the next
 * user of that side (multi-producer/consumer or HTS) waits forever for
 * the tail to catch up. Because a side belongs to one process at a time
 * (shared.h), the primary can put the head back where the tail is once
 * that process is gone: the other side never reads this side's head.
 * For a consumer nothing is lost (the dead thread had not used what it
 * had copied out before its tail moved); for a producer the slots it had
 * reserved were never published, and the mbufs it held die with it.
 */
#ifndef SPP_RINGSIDE_H
#define SPP_RINGSIDE_H

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "common/common.h"

/* Only when no live thread uses this side. Returns how many slots it undid. */
static inline uint32_t
ring_side_rollback(struct rte_ring *r, int consumer)
{
	struct rte_ring_headtail *ht = consumer ? &r->cons : &r->prod;
	uint32_t undone;

	if (ht->sync_type == RTE_RING_SYNC_MT_HTS) {
		struct rte_ring_hts_headtail *hts = consumer ? &r->hts_cons : &r->hts_prod;
		union __rte_ring_hts_pos p;

		p.raw = __atomic_load_n(&hts->ht.raw, __ATOMIC_ACQUIRE);
		undone = p.pos.head - p.pos.tail;
		p.pos.head = p.pos.tail;
		__atomic_store_n(&hts->ht.raw, p.raw, __ATOMIC_RELEASE);
		return undone;
	}
	/* single or classic multi-thread sync (SPP creates no RTS rings) */
	undone = ht->head - ht->tail;
	__atomic_store_n(&ht->head, ht->tail, __ATOMIC_RELEASE);
	return undone;
}

/* Free every frame queued; the caller is the ring's only consumer now. */
static inline uint64_t
ring_drain(struct rte_ring *r)
{
	struct rte_mbuf *pkts[SPP_BURST];
	uint64_t total = 0;
	unsigned int n;

	while ((n = rte_ring_dequeue_burst(r, (void **)pkts, SPP_BURST, NULL)) != 0) {
		rte_pktmbuf_free_bulk(pkts, n);
		total += n;
	}
	return total;
}

#endif /* SPP_RINGSIDE_H */
