/* SPDX-License-Identifier: BSD-3-Clause
 *
 * component.c - the three spp_vf roles as burst functions. Each takes one
 * burst from its rx port(s), moves it, and accounts for every frame:
 * forwarded (tx), or dropped for a named reason.
 */
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "vf.h"

static inline void
send_or_drop(const struct spp_comp_port *tx, struct rte_mbuf **pkts, uint16_t n,
	     struct comp_state *st, unsigned int lcore)
{
	uint16_t sent = vf_port_tx(tx, pkts, n, lcore);

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
	uint16_t n = vf_port_rx(&c->rx[0], pkts, SPP_BURST, lcore);

	if (n == 0)
		return 0;
	st->ctr.rx += n;
	send_or_drop(&c->tx[0], pkts, n, st, lcore);
	return n;
}

/* N:1 - every rx port gets one burst per round, starting one further each round */
static unsigned int
run_merge(const struct comp_conf *c, struct comp_state *st, unsigned int lcore)
{
	struct rte_mbuf *pkts[SPP_BURST];
	unsigned int i, work = 0;
	uint16_t first = st->rr;

	st->rr = (uint16_t)((first + 1) % c->nb_rx);
	for (i = 0; i < c->nb_rx; i++) {
		uint16_t n = vf_port_rx(&c->rx[(first + i) % c->nb_rx], pkts, SPP_BURST, lcore);

		if (n == 0)
			continue;
		st->ctr.rx += n;
		send_or_drop(&c->tx[0], pkts, n, st, lcore);
		work += n;
	}
	return work;
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
 * Give a frame to every port of its flood set by sharing it (one refcount
 * update); a port that rewrites VLAN tags takes a private copy itself
 * (spp_vlan_apply), so shared data is never modified.
 */
static inline void
flood(struct cls_stage *s, struct rte_mbuf *m, uint64_t ports)
{
	rte_mbuf_refcnt_update(m, (int16_t)(__builtin_popcountll(ports) - 1));
	while (ports) {
		stage(s, (uint16_t)__builtin_ctzll(ports), m);
		ports &= ports - 1;
	}
}

static unsigned int
run_classifier(const struct comp_conf *c, struct comp_state *st, unsigned int lcore)
{
	const struct cls_table *t = c->table;
	struct rte_mbuf *pkts[SPP_BURST];
	struct cls_stage s;
	uint16_t i, n, tx;

	n = vf_port_rx(&c->rx[0], pkts, SPP_BURST, lcore);
	if (n == 0)
		return 0;
	st->ctr.rx += n;
	memset(s.n, 0, sizeof(s.n[0]) * c->nb_tx);

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *eth;
		uint16_t vlan = 0;
		uint64_t v;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		if (unlikely(rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN)) {
			st->ctr.drop_bad_frame++;
			rte_pktmbuf_free(m);
			continue;
		}
		eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		if (spp_is_vlan_tpid(eth->ether_type)) {
			const struct rte_vlan_hdr *vh = (const void *)(eth + 1);

			if (unlikely(rte_pktmbuf_data_len(m) <
				     RTE_ETHER_HDR_LEN + sizeof(*vh))) {
				st->ctr.drop_bad_frame++;
				rte_pktmbuf_free(m);
				continue;
			}
			vlan = rte_be_to_cpu_16(vh->vlan_tci) & 0xfff;
		}
		if (unlikely(t == NULL)) {
			st->ctr.drop_no_entry++;
			rte_pktmbuf_free(m);
			continue;
		}
		if (unlikely(rte_is_multicast_ether_addr(&eth->dst_addr))) {
			static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

			v = cls_lookup(t, cls_key(vlan, bcast), 0);
			if (v == 0) {
				st->ctr.drop_no_entry++;
				rte_pktmbuf_free(m);
			} else {
				flood(&s, m, v);
			}
			continue;
		}
		v = cls_lookup(t, cls_key(vlan, eth->dst_addr.addr_bytes), t->default_tx);
		if (unlikely(v == CLS_NO_PORT)) {
			st->ctr.drop_no_entry++;
			rte_pktmbuf_free(m);
			continue;
		}
		stage(&s, (uint16_t)v, m);
	}

	for (tx = 0; tx < c->nb_tx; tx++)
		if (s.n[tx] != 0)
			send_or_drop(&c->tx[tx], s.pkts[tx], s.n[tx], st, lcore);
	return n;
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
