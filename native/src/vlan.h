/* SPDX-License-Identifier: BSD-3-Clause
 *
 * vlan.h - the add_vlantag / del_vlantag port options, applied in place to
 * a burst right after rx or right before tx.
 */
#ifndef SPP_VLAN_H
#define SPP_VLAN_H

#include <string.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "common.h"

static inline int
spp_is_vlan_tpid(uint16_t ether_type_be)
{
	return ether_type_be == RTE_BE16(RTE_ETHER_TYPE_VLAN) ||
	       ether_type_be == RTE_BE16(RTE_ETHER_TYPE_QINQ);
}

/* Push an 802.1Q tag, or rewrite the outer one; 0 or -1 if not possible. */
static inline int
spp_vlan_push(struct rte_mbuf *m, uint16_t tci)
{
	struct rte_ether_hdr *eth;
	struct rte_vlan_hdr *vh;

	if (unlikely(rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN))
		return -1;
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (spp_is_vlan_tpid(eth->ether_type)) {
		if (unlikely(rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN + sizeof(*vh)))
			return -1;
		vh = (struct rte_vlan_hdr *)(eth + 1);
		vh->vlan_tci = rte_cpu_to_be_16(tci);
		return 0;
	}
	if (unlikely(rte_mbuf_refcnt_read(m) != 1 || !RTE_MBUF_DIRECT(m)))
		return -1;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*vh));
	if (unlikely(eth == NULL))
		return -1;
	memmove(eth, (uint8_t *)eth + sizeof(*vh), 2 * RTE_ETHER_ADDR_LEN);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
	vh = (struct rte_vlan_hdr *)(eth + 1);
	vh->vlan_tci = rte_cpu_to_be_16(tci);
	return 0;
}

/* Strip the outer tag if there is one. */
static inline void
spp_vlan_pop(struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth;
	uint8_t *p;

	if (unlikely(rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN + sizeof(struct rte_vlan_hdr)))
		return;
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (!spp_is_vlan_tpid(eth->ether_type))
		return;
	if (unlikely(rte_mbuf_refcnt_read(m) != 1 || !RTE_MBUF_DIRECT(m)))
		return;
	p = (uint8_t *)eth;
	memmove(p + sizeof(struct rte_vlan_hdr), p, 2 * RTE_ETHER_ADDR_LEN);
	rte_pktmbuf_adj(m, sizeof(struct rte_vlan_hdr));
}

/*
 * A frame that other ports still hold (a classifier floods broadcast by
 * sharing one mbuf between its tx rings) must not be rewritten in place:
 * this port gets its own copy. Out of mbufs: the shared frame, unchanged.
 */
static inline struct rte_mbuf *
spp_vlan_unshare(struct rte_mbuf *m)
{
	struct rte_mbuf *copy;

	if (likely(rte_mbuf_refcnt_read(m) == 1 && RTE_MBUF_DIRECT(m)))
		return m;
	copy = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
	if (unlikely(copy == NULL))
		return m;
	rte_pktmbuf_free(m);
	return copy;
}

static inline void
spp_vlan_apply(struct rte_mbuf **pkts, uint16_t n, const struct spp_comp_port *cp)
{
	uint16_t tci = (uint16_t)((cp->vlan_pcp & 0x7) << 13 | (cp->vlan_id & 0xfff));
	uint16_t i;

	if (cp->vlan_op == SPP_VLAN_ADD) {
		for (i = 0; i < n; i++) {
			pkts[i] = spp_vlan_unshare(pkts[i]);
			spp_vlan_push(pkts[i], tci);
		}
	} else if (cp->vlan_op == SPP_VLAN_DEL) {
		for (i = 0; i < n; i++) {
			pkts[i] = spp_vlan_unshare(pkts[i]);
			spp_vlan_pop(pkts[i]);
		}
	}
}

#endif /* SPP_VLAN_H */
