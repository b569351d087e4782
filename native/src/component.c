/* SPDX-License-Identifier: BSD-3-Clause
 *
 * component.c - the three spp_vf roles as burst functions. Each takes one
 * burst from its rx port(s), moves it, and accounts for every frame:
 * forwarded (tx), or dropped for a named reason. A port's VLAN operation
 * is applied here, on the way in and on the way out, so that a frame that
 * cannot carry it is counted against the component that dropped it.
 */
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "vf.h"

/* A burst from an rx port, its VLAN operation applied; st->ctr.rx counts what was taken. */
static inline uint16_t
port_rx(const struct spp_comp_port *rx, struct rte_mbuf **pkts, struct comp_state *st,
	unsigned int lcore)
{
	uint16_t n = vf_port_rx(rx, pkts, SPP_BURST, lcore);

	if (n == 0)
		return 0;
	st->ctr.rx += n;
	if (rx->vlan_op != SPP_VLAN_NONE)
		n = spp_vlan_apply(pkts, n, rx, &st->ctr);
	return n;
}

static inline void
send_or_drop(const struct spp_comp_port *tx, struct rte_mbuf **pkts, uint16_t n,
	     struct comp_state *st, unsigned int lcore)
{
	uint16_t sent;

	if (tx->vlan_op != SPP_VLAN_NONE) {
		n = spp_vlan_apply(pkts, n, tx, &st->ctr);
		if (n == 0)
			return;
	}
	sent = vf_port_tx(tx, pkts, n, lcore);
	st->ctr.tx += sent;
	if (unlikely(sent < n)) {
		st->ctr.drop_tx_full += n - sent;
		rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
	}
}

static unsigned int
run_forward(const struct comp_conf *c, struct comp_state *st, unsigned int lcore)
{
	struct rte_mbuf *pkts[SPP_BURST];
	uint64_t before = st->ctr.rx;
	uint16_t n = port_rx(&c->rx[0], pkts, st, lcore);

	if (n != 0)
		send_or_drop(&c->tx[0], pkts, n, st, lcore);
	return (unsigned int)(st->ctr.rx - before);
}

/* N:1 - every rx port gets one burst per round, starting one further each round */
static unsigned int
run_merge(const struct comp_conf *c, struct comp_state *st, unsigned int lcore)
{
	struct rte_mbuf *pkts[SPP_BURST];
	uint64_t before = st->ctr.rx;
	uint16_t first = st->rr;
	unsigned int i;

	st->rr = (uint16_t)((first + 1) % c->nb_rx);
	for (i = 0; i < c->nb_rx; i++) {
		uint16_t n = port_rx(&c->rx[(first + i) % c->nb_rx], pkts, st, lcore);

		if (n != 0)
			send_or_drop(&c->tx[0], pkts, n, st, lcore);
	}
	return (unsigned int)(st->ctr.rx - before);
}

struct cls_stage {
	uint16_t n[SPP_MAX_COMP_PORTS];
	struct rte_mbuf *pkts[SPP_MAX_COMP_PORTS][SPP_BURST];
};

static inline void
stage(struct cls_stage *s, uint16_t tx, struct rte_mbuf *m)
{
	s->pkts[tx][s->n[tx]++] = m;
}

/*
 * Give a frame to every port of `ports` by sharing it (one refcount
 * update); a port that rewrites VLAN tags takes a private copy itself
 * (spp_vlan_apply), so shared data is never modified.
 */
static inline void
give(struct cls_stage *s, struct rte_mbuf *m, uint32_t ports)
{
	if (ports & (ports - 1))
		rte_mbuf_refcnt_update(m, (int16_t)(__builtin_popcount(ports) - 1));
	while (ports) {
		stage(s, (uint16_t)__builtin_ctz(ports), m);
		ports &= ports - 1;
	}
}

static inline void
drop(struct rte_mbuf *m, uint64_t *reason)
{
	(*reason)++;
	rte_pktmbuf_free(m);
}

static unsigned int
run_classifier(const struct comp_conf *c, struct comp_state *st, unsigned int lcore)
{
	const struct cls_table *t = c->table;
	struct rte_mbuf *pkts[SPP_BURST];
	uint64_t before = st->ctr.rx;
	struct cls_stage s;
	uint16_t i, n, tx;

	n = port_rx(&c->rx[0], pkts, st, lcore);
	if (n == 0)
		return (unsigned int)(st->ctr.rx - before);
	memset(s.n, 0, sizeof(s.n[0]) * c->nb_tx);

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *eth;
		uint32_t ports = 0;
		uint16_t vid = 0;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		if (unlikely(rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN)) {
			drop(m, &st->ctr.drop_bad_frame);
			continue;
		}
		eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		if (spp_is_vlan_tpid(eth->ether_type)) {
			const struct rte_vlan_hdr *vh = (const void *)(eth + 1);

			if (unlikely(rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN + sizeof(*vh))) {
				drop(m, &st->ctr.drop_bad_frame);
				continue;
			}
			/* VID 0 (priority tag only) belongs to the untagged VLAN */
			vid = rte_be_to_cpu_16(vh->vlan_tci) & 0xfff;
		}
		if (unlikely(t == NULL)) {
			drop(m, &st->ctr.drop_no_entry);
			continue;
		}
		switch (cls_decide(t, vid, &eth->dst_addr, &ports)) {
		case SPP_CLS_HIT:
			st->ctr.hit++;
			break;
		case SPP_CLS_FLOOD:
			st->ctr.flood++;
			break;
		case SPP_CLS_DEFAULT:
			st->ctr.to_default++;
			break;
		default:
			drop(m, &st->ctr.drop_no_entry);
			continue;
		}
		give(&s, m, ports);
	}

	for (tx = 0; tx < c->nb_tx; tx++)
		if (s.n[tx] != 0)
			send_or_drop(&c->tx[tx], s.pkts[tx], s.n[tx], st, lcore);
	return (unsigned int)(st->ctr.rx - before);
}

unsigned int
comp_run(const struct comp_conf *conf, struct comp_state *st, unsigned int lcore)
{
	switch (conf->type) {
	case SPP_COMP_FORWARD:
		return run_forward(conf, st, lcore);
	case SPP_COMP_MERGE:
		return run_merge(conf, st, lcore);
	case SPP_COMP_CLASSIFIER:
		return run_classifier(conf, st, lcore);
	default:
		return 0;
	}
}
