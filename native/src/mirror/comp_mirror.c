/* SPDX-License-Identifier: BSD-3-Clause
 *
 * comp_mirror.c - the mirror component: every frame of its one rx port
 * leaves on both of its two tx ports.
 *
 * tx position 0 gets the frames as received; tx position 1 gets the same
 * mbufs once more: each frame's reference count is raised by one for the
 * whole burst (rte_pktmbuf_refcnt_update, no data copied, nothing
 * allocated), and each port's consumer frees its reference. A tx port
 * with a VLAN operation rewrites a frame only when it holds it alone;
 * while the other side still holds it, the VLAN code (common/vlan.h)
 * gives that port a private copy first, or drops the frame as drop_nomem.
 * A tx port that refuses part of the burst has those frames dropped and
 * counted on that port (tx_drop) and in the component (drop_tx_full);
 * the other port's burst is sent in full either way, first the original.
 */
#include <rte_mbuf.h>

#include "mirror/mirror.h"

static int
mirror_ready(uint16_t nb_rx, uint16_t nb_tx)
{
	return nb_rx == 1 && nb_tx == 2;
}

static void
mirror_tx(const struct comp_conf *c, struct comp_state *st, const struct comp_ctx *ctx,
	  struct rte_mbuf **pkts, uint16_t n, __rte_unused struct comp_out *out)
{
	struct rte_mbuf *dup[SPP_BURST];
	uint16_t i;

	/* one more reference per frame before either side can free it */
	for (i = 0; i < n; i++) {
		rte_pktmbuf_refcnt_update(pkts[i], 1);
		dup[i] = pkts[i];
	}
	comp_send(&c->tx[0], pkts, n, st, ctx);
	comp_send(&c->tx[1], dup, n, st, ctx);
}

const struct comp_ops comp_mirror_ops = {
	.name = "mirror",
	.ready = mirror_ready,
	.rx_burst = comp_rx_burst,
	.tx = mirror_tx,
	.status = comp_status_counters,
};
