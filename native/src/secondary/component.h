/* SPDX-License-Identifier: BSD-3-Clause
 *
 * component.h - what a secondary's component is, whatever its type.
 *
 * A component type (forward, merge, classifier in spp_vf; the types of
 * other secondaries plug in the same way) is a table of callbacks, as a
 * forwarding engine is in DPDK's testpmd. A worker lcore runs a component
 * with comp_run(): every rx port once per call, starting one further each
 * call, and for each burst taken the type's rx_burst, process and tx. The
 * callbacks are called once per burst, never per frame.
 *
 * A configuration (struct comp_conf) is immutable once published and
 * replaced whole (RCU, see secondary/host.c); the state (struct comp_state) is
 * written only by the lcore running the component. Everything else a
 * burst needs - the process's ports and this lcore's counters of them -
 * comes in a struct comp_ctx from the worker.
 */
#ifndef SPP_COMPONENT_H
#define SPP_COMPONENT_H

#include <stdint.h>
#include <rte_branch_prediction.h>
#include <rte_mbuf.h>

#include "common/common.h"
#include "common/vlan.h"
#include "secondary/port.h"

struct comp_ops;

/*
 * Immutable once published and replaced whole when the component's ports
 * change; a classifier's table it points to changes in place
 * (vf/classifier.h) and lives as long as the configuration.
 */
struct comp_conf {
	const struct comp_ops *ops;
	uint8_t type;             /* SPP_COMP_* */
	uint16_t nb_rx;
	uint16_t nb_tx;
	struct spp_comp_port rx[SPP_MAX_COMP_PORTS];
	struct spp_comp_port tx[SPP_MAX_COMP_PORTS];
	void *priv;               /* the type's own data (a classifier's table) */
};

/* counters and cursor: written only by the lcore that runs the component */
struct comp_state {
	struct spp_comp_counters ctr;
	struct spp_cycles cyc;    /* busy cycles and frames of its burst calls */
	uint16_t rr;              /* rx position polled first in the next call */
} __rte_cache_aligned;

/* what a worker lcore lends the components it runs */
struct comp_ctx {
	const struct port *ports;   /* the process's ports, by handle */
	struct port_ctr *ctr;       /* this lcore's counters of them, by handle */
	unsigned int lcore;
};

/* the frames of one burst, sorted by tx position (filled by process) */
struct comp_out {
	uint16_t n[SPP_MAX_COMP_PORTS];
	struct rte_mbuf *pkts[SPP_MAX_COMP_PORTS][SPP_BURST];
};

struct comp_ops {
	const char *name;
	/* control: has it the ports its type needs? If not, it stays idle. */
	int (*ready)(uint16_t nb_rx, uint16_t nb_tx);
	/* control: build conf->priv from the table entries (NULL: no data) */
	int (*setup)(struct comp_conf *conf, const struct spp_cls_entry *entries,
		     unsigned int nb_entries);
	/* control: free conf->priv (NULL: nothing to free) */
	void (*teardown)(struct comp_conf *conf);
	/*
	 * control: change conf->priv's table in place, all or nothing (NULL:
	 * the type has no table). What readers may still see is handed back in
	 * `*retired`, for table_reclaim after a grace period.
	 */
	int (*table_update)(const struct comp_conf *conf, const struct spp_cls_entry *add,
			    unsigned int nb_add, const struct spp_cls_entry *del,
			    unsigned int nb_del, void **retired);
	/* control: free what table_update retired, once no worker can see it */
	void (*table_reclaim)(void *retired);
	/* worker: a burst from rx position `rx`; how many frames it returns */
	uint16_t (*rx_burst)(const struct comp_conf *c, struct comp_state *st,
			     const struct comp_ctx *ctx, uint16_t rx, struct rte_mbuf **pkts);
	/* worker: decide where the frames go, into `out` (NULL: all to tx position 0) */
	void (*process)(const struct comp_conf *c, struct comp_state *st, struct rte_mbuf **pkts,
			uint16_t n, struct comp_out *out);
	/* worker: hand the burst (or `out`, if process filled it) to the tx ports */
	void (*tx)(const struct comp_conf *c, struct comp_state *st, const struct comp_ctx *ctx,
		   struct rte_mbuf **pkts, uint16_t n, struct comp_out *out);
	/* control: its counters as the status shows them */
	void (*status)(const struct comp_conf *c, const struct comp_state *st,
		       struct spp_comp_counters *out);
};

/* the forward type (comp_forward.c): 1 rx port to 1 tx port, used by every secondary */
extern const struct comp_ops comp_forward_ops;

/* Run one call of the component; returns the frames it took. */
unsigned int comp_run(const struct comp_conf *c, struct comp_state *st,
		      const struct comp_ctx *ctx);

/* ---- building blocks of the types ---- */

/* rx_burst: a burst from an rx port, its VLAN operation applied; ctr.rx counts what was taken */
uint16_t comp_rx_burst(const struct comp_conf *c, struct comp_state *st,
		       const struct comp_ctx *ctx, uint16_t rx, struct rte_mbuf **pkts);
/* tx: the whole burst to tx position 0 */
void comp_tx_first(const struct comp_conf *c, struct comp_state *st, const struct comp_ctx *ctx,
		   struct rte_mbuf **pkts, uint16_t n, struct comp_out *out);
/* status: the counters as they are */
void comp_status_counters(const struct comp_conf *c, const struct comp_state *st,
			  struct spp_comp_counters *out);

/* Apply tx port `cp`'s VLAN operation, send, and count what it refused as dropped. */
static inline void
comp_send(const struct spp_comp_port *cp, struct rte_mbuf **pkts, uint16_t n,
	  struct comp_state *st, const struct comp_ctx *ctx)
{
	uint16_t sent;

	if (cp->vlan_op != SPP_VLAN_NONE) {
		n = spp_vlan_apply(pkts, n, cp, &st->ctr);
		if (n == 0)
			return;
	}
	sent = port_tx(&ctx->ports[cp->handle], &ctx->ctr[cp->handle], ctx->lcore, pkts, n);
	st->ctr.tx += sent;
	if (unlikely(sent < n)) {
		st->ctr.drop_tx_full += n - sent;
		rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
	}
}

#endif /* SPP_COMPONENT_H */
