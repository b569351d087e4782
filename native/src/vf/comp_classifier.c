/* SPDX-License-Identifier: BSD-3-Clause
 *
 * comp_classifier.c - the classifier component: each frame of its one rx
 * port goes to the tx port(s) its table names for the frame's VLAN and
 * destination MAC (classifier.h, docs/classifier.md). It counts each
 * frame it classified by outcome: hit + flood + to_default +
 * drop_no_entry = frames classified.
 */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "vf/classifier.h"
#include "vf/comp_types.h"

static int
classifier_ready(uint16_t nb_rx, uint16_t nb_tx)
{
	return nb_rx == 1 && nb_tx >= 1;
}

static int
classifier_setup(struct comp_conf *conf, const struct spp_cls_entry *entries,
		 unsigned int nb_entries)
{
	conf->priv = cls_table_build(entries, nb_entries, conf->nb_tx);
	return conf->priv == NULL ? -EINVAL : 0;
}

static void
classifier_teardown(struct comp_conf *conf)
{
	cls_table_free(conf->priv);
	conf->priv = NULL;
}

static int
classifier_table_update(const struct comp_conf *conf, const struct spp_cls_entry *add,
			unsigned int nb_add, const struct spp_cls_entry *del, unsigned int nb_del,
			void **retired)
{
	struct cls_exact *old = NULL;
	int ret;

	ret = cls_table_apply(conf->priv, add, nb_add, del, nb_del, &old);
	*retired = old;
	return ret;
}

static void
classifier_table_reclaim(void *retired)
{
	cls_exact_free(retired);
}

static inline void
stage(struct comp_out *out, uint16_t tx, struct rte_mbuf *m)
{
	out->pkts[tx][out->n[tx]++] = m;
}

/*
 * Give a frame to every port of `ports` by sharing it (one refcount
 * update); a port that rewrites VLAN tags takes a private copy itself
 * (spp_vlan_apply), so shared data is never modified.
 */
static inline void
give(struct comp_out *out, struct rte_mbuf *m, uint32_t ports)
{
	if (ports & (ports - 1))
		rte_mbuf_refcnt_update(m, (int16_t)(__builtin_popcount(ports) - 1));
	while (ports) {
		stage(out, (uint16_t)__builtin_ctz(ports), m);
		ports &= ports - 1;
	}
}

static inline void
drop(struct rte_mbuf *m, uint64_t *reason)
{
	(*reason)++;
	rte_pktmbuf_free(m);
}

static void
classifier_process(const struct comp_conf *c, struct comp_state *st, struct rte_mbuf **pkts,
		   uint16_t n, struct comp_out *out)
{
	const struct cls_table *t = c->priv;
	uint16_t i;

	memset(out->n, 0, sizeof(out->n[0]) * c->nb_tx);
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
		give(out, m, ports);
	}
}

static void
classifier_tx(const struct comp_conf *c, struct comp_state *st, const struct comp_ctx *ctx,
	      __rte_unused struct rte_mbuf **pkts, __rte_unused uint16_t n, struct comp_out *out)
{
	uint16_t tx;

	for (tx = 0; tx < c->nb_tx; tx++)
		if (out->n[tx] != 0)
			comp_send(&c->tx[tx], out->pkts[tx], out->n[tx], st, ctx);
}

const struct comp_ops comp_classifier_ops = {
	.name = "classifier",
	.ready = classifier_ready,
	.setup = classifier_setup,
	.teardown = classifier_teardown,
	.table_update = classifier_table_update,
	.table_reclaim = classifier_table_reclaim,
	.rx_burst = comp_rx_burst,
	.process = classifier_process,
	.tx = classifier_tx,
	.status = comp_status_counters,
};
