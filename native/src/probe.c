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

#include "common.h"

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
