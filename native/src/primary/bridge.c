/* SPDX-License-Identifier: BSD-3-Clause
 *
 * bridge.c - the primary's worker lcores: run the lanes of their plan in
 * burst loops, and swap plans without ever letting two lcores poll one
 * source.
 *
 * Back-pressure: a lane that reads a ring peeks a burst
 * (rte_ring_dequeue_burst_start), hands it on, and completes the dequeue
 * with only what the destination took; the rest stays queued for the next
 * round instead of being freed. Only frames taken from a device can be
 * dropped (the device cannot take them back), and each drop is counted.
 */
#include <errno.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring_peek.h>

#include "common/cycles.h"
#include "primary/bridge.h"

static struct {
	struct rte_rcu_qsbr *qsbr;
	unsigned int nb;
	unsigned int lcore[SPP_MAX_BRIDGE_LCORES];
	struct br_plan *plan[SPP_MAX_BRIDGE_LCORES];  /* plan[i] is read by lcore[i] */
	volatile int stop;
	int running;
} br;

/* ------------------------------------------------------------------ */
/* worker                                                              */

static inline unsigned int
lane_from_dev(const struct br_lane *l, unsigned int lcore)
{
	struct rte_mbuf *pkts[SPP_BURST];
	uint16_t n, sent = 0;

	n = rte_eth_rx_burst(l->src_port, 0, pkts, SPP_BURST);
	if (n == 0)
		return 0;
	l->src_ctr->rx += n;
	switch (l->dst) {
	case LANE_TO_RING:
		sent = (uint16_t)rte_ring_enqueue_burst(l->dst_ring, (void **)pkts, n, NULL);
		if (l->dst_ring_id != LANE_NO_RING)
			spp_ring_count_enq(l->dst_ring_id, lcore, sent, n - sent);
		else
			l->src_ctr->rx_drop += n - sent;
		break;
	case LANE_TO_DEV:
		sent = rte_eth_tx_burst(l->dst_port, 0, pkts, n);
		l->dst_ctr->tx += sent;
		l->dst_ctr->tx_drop += n - sent;
		break;
	default:  /* LANE_TO_NOWHERE: nobody reads the port */
		l->src_ctr->rx_drop += n;
		l->src_ctr->rx_no_reader += n;
		break;
	}
	if (unlikely(sent < n))
		rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
	return n;
}

static inline unsigned int
lane_from_ring(const struct br_lane *l, unsigned int lcore)
{
	struct rte_mbuf *pkts[SPP_BURST];
	unsigned int n, sent;

	n = rte_ring_dequeue_burst_start(l->src_ring, (void **)pkts, SPP_BURST, NULL);
	if (n == 0)
		return 0;
	if (l->dst == LANE_TO_DEV) {
		sent = rte_eth_tx_burst(l->dst_port, 0, pkts, (uint16_t)n);
		l->dst_ctr->tx += sent;
	} else {
		sent = rte_ring_enqueue_burst(l->dst_ring, (void **)pkts, n, NULL);
		if (l->dst_ring_id != LANE_NO_RING)
			spp_ring_count_enq(l->dst_ring_id, lcore, (uint16_t)sent, 0);
	}
	rte_ring_dequeue_finish(l->src_ring, sent);
	if (sent != 0 && l->src_ring_id != LANE_NO_RING)
		spp_ring_count_deq(l->src_ring_id, lcore, (uint16_t)sent);
	return sent;
}

static int
br_worker(void *arg)
{
	unsigned int idx = (unsigned int)(uintptr_t)arg;
	unsigned int lcore = rte_lcore_id();
	struct spp_cycles *cyc = &spp_lcore_cyc[lcore].c;
	struct spp_idle idle = { 0 };
	uint64_t round = rte_rdtsc();

	rte_rcu_qsbr_thread_online(br.qsbr, lcore);
	SPP_LOG(INFO, "bridge lcore %u running", lcore);

	while (!br.stop) {
		const struct br_plan *plan = __atomic_load_n(&br.plan[idx], __ATOMIC_ACQUIRE);
		unsigned int i, work = 0;

		for (i = 0; plan != NULL && i < plan->nb_lanes; i++) {
			const struct br_lane *l = &plan->lane[i];

			if (l->src == LANE_FROM_DEV)
				work += lane_from_dev(l, lcore);
			else
				work += lane_from_ring(l, lcore);
		}
		rte_rcu_qsbr_quiescent(br.qsbr, lcore);
		spp_idle_update(&idle, work);
		spp_cycles_round(cyc, &round, work);
	}

	rte_rcu_qsbr_thread_offline(br.qsbr, lcore);
	return 0;
}

/* ------------------------------------------------------------------ */
/* life cycle                                                          */

int
bridge_start(const unsigned int *lcores, unsigned int nb)
{
	unsigned int i;
	size_t sz;

	if (br.running)
		return spp_fail(EBUSY, "the bridge lcores already run");
	if (nb == 0 || nb > SPP_MAX_BRIDGE_LCORES)
		return spp_fail(EINVAL, "1-%u bridge lcores, not %u", SPP_MAX_BRIDGE_LCORES, nb);
	for (i = 0; i < nb; i++)
		if (lcores[i] == rte_get_main_lcore() || !rte_lcore_is_enabled(lcores[i]) ||
		    bridge_lcore_index(lcores[i]) >= 0)
			return spp_fail(EINVAL, "lcore %u is not a free worker lcore of this "
					"process", lcores[i]);
	sz = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
	br.qsbr = rte_zmalloc("spp_bridge_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (br.qsbr == NULL || rte_rcu_qsbr_init(br.qsbr, RTE_MAX_LCORE) != 0)
		return spp_fail(ENOMEM, "cannot allocate the RCU state");
	br.stop = 0;
	for (i = 0; i < nb; i++) {
		br.lcore[i] = lcores[i];
		rte_rcu_qsbr_thread_register(br.qsbr, lcores[i]);
	}
	br.nb = nb;
	for (i = 0; i < nb; i++) {
		int ret = rte_eal_remote_launch(br_worker, (void *)(uintptr_t)i, lcores[i]);

		if (ret != 0) {
			br.nb = i;
			bridge_stop();
			return spp_fail(-ret, "cannot launch a bridge worker on lcore %u", lcores[i]);
		}
	}
	br.running = 1;
	return 0;
}

void
bridge_stop(void)
{
	unsigned int i;

	br.stop = 1;
	for (i = 0; i < br.nb; i++) {
		rte_eal_wait_lcore(br.lcore[i]);
		rte_rcu_qsbr_thread_unregister(br.qsbr, br.lcore[i]);
		rte_free(br.plan[i]);
		br.plan[i] = NULL;
	}
	br.nb = 0;
	br.running = 0;
	rte_free(br.qsbr);
	br.qsbr = NULL;
}

unsigned int
bridge_nb_lcores(void)
{
	return br.nb;
}

unsigned int
bridge_lcore(unsigned int idx)
{
	return br.lcore[idx];
}

int
bridge_lcore_index(unsigned int lcore)
{
	unsigned int i;

	for (i = 0; i < br.nb; i++)
		if (br.lcore[i] == lcore)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------------ */
/* publishing                                                          */

struct br_plan *
bridge_plan_alloc(unsigned int max_lanes)
{
	return rte_zmalloc("spp_bridge_plan",
			   sizeof(struct br_plan) + max_lanes * sizeof(struct br_lane), 0);
}

static uint64_t
lane_source(const struct br_lane *l)
{
	return l->src == LANE_FROM_DEV ? (1ULL << 63) | l->src_port :
					 (uint64_t)(uintptr_t)l->src_ring;
}

/* bridge lcore index that polls `src` in the published plans, or -1 */
static int
polled_by(uint64_t src)
{
	unsigned int i, j;

	for (i = 0; i < br.nb; i++)
		for (j = 0; br.plan[i] != NULL && j < br.plan[i]->nb_lanes; j++)
			if (lane_source(&br.plan[i]->lane[j]) == src)
				return (int)i;
	return -1;
}

static void
swap_all(struct br_plan **plans)
{
	unsigned int i;

	for (i = 0; i < br.nb; i++)
		__atomic_store_n(&br.plan[i], plans[i], __ATOMIC_RELEASE);
	rte_rcu_qsbr_synchronize(br.qsbr, RTE_QSBR_THRID_INVALID);
}

/*
 * A source that moves from lcore A to lcore B must leave A before it
 * reaches B. So publish in two steps when something moves: first every
 * new plan without the lanes that move in (A stops polling them, B does
 * not start yet), wait for all workers, then the full new plans.
 */
int
bridge_publish(struct br_plan **next)
{
	struct br_plan *old[SPP_MAX_BRIDGE_LCORES], *first[SPP_MAX_BRIDGE_LCORES];
	unsigned int i, j;
	int moves = 0;

	for (i = 0; i < br.nb; i++) {
		old[i] = br.plan[i];
		first[i] = next[i];
		for (j = 0; j < next[i]->nb_lanes; j++) {
			int at = polled_by(lane_source(&next[i]->lane[j]));

			if (at >= 0 && at != (int)i)
				break;
		}
		if (j == next[i]->nb_lanes)
			continue;
		first[i] = bridge_plan_alloc(next[i]->nb_lanes);
		if (first[i] == NULL) {
			while (i-- > 0)
				if (first[i] != next[i])
					rte_free(first[i]);
			return spp_fail(ENOMEM, "out of memory building the forwarding plan");
		}
		for (j = 0; j < next[i]->nb_lanes; j++) {
			int at = polled_by(lane_source(&next[i]->lane[j]));

			if (at < 0 || at == (int)i)
				first[i]->lane[first[i]->nb_lanes++] = next[i]->lane[j];
		}
		moves = 1;
	}

	swap_all(first);
	if (moves) {
		swap_all(next);
		for (i = 0; i < br.nb; i++)
			if (first[i] != next[i])
				rte_free(first[i]);
	}
	for (i = 0; i < br.nb; i++)
		rte_free(old[i]);
	return 0;
}
