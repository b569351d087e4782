/* SPDX-License-Identifier: BSD-3-Clause
 *
 * primary.c - the DPDK primary: mbuf pool, ring:N, phy:N and vhost:N
 * devices, and one worker lcore that
 *   - bridges devices whose datapath only works in this process (af_xdp
 *     sockets and vhost-user queues are process-local) to a ring pair that
 *     secondaries use as the port, and
 *   - runs the patch forwarding of upstream spp_primary (patch SRC DST,
 *     forward, stop) for bring-up and diagnostics.
 *
 * The worker reads one immutable "plan" (a flat list of lanes). Every
 * configuration change builds a new plan, publishes it with one atomic
 * store and frees the old one after an RCU grace period, so forwarding
 * never pauses.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "common.h"
#include "cycles.h"
#include "mp.h"
#include "shared.h"

#define RX_DESC 1024
#define TX_DESC 1024

enum lane_src { LANE_FROM_DEV, LANE_FROM_RING };
enum lane_dst { LANE_TO_RING, LANE_TO_DEV };

struct pri_lane {
	uint8_t src;
	uint8_t dst;
	uint16_t src_ethdev;
	uint16_t dst_ethdev;
	uint16_t src_ring_id;   /* ring:N id for counters, UINT16_MAX if bridge ring */
	uint16_t dst_ring_id;
	struct rte_ring *src_ring;
	struct rte_ring *dst_ring;
	struct spp_bridge_counters *src_ctr;
	struct spp_bridge_counters *dst_ctr;
};

struct pri_plan {
	unsigned int nb_lanes;
	struct pri_lane lane[];
};

struct patch {
	int src_type;
	unsigned int src_id;
	int dst_type;
	unsigned int dst_id;
};

#define MAX_PATCHES (SPP_MAX_PHY + SPP_MAX_RINGS)
#define PATCH_OWNER "a patch of the primary"

static struct {
	struct rte_mempool *pool;
	struct rte_rcu_qsbr *qsbr;
	struct pri_plan *plan;           /* read by the worker */
	unsigned int worker_lcore;
	int running;
	volatile int stop;
	int forwarding;
	unsigned int nb_patches;
	struct patch patches[MAX_PATCHES];
	/* baselines for "clear": counters are never written by the control thread */
	struct spp_bridge_counters phy_base[SPP_MAX_PHY];
	struct spp_bridge_counters vhost_base[SPP_MAX_VHOST];
	struct spp_ring_counters ring_base[SPP_MAX_RINGS];
} pri;

/* ------------------------------------------------------------------ */
/* worker                                                              */

static inline uint16_t
lane_rx(const struct pri_lane *l, struct rte_mbuf **pkts, unsigned int lcore)
{
	uint16_t n;

	if (l->src == LANE_FROM_DEV) {
		n = rte_eth_rx_burst(l->src_ethdev, 0, pkts, SPP_BURST);
		l->src_ctr->rx += n;
		return n;
	}
	n = (uint16_t)rte_ring_dequeue_burst(l->src_ring, (void **)pkts, SPP_BURST, NULL);
	if (n && l->src_ring_id != UINT16_MAX)
		spp_ring_count_deq(l->src_ring_id, lcore, n);
	return n;
}

static inline void
lane_tx(const struct pri_lane *l, struct rte_mbuf **pkts, uint16_t n, unsigned int lcore)
{
	uint16_t sent;

	if (l->dst == LANE_TO_DEV) {
		sent = rte_eth_tx_burst(l->dst_ethdev, 0, pkts, n);
		l->dst_ctr->tx += sent;
		l->dst_ctr->tx_drop += n - sent;
	} else {
		sent = (uint16_t)rte_ring_enqueue_burst(l->dst_ring, (void **)pkts, n, NULL);
		if (l->dst_ring_id != UINT16_MAX)
			spp_ring_count_enq(l->dst_ring_id, lcore, sent, n - sent);
		else if (l->src_ctr != NULL)
			l->src_ctr->rx_drop += n - sent;
	}
	if (unlikely(sent < n))
		rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
}

static int
pri_worker(__rte_unused void *arg)
{
	unsigned int lcore = rte_lcore_id();
	struct spp_cycles *cyc = &spp_lcore_cyc[lcore].c;
	struct rte_mbuf *pkts[SPP_BURST];
	struct spp_idle idle = { 0 };
	uint64_t round = rte_rdtsc();

	rte_rcu_qsbr_thread_register(pri.qsbr, lcore);
	rte_rcu_qsbr_thread_online(pri.qsbr, lcore);
	SPP_LOG(INFO, "primary worker on lcore %u", lcore);

	while (!pri.stop) {
		const struct pri_plan *plan = __atomic_load_n(&pri.plan, __ATOMIC_ACQUIRE);
		unsigned int i, work = 0;

		for (i = 0; plan != NULL && i < plan->nb_lanes; i++) {
			const struct pri_lane *l = &plan->lane[i];
			uint16_t n = lane_rx(l, pkts, lcore);

			if (n == 0)
				continue;
			work += n;
			lane_tx(l, pkts, n, lcore);
		}
		rte_rcu_qsbr_quiescent(pri.qsbr, lcore);
		spp_idle_update(&idle, work);
		spp_cycles_round(cyc, &round, work);
	}

	rte_rcu_qsbr_thread_offline(pri.qsbr, lcore);
	rte_rcu_qsbr_thread_unregister(pri.qsbr, lcore);
	return 0;
}

/* ------------------------------------------------------------------ */
/* plan building (control thread only)                                 */

static const struct patch *
patch_from(int type, unsigned int id)
{
	unsigned int i;

	if (!pri.forwarding)
		return NULL;
	for (i = 0; i < pri.nb_patches; i++)
		if (pri.patches[i].src_type == type && pri.patches[i].src_id == id)
			return &pri.patches[i];
	return NULL;
}

static struct spp_shared_dev *
dev_of(int type, unsigned int id)
{
	if (type == SPP_RES_PHY && id < SPP_MAX_PHY && spp_shm->phy[id].in_use)
		return &spp_shm->phy[id];
	if (type == SPP_RES_VHOST && id < SPP_MAX_VHOST && spp_shm->vhost[id].in_use)
		return &spp_shm->vhost[id];
	return NULL;
}

static void
lane_set_dst(struct pri_lane *l, int type, unsigned int id)
{
	struct spp_shared_dev *dev = dev_of(type, id);

	if (dev != NULL) {
		l->dst = LANE_TO_DEV;
		l->dst_ethdev = dev->ethdev_id;
		l->dst_ctr = &dev->ctr;
	} else {
		l->dst = LANE_TO_RING;
		l->dst_ring = spp_shm->ring[id];
		l->dst_ring_id = (uint16_t)id;
	}
}

static void
add_dev_lanes(struct pri_plan *plan, int type, struct spp_shared_dev *dev, unsigned int id)
{
	const struct patch *p = patch_from(type, id);
	struct pri_lane *l;

	/* device rx: to its patch, else to the secondaries' ring */
	if (p != NULL || dev->kind == SPP_DEV_BRIDGED) {
		l = &plan->lane[plan->nb_lanes++];
		memset(l, 0, sizeof(*l));
		l->src = LANE_FROM_DEV;
		l->src_ethdev = dev->ethdev_id;
		l->src_ctr = &dev->ctr;
		l->src_ring_id = UINT16_MAX;
		if (p != NULL) {
			lane_set_dst(l, p->dst_type, p->dst_id);
		} else {
			l->dst = LANE_TO_RING;
			l->dst_ring = dev->rx_ring;
			l->dst_ring_id = UINT16_MAX;
		}
	}
	/* secondaries' tx ring: to the device */
	if (dev->kind == SPP_DEV_BRIDGED) {
		l = &plan->lane[plan->nb_lanes++];
		memset(l, 0, sizeof(*l));
		l->src = LANE_FROM_RING;
		l->src_ring = dev->tx_ring;
		l->src_ring_id = UINT16_MAX;
		l->dst = LANE_TO_DEV;
		l->dst_ethdev = dev->ethdev_id;
		l->dst_ctr = &dev->ctr;
	}
}

static int
publish_plan(void)
{
	unsigned int max = 2 * (SPP_MAX_PHY + SPP_MAX_VHOST) + SPP_MAX_RINGS;
	struct pri_plan *plan, *old;
	unsigned int i;

	plan = rte_zmalloc("spp_pri_plan", sizeof(*plan) + max * sizeof(plan->lane[0]), 0);
	if (plan == NULL)
		return spp_fail(ENOMEM, "out of memory building the forwarding plan");

	for (i = 0; i < SPP_MAX_PHY; i++)
		if (spp_shm->phy[i].in_use)
			add_dev_lanes(plan, SPP_RES_PHY, &spp_shm->phy[i], i);
	for (i = 0; i < SPP_MAX_VHOST; i++)
		if (spp_shm->vhost[i].in_use)
			add_dev_lanes(plan, SPP_RES_VHOST, &spp_shm->vhost[i], i);
	for (i = 0; i < SPP_MAX_RINGS; i++) {
		const struct patch *p = patch_from(SPP_RES_RING, i);
		struct pri_lane *l;

		if (p == NULL || spp_shm->ring[i] == NULL)
			continue;
		l = &plan->lane[plan->nb_lanes++];
		memset(l, 0, sizeof(*l));
		l->src = LANE_FROM_RING;
		l->src_ring = spp_shm->ring[i];
		l->src_ring_id = (uint16_t)i;
		lane_set_dst(l, p->dst_type, p->dst_id);
	}

	old = pri.plan;
	__atomic_store_n(&pri.plan, plan, __ATOMIC_RELEASE);
	if (pri.running)
		rte_rcu_qsbr_synchronize(pri.qsbr, RTE_QSBR_THRID_INVALID);
	rte_free(old);
	return 0;
}

/* ------------------------------------------------------------------ */
/* devices                                                             */

static int
dev_start(uint16_t port_id, uint16_t nb_queues)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	uint16_t rxd = RX_DESC, txd = TX_DESC, q;
	int ret;

	ret = rte_eth_dev_info_get(port_id, &info);
	if (ret != 0)
		return spp_fail(-ret, "port %u: cannot read device info", port_id);
	nb_queues = RTE_MIN(nb_queues, RTE_MIN(info.max_rx_queues, info.max_tx_queues));
	ret = rte_eth_dev_configure(port_id, nb_queues, nb_queues, &conf);
	if (ret != 0)
		return spp_fail(-ret, "port %u (%s): configure failed: %s", port_id,
				info.driver_name, rte_strerror(-ret));
	rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rxd, &txd);
	for (q = 0; q < nb_queues; q++) {
		ret = rte_eth_rx_queue_setup(port_id, q, rxd, rte_eth_dev_socket_id(port_id),
					     NULL, pri.pool);
		if (ret == 0)
			ret = rte_eth_tx_queue_setup(port_id, q, txd,
						     rte_eth_dev_socket_id(port_id), NULL);
		if (ret != 0)
			return spp_fail(-ret, "port %u (%s): queue %u setup failed: %s", port_id,
					info.driver_name, q, rte_strerror(-ret));
	}
	ret = rte_eth_dev_start(port_id);
	if (ret != 0)
		return spp_fail(-ret, "port %u (%s): start failed: %s", port_id,
				info.driver_name, rte_strerror(-ret));
	/* without it a port only sees frames for its own MAC: say so, keep going */
	ret = rte_eth_promiscuous_enable(port_id);
	if (ret != 0)
		SPP_LOG(WARNING, "port %u (%s): cannot enable promiscuous mode: %s; it receives "
			"only frames for its own MAC and broadcast/multicast", port_id,
			info.driver_name, rte_strerror(-ret));
	return nb_queues;
}

static int
bridge_rings(struct spp_shared_dev *dev, const char *prefix, unsigned int id)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "spp_%s%u_rx", prefix, id);
	dev->rx_ring = rte_ring_create(name, SPP_BRIDGE_RING_SIZE, rte_socket_id(), 0);
	snprintf(name, sizeof(name), "spp_%s%u_tx", prefix, id);
	dev->tx_ring = rte_ring_create(name, SPP_BRIDGE_RING_SIZE, rte_socket_id(), 0);
	if (dev->rx_ring == NULL || dev->tx_ring == NULL)
		return spp_fail(ENOMEM, "%s:%u: cannot create bridge rings: %s", prefix, id,
				rte_strerror(rte_errno));
	return 0;
}

/* Which name an operator knows the device by. */
static void
dev_describe(struct spp_shared_dev *dev, uint16_t port_id, const struct rte_eth_dev_info *info)
{
	char ifname[IF_NAMESIZE];

	snprintf(dev->driver, sizeof(dev->driver), "%s", info->driver_name);
	if (info->if_index != 0 && if_indextoname(info->if_index, ifname) != NULL)
		snprintf(dev->name, sizeof(dev->name), "%s", ifname);
	else
		rte_eth_dev_get_name_by_port(port_id, dev->name);
	rte_eth_macaddr_get(port_id, &dev->mac);
}

static int
is_process_local_driver(const char *driver)
{
	return strcmp(driver, "net_af_xdp") == 0 || strcmp(driver, "net_vhost") == 0 ||
	       strcmp(driver, "net_af_packet") == 0 || strcmp(driver, "net_pcap") == 0;
}

static int
phy_add(unsigned int id, uint16_t port_id)
{
	struct spp_shared_dev *dev = &spp_shm->phy[id];
	struct rte_eth_dev_info info;
	int ret;

	ret = rte_eth_dev_info_get(port_id, &info);
	if (ret != 0)
		return spp_fail(-ret, "port %u: cannot read device info", port_id);
	ret = dev_start(port_id, 1);
	if (ret < 0)
		return ret;
	dev->nb_queues = (uint16_t)ret;
	dev->ethdev_id = port_id;
	dev_describe(dev, port_id, &info);
	if (is_process_local_driver(info.driver_name)) {
		dev->kind = SPP_DEV_BRIDGED;
		ret = bridge_rings(dev, "phy", id);
		if (ret < 0)
			return ret;
	} else {
		dev->kind = SPP_DEV_DIRECT;
	}
	dev->in_use = 1;
	return 0;
}

int
spp_primary_add_ring(unsigned id)
{
	char name[RTE_RING_NAMESIZE];

	if (id >= SPP_MAX_RINGS)
		return spp_fail(EINVAL, "ring:%u is out of range (0-%u)", id, SPP_MAX_RINGS - 1);
	if (spp_shm->ring[id] != NULL)
		return spp_fail(EEXIST, "ring:%u already exists", id);
	snprintf(name, sizeof(name), "spp_ring_%u", id);
	spp_shm->ring[id] = rte_ring_create(name, SPP_RING_SIZE, rte_socket_id(), 0);
	if (spp_shm->ring[id] == NULL)
		return spp_fail(ENOMEM, "cannot create ring:%u: %s", id, rte_strerror(rte_errno));
	if (id >= spp_shm->nb_rings)
		spp_shm->nb_rings = (uint16_t)(id + 1);
	return 0;
}

int
spp_primary_add_vhost(unsigned id, int client)
{
	struct spp_shared_dev *dev;
	char name[RTE_ETH_NAME_MAX_LEN], args[128];
	uint16_t port_id;
	int ret;

	if (id >= SPP_MAX_VHOST)
		return spp_fail(EINVAL, "vhost:%u is out of range (0-%u)", id, SPP_MAX_VHOST - 1);
	dev = &spp_shm->vhost[id];
	if (dev->in_use) {
		if (!!dev->vhost_client != !!client)
			return spp_fail(EBUSY, "vhost:%u already runs in %s mode", id,
					dev->vhost_client ? "client" : "server");
		return 0;
	}
	snprintf(name, sizeof(name), "net_vhost%u", id);
	snprintf(args, sizeof(args), "iface=/tmp/sock%u,queues=1,client=%d", id, !!client);
	ret = rte_vdev_init(name, args);
	if (ret != 0)
		return spp_fail(-ret < 0 ? EIO : -ret, "vhost:%u: cannot create %s (%s)", id,
				name, args);
	if (rte_eth_dev_get_port_by_name(name, &port_id) != 0)
		return spp_fail(ENODEV, "vhost:%u: device %s vanished", id, name);
	ret = dev_start(port_id, 1);
	if (ret < 0) {
		rte_eth_dev_close(port_id);
		rte_vdev_uninit(name);
		return ret;
	}
	dev->nb_queues = (uint16_t)ret;
	dev->ethdev_id = port_id;
	dev->kind = SPP_DEV_BRIDGED;
	dev->vhost_client = (uint8_t)!!client;
	snprintf(dev->name, sizeof(dev->name), "/tmp/sock%u", id);
	snprintf(dev->driver, sizeof(dev->driver), "net_vhost");
	rte_eth_macaddr_get(port_id, &dev->mac);
	ret = bridge_rings(dev, "vhost", id);
	if (ret < 0)
		return ret;
	__atomic_store_n(&dev->in_use, 1, __ATOMIC_RELEASE);
	return publish_plan();
}

/* ------------------------------------------------------------------ */
/* API                                                                 */

int
spp_primary_setup(unsigned nb_rings, uint64_t portmask, unsigned nb_mbufs)
{
	uint16_t port_id;
	unsigned int i, nb_phy = 0;
	int ret;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return spp_fail(EINVAL, "spp primary must run with --proc-type=primary");
	if (nb_rings == 0 || nb_rings > SPP_MAX_RINGS)
		return spp_fail(EINVAL, "number of rings must be 1-%u, not %u", SPP_MAX_RINGS,
				nb_rings);
	ret = spp_shared_create();
	if (ret < 0)
		return ret;
	ret = spp_lcores_claim();
	if (ret < 0)
		return ret;

	pri.pool = rte_pktmbuf_pool_create(SPP_POOL_NAME, nb_mbufs, SPP_POOL_CACHE, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (pri.pool == NULL)
		return spp_fail(ENOMEM, "cannot create mbuf pool of %u mbufs: %s", nb_mbufs,
				rte_strerror(rte_errno));

	for (i = 0; i < nb_rings; i++) {
		ret = spp_primary_add_ring(i);
		if (ret < 0)
			return ret;
	}

	RTE_ETH_FOREACH_DEV(port_id) {
		if (port_id >= 64 || !(portmask & (1ULL << port_id)))
			continue;
		if (nb_phy == SPP_MAX_PHY)
			return spp_fail(E2BIG, "more than %u phy ports", SPP_MAX_PHY);
		ret = phy_add(nb_phy, port_id);
		if (ret < 0)
			return ret;
		nb_phy++;
	}
	for (i = 0; i < 64 && portmask != UINT64_MAX; i++)
		if ((portmask & (1ULL << i)) && !rte_eth_dev_is_valid_port((uint16_t)i))
			return spp_fail(ENODEV, "portmask 0x%" PRIx64 " names port %u, but only %u "
					"ethdev port(s) exist", portmask, i,
					rte_eth_dev_count_avail());
	spp_shm->nb_phy = (uint16_t)nb_phy;

	ret = spp_mp_primary_register();
	if (ret < 0)
		return ret;
	return publish_plan();
}

int
spp_primary_run(unsigned lcore)
{
	size_t sz;
	int ret;

	if (lcore == rte_get_main_lcore() || !rte_lcore_is_enabled(lcore))
		return spp_fail(EINVAL, "lcore %u is not a worker lcore of this process", lcore);
	sz = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
	pri.qsbr = rte_zmalloc("spp_pri_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (pri.qsbr == NULL || rte_rcu_qsbr_init(pri.qsbr, RTE_MAX_LCORE) != 0)
		return spp_fail(ENOMEM, "cannot allocate the RCU state");
	pri.stop = 0;
	pri.worker_lcore = lcore;
	ret = rte_eal_remote_launch(pri_worker, NULL, lcore);
	if (ret != 0)
		return spp_fail(-ret, "cannot launch worker on lcore %u", lcore);
	pri.running = 1;
	return 0;
}

static void
dev_close(struct spp_shared_dev *dev)
{
	if (!dev->in_use)
		return;
	rte_eth_dev_stop(dev->ethdev_id);
	rte_eth_dev_close(dev->ethdev_id);
	dev->in_use = 0;
}

int
spp_primary_shutdown(void)
{
	unsigned int i;

	if (spp_shm == NULL)
		return 0;
	spp_mp_primary_unregister();
	if (pri.running) {
		pri.stop = 1;
		rte_eal_wait_lcore(pri.worker_lcore);
		pri.running = 0;
	}
	for (i = 0; i < SPP_MAX_VHOST; i++)
		dev_close(&spp_shm->vhost[i]);
	for (i = 0; i < SPP_MAX_PHY; i++)
		dev_close(&spp_shm->phy[i]);
	rte_free(pri.plan);
	pri.plan = NULL;
	return 0;
}

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

static int
dev_info(const struct spp_shared_dev *dev, const struct spp_bridge_counters *base,
	 unsigned int id, struct spp_dev_info *out)
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
	if (rte_eal_process_type() == RTE_PROC_PRIMARY &&
	    rte_eth_link_get_nowait(dev->ethdev_id, &link) == 0)
		out->link_up = link.link_status;
	out->promiscuous = rte_eth_promiscuous_get(dev->ethdev_id) == 1;
	out->rx = dev->ctr.rx - base->rx;
	out->rx_drop = dev->ctr.rx_drop - base->rx_drop;
	out->tx = dev->ctr.tx - base->tx;
	out->tx_drop = dev->ctr.tx_drop - base->tx_drop;
	return 0;
}

int
spp_primary_phy_info(unsigned id, struct spp_dev_info *out)
{
	if (spp_shm == NULL || id >= SPP_MAX_PHY || !spp_shm->phy[id].in_use)
		return spp_fail(ENOENT, "phy:%u does not exist", id);
	return dev_info(&spp_shm->phy[id], &pri.phy_base[id], id, out);
}

int
spp_primary_vhost_info(unsigned id, struct spp_dev_info *out)
{
	if (spp_shm == NULL || id >= SPP_MAX_VHOST || !spp_shm->vhost[id].in_use)
		return spp_fail(ENOENT, "vhost:%u does not exist", id);
	return dev_info(&spp_shm->vhost[id], &pri.vhost_base[id], id, out);
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

	if (spp_shm == NULL || id >= SPP_MAX_RINGS || spp_shm->ring[id] == NULL)
		return spp_fail(ENOENT, "ring:%u does not exist", id);
	ring_sum(id, &sum);
	memset(out, 0, sizeof(*out));
	out->id = (uint16_t)id;
	out->size = rte_ring_get_size(spp_shm->ring[id]);
	out->count = rte_ring_count(spp_shm->ring[id]);
	out->rx = sum.deq - pri.ring_base[id].deq;
	out->tx = sum.enq - pri.ring_base[id].enq;
	out->tx_drop = sum.enq_drop - pri.ring_base[id].enq_drop;
	return 0;
}

int
spp_primary_clear_stats(void)
{
	unsigned int i;

	if (spp_shm == NULL)
		return spp_fail(ENODEV, "primary is not set up");
	for (i = 0; i < SPP_MAX_PHY; i++)
		pri.phy_base[i] = spp_shm->phy[i].ctr;
	for (i = 0; i < SPP_MAX_VHOST; i++)
		pri.vhost_base[i] = spp_shm->vhost[i].ctr;
	for (i = 0; i < SPP_MAX_RINGS; i++)
		ring_sum(i, &pri.ring_base[i]);
	return 0;
}

static int
res_exists(int type, unsigned int id)
{
	if (type == SPP_RES_RING)
		return id < SPP_MAX_RINGS && spp_shm->ring[id] != NULL;
	return dev_of(type, id) != NULL;
}

static const char *
res_name(int type)
{
	return type == SPP_RES_PHY ? "phy" : type == SPP_RES_RING ? "ring" : "vhost";
}

int
spp_primary_patch(int src_type, unsigned src_id, int dst_type, unsigned dst_id)
{
	unsigned int i;

	if (spp_shm == NULL)
		return spp_fail(ENODEV, "primary is not set up");
	if (!res_exists(src_type, src_id))
		return spp_fail(ENOENT, "%s:%u does not exist", res_name(src_type), src_id);
	if (!res_exists(dst_type, dst_id))
		return spp_fail(ENOENT, "%s:%u does not exist", res_name(dst_type), dst_id);
	for (i = 0; i < pri.nb_patches; i++)
		if (pri.patches[i].src_type == src_type && pri.patches[i].src_id == src_id)
			break;
	if (i == pri.nb_patches && pri.nb_patches == MAX_PATCHES)
		return spp_fail(E2BIG, "too many patches");
	/* a patch from a directly polled device polls its queue 0 here (claim.c) */
	if (src_type == SPP_RES_PHY && spp_shm->phy[src_id].kind == SPP_DEV_DIRECT &&
	    spp_queue_claim(src_id, 0, PATCH_OWNER) < 0)
		return -EBUSY;
	if (i == pri.nb_patches)
		pri.nb_patches++;
	pri.patches[i] = (struct patch){ src_type, src_id, dst_type, dst_id };
	return publish_plan();
}

int
spp_primary_patch_reset(void)
{
	unsigned int i;

	for (i = 0; i < pri.nb_patches; i++)
		if (pri.patches[i].src_type == SPP_RES_PHY)
			spp_queue_release(pri.patches[i].src_id, 0, PATCH_OWNER);
	pri.nb_patches = 0;
	return publish_plan();
}

int
spp_primary_set_forwarding(int on)
{
	pri.forwarding = !!on;
	return publish_plan();
}
