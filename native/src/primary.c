/* SPDX-License-Identifier: BSD-3-Clause
 *
 * primary.c - the DPDK primary: mbuf pool, ring:N, phy:N and vhost:N
 * devices, who reads and writes which ring, and the bridge lcores that
 *   - bridge devices whose datapath only works in this process (af_xdp
 *     sockets and vhost-user queues are process-local) to a ring pair that
 *     a secondary uses as the port, and
 *   - run the patch forwarding of upstream spp_primary (patch SRC DST,
 *     forward, stop) for bring-up and diagnostics.
 *
 * One writer at a time: every change of the primary's state - from the
 * control thread (the Python main lcore) or from a secondary's request
 * (mp.c runs those on the primary's service thread) - happens under
 * pri.lock. The bridge lcores never take it: they read immutable plans
 * that a change replaces under RCU (bridge.c).
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
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "bridge.h"
#include "common.h"
#include "mp.h"
#include "pool.h"
#include "primary.h"
#include "ringside.h"
#include "shared.h"
#include "xsk.h"

#define RX_DESC 1024
#define TX_DESC 1024
#define MAX_LANES (2 * (SPP_MAX_PHY + SPP_MAX_VHOST) + SPP_MAX_RINGS)

struct patch {
	int src_type;
	unsigned int src_id;
	int dst_type;
	unsigned int dst_id;
};

#define MAX_PATCHES (SPP_MAX_PHY + SPP_MAX_VHOST + SPP_MAX_RINGS)
#define PATCH_OWNER "a patch of the primary"

static struct {
	pthread_mutex_t lock;
	struct rte_mempool *pool;
	struct pool_fence fence;
	unsigned int pool_size;          /* usable mbufs */
	uint64_t reserved;               /* mbufs the existing devices, rings and lcores can hold */
	int overcommit;                  /* the operator sized the pool (--mbufs) */
	uint64_t lost;                   /* mbufs left in the caches of processes that died */
	unsigned int bridge_ring_size;
	unsigned int vhost_reserve;      /* vhost ports the pool has room for from the start */
	unsigned int next_lcore;         /* round robin of devices over bridge lcores */
	int forwarding;
	unsigned int nb_patches;
	struct patch patches[MAX_PATCHES];
	struct xsk_fds xsk[SPP_MAX_PHY]; /* AF_XDP sockets of each af_xdp phy port */
	/* baselines for "clear": counters are never written by the control thread */
	struct spp_bridge_counters phy_base[SPP_MAX_PHY];
	struct spp_bridge_counters vhost_base[SPP_MAX_VHOST];
	uint64_t phy_drained_base[SPP_MAX_PHY];
	uint64_t vhost_drained_base[SPP_MAX_VHOST];
	struct spp_ring_counters ring_base[SPP_MAX_RINGS];
	uint64_t ring_drained_base[SPP_MAX_RINGS];
} pri = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.bridge_ring_size = SPP_BRIDGE_RING_SIZE,
	.vhost_reserve = 4,
};

static void
pri_lock(void)
{
	pthread_mutex_lock(&pri.lock);
}

static void
pri_unlock(void)
{
	pthread_mutex_unlock(&pri.lock);
}

/* ------------------------------------------------------------------ */
/* resources                                                           */

static struct spp_shared_dev *
dev_of(int type, unsigned int id)
{
	if (type == SPP_RES_PHY && id < SPP_MAX_PHY && spp_shm->phy[id].in_use)
		return &spp_shm->phy[id];
	if (type == SPP_RES_VHOST && id < SPP_MAX_VHOST && spp_shm->vhost[id].in_use)
		return &spp_shm->vhost[id];
	return NULL;
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

/* Room in the pool for `n` more mbufs that `what` may hold. */
static int
pool_reserve(unsigned int n, const char *what)
{
	if (pri.reserved + n > pri.pool_size) {
		if (!pri.overcommit)
			return spp_fail(ENOSPC, "%s can hold %u mbufs, but only %" PRIu64 " of the "
					"pool's %u are not spoken for; start the primary with more "
					"--vhost-ports or a larger --mbufs", what, n,
					pri.pool_size - RTE_MIN(pri.reserved, (uint64_t)pri.pool_size),
					pri.pool_size);
		SPP_LOG(WARNING, "%s: the pool of %u mbufs (--mbufs) is smaller than the %" PRIu64
			" its devices, rings and lcores can hold; it can run out", what,
			pri.pool_size, pri.reserved + n);
	}
	pri.reserved += n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* plans (lock held)                                                   */

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

static unsigned int
dev_lcore_index(const struct spp_shared_dev *dev)
{
	int idx = bridge_lcore_index(dev->lcore);

	return idx < 0 ? 0 : (unsigned int)idx;
}

static struct br_lane *
lane_add(struct br_plan **plans, unsigned int idx)
{
	struct br_lane *l = &plans[idx]->lane[plans[idx]->nb_lanes++];

	memset(l, 0, sizeof(*l));
	l->src_ring_id = LANE_NO_RING;
	l->dst_ring_id = LANE_NO_RING;
	return l;
}

/* Where a patch to (type, id) sends, and the lcore that must run it. */
static unsigned int
lane_set_dst(struct br_lane *l, int type, unsigned int id, unsigned int src_idx)
{
	struct spp_shared_dev *dev = dev_of(type, id);

	if (dev != NULL) {
		l->dst = LANE_TO_DEV;
		l->dst_port = dev->ethdev_id;
		l->dst_ctr = &dev->ctr;
		return dev_lcore_index(dev);  /* one lcore transmits on a device */
	}
	l->dst = LANE_TO_RING;
	l->dst_ring = spp_shm->ring[id];
	l->dst_ring_id = (uint16_t)id;
	return src_idx;
}

static void
add_dev_lanes(struct br_plan **plans, int type, struct spp_shared_dev *dev, unsigned int id)
{
	const struct patch *p = patch_from(type, id);
	unsigned int idx = dev_lcore_index(dev);
	struct br_lane l = { .src_ring_id = LANE_NO_RING, .dst_ring_id = LANE_NO_RING };

	/* device rx: to its patch, else to its reader's ring, else nowhere */
	if (p != NULL || dev->kind == SPP_DEV_BRIDGED) {
		unsigned int at = idx;

		l.src = LANE_FROM_DEV;
		l.src_port = dev->ethdev_id;
		l.src_ctr = &dev->ctr;
		if (p != NULL) {
			at = lane_set_dst(&l, p->dst_type, p->dst_id, idx);
		} else if (dev->reader.pid != 0) {
			l.dst = LANE_TO_RING;
			l.dst_ring = dev->rx_ring;
		} else {
			l.dst = LANE_TO_NOWHERE;
		}
		*lane_add(plans, at) = l;
	}
	/* its writer's ring: to the device */
	if (dev->kind == SPP_DEV_BRIDGED) {
		struct br_lane *t = lane_add(plans, idx);

		t->src = LANE_FROM_RING;
		t->src_ring = dev->tx_ring;
		t->dst = LANE_TO_DEV;
		t->dst_port = dev->ethdev_id;
		t->dst_ctr = &dev->ctr;
	}
}

static int
publish_plan(void)
{
	struct br_plan *plans[SPP_MAX_BRIDGE_LCORES];
	unsigned int nb = bridge_nb_lcores(), i;
	int ret;

	if (nb == 0)
		return 0;  /* not running yet: spp_primary_start() publishes */
	for (i = 0; i < nb; i++) {
		plans[i] = bridge_plan_alloc(MAX_LANES);
		if (plans[i] == NULL) {
			while (i-- > 0)
				rte_free(plans[i]);
			return spp_fail(ENOMEM, "out of memory building the forwarding plan");
		}
	}
	for (i = 0; i < SPP_MAX_PHY; i++)
		if (spp_shm->phy[i].in_use)
			add_dev_lanes(plans, SPP_RES_PHY, &spp_shm->phy[i], i);
	for (i = 0; i < SPP_MAX_VHOST; i++)
		if (spp_shm->vhost[i].in_use)
			add_dev_lanes(plans, SPP_RES_VHOST, &spp_shm->vhost[i], i);
	for (i = 0; i < SPP_MAX_RINGS; i++) {
		const struct patch *p = patch_from(SPP_RES_RING, i);
		struct br_lane l = { .src_ring_id = LANE_NO_RING, .dst_ring_id = LANE_NO_RING };
		unsigned int at;

		if (p == NULL || spp_shm->ring[i] == NULL)
			continue;
		l.src = LANE_FROM_RING;
		l.src_ring = spp_shm->ring[i];
		l.src_ring_id = (uint16_t)i;
		at = lane_set_dst(&l, p->dst_type, p->dst_id, 0);
		*lane_add(plans, at) = l;
	}
	ret = bridge_publish(plans);
	if (ret < 0)
		for (i = 0; i < nb; i++)
			rte_free(plans[i]);
	return ret;
}

/* ------------------------------------------------------------------ */
/* ring sides: who reads and who writes (lock held)                    */

struct side {
	struct spp_owner *owner;
	struct rte_ring *ring;
	int consumer;
	struct spp_shared_dev *dev;   /* bridged device, or NULL for ring:N */
	uint16_t ring_id;             /* ring:N */
	char what[48];
};

/* 1: resolved; 0: nothing to own (a directly polled device); < 0: error */
static int
side_resolve(int type, unsigned int id, int consumer, struct side *s)
{
	memset(s, 0, sizeof(*s));
	s->consumer = consumer;
	snprintf(s->what, sizeof(s->what), "%s:%u %s", res_name(type), id,
		 consumer ? "rx" : "tx");
	if (type == SPP_RES_RING) {
		if (id >= SPP_MAX_RINGS || spp_shm->ring[id] == NULL)
			return spp_fail(ENOENT, "ring:%u does not exist", id);
		s->ring = spp_shm->ring[id];
		s->ring_id = (uint16_t)id;
		s->owner = consumer ? &spp_shm->ring_reader[id] : &spp_shm->ring_writer[id];
		return 1;
	}
	s->dev = dev_of(type, id);
	if (s->dev == NULL)
		return spp_fail(ENOENT, "%s:%u does not exist", res_name(type), id);
	if (s->dev->kind != SPP_DEV_BRIDGED)
		return 0;
	s->ring = consumer ? s->dev->rx_ring : s->dev->tx_ring;
	s->owner = consumer ? &s->dev->reader : &s->dev->writer;
	return 1;
}

static void
count_drained(const struct side *s, uint64_t n)
{
	if (s->dev != NULL)
		s->dev->drained += n;
	else
		spp_shm->ring_drained[s->ring_id] += n;
}

static const char *
owner_name(const struct spp_owner *o, char *buf, size_t len)
{
	if (o->pid == getpid())
		snprintf(buf, len, "the primary's patch");
	else
		snprintf(buf, len, "spp_vf %u (pid %d)", o->client_id, (int)o->pid);
	return buf;
}

static void reap_locked(pid_t pid);

static int
side_claim(struct side *s, pid_t pid, uint16_t client_id)
{
	char who[64];

	if (s->owner->pid == pid)
		return 0;
	if (s->owner->pid != 0 && spp_pid_alive(s->owner->pid))
		return spp_fail(EBUSY, "%s is already %s by %s: a port or ring side has one "
				"%s process", s->what, s->consumer ? "read" : "written",
				owner_name(s->owner, who, sizeof(who)),
				s->consumer ? "reading" : "writing");
	if (s->owner->pid != 0)
		reap_locked(s->owner->pid);
	/* a bridged device fed nobody; anything queued is from before its last reader left */
	if (s->consumer && s->dev != NULL)
		count_drained(s, ring_drain(s->ring));
	s->owner->pid = pid;
	s->owner->client_id = client_id;
	if (s->consumer && s->dev != NULL)
		return publish_plan();  /* the device now feeds the ring */
	return 0;
}

/* `died`: the owner is gone, maybe half-way through an operation on its side. */
static int
side_release(struct side *s, pid_t pid, int died)
{
	uint32_t undone = 0;
	int ret = 0;

	if (s->owner->pid != pid)
		return 0;
	if (died)
		undone = ring_side_rollback(s->ring, s->consumer);
	s->owner->pid = 0;
	s->owner->client_id = 0;
	if (s->consumer && s->dev != NULL)
		ret = publish_plan();  /* the device stops feeding the ring first */
	if (s->consumer || (s->dev == NULL && spp_shm->ring_reader[s->ring_id].pid == 0))
		count_drained(s, ring_drain(s->ring));
	if (undone != 0)
		SPP_LOG(WARNING, "%s: process %d died inside %s; rolled back %u slot(s)",
			s->what, (int)pid, s->consumer ? "a dequeue" : "an enqueue", undone);
	return ret;
}

static void
release_all(pid_t pid, int died)
{
	struct side s;
	unsigned int i;
	int consumer;

	for (consumer = 0; consumer <= 1; consumer++) {
		for (i = 0; i < SPP_MAX_PHY; i++)
			if (side_resolve(SPP_RES_PHY, i, consumer, &s) == 1)
				side_release(&s, pid, died);
		for (i = 0; i < SPP_MAX_VHOST; i++)
			if (side_resolve(SPP_RES_VHOST, i, consumer, &s) == 1)
				side_release(&s, pid, died);
		for (i = 0; i < SPP_MAX_RINGS; i++)
			if (side_resolve(SPP_RES_RING, i, consumer, &s) == 1)
				side_release(&s, pid, died);
	}
}

/*
 * A secondary is gone without detaching (SIGKILL, crash). Its ring sides
 * are rolled back and freed for the next owner. The mbufs in its lcores'
 * caches are written off rather than flushed: a process killed inside a
 * cache put has raised the cache length before copying the pointers in, so
 * the cache may name mbufs that are in use elsewhere.
 */
static void
reap_locked(pid_t pid)
{
	unsigned int lcore, lost = 0;

	release_all(pid, 1);
	for (lcore = 0; lcore < SPP_MAX_LCORES; lcore++) {
		struct rte_mempool_cache *c;

		if (spp_shm->lcore_owner[lcore] != pid)
			continue;
		c = rte_mempool_default_cache(pri.pool, lcore);
		if (c != NULL) {
			lost += c->len;
			c->len = 0;
		}
		spp_shm->lcore_owner[lcore] = 0;
	}
	pri.lost += lost;
	SPP_LOG(WARNING, "process %d left without detaching: its ports and rings are free "
		"again, %u cached mbufs written off", (int)pid, lost);
}

static int
dead_owner(pid_t pid)
{
	return pid != 0 && pid != getpid() && !spp_pid_alive(pid);
}

static pid_t
find_dead_process(void)
{
	unsigned int i;

	for (i = 0; i < SPP_MAX_LCORES; i++)
		if (dead_owner(spp_shm->lcore_owner[i]))
			return spp_shm->lcore_owner[i];
	for (i = 0; i < SPP_MAX_PHY; i++) {
		if (dead_owner(spp_shm->phy[i].reader.pid))
			return spp_shm->phy[i].reader.pid;
		if (dead_owner(spp_shm->phy[i].writer.pid))
			return spp_shm->phy[i].writer.pid;
	}
	for (i = 0; i < SPP_MAX_VHOST; i++) {
		if (dead_owner(spp_shm->vhost[i].reader.pid))
			return spp_shm->vhost[i].reader.pid;
		if (dead_owner(spp_shm->vhost[i].writer.pid))
			return spp_shm->vhost[i].writer.pid;
	}
	for (i = 0; i < SPP_MAX_RINGS; i++) {
		if (dead_owner(spp_shm->ring_reader[i].pid))
			return spp_shm->ring_reader[i].pid;
		if (dead_owner(spp_shm->ring_writer[i].pid))
			return spp_shm->ring_writer[i].pid;
	}
	return 0;
}

int
spp_primary_reap(void)
{
	pid_t pid;
	int n = 0;

	if (spp_shm == NULL || pri.pool == NULL)
		return 0;
	pri_lock();
	while ((pid = find_dead_process()) != 0 && n < SPP_MAX_LCORES) {
		reap_locked(pid);
		n++;
	}
	pri_unlock();
	return n;
}

int
spp_primary_side(pid_t pid, uint16_t client_id, int type, unsigned int id, int consumer,
		 int claim)
{
	struct side s;
	int ret;

	pri_lock();
	ret = side_resolve(type, id, consumer, &s);
	if (ret == 1)
		ret = claim ? side_claim(&s, pid, client_id) : side_release(&s, pid, 0);
	pri_unlock();
	return ret < 0 ? ret : 0;
}

/* ------------------------------------------------------------------ */
/* processes and their lcores (lock held unless stated)                */

static unsigned int
lcores_in_use(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < SPP_MAX_LCORES; i++)
		n += spp_shm->lcore_owner[i] != 0;
	return n;
}

int
spp_primary_attach_process(pid_t pid, uint16_t client_id, const uint64_t *lcore_mask)
{
	unsigned int lcore, want = 0;
	int ret = 0;

	pri_lock();
	for (lcore = 0; lcore < SPP_MAX_LCORES; lcore++) {
		pid_t owner = spp_shm->lcore_owner[lcore];

		if (!(lcore_mask[lcore / 64] >> (lcore % 64) & 1))
			continue;
		if (owner != 0 && owner != pid && spp_pid_alive(owner)) {
			ret = spp_fail(EBUSY, "lcore %u is already used by process %d; give each "
				       "SPP process its own lcore ids", lcore, (int)owner);
			goto out;
		}
		if (owner != 0 && owner != pid)
			reap_locked(owner);
		want += owner != pid;
	}
	if (lcores_in_use() + want > SPP_POOL_LCORES) {
		ret = spp_fail(ENOSPC, "the mbuf pool keeps caches for %u lcores over all SPP "
			       "processes and %u are in use; %u more do not fit",
			       SPP_POOL_LCORES, lcores_in_use(), want);
		goto out;
	}
	for (lcore = 0; lcore < SPP_MAX_LCORES; lcore++)
		if (lcore_mask[lcore / 64] >> (lcore % 64) & 1)
			spp_shm->lcore_owner[lcore] = pid;
	(void)client_id;
out:
	pri_unlock();
	return ret;
}

int
spp_primary_detach_process(pid_t pid)
{
	unsigned int lcore;

	pri_lock();
	release_all(pid, 0);
	for (lcore = 0; lcore < SPP_MAX_LCORES; lcore++)
		if (spp_shm->lcore_owner[lcore] == pid)
			spp_shm->lcore_owner[lcore] = 0;
	pri_unlock();
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
	dev->rx_ring = rte_ring_create(name, pri.bridge_ring_size, rte_socket_id(),
				       RING_F_SP_ENQ);
	snprintf(name, sizeof(name), "spp_%s%u_tx", prefix, id);
	dev->tx_ring = rte_ring_create(name, pri.bridge_ring_size, rte_socket_id(),
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

	dev->lcore = nb ? (uint16_t)bridge_lcore(pri.next_lcore++ % nb) : UINT16_MAX;
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
					 pri.bridge_ring_size), "a phy port");
	if (ret < 0)
		return ret;
	xsk_fds_scan(&before);
	ret = dev_start(port_id, 1);
	if (ret < 0)
		return ret;
	xsk_fds_scan(&after);
	xsk_fds_new(&before, &after, &pri.xsk[id]);
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
	ret = pool_reserve(pool_need_ring(SPP_RING_SIZE), "a ring");
	if (ret < 0)
		return ret;
	snprintf(name, sizeof(name), "spp_ring_%u", id);
	/* one writer and one reader process; the primary's patch lanes peek (HTS) */
	spp_shm->ring[id] = rte_ring_create(name, SPP_RING_SIZE, rte_socket_id(),
					    RING_F_MC_HTS_DEQ);
	if (spp_shm->ring[id] == NULL) {
		pri.reserved -= pool_need_ring(SPP_RING_SIZE);
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
	need = pool_need_dev("net_vhost", 1, RX_DESC, TX_DESC, 1, pri.bridge_ring_size);
	ret = pool_reserve(need, "a vhost port");
	if (ret < 0)
		return ret;
	snprintf(name, sizeof(name), "net_vhost%u", id);
	snprintf(args, sizeof(args), "iface=/tmp/sock%u,queues=1,client=%d", id, !!client);
	ret = rte_vdev_init(name, args);
	if (ret != 0) {
		pri.reserved -= need;
		return spp_fail(-ret < 0 ? EIO : -ret, "vhost:%u: cannot create %s (%s)", id,
				name, args);
	}
	if (rte_eth_dev_get_port_by_name(name, &port_id) != 0) {
		pri.reserved -= need;
		return spp_fail(ENODEV, "vhost:%u: device %s vanished", id, name);
	}
	ret = dev_start(port_id, 1);
	if (ret < 0) {
		rte_eth_dev_close(port_id);
		rte_vdev_uninit(name);
		pri.reserved -= need;
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
	return publish_plan();
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

int
spp_primary_configure(unsigned bridge_ring_size, unsigned vhost_ports)
{
	if (spp_shm != NULL)
		return spp_fail(EBUSY, "configure the primary before spp_primary_setup()");
	if (bridge_ring_size < 64 || bridge_ring_size > (1u << 20) ||
	    (bridge_ring_size & (bridge_ring_size - 1)) != 0)
		return spp_fail(EINVAL, "bridge ring size %u is not a power of two in 64-%u",
				bridge_ring_size, 1u << 20);
	if (vhost_ports > SPP_MAX_VHOST)
		return spp_fail(EINVAL, "at most %u vhost ports, not %u", SPP_MAX_VHOST,
				vhost_ports);
	pri.bridge_ring_size = bridge_ring_size;
	pri.vhost_reserve = vhost_ports;
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
				      pri.bridge_ring_size);
		*afxdp |= strcmp(info.driver_name, "net_af_xdp") == 0;
	}
	need += (uint64_t)nb_rings * pool_need_ring(SPP_RING_SIZE);
	need += (uint64_t)pri.vhost_reserve *
		pool_need_dev("net_vhost", 1, RX_DESC, TX_DESC, 1, pri.bridge_ring_size);
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
		pri.overcommit = 1;
		if (nb_mbufs < need)
			SPP_LOG(WARNING, "--mbufs %u is less than the %" PRIu64 " mbufs the ports, "
				"rings and lcores can hold: the pool can run out", nb_mbufs, need);
	}
	pri.pool = pool_create(nb_mbufs, afxdp, &pri.fence);
	if (pri.pool == NULL)
		return -ENOMEM;
	pri.pool_size = pri.pool->populated_size - pri.fence.outside;
	pri.reserved = 0;
	ret = pool_reserve(pool_need_lcores(SPP_POOL_LCORES), "the lcores' caches");
	if (ret < 0)
		return ret;
	SPP_LOG(INFO, "mbuf pool %s: %u mbufs (%u outside the af_xdp UMEM withdrawn)",
		SPP_POOL_NAME, pri.pool_size, pri.fence.outside);

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

int
spp_primary_setup(unsigned nb_rings, uint64_t portmask, unsigned nb_mbufs)
{
	int ret;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return spp_fail(EINVAL, "spp primary must run with --proc-type=primary");
	if (nb_rings == 0 || nb_rings > SPP_MAX_RINGS)
		return spp_fail(EINVAL, "number of rings must be 1-%u, not %u", SPP_MAX_RINGS,
				nb_rings);
	if (spp_shm != NULL)
		return spp_fail(EBUSY, "the primary is already set up");
	pri_lock();
	ret = setup_locked(nb_rings, portmask, nb_mbufs);
	pri_unlock();
	if (ret < 0)
		return ret;
	return spp_mp_primary_register();
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
		pri.next_lcore = 0;
		for (i = 0; i < SPP_MAX_PHY; i++)
			if (spp_shm->phy[i].in_use)
				dev_place(&spp_shm->phy[i]);
		for (i = 0; i < SPP_MAX_VHOST; i++)
			if (spp_shm->vhost[i].in_use)
				dev_place(&spp_shm->vhost[i]);
		ret = publish_plan();
	}
	pri_unlock();
	return ret;
}

int
spp_primary_run(unsigned lcore)
{
	return spp_primary_start(&lcore, 1);
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
	spp_mp_primary_unregister();  /* joins the service thread: not under the lock */
	pri_lock();
	bridge_stop();
	for (i = 0; i < SPP_MAX_VHOST; i++)
		dev_close(&spp_shm->vhost[i]);
	for (i = 0; i < SPP_MAX_PHY; i++)
		dev_close(&spp_shm->phy[i]);
	pri_unlock();
	return 0;
}

/* ------------------------------------------------------------------ */
/* status                                                              */

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
		dev_info(&spp_shm->phy[id], &pri.phy_base[id], pri.phy_drained_base[id],
			 &pri.xsk[id], id, out);
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
		dev_info(&spp_shm->vhost[id], &pri.vhost_base[id], pri.vhost_drained_base[id],
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
	out->rx = sum.deq - pri.ring_base[id].deq;
	out->tx = sum.enq - pri.ring_base[id].enq;
	out->tx_drop = sum.enq_drop - pri.ring_base[id].enq_drop;
	out->drained = spp_shm->ring_drained[id] - pri.ring_drained_base[id];
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

	if (spp_shm == NULL || pri.pool == NULL)
		return spp_fail(ENODEV, "primary is not set up");
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", pri.pool->name);
	avail = rte_mempool_avail_count(pri.pool);
	out->size = pri.pool_size;
	out->available = RTE_MIN(avail, pri.pool_size);
	out->in_use = pri.pool_size - out->available;
	out->outside_umem = pri.fence.outside;
	out->reserved = pri.reserved;
	out->lost = pri.lost;
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
		pri.phy_base[i] = spp_shm->phy[i].ctr;
		pri.phy_drained_base[i] = spp_shm->phy[i].drained;
	}
	for (i = 0; i < SPP_MAX_VHOST; i++) {
		pri.vhost_base[i] = spp_shm->vhost[i].ctr;
		pri.vhost_drained_base[i] = spp_shm->vhost[i].drained;
	}
	for (i = 0; i < SPP_MAX_RINGS; i++) {
		ring_sum(i, &pri.ring_base[i]);
		pri.ring_drained_base[i] = spp_shm->ring_drained[i];
	}
	pri_unlock();
	return 0;
}

/* ------------------------------------------------------------------ */
/* patches                                                             */

/* The ring sides patches use belong to the primary while a patch uses them. */
static int
patch_uses(int type, unsigned int id, int consumer)
{
	unsigned int i;

	for (i = 0; i < pri.nb_patches; i++) {
		const struct patch *p = &pri.patches[i];

		if (consumer ? p->src_type == type && p->src_id == id :
			       p->dst_type == type && p->dst_id == id)
			return 1;
	}
	return 0;
}

/* Let go of the ring sides (and direct queue) of `p` that no patch uses any more. */
static void
patch_release_unused(const struct patch *p)
{
	struct side s;

	if (p->src_type == SPP_RES_PHY && !patch_uses(SPP_RES_PHY, p->src_id, 1))
		spp_queue_release(p->src_id, 0, PATCH_OWNER);

	if (p->src_type == SPP_RES_RING && !patch_uses(SPP_RES_RING, p->src_id, 1) &&
	    side_resolve(SPP_RES_RING, p->src_id, 1, &s) == 1)
		side_release(&s, getpid(), 0);
	if (p->dst_type == SPP_RES_RING && !patch_uses(SPP_RES_RING, p->dst_id, 0) &&
	    side_resolve(SPP_RES_RING, p->dst_id, 0, &s) == 1)
		side_release(&s, getpid(), 0);
}

static int
patch_claim(const struct patch *p)
{
	struct side s;
	int ret = 0;

	/* a patch from a directly polled device polls its queue 0 here (claim.c) */
	if (p->src_type == SPP_RES_PHY && spp_shm->phy[p->src_id].kind == SPP_DEV_DIRECT)
		ret = spp_queue_claim(p->src_id, 0, PATCH_OWNER);
	if (ret == 0 && p->src_type == SPP_RES_RING &&
	    side_resolve(SPP_RES_RING, p->src_id, 1, &s) == 1)
		ret = side_claim(&s, getpid(), 0);
	if (ret == 0 && p->dst_type == SPP_RES_RING &&
	    side_resolve(SPP_RES_RING, p->dst_id, 0, &s) == 1)
		ret = side_claim(&s, getpid(), 0);
	if (ret < 0)
		patch_release_unused(p);
	return ret;
}

static int
patch_locked(int src_type, unsigned int src_id, int dst_type, unsigned int dst_id)
{
	struct patch next = { src_type, src_id, dst_type, dst_id }, old;
	unsigned int i;
	int replace, ret;

	if (!res_exists(src_type, src_id))
		return spp_fail(ENOENT, "%s:%u does not exist", res_name(src_type), src_id);
	if (!res_exists(dst_type, dst_id))
		return spp_fail(ENOENT, "%s:%u does not exist", res_name(dst_type), dst_id);
	for (i = 0; i < pri.nb_patches; i++)
		if (pri.patches[i].src_type == src_type && pri.patches[i].src_id == src_id)
			break;
	if (i == pri.nb_patches && pri.nb_patches == MAX_PATCHES)
		return spp_fail(E2BIG, "too many patches");
	ret = patch_claim(&next);
	if (ret < 0)
		return ret;
	replace = i < pri.nb_patches;
	if (replace)
		old = pri.patches[i];
	else
		pri.nb_patches++;
	pri.patches[i] = next;
	ret = publish_plan();
	if (ret < 0) {  /* as it was */
		if (replace)
			pri.patches[i] = old;
		else
			pri.nb_patches--;
		publish_plan();
		patch_release_unused(&next);
		return ret;
	}
	if (replace)
		patch_release_unused(&old);
	return 0;
}

int
spp_primary_patch(int src_type, unsigned src_id, int dst_type, unsigned dst_id)
{
	int ret;

	if (spp_shm == NULL)
		return spp_fail(ENODEV, "primary is not set up");
	pri_lock();
	ret = patch_locked(src_type, src_id, dst_type, dst_id);
	pri_unlock();
	return ret;
}

int
spp_primary_patch_reset(void)
{
	struct patch old[MAX_PATCHES];
	unsigned int i, n;
	int ret;

	if (spp_shm == NULL)
		return spp_fail(ENODEV, "primary is not set up");
	pri_lock();
	n = pri.nb_patches;
	memcpy(old, pri.patches, n * sizeof(old[0]));
	pri.nb_patches = 0;
	ret = publish_plan();
	for (i = 0; i < n; i++)
		patch_release_unused(&old[i]);
	pri_unlock();
	return ret;
}

int
spp_primary_set_forwarding(int on)
{
	int ret;

	if (spp_shm == NULL)
		return spp_fail(ENODEV, "primary is not set up");
	pri_lock();
	pri.forwarding = !!on;
	ret = publish_plan();
	pri_unlock();
	return ret;
}
