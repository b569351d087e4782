/* SPDX-License-Identifier: BSD-3-Clause
 *
 * primary_info.c - the primary's status: devices, rings and the mbuf
 * pool, with their counters as of the last "clear".
 *
 * The counters are written by the lanes and workers that move the frames,
 * never by the control thread: "clear" records a baseline here instead,
 * and the readers report the difference.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "common/common.h"
#include "common/shared.h"
#include "common/xsk.h"
#include "primary/primary.h"

/* baselines for "clear" (written by spp_primary_clear_stats(), lock held) */
static struct {
	struct spp_bridge_counters phy_base[SPP_MAX_PHY];
	struct spp_bridge_counters vhost_base[SPP_MAX_VHOST];
	uint64_t phy_drained_base[SPP_MAX_PHY];
	uint64_t vhost_drained_base[SPP_MAX_VHOST];
	struct spp_ring_counters ring_base[SPP_MAX_RINGS];
	uint64_t ring_drained_base[SPP_MAX_RINGS];
} clr;

int
spp_primary_nb_phy(void)
{
	return spp_shm ? spp_shm->nb_phy : 0;
}

int
spp_primary_nb_rings(void)
{
	return spp_shm ? spp_shm->nb_rings : 0;
}

/* The device's own counters and, for af_xdp, the kernel's socket counters. */
static void
dev_counters(const struct spp_shared_dev *dev, const struct xsk_fds *xsk,
	     struct spp_dev_info *out)
{
	struct rte_eth_stats st;

	if (rte_eth_stats_get(dev->ethdev_id, &st) == 0) {
		out->has_stats = 1;
		out->stats.ipackets = st.ipackets;
		out->stats.opackets = st.opackets;
		out->stats.ibytes = st.ibytes;
		out->stats.obytes = st.obytes;
		out->stats.imissed = st.imissed;
		out->stats.ierrors = st.ierrors;
		out->stats.oerrors = st.oerrors;
		out->stats.rx_nombuf = st.rx_nombuf;
	}
	if (xsk != NULL && xsk->nb != 0 && xsk_stats_sum(xsk, &out->xsk) == 0)
		out->has_xsk = 1;
}

static void
dev_info(const struct spp_shared_dev *dev, const struct spp_bridge_counters *base,
	 uint64_t drained_base, const struct xsk_fds *xsk, unsigned int id,
	 struct spp_dev_info *out)
{
	struct rte_eth_link link;

	memset(out, 0, sizeof(*out));
	out->id = (uint16_t)id;
	out->ethdev_id = dev->ethdev_id;
	out->nb_queues = dev->nb_queues;
	out->kind = dev->kind;
	memcpy(out->mac, dev->mac.addr_bytes, 6);
	snprintf(out->name, sizeof(out->name), "%s", dev->name);
	snprintf(out->driver, sizeof(out->driver), "%s", dev->driver);
	out->rx = dev->ctr.rx - base->rx;
	out->rx_drop = dev->ctr.rx_drop - base->rx_drop;
	out->tx = dev->ctr.tx - base->tx;
	out->tx_drop = dev->ctr.tx_drop - base->tx_drop;
	out->lcore = dev->lcore;
	out->rx_no_reader = dev->ctr.rx_no_reader - base->rx_no_reader;
	out->drained = dev->drained - drained_base;
	out->reader_pid = dev->reader.pid;
	out->reader_client = dev->reader.client_id;
	out->writer_pid = dev->writer.pid;
	out->writer_client = dev->writer.client_id;
	if (dev->kind == SPP_DEV_BRIDGED) {
		out->rx_queued = rte_ring_count(dev->rx_ring);
		out->tx_queued = rte_ring_count(dev->tx_ring);
	}
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return;  /* a secondary may read the table, not the devices */
	if (rte_eth_link_get_nowait(dev->ethdev_id, &link) == 0)
		out->link_up = link.link_status;
	out->promiscuous = rte_eth_promiscuous_get(dev->ethdev_id) == 1;
	dev_counters(dev, xsk, out);
}

int
spp_primary_phy_info(unsigned id, struct spp_dev_info *out)
{
	int ret = 0;

	if (spp_shm == NULL || id >= SPP_MAX_PHY)
		return spp_fail(ENOENT, "phy:%u does not exist", id);
	pri_lock();
	if (!spp_shm->phy[id].in_use)
		ret = spp_fail(ENOENT, "phy:%u does not exist", id);
	else
		dev_info(&spp_shm->phy[id], &clr.phy_base[id], clr.phy_drained_base[id],
			 &spp_pri.xsk[id], id, out);
	pri_unlock();
	return ret;
}

int
spp_primary_vhost_info(unsigned id, struct spp_dev_info *out)
{
	int ret = 0;

	if (spp_shm == NULL || id >= SPP_MAX_VHOST)
		return spp_fail(ENOENT, "vhost:%u does not exist", id);
	pri_lock();
	if (!spp_shm->vhost[id].in_use)
		ret = spp_fail(ENOENT, "vhost:%u does not exist", id);
	else
		dev_info(&spp_shm->vhost[id], &clr.vhost_base[id], clr.vhost_drained_base[id],
			 NULL, id, out);
	pri_unlock();
	return ret;
}

static void
ring_sum(unsigned int id, struct spp_ring_counters *sum)
{
	unsigned int lcore;

	memset(sum, 0, sizeof(*sum));
	for (lcore = 0; lcore < SPP_MAX_LCORES; lcore++) {
		sum->enq += spp_shm->ring_ctr[id][lcore].enq;
		sum->enq_drop += spp_shm->ring_ctr[id][lcore].enq_drop;
		sum->deq += spp_shm->ring_ctr[id][lcore].deq;
	}
}

int
spp_primary_ring_info(unsigned id, struct spp_ring_info *out)
{
	struct spp_ring_counters sum;
	int ret = 0;

	if (spp_shm == NULL || id >= SPP_MAX_RINGS)
		return spp_fail(ENOENT, "ring:%u does not exist", id);
	pri_lock();
	if (spp_shm->ring[id] == NULL) {
		ret = spp_fail(ENOENT, "ring:%u does not exist", id);
		goto out;
	}
	ring_sum(id, &sum);
	memset(out, 0, sizeof(*out));
	out->id = (uint16_t)id;
	out->size = rte_ring_get_size(spp_shm->ring[id]);
	out->count = rte_ring_count(spp_shm->ring[id]);
	out->rx = sum.deq - clr.ring_base[id].deq;
	out->tx = sum.enq - clr.ring_base[id].enq;
	out->tx_drop = sum.enq_drop - clr.ring_base[id].enq_drop;
	out->drained = spp_shm->ring_drained[id] - clr.ring_drained_base[id];
	out->reader_pid = spp_shm->ring_reader[id].pid;
	out->reader_client = spp_shm->ring_reader[id].client_id;
	out->writer_pid = spp_shm->ring_writer[id].pid;
	out->writer_client = spp_shm->ring_writer[id].client_id;
out:
	pri_unlock();
	return ret;
}

int
spp_primary_pool_info(struct spp_pool_info *out)
{
	unsigned int avail;

	if (spp_shm == NULL || spp_pri.pool == NULL)
		return spp_fail(ENODEV, "primary is not set up");
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", spp_pri.pool->name);
	avail = rte_mempool_avail_count(spp_pri.pool);
	out->size = spp_pri.pool_size;
	out->available = RTE_MIN(avail, spp_pri.pool_size);
	out->in_use = spp_pri.pool_size - out->available;
	out->outside_umem = spp_pri.fence.outside;
	out->reserved = spp_pri.reserved;
	out->lost = spp_pri.lost;
	return 0;
}

int
spp_primary_clear_stats(void)
{
	unsigned int i;

	if (spp_shm == NULL)
		return spp_fail(ENODEV, "primary is not set up");
	pri_lock();
	for (i = 0; i < SPP_MAX_PHY; i++) {
		clr.phy_base[i] = spp_shm->phy[i].ctr;
		clr.phy_drained_base[i] = spp_shm->phy[i].drained;
	}
	for (i = 0; i < SPP_MAX_VHOST; i++) {
		clr.vhost_base[i] = spp_shm->vhost[i].ctr;
		clr.vhost_drained_base[i] = spp_shm->vhost[i].drained;
	}
	for (i = 0; i < SPP_MAX_RINGS; i++) {
		ring_sum(i, &clr.ring_base[i]);
		clr.ring_drained_base[i] = spp_shm->ring_drained[i];
	}
	pri_unlock();
	return 0;
}
