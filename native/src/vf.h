/* SPDX-License-Identifier: BSD-3-Clause
 *
 * vf.h - spp_vf internals shared by its ports, components and workers.
 */
#ifndef SPP_VF_H
#define SPP_VF_H

#include <stdint.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "classifier.h"
#include "common.h"
#include "cycles.h"
#include "shared.h"
#include "vlan.h"

enum vf_port_kind { VF_PORT_FREE, VF_PORT_RING, VF_PORT_ETHDEV };

/* a port as this process reaches it (process-local, set by control) */
struct vf_port {
	uint8_t kind;
	uint8_t res_type;
	uint16_t res_id;       /* ring:N id for shared ring counters, else N */
	uint16_t ethdev_id;
	uint16_t queue;
	uint8_t count_ring;    /* res_type == ring: also count in the shared zone */
	struct rte_ring *rx_ring;
	struct rte_ring *tx_ring;
};

struct vf_port_ctr {
	uint64_t rx;
	uint64_t tx;
	uint64_t tx_drop;
};

/* immutable once published; replaced whole on every change */
struct comp_conf {
	uint8_t type;
	uint16_t nb_rx;
	uint16_t nb_tx;
	struct spp_comp_port rx[SPP_MAX_COMP_PORTS];
	struct spp_comp_port tx[SPP_MAX_COMP_PORTS];
	struct cls_table *table;
};

/* counters and cursor: written only by the lcore that runs the component */
struct comp_state {
	struct spp_comp_counters ctr;
	struct spp_cycles cyc;    /* busy cycles and frames of its burst calls */
	uint16_t rr;
} __rte_cache_aligned;

struct comp_slot {
	struct comp_conf *conf;   /* RCU-protected; NULL: stopped */
	struct comp_state st;
};

struct lcore_plan {
	uint16_t nb;
	uint16_t slot[SPP_MAX_COMP_PER_LCORE];
};

extern struct vf_port vf_ports[SPP_VF_MAX_PORTS];
extern struct vf_port_ctr vf_port_ctr[SPP_MAX_LCORES][SPP_VF_MAX_PORTS];
extern struct comp_slot vf_slots[SPP_MAX_COMPONENTS];

/* Receive a burst as the port delivers it (VLAN operations: component.c). */
static inline uint16_t
vf_port_rx(const struct spp_comp_port *cp, struct rte_mbuf **pkts, uint16_t n,
	   unsigned int lcore)
{
	const struct vf_port *p = &vf_ports[cp->handle];
	uint16_t got;

	if (p->kind == VF_PORT_ETHDEV)
		got = rte_eth_rx_burst(p->ethdev_id, p->queue, pkts, n);
	else
		got = (uint16_t)rte_ring_dequeue_burst(p->rx_ring, (void **)pkts, n, NULL);
	if (got == 0)
		return 0;
	vf_port_ctr[lcore][cp->handle].rx += got;
	if (p->count_ring)
		spp_ring_count_deq(p->res_id, lcore, got);
	return got;
}

/* Send; returns how many were taken. The caller frees the rest. */
static inline uint16_t
vf_port_tx(const struct spp_comp_port *cp, struct rte_mbuf **pkts, uint16_t n,
	   unsigned int lcore)
{
	const struct vf_port *p = &vf_ports[cp->handle];
	struct vf_port_ctr *c = &vf_port_ctr[lcore][cp->handle];
	uint16_t sent;

	if (p->kind == VF_PORT_ETHDEV)
		sent = rte_eth_tx_burst(p->ethdev_id, p->queue, pkts, n);
	else
		sent = (uint16_t)rte_ring_enqueue_burst(p->tx_ring, (void **)pkts, n, NULL);
	c->tx += sent;
	c->tx_drop += n - sent;
	if (p->count_ring)
		spp_ring_count_enq(p->res_id, lcore, sent, n - sent);
	return sent;
}

unsigned int comp_run(const struct comp_conf *conf, struct comp_state *st, unsigned int lcore);

#endif /* SPP_VF_H */
