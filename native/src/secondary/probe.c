/* SPDX-License-Identifier: BSD-3-Clause
 *
 * probe.c - diagnostics: can this process move frames on an ethdev queue
 * itself? Used to show that DPDK 22.11's af_xdp PMD does Rx/Tx only in the
 * process that created the socket, which is why the primary bridges it.
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "common/common.h"
#include "common/mp.h"
#include "common/shared.h"

int
spp_probe_ethdev_rx(uint16_t ethdev_id, uint16_t queue, unsigned wait_ms)
{
	struct rte_mbuf *pkts[SPP_BURST];
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz() * wait_ms / 1000;
	unsigned int got = 0;

	if (!rte_eth_dev_is_valid_port(ethdev_id))
		return spp_fail(ENODEV, "ethdev %u does not exist in this process", ethdev_id);
	while (rte_get_timer_cycles() < end) {
		uint16_t n = rte_eth_rx_burst(ethdev_id, queue, pkts, SPP_BURST);

		got += n;
		rte_pktmbuf_free_bulk(pkts, n);
		if (n == 0)
			rte_delay_us_sleep(100);
	}
	return (int)got;
}

int
spp_probe_ethdev_tx(uint16_t ethdev_id, uint16_t queue, unsigned count)
{
	struct rte_mempool *pool = rte_mempool_lookup(SPP_POOL_NAME);
	struct rte_mbuf *m;
	unsigned int i, sent = 0;

	if (pool == NULL)
		return spp_fail(ENOENT, "mbuf pool %s not found", SPP_POOL_NAME);
	for (i = 0; i < count; i++) {
		char *p;

		m = rte_pktmbuf_alloc(pool);
		if (m == NULL)
			return spp_fail(ENOMEM, "mbuf pool exhausted");
		p = rte_pktmbuf_append(m, 60);
		if (p == NULL) {
			rte_pktmbuf_free(m);
			return spp_fail(ENOSPC, "mbuf too small for a probe frame");
		}
		memset(p, 0, 60);
		memset(p, 0xff, 6);  /* broadcast, from 02:00:00:00:00:99, ethertype 0x88b5 */
		p[6] = 0x02; p[11] = 0x99; p[12] = (char)0x88; p[13] = (char)0xb5;
		if (rte_eth_tx_burst(ethdev_id, queue, &m, 1) == 1)
			sent++;
		else
			rte_pktmbuf_free(m);
	}
	return (int)sent;
}

/*
 * Own one side of a ring like a reader or writer would, then move its head
 * by up to `n` slots and never move its tail: the state a thread leaves
 * when it is killed inside an enqueue or dequeue. Tests SIGKILL the caller
 * afterwards and check that the primary makes the ring usable again.
 */
int
spp_probe_ring_stall(int res_type, unsigned res_id, int consumer, unsigned n)
{
	struct rte_ring *r = NULL;
	uint32_t avail;
	int ret;

	if (spp_shm == NULL)
		return spp_fail(ENODEV, "not attached to a primary");
	if (res_type == SPP_RES_RING && res_id < SPP_MAX_RINGS)
		r = spp_shm->ring[res_id];
	else if (res_type == SPP_RES_PHY && res_id < SPP_MAX_PHY && spp_shm->phy[res_id].in_use)
		r = consumer ? spp_shm->phy[res_id].rx_ring : spp_shm->phy[res_id].tx_ring;
	if (r == NULL)
		return spp_fail(ENOENT, "no such ring");
	ret = spp_mp_side(res_type, res_id, consumer, 1);
	if (ret < 0)
		return ret;
	avail = consumer ? rte_ring_count(r) : rte_ring_free_count(r);
	n = RTE_MIN(n, avail);
	if ((consumer ? r->cons.sync_type : r->prod.sync_type) == RTE_RING_SYNC_MT_HTS) {
		struct rte_ring_hts_headtail *ht = consumer ? &r->hts_cons : &r->hts_prod;

		__atomic_fetch_add(&ht->ht.pos.head, n, __ATOMIC_ACQ_REL);
	} else {
		struct rte_ring_headtail *ht = consumer ? &r->cons : &r->prod;

		__atomic_fetch_add(&ht->head, n, __ATOMIC_ACQ_REL);
	}
	return (int)n;
}
