/* SPDX-License-Identifier: BSD-3-Clause
 *
 * port.h - a port as a secondary reaches it: a ring (ring:N, or the ring
 * pair the primary bridges a device to) or an ethdev queue it polls
 * itself, with the burst functions components use on it.
 *
 * Counters are per lcore and per port handle: a row belongs to one lcore,
 * which writes it without atomics; the control thread sums the rows.
 */
#ifndef SPP_PORT_H
#define SPP_PORT_H

#include <stdint.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "common/shared.h"

enum port_kind { PORT_FREE, PORT_RING, PORT_ETHDEV };

/* process-local, set by the control thread */
struct port {
	uint8_t kind;            /* enum port_kind */
	uint8_t res_type;        /* SPP_RES_* */
	uint16_t res_id;         /* N of phy:N, ring:N, vhost:N */
	uint16_t ethdev_id;
	uint16_t queue;
	struct rte_ring *rx_ring;
	struct rte_ring *tx_ring;
	struct spp_ring_counters *ring_ctr;  /* ring:N: its shared counters, by lcore; else NULL */
};

struct port_ctr {
	uint64_t rx;
	uint64_t tx;
	uint64_t tx_drop;
};

/* Fill `p` for (res_type, res_id, queue) from the primary's tables; a vhost
 * port the primary does not have yet is asked for (as a client if so). */
int port_open(struct port *p, int res_type, unsigned int res_id, unsigned int queue,
	      int vhost_client);
/* Claim (or give back) the reading (`consumer`) or writing side of a ring
 * port from the primary; an ethdev port has no side to own: 0. */
int port_side(const struct port *p, int consumer, int claim);
/* Claim (or give back) what reading (`consumer`) or writing `p` needs: its
 * ring's side (port_side), or for a directly polled device the claim of its
 * rx queue under `owner` (one poller per queue across the processes);
 * writing a device needs nothing: 0. */
int port_own(const struct port *p, int consumer, int claim, const char *owner);

/* Receive a burst; `ctr` is the calling lcore's counter of this port. */
static inline uint16_t
port_rx(const struct port *p, struct port_ctr *ctr, unsigned int lcore, struct rte_mbuf **pkts,
	uint16_t n)
{
	uint16_t got;

	if (p->kind == PORT_ETHDEV)
		got = rte_eth_rx_burst(p->ethdev_id, p->queue, pkts, n);
	else
		got = (uint16_t)rte_ring_dequeue_burst(p->rx_ring, (void **)pkts, n, NULL);
	if (got == 0)
		return 0;
	ctr->rx += got;
	if (p->ring_ctr != NULL)
		p->ring_ctr[lcore].deq += got;
	return got;
}

/* Send; returns how many were taken. The caller frees the rest. */
static inline uint16_t
port_tx(const struct port *p, struct port_ctr *ctr, unsigned int lcore, struct rte_mbuf **pkts,
	uint16_t n)
{
	uint16_t sent;

	if (p->kind == PORT_ETHDEV)
		sent = rte_eth_tx_burst(p->ethdev_id, p->queue, pkts, n);
	else
		sent = (uint16_t)rte_ring_enqueue_burst(p->tx_ring, (void **)pkts, n, NULL);
	ctr->tx += sent;
	ctr->tx_drop += n - sent;
	if (p->ring_ctr != NULL) {
		p->ring_ctr[lcore].enq += sent;
		p->ring_ctr[lcore].enq_drop += n - sent;
	}
	return sent;
}

#endif /* SPP_PORT_H */
