/* SPDX-License-Identifier: BSD-3-Clause
 *
 * vf.c - the spp_vf secondary: attach to the primary, open ports, publish
 * component configurations and lcore plans, and run the worker lcores.
 *
 * Each worker lcore loops over its plan (the components placed on it) and
 * runs each ready component for one burst. Plans and component
 * configurations are immutable once published; the control thread builds
 * a replacement, swaps the pointer and frees the old copy after every
 * worker has passed a quiescent state (rte_rcu_qsbr), so no worker ever
 * waits for the control plane and forwarding never pauses.
 */
#include <errno.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "mp.h"
#include "vf.h"

struct vf_port vf_ports[SPP_VF_MAX_PORTS];
struct vf_port_ctr vf_port_ctr[SPP_MAX_LCORES][SPP_VF_MAX_PORTS];
struct comp_slot vf_slots[SPP_MAX_COMPONENTS];

static struct {
	int attached;
	int running;
	int vhost_client;
	unsigned int client_id;
	volatile int stop;
	struct rte_rcu_qsbr *qsbr;
	struct lcore_plan *plan[SPP_MAX_LCORES];
} vf;

/* ------------------------------------------------------------------ */
/* workers                                                             */

static int
vf_worker(__rte_unused void *arg)
{
	unsigned int lcore = rte_lcore_id();
	struct spp_cycles *cyc = &spp_lcore_cyc[lcore].c;
	struct spp_idle idle = { 0 };
	uint64_t round = rte_rdtsc();

	rte_rcu_qsbr_thread_register(vf.qsbr, lcore);
	rte_rcu_qsbr_thread_online(vf.qsbr, lcore);

	while (!vf.stop) {
		const struct lcore_plan *plan = __atomic_load_n(&vf.plan[lcore], __ATOMIC_ACQUIRE);
		unsigned int i, work = 0;
		uint64_t tsc = round;

		for (i = 0; plan != NULL && i < plan->nb; i++) {
			struct comp_slot *s = &vf_slots[plan->slot[i]];
			const struct comp_conf *conf = __atomic_load_n(&s->conf, __ATOMIC_ACQUIRE);
			unsigned int n;

			if (conf == NULL)
				continue;
			n = comp_run(conf, &s->st, lcore);
			spp_cycles_burst(&s->st.cyc, &tsc, n);
			work += n;
		}
		rte_rcu_qsbr_quiescent(vf.qsbr, lcore);
		spp_idle_update(&idle, work);
		spp_cycles_round(cyc, &round, work);
	}

	rte_rcu_qsbr_thread_offline(vf.qsbr, lcore);
	rte_rcu_qsbr_thread_unregister(vf.qsbr, lcore);
	return 0;
}

/* Wait until no worker can still see what was just unpublished. */
static void
vf_synchronize(void)
{
	if (vf.running)
		rte_rcu_qsbr_synchronize(vf.qsbr, RTE_QSBR_THRID_INVALID);
}

int
spp_vf_start_workers(void)
{
	unsigned int lcore;

	if (!vf.attached)
		return spp_fail(ENODEV, "not attached to a primary");
	if (vf.running)
		return 0;
	vf.stop = 0;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (rte_eal_remote_launch(vf_worker, NULL, lcore) != 0)
			return spp_fail(EBUSY, "cannot launch worker on lcore %u", lcore);
	}
	vf.running = 1;
	return 0;
}

int
spp_vf_stop_workers(void)
{
	if (!vf.running)
		return 0;
	vf.stop = 1;
	rte_eal_mp_wait_lcore();
	vf.running = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* attach                                                              */

int
spp_vf_attach(unsigned client_id, int vhost_client)
{
	size_t sz;
	int ret;

	if (rte_eal_process_type() != RTE_PROC_SECONDARY)
		return spp_fail(EINVAL, "spp_vf must run with --proc-type=secondary");
	ret = spp_shared_attach();
	if (ret < 0)
		return ret;
	ret = spp_lcores_claim();
	if (ret < 0)
		return ret;
	sz = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
	vf.qsbr = rte_zmalloc("spp_vf_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (vf.qsbr == NULL || rte_rcu_qsbr_init(vf.qsbr, RTE_MAX_LCORE) != 0)
		return spp_fail(ENOMEM, "cannot allocate the RCU state");
	vf.client_id = client_id;
	vf.vhost_client = vhost_client;
	vf.attached = 1;
	return 0;
}

int
spp_vf_detach(void)
{
	unsigned int i;

	spp_vf_stop_workers();
	for (i = 0; i < SPP_MAX_COMPONENTS; i++)
		spp_vf_component_clear(i);
	for (i = 0; i < SPP_MAX_LCORES; i++) {
		rte_free(vf.plan[i]);
		vf.plan[i] = NULL;
	}
	rte_free(vf.qsbr);
	vf.qsbr = NULL;
	vf.attached = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* ports                                                               */

static int
port_from_dev(struct vf_port *p, const struct spp_shared_dev *dev, const char *type,
	      unsigned int id, unsigned int queue)
{
	if (queue >= dev->nb_queues)
		return spp_fail(EINVAL, "%s:%u has %u queue(s); nq %u does not exist", type, id,
				dev->nb_queues, queue);
	if (dev->kind == SPP_DEV_BRIDGED) {
		if (queue != 0)
			return spp_fail(EINVAL, "%s:%u is bridged by the primary and has only "
					"queue 0", type, id);
		p->kind = VF_PORT_RING;
		p->rx_ring = dev->rx_ring;
		p->tx_ring = dev->tx_ring;
	} else {
		p->kind = VF_PORT_ETHDEV;
		p->ethdev_id = dev->ethdev_id;
		p->queue = (uint16_t)queue;
	}
	return 0;
}

int
spp_vf_port_open(int res_type, unsigned res_id, unsigned queue)
{
	struct vf_port p = { 0 };
	unsigned int h;
	int ret;

	if (!vf.attached)
		return spp_fail(ENODEV, "not attached to a primary");
	p.res_type = (uint8_t)res_type;
	p.res_id = (uint16_t)res_id;

	switch (res_type) {
	case SPP_RES_PHY:
		if (res_id >= SPP_MAX_PHY || !spp_shm->phy[res_id].in_use)
			return spp_fail(ENOENT, "phy:%u does not exist (the primary has %u phy "
					"port(s))", res_id, spp_shm->nb_phy);
		ret = port_from_dev(&p, &spp_shm->phy[res_id], "phy", res_id, queue);
		if (ret < 0)
			return ret;
		break;
	case SPP_RES_RING:
		if (res_id >= SPP_MAX_RINGS || spp_shm->ring[res_id] == NULL)
			return spp_fail(ENOENT, "ring:%u does not exist (the primary has %u "
					"ring(s))", res_id, spp_shm->nb_rings);
		if (queue != 0)
			return spp_fail(EINVAL, "ring:%u has no queue %u", res_id, queue);
		p.kind = VF_PORT_RING;
		p.rx_ring = p.tx_ring = spp_shm->ring[res_id];
		p.count_ring = 1;
		break;
	case SPP_RES_VHOST:
		if (res_id >= SPP_MAX_VHOST)
			return spp_fail(EINVAL, "vhost:%u is out of range (0-%u)", res_id,
					SPP_MAX_VHOST - 1);
		if (!__atomic_load_n(&spp_shm->vhost[res_id].in_use, __ATOMIC_ACQUIRE)) {
			ret = spp_mp_request_vhost(res_id, vf.vhost_client);
			if (ret < 0)
				return ret;
		}
		ret = port_from_dev(&p, &spp_shm->vhost[res_id], "vhost", res_id, queue);
		if (ret < 0)
			return ret;
		break;
	default:
		return spp_fail(EINVAL, "unknown resource type %d", res_type);
	}

	for (h = 0; h < SPP_VF_MAX_PORTS; h++)
		if (vf_ports[h].kind == VF_PORT_FREE)
			break;
	if (h == SPP_VF_MAX_PORTS)
		return spp_fail(E2BIG, "too many open ports (%u)", SPP_VF_MAX_PORTS);
	for (unsigned int l = 0; l < SPP_MAX_LCORES; l++)
		memset(&vf_port_ctr[l][h], 0, sizeof(vf_port_ctr[l][h]));
	vf_ports[h] = p;
	return (int)h;
}

/* The caller guarantees no published component still uses the handle. */
int
spp_vf_port_close(unsigned handle)
{
	if (handle >= SPP_VF_MAX_PORTS || vf_ports[handle].kind == VF_PORT_FREE)
		return spp_fail(EINVAL, "no open port %u", handle);
	memset(&vf_ports[handle], 0, sizeof(vf_ports[handle]));
	return 0;
}

int
spp_vf_port_counters(unsigned handle, struct spp_port_counters *out)
{
	unsigned int l;

	if (handle >= SPP_VF_MAX_PORTS || vf_ports[handle].kind == VF_PORT_FREE)
		return spp_fail(EINVAL, "no open port %u", handle);
	memset(out, 0, sizeof(*out));
	for (l = 0; l < SPP_MAX_LCORES; l++) {
		out->rx += vf_port_ctr[l][handle].rx;
		out->tx += vf_port_ctr[l][handle].tx;
		out->tx_drop += vf_port_ctr[l][handle].tx_drop;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* components                                                          */

static int
comp_ready(const struct spp_comp_spec *s)
{
	switch (s->type) {
	case SPP_COMP_FORWARD:
		return s->nb_rx == 1 && s->nb_tx == 1;
	case SPP_COMP_MERGE:
		return s->nb_rx >= 1 && s->nb_tx == 1;
	case SPP_COMP_CLASSIFIER:
		return s->nb_rx == 1 && s->nb_tx >= 1;
	default:
		return 0;
	}
}

static int
check_ports(const struct spp_comp_port *ports, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		if (ports[i].handle >= SPP_VF_MAX_PORTS ||
		    vf_ports[ports[i].handle].kind == VF_PORT_FREE)
			return spp_fail(EINVAL, "port handle %u is not open", ports[i].handle);
	return 0;
}

static void
conf_free(struct comp_conf *c)
{
	if (c == NULL)
		return;
	cls_table_free(c->table);
	rte_free(c);
}

static void
slot_publish(unsigned int slot, struct comp_conf *conf)
{
	struct comp_conf *old = vf_slots[slot].conf;

	__atomic_store_n(&vf_slots[slot].conf, conf, __ATOMIC_RELEASE);
	vf_synchronize();
	conf_free(old);
}

int
spp_vf_component_update(unsigned slot, const struct spp_comp_spec *spec,
			const struct spp_cls_entry *entries, unsigned nb_entries)
{
	struct comp_conf *conf;
	int ret;

	if (slot >= SPP_MAX_COMPONENTS)
		return spp_fail(EINVAL, "component slot %u out of range", slot);
	if (spec->type < SPP_COMP_FORWARD || spec->type > SPP_COMP_CLASSIFIER)
		return spp_fail(EINVAL, "unknown component type %u", spec->type);
	if (spec->nb_rx > SPP_MAX_COMP_PORTS || spec->nb_tx > SPP_MAX_COMP_PORTS)
		return spp_fail(E2BIG, "a component takes at most %u ports per direction",
				SPP_MAX_COMP_PORTS);
	ret = check_ports(spec->rx, spec->nb_rx);
	if (ret == 0)
		ret = check_ports(spec->tx, spec->nb_tx);
	if (ret < 0)
		return ret;
	if (!comp_ready(spec)) {
		/* not enough ports for its role yet: keep it idle */
		slot_publish(slot, NULL);
		return 0;
	}

	conf = rte_zmalloc("spp_comp_conf", sizeof(*conf), RTE_CACHE_LINE_SIZE);
	if (conf == NULL)
		return spp_fail(ENOMEM, "out of memory for a component configuration");
	conf->type = spec->type;
	conf->nb_rx = spec->nb_rx;
	conf->nb_tx = spec->nb_tx;
	memcpy(conf->rx, spec->rx, sizeof(spec->rx[0]) * spec->nb_rx);
	memcpy(conf->tx, spec->tx, sizeof(spec->tx[0]) * spec->nb_tx);
	if (spec->type == SPP_COMP_CLASSIFIER) {
		conf->table = cls_table_build(entries, nb_entries, spec->nb_tx);
		if (conf->table == NULL) {
			rte_free(conf);
			return -EINVAL;
		}
	}
	slot_publish(slot, conf);
	return 0;
}

int
spp_vf_component_clear(unsigned slot)
{
	if (slot >= SPP_MAX_COMPONENTS)
		return spp_fail(EINVAL, "component slot %u out of range", slot);
	slot_publish(slot, NULL);
	memset(&vf_slots[slot].st, 0, sizeof(vf_slots[slot].st));
	return 0;
}

int
spp_vf_component_counters(unsigned slot, struct spp_comp_counters *out)
{
	if (slot >= SPP_MAX_COMPONENTS)
		return spp_fail(EINVAL, "component slot %u out of range", slot);
	*out = vf_slots[slot].st.ctr;
	return 0;
}

int
spp_vf_component_cycles(unsigned slot, struct spp_cycles *out)
{
	if (slot >= SPP_MAX_COMPONENTS)
		return spp_fail(EINVAL, "component slot %u out of range", slot);
	*out = vf_slots[slot].st.cyc;
	return 0;
}

int
spp_vf_lcore_set(unsigned lcore, const uint16_t *slots, unsigned nb_slots)
{
	struct lcore_plan *plan = NULL, *old;
	unsigned int i;

	if (lcore >= SPP_MAX_LCORES || !rte_lcore_is_enabled(lcore) ||
	    lcore == rte_get_main_lcore())
		return spp_fail(EINVAL, "core %u is not a worker lcore of this process", lcore);
	if (nb_slots > SPP_MAX_COMP_PER_LCORE)
		return spp_fail(E2BIG, "at most %u components per lcore",
				SPP_MAX_COMP_PER_LCORE);
	if (nb_slots > 0) {
		plan = rte_zmalloc("spp_lcore_plan", sizeof(*plan), RTE_CACHE_LINE_SIZE);
		if (plan == NULL)
			return spp_fail(ENOMEM, "out of memory for an lcore plan");
		for (i = 0; i < nb_slots; i++) {
			if (slots[i] >= SPP_MAX_COMPONENTS) {
				rte_free(plan);
				return spp_fail(EINVAL, "component slot %u out of range",
						slots[i]);
			}
			plan->slot[i] = slots[i];
		}
		plan->nb = (uint16_t)nb_slots;
	}
	old = vf.plan[lcore];
	__atomic_store_n(&vf.plan[lcore], plan, __ATOMIC_RELEASE);
	vf_synchronize();
	rte_free(old);
	return 0;
}
