/* SPDX-License-Identifier: BSD-3-Clause
 *
 * component.c - running a component (comp_run), and the parts most
 * component types share: receiving with a port's VLAN operation applied,
 * sending a burst as it is, and reporting the counters.
 *
 * Every frame a component takes is accounted for: sent (tx), or dropped
 * for a named reason. A port's VLAN operation is applied here, on the way
 * in and on the way out, so that a frame that cannot carry it is counted
 * against the component that dropped it.
 */
#include "secondary/component.h"

uint16_t
comp_rx_burst(const struct comp_conf *c, struct comp_state *st, const struct comp_ctx *ctx,
	      uint16_t rx, struct rte_mbuf **pkts)
{
	const struct spp_comp_port *cp = &c->rx[rx];
	uint16_t n = port_rx(&ctx->ports[cp->handle], &ctx->ctr[cp->handle], ctx->lcore, pkts,
			     SPP_BURST);

	if (n == 0)
		return 0;
	st->ctr.rx += n;
	if (cp->vlan_op != SPP_VLAN_NONE)
		n = spp_vlan_apply(pkts, n, cp, &st->ctr);
	return n;
}

void
comp_tx_first(const struct comp_conf *c, struct comp_state *st, const struct comp_ctx *ctx,
	      struct rte_mbuf **pkts, uint16_t n, __rte_unused struct comp_out *out)
{
	comp_send(&c->tx[0], pkts, n, st, ctx);
}

void
comp_status_counters(__rte_unused const struct comp_conf *c, const struct comp_state *st,
		     struct spp_comp_counters *out)
{
	*out = st->ctr;
}

unsigned int
comp_run(const struct comp_conf *c, struct comp_state *st, const struct comp_ctx *ctx)
{
	const struct comp_ops *ops = c->ops;
	struct rte_mbuf *pkts[SPP_BURST];
	struct comp_out out;
	uint64_t before = st->ctr.rx;
	uint16_t first = st->rr, i;

	/* every rx port gets one burst per call, starting one further each call */
	if (unlikely(first >= c->nb_rx))  /* the configuration lost rx ports */
		first = 0;
	if (c->nb_rx > 1)
		st->rr = (uint16_t)((first + 1) % c->nb_rx);
	for (i = 0; i < c->nb_rx; i++) {
		uint16_t rx = (uint16_t)(first + i), n;

		if (rx >= c->nb_rx)
			rx = (uint16_t)(rx - c->nb_rx);
		n = ops->rx_burst(c, st, ctx, rx, pkts);
		if (n == 0)
			continue;
		if (ops->process != NULL)
			ops->process(c, st, pkts, n, &out);
		ops->tx(c, st, ctx, pkts, n, &out);
	}
	return (unsigned int)(st->ctr.rx - before);
}
