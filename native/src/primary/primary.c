/* SPDX-License-Identifier: BSD-3-Clause
 *
 * primary.c - the DPDK primary: set-up, the mbuf pool, the ring:N, phy:N
 * and vhost:N devices and the primary's life cycle. The bridge lcores
 * (bridge.c) bridge devices whose datapath only works in this process
 * (af_xdp sockets and vhost-user queues are process-local) to a ring pair
 * that a secondary uses as the port, and run the primary's patches.
 *
 * The rest of the primary: owners.c (who reads and writes which ring,
 * processes and their lcores), patch.c (patch forwarding and the bridge
 * lcores' plans), primary_info.c (status). primary.h says which state
 * they share and who writes it; every change happens under spp_pri.lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "common/common.h"
#include "common/mp.h"
#include "common/pool.h"
#include "common/shared.h"
#include "common/xsk.h"
#include "primary/bridge.h"
#include "primary/primary.h"

#define RX_DESC 1024
#define TX_DESC 1024

struct primary_state spp_pri = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

/* written here only, under the lock */
static struct {
	int overcommit;                  /* the operator sized the pool (--mbufs) */
	unsigned int bridge_ring_size;
	unsigned int ring_size;          /* slots of each ring:N */
	unsigned int vhost_reserve;      /* vhost ports the pool has room for from the start */
	unsigned int next_lcore;         /* round robin of devices over bridge lcores */
} cfg = {
	.bridge_ring_size = SPP_BRIDGE_RING_SIZE,
	.ring_size = SPP_RING_SIZE,
	.vhost_reserve = SPP_VHOST_PORTS_DEFAULT,
};

/* ------------------------------------------------------------------ */
/* resources                                                           */

/* Room in the pool for `n` more mbufs that `what` may hold. */
static int
pool_reserve(unsigned int n, const char *what)
{
	if (spp_pri.reserved + n > spp_pri.pool_size) {
		if (!cfg.overcommit)
			return spp_fail(ENOSPC, "%s can hold %u mbufs, but only %" PRIu64 " of the "
					"pool's %u are not spoken for; start the primary with more "
					"--vhost-ports or a larger --mbufs", what, n,
					spp_pri.pool_size - RTE_MIN(spp_pri.reserved,
								    (uint64_t)spp_pri.pool_size),
					spp_pri.pool_size);
		SPP_LOG(WARNING, "%s: the pool of %u mbufs (--mbufs) is smaller than the %" PRIu64
			" its devices, rings and lcores can hold; it can run out", what,
			spp_pri.pool_size, spp_pri.reserved + n);
	}
	spp_pri.reserved += n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* devices (lock held)                                                 */

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
					     NULL, spp_pri.pool);
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

/*
 * The rx ring has one producer, the device's rx lane; the tx ring one
 * consumer, its tx lane, which peeks (back-pressure). Their other sides
 * belong to one process each, which may use them from several lcores.
 */
static int
bridge_rings(struct spp_shared_dev *dev, const char *prefix, unsigned int id)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "spp_%s%u_rx", prefix, id);
	dev->rx_ring = rte_ring_create(name, cfg.bridge_ring_size, rte_socket_id(),
				       RING_F_SP_ENQ);
	snprintf(name, sizeof(name), "spp_%s%u_tx", prefix, id);
	dev->tx_ring = rte_ring_create(name, cfg.bridge_ring_size, rte_socket_id(),
				       RING_F_SC_DEQ);
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

static void
dev_place(struct spp_shared_dev *dev)
{
	unsigned int nb = bridge_nb_lcores();

	dev->lcore = nb ? (uint16_t)bridge_lcore(cfg.next_lcore++ % nb) : UINT16_MAX;
}

static int
phy_add(unsigned int id, uint16_t port_id)
{
	struct spp_shared_dev *dev = &spp_shm->phy[id];
	struct rte_eth_dev_info info;
	struct xsk_fds before, after;
	int bridged, ret;

	ret = rte_eth_dev_info_get(port_id, &info);
	if (ret != 0)
		return spp_fail(-ret, "port %u: cannot read device info", port_id);
	bridged = is_process_local_driver(info.driver_name);
	ret = pool_reserve(pool_need_dev(info.driver_name, 1, RX_DESC, TX_DESC, bridged,
					 cfg.bridge_ring_size), "a phy port");
	if (ret < 0)
		return ret;
	xsk_fds_scan(&before);
	ret = dev_start(port_id, 1);
	if (ret < 0)
		return ret;
	xsk_fds_scan(&after);
	xsk_fds_new(&before, &after, &spp_pri.xsk[id]);
	dev->nb_queues = (uint16_t)ret;
	dev->ethdev_id = port_id;
	dev->lcore = UINT16_MAX;
	dev_describe(dev, port_id, &info);
	if (bridged) {
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

static int
add_ring_locked(unsigned int id)
{
	char name[RTE_RING_NAMESIZE];
	int ret;

	if (id >= SPP_MAX_RINGS)
		return spp_fail(EINVAL, "ring:%u is out of range (0-%u)", id, SPP_MAX_RINGS - 1);
	if (spp_shm->ring[id] != NULL)
		return spp_fail(EEXIST, "ring:%u already exists", id);
	ret = pool_reserve(pool_need_ring(cfg.ring_size), "a ring");
	if (ret < 0)
		return ret;
	snprintf(name, sizeof(name), "spp_ring_%u", id);
	/* one writer and one reader process; the primary's patch lanes peek (HTS) */
	spp_shm->ring[id] = rte_ring_create(name, cfg.ring_size, rte_socket_id(),
					    RING_F_MC_HTS_DEQ);
	if (spp_shm->ring[id] == NULL) {
		spp_pri.reserved -= pool_need_ring(cfg.ring_size);
		return spp_fail(ENOMEM, "cannot create ring:%u: %s", id, rte_strerror(rte_errno));
	}
	if (id >= spp_shm->nb_rings)
		spp_shm->nb_rings = (uint16_t)(id + 1);
	return 0;
}

int
spp_primary_add_ring(unsigned id)
{
	int ret;

	if (spp_shm == NULL)
		return spp_fail(ENODEV, "primary is not set up");
	pri_lock();
	ret = add_ring_locked(id);
	pri_unlock();
	return ret;
}

static int
add_vhost_locked(unsigned int id, int client)
{
	struct spp_shared_dev *dev;
	char name[RTE_ETH_NAME_MAX_LEN], args[128];
	unsigned int need;
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
	need = pool_need_dev("net_vhost", 1, RX_DESC, TX_DESC, 1, cfg.bridge_ring_size);
	ret = pool_reserve(need, "a vhost port");
	if (ret < 0)
		return ret;
	snprintf(name, sizeof(name), "net_vhost%u", id);
	snprintf(args, sizeof(args), "iface=/tmp/sock%u,queues=1,client=%d", id, !!client);
	ret = rte_vdev_init(name, args);
	if (ret != 0) {
		spp_pri.reserved -= need;
		return spp_fail(-ret < 0 ? EIO : -ret, "vhost:%u: cannot create %s (%s)", id,
				name, args);
	}
	if (rte_eth_dev_get_port_by_name(name, &port_id) != 0) {
		spp_pri.reserved -= need;
		return spp_fail(ENODEV, "vhost:%u: device %s vanished", id, name);
	}
	ret = dev_start(port_id, 1);
	if (ret < 0) {
		rte_eth_dev_close(port_id);
		rte_vdev_uninit(name);
		spp_pri.reserved -= need;
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
	dev_place(dev);
	__atomic_store_n(&dev->in_use, 1, __ATOMIC_RELEASE);
	return plan_publish(&spp_pri);
}

int
spp_primary_add_vhost(unsigned id, int client)
{
	int ret;

	if (spp_shm == NULL)
		return spp_fail(ENODEV, "primary is not set up");
	pri_lock();
	ret = add_vhost_locked(id, client);
	pri_unlock();
	return ret;
}

/* ------------------------------------------------------------------ */
/* set-up and life cycle                                               */

static int
ring_size_ok(unsigned int size)
{
	return size >= SPP_BRIDGE_RING_MIN && size <= SPP_BRIDGE_RING_MAX &&
	       (size & (size - 1)) == 0;
}

int
spp_primary_configure(unsigned bridge_ring_size, unsigned ring_size, unsigned vhost_ports)
{
	if (spp_shm != NULL)
		return spp_fail(EBUSY, "configure the primary before spp_primary_setup()");
	if (!ring_size_ok(bridge_ring_size))
		return spp_fail(EINVAL, "bridge ring size %u is not a power of two in %u-%u",
				bridge_ring_size, SPP_BRIDGE_RING_MIN, SPP_BRIDGE_RING_MAX);
	if (!ring_size_ok(ring_size))
		return spp_fail(EINVAL, "ring size %u is not a power of two in %u-%u",
				ring_size, SPP_BRIDGE_RING_MIN, SPP_BRIDGE_RING_MAX);
	if (vhost_ports > SPP_MAX_VHOST)
		return spp_fail(EINVAL, "at most %u vhost ports, not %u", SPP_MAX_VHOST,
				vhost_ports);
	cfg.bridge_ring_size = bridge_ring_size;
	cfg.ring_size = ring_size;
	cfg.vhost_reserve = vhost_ports;
	return 0;
}

/* mbufs the pool needs for what is given at start, and whether any port is af_xdp */
static uint64_t
pool_plan(unsigned int nb_rings, uint64_t portmask, int *afxdp)
{
	uint64_t need = pool_need_lcores(SPP_POOL_LCORES);
	uint16_t port_id;

	*afxdp = 0;
	RTE_ETH_FOREACH_DEV(port_id) {
		struct rte_eth_dev_info info;

		if (port_id >= 64 || !(portmask & (1ULL << port_id)) ||
		    rte_eth_dev_info_get(port_id, &info) != 0)
			continue;
		need += pool_need_dev(info.driver_name, 1, RX_DESC, TX_DESC,
				      is_process_local_driver(info.driver_name),
				      cfg.bridge_ring_size);
		*afxdp |= strcmp(info.driver_name, "net_af_xdp") == 0;
	}
	need += (uint64_t)nb_rings * pool_need_ring(cfg.ring_size);
	need += (uint64_t)cfg.vhost_reserve *
		pool_need_dev("net_vhost", 1, RX_DESC, TX_DESC, 1, cfg.bridge_ring_size);
	return need;
}

static int
setup_locked(unsigned int nb_rings, uint64_t portmask, unsigned int nb_mbufs)
{
	uint64_t need;
	uint16_t port_id;
	unsigned int i, nb_phy = 0, lcore;
	int afxdp, ret;

	ret = spp_shared_create();
	if (ret < 0)
		return ret;
	RTE_LCORE_FOREACH(lcore)
		spp_shm->lcore_owner[lcore] = getpid();

	need = pool_plan(nb_rings, portmask, &afxdp);
	if (nb_mbufs == 0) {
		/* the UMEM fence withdraws about one mbuf per hugepage */
		need += afxdp ? need / 512 + 64 : 0;
		if (need > UINT32_MAX / 2)
			return spp_fail(E2BIG, "the ports and rings given need %" PRIu64 " mbufs",
					need);
		nb_mbufs = (unsigned int)need;
	} else {
		cfg.overcommit = 1;
		if (nb_mbufs < need)
			SPP_LOG(WARNING, "--mbufs %u is less than the %" PRIu64 " mbufs the ports, "
				"rings and lcores can hold: the pool can run out", nb_mbufs, need);
	}
	spp_pri.pool = pool_create(nb_mbufs, afxdp, &spp_pri.fence);
	if (spp_pri.pool == NULL)
		return -ENOMEM;
	spp_pri.pool_size = spp_pri.pool->populated_size - spp_pri.fence.outside;
	spp_pri.reserved = 0;
	ret = pool_reserve(pool_need_lcores(SPP_POOL_LCORES), "the lcores' caches");
	if (ret < 0)
		return ret;
	SPP_LOG(INFO, "mbuf pool %s: %u mbufs (%u outside the af_xdp UMEM withdrawn)",
		SPP_POOL_NAME, spp_pri.pool_size, spp_pri.fence.outside);

	for (i = 0; i < nb_rings; i++) {
		ret = add_ring_locked(i);
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
	return 0;
}

/* what the service thread does for secondaries (mp.h) */
static const struct spp_mp_server_ops mp_ops = {
	.vhost_add = spp_primary_add_vhost,
	.attach = spp_primary_attach_process,
	.detach = spp_primary_detach_process,
	.side = spp_primary_side,
	.reap = spp_primary_reap,
};

int
spp_primary_setup(unsigned nb_rings, uint64_t portmask, unsigned nb_mbufs)
{
	int ret;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return spp_fail(EINVAL, "spp primary must run with --proc-type=primary");
	if (nb_rings == 0 || nb_rings > SPP_MAX_RINGS)
		return spp_fail(EINVAL, "number of rings must be 1-%u, not %u", SPP_MAX_RINGS,
				nb_rings);
	if (nb_mbufs != 0 && nb_mbufs < SPP_MIN_MBUFS)
		return spp_fail(EINVAL, "a pool of %u mbufs is too small (at least %u)", nb_mbufs,
				SPP_MIN_MBUFS);
	if (spp_shm != NULL)
		return spp_fail(EBUSY, "the primary is already set up");
	pri_lock();
	ret = setup_locked(nb_rings, portmask, nb_mbufs);
	pri_unlock();
	if (ret < 0)
		return ret;
	return spp_mp_server_start(&mp_ops);
}

int
spp_primary_start(const unsigned *lcores, unsigned nb_lcores)
{
	unsigned int i;
	int ret;

	if (spp_shm == NULL)
		return spp_fail(ENODEV, "primary is not set up");
	pri_lock();
	ret = bridge_start(lcores, nb_lcores);
	if (ret == 0) {
		cfg.next_lcore = 0;
		for (i = 0; i < SPP_MAX_PHY; i++)
			if (spp_shm->phy[i].in_use)
				dev_place(&spp_shm->phy[i]);
		for (i = 0; i < SPP_MAX_VHOST; i++)
			if (spp_shm->vhost[i].in_use)
				dev_place(&spp_shm->vhost[i]);
		ret = plan_publish(&spp_pri);
	}
	pri_unlock();
	return ret;
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
	spp_mp_server_stop();  /* joins the service thread: not under the lock */
	pri_lock();
	bridge_stop();
	for (i = 0; i < SPP_MAX_VHOST; i++)
		dev_close(&spp_shm->vhost[i]);
	for (i = 0; i < SPP_MAX_PHY; i++)
		dev_close(&spp_shm->phy[i]);
	pri_unlock();
	return 0;
}
