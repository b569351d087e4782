/* SPDX-License-Identifier: BSD-3-Clause
 *
 * vlan.h - the add_vlantag / del_vlantag port options, applied to a burst
 * right after rx or right before tx.
 *
 * A frame is never rewritten while another port still holds it (a
 * classifier floods broadcast by sharing one mbuf between its tx ports):
 * such a frame is first replaced by a private copy. When no copy can be
 * made (the pool is empty) or the frame cannot carry the operation, it is
 * dropped and counted, never sent unchanged: a frame leaves with the tag
 * its port asks for or not at all.
 */
#ifndef SPP_VLAN_H
#define SPP_VLAN_H

#include <string.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "common/common.h"

enum spp_vlan_result {
	SPP_VLAN_DONE = 0,
	SPP_VLAN_NOMEM,     /* no private copy could be made: drop_nomem */
	SPP_VLAN_BAD_FRAME, /* too short for its own header: drop_bad_frame */
};

static inline int
spp_is_vlan_tpid(uint16_t ether_type_be)
{
	return ether_type_be == RTE_BE16(RTE_ETHER_TYPE_VLAN) ||
	       ether_type_be == RTE_BE16(RTE_ETHER_TYPE_QINQ);
}

/* A private copy with fresh headroom; the caller still owns `m`. */
static inline struct rte_mbuf *
spp_vlan_copy(const struct rte_mbuf *m)
{
	return rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
}

/* *mp made writable: itself when nobody else holds it, else a private copy. */
static inline int
spp_vlan_unshare(struct rte_mbuf **mp)
{
	struct rte_mbuf *copy;

	if (likely(rte_mbuf_refcnt_read(*mp) == 1 && RTE_MBUF_DIRECT(*mp)))
		return SPP_VLAN_DONE;
	copy = spp_vlan_copy(*mp);
	if (unlikely(copy == NULL))
		return SPP_VLAN_NOMEM;
	rte_pktmbuf_free(*mp);  /* our reference to the shared frame */
	*mp = copy;
	return SPP_VLAN_DONE;
}

/* Push an 802.1Q tag, or rewrite the outer one. */
static inline int
spp_vlan_push(struct rte_mbuf **mp, uint16_t tci)
{
	struct rte_ether_hdr *eth;
	struct rte_vlan_hdr *vh;
	int ret;

	if (unlikely(rte_pktmbuf_data_len(*mp) < RTE_ETHER_HDR_LEN))
		return SPP_VLAN_BAD_FRAME;
	eth = rte_pktmbuf_mtod(*mp, struct rte_ether_hdr *);
	if (spp_is_vlan_tpid(eth->ether_type)) {
		if (unlikely(rte_pktmbuf_data_len(*mp) < RTE_ETHER_HDR_LEN + sizeof(*vh)))
			return SPP_VLAN_BAD_FRAME;
		ret = spp_vlan_unshare(mp);
		if (unlikely(ret != SPP_VLAN_DONE))
			return ret;
		eth = rte_pktmbuf_mtod(*mp, struct rte_ether_hdr *);
		vh = (struct rte_vlan_hdr *)(eth + 1);
		vh->vlan_tci = rte_cpu_to_be_16(tci);
		return SPP_VLAN_DONE;
	}
	ret = spp_vlan_unshare(mp);
	if (unlikely(ret != SPP_VLAN_DONE))
		return ret;
	if (unlikely(rte_pktmbuf_headroom(*mp) < sizeof(*vh))) {
		struct rte_mbuf *copy = spp_vlan_copy(*mp);

		if (unlikely(copy == NULL))
			return SPP_VLAN_NOMEM;
		rte_pktmbuf_free(*mp);
		*mp = copy;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(*mp, sizeof(*vh));
	if (unlikely(eth == NULL))  /* cannot happen: headroom checked above */
		return SPP_VLAN_BAD_FRAME;
	memmove(eth, (uint8_t *)eth + sizeof(*vh), 2 * RTE_ETHER_ADDR_LEN);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
	vh = (struct rte_vlan_hdr *)(eth + 1);
	vh->vlan_tci = rte_cpu_to_be_16(tci);
	return SPP_VLAN_DONE;
}

/* Strip the outer tag if there is one; an untagged frame passes unchanged. */
static inline int
spp_vlan_pop(struct rte_mbuf **mp)
{
	struct rte_ether_hdr *eth;
	uint8_t *p;
	int ret;

	if (unlikely(rte_pktmbuf_data_len(*mp) < RTE_ETHER_HDR_LEN))
		return SPP_VLAN_BAD_FRAME;
	eth = rte_pktmbuf_mtod(*mp, struct rte_ether_hdr *);
	if (!spp_is_vlan_tpid(eth->ether_type))
		return SPP_VLAN_DONE;
	if (unlikely(rte_pktmbuf_data_len(*mp) < RTE_ETHER_HDR_LEN + sizeof(struct rte_vlan_hdr)))
		return SPP_VLAN_BAD_FRAME;
	ret = spp_vlan_unshare(mp);
	if (unlikely(ret != SPP_VLAN_DONE))
		return ret;
	p = rte_pktmbuf_mtod(*mp, uint8_t *);
	memmove(p + sizeof(struct rte_vlan_hdr), p, 2 * RTE_ETHER_ADDR_LEN);
	rte_pktmbuf_adj(*mp, sizeof(struct rte_vlan_hdr));
	return SPP_VLAN_DONE;
}

/*
 * Apply a port's VLAN operation to a burst. Frames that cannot carry it
 * are freed and counted in `ctr`; the others are compacted to the front.
 * Returns how many remain.
 */
static inline uint16_t
spp_vlan_apply(struct rte_mbuf **pkts, uint16_t n, const struct spp_comp_port *cp,
	       struct spp_comp_counters *ctr)
{
	uint16_t tci = (uint16_t)((cp->vlan_pcp & 0x7) << 13 | (cp->vlan_id & 0xfff));
	uint16_t i, kept = 0;

	for (i = 0; i < n; i++) {
		int ret = cp->vlan_op == SPP_VLAN_ADD ? spp_vlan_push(&pkts[i], tci)
						       : spp_vlan_pop(&pkts[i]);

		if (likely(ret == SPP_VLAN_DONE)) {
			pkts[kept++] = pkts[i];
			continue;
		}
		rte_pktmbuf_free(pkts[i]);
		if (ret == SPP_VLAN_NOMEM)
			ctr->drop_nomem++;
		else
			ctr->drop_bad_frame++;
	}
	return kept;
}

#endif /* SPP_VLAN_H */
