/* SPDX-License-Identifier: BSD-3-Clause
 *
 * host.c - the component host of spp_vf and spp_mirror, their control
 * side: attach to the primary with the process's component types, open
 * ports, publish component configurations and lcore plans, and start and
 * stop the worker lcores (host_worker.c). Its state (host.h) lives here, in
 * one instance handed to the workers; every spp_vf_* call (the API both
 * processes use) runs on the control thread.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "common/common.h"
#include "common/mp.h"
#include "common/shared.h"
#include "secondary/attach.h"
#include "secondary/host.h"

static struct vf_state vf;

/* the types this process runs (spp_vf's or spp_mirror's), set at attach; none before */
static const struct comp_ops *const *comp_types;
static unsigned int nb_comp_types;

/* ------------------------------------------------------------------ */
/* workers                                                             */

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
		if (rte_eal_remote_launch(vf_worker, &vf, lcore) != 0)
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
vf_host_attach(const char *who, unsigned int client_id, int vhost_client,
	       const struct comp_ops *const *types, unsigned int nb_types)
{
	int ret;

	comp_types = types;
	nb_comp_types = nb_types;
	ret = sec_attach(who, client_id, "spp_vf_qsbr", &vf.qsbr);
	if (ret < 0)
		return ret;
	vf.client_id = client_id;
	vf.vhost_client = vhost_client;
	vf.attached = 1;
	return 0;
}

/*
 * Leave in order: stop the workers, give back every port side, return the
 * mbufs cached for our lcores to the pool (nobody else may touch those
 * caches), then let the primary free our lcore ids.
 */
int
spp_vf_detach(void)
{
	unsigned int i;

	if (!vf.attached)
		return 0;
	spp_vf_stop_workers();
	for (i = 0; i < SPP_MAX_COMPONENTS; i++)
		spp_vf_component_clear(i);
	for (i = 0; i < SPP_MAX_LCORES; i++) {
		rte_free(vf.plan[i]);
		vf.plan[i] = NULL;
	}
	sec_leave();
	rte_free(vf.qsbr);
	vf.qsbr = NULL;
	vf.attached = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* ports                                                               */

static int
port_is_open(unsigned int handle)
{
	return handle < SPP_VF_MAX_PORTS && vf.port[handle].kind != PORT_FREE;
}

int
spp_vf_port_open(int res_type, unsigned res_id, unsigned queue)
{
	struct port p;
	unsigned int h, l;
	int ret;

	if (!vf.attached)
		return spp_fail(ENODEV, "not attached to a primary");
	ret = port_open(&p, res_type, res_id, queue, vf.vhost_client);
	if (ret < 0)
		return ret;
	for (h = 0; h < SPP_VF_MAX_PORTS; h++)
		if (vf.port[h].kind == PORT_FREE)
			break;
	if (h == SPP_VF_MAX_PORTS)
		return spp_fail(E2BIG, "too many open ports (%u)", SPP_VF_MAX_PORTS);
	for (l = 0; l < SPP_MAX_LCORES; l++)
		memset(&vf.port_ctr[l][h], 0, sizeof(vf.port_ctr[l][h]));
	vf.port[h] = p;
	return (int)h;
}

/* The caller guarantees no published component still uses the handle. */
int
spp_vf_port_close(unsigned handle)
{
	if (!port_is_open(handle))
		return spp_fail(EINVAL, "no open port %u", handle);
	memset(&vf.port[handle], 0, sizeof(vf.port[handle]));
	return 0;
}

int
spp_vf_port_counters(unsigned handle, struct spp_port_counters *out)
{
	unsigned int l;

	if (!port_is_open(handle))
		return spp_fail(EINVAL, "no open port %u", handle);
	memset(out, 0, sizeof(*out));
	for (l = 0; l < SPP_MAX_LCORES; l++) {
		out->rx += vf.port_ctr[l][handle].rx;
		out->tx += vf.port_ctr[l][handle].tx;
		out->tx_drop += vf.port_ctr[l][handle].tx_drop;
	}
	return 0;
}

int
spp_vf_rx_claim(unsigned handle, const char *owner)
{
	const struct port *p;

	if (!port_is_open(handle))
		return spp_fail(EINVAL, "no open port %u", handle);
	p = &vf.port[handle];
	/*
	 * A ring (ring:N, or the ring pair of a bridged device) is not claimed
	 * here: its reading side belongs to one process at a time, which claims
	 * it through the primary (sides_claim() below).
	 */
	if (p->kind != PORT_ETHDEV)
		return 0;
	return spp_queue_claim(p->res_id, p->queue, owner);
}

int
spp_vf_rx_release(unsigned handle, const char *owner)
{
	const struct port *p;

	if (handle >= SPP_VF_MAX_PORTS || vf.port[handle].kind != PORT_ETHDEV)
		return 0;
	p = &vf.port[handle];
	return spp_queue_release(p->res_id, p->queue, owner);
}

/* ------------------------------------------------------------------ */
/* components                                                          */

static int
check_ports(const struct spp_comp_port *ports, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		if (!port_is_open(ports[i].handle))
			return spp_fail(EINVAL, "port handle %u is not open", ports[i].handle);
	return 0;
}

/*
 * Which sides of which ports this process uses. A component's ports count
 * from the moment they are configured, ready or not, so a refused claim is
 * reported when the port is attached. The primary hands a port's reading
 * or writing side to one process at a time (common/shared.h); this process
 * claims a side when its first component starts using it and gives it back
 * when its last component stopped using it (and no worker can still be
 * inside).
 */
static void
count_users(uint16_t users[2][SPP_VF_MAX_PORTS], unsigned int skip_slot,
	    const struct slot_ports *instead)
{
	unsigned int s, i;

	memset(users, 0, 2 * SPP_VF_MAX_PORTS * sizeof(users[0][0]));
	for (s = 0; s < SPP_MAX_COMPONENTS; s++) {
		const struct slot_ports *p = s == skip_slot ? instead : &vf.slot_ports[s];

		for (i = 0; i < p->nb_rx; i++)
			users[1][p->rx[i]]++;
		for (i = 0; i < p->nb_tx; i++)
			users[0][p->tx[i]]++;
	}
}

/* Claim the sides `next` starts using in `slot`; all or none. */
static int
sides_claim(unsigned int slot, const struct slot_ports *next)
{
	static uint16_t before[2][SPP_VF_MAX_PORTS], after[2][SPP_VF_MAX_PORTS];
	char reason[256];
	unsigned int h, dir;
	int ret = 0;

	count_users(before, SPP_MAX_COMPONENTS, NULL);
	count_users(after, slot, next);
	for (dir = 0; dir < 2 && ret == 0; dir++)
		for (h = 0; h < SPP_VF_MAX_PORTS && ret == 0; h++)
			if (before[dir][h] == 0 && after[dir][h] != 0)
				ret = port_side(&vf.port[h], (int)dir, 1);
	if (ret == 0)
		return 0;
	snprintf(reason, sizeof(reason), "%s", spp_last_error());
	for (dir = 0; dir < 2; dir++)   /* undo: releasing a side not held is a no-op */
		for (h = 0; h < SPP_VF_MAX_PORTS; h++)
			if (before[dir][h] == 0 && after[dir][h] != 0)
				port_side(&vf.port[h], (int)dir, 0);
	return spp_fail(-ret, "%s", reason);
}

/* After `slot` was published with `next` and no worker uses what it dropped. */
static void
sides_release(unsigned int slot, const struct slot_ports *next)
{
	static uint16_t before[2][SPP_VF_MAX_PORTS], after[2][SPP_VF_MAX_PORTS];
	unsigned int h, dir;

	count_users(before, SPP_MAX_COMPONENTS, NULL);
	count_users(after, slot, next);
	vf.slot_ports[slot] = *next;
	for (dir = 0; dir < 2; dir++)
		for (h = 0; h < SPP_VF_MAX_PORTS; h++)
			if (before[dir][h] != 0 && after[dir][h] == 0 &&
			    port_side(&vf.port[h], (int)dir, 0) < 0)
				SPP_LOG(WARNING, "releasing port %u: %s", h, spp_last_error());
}

static void
conf_free(struct comp_conf *c)
{
	if (c == NULL)
		return;
	if (c->ops->teardown != NULL)
		c->ops->teardown(c);
	rte_free(c);
}

static void
slot_publish(unsigned int slot, struct comp_conf *conf)
{
	struct comp_conf *old = vf.slot[slot].conf;

	__atomic_store_n(&vf.slot[slot].conf, conf, __ATOMIC_RELEASE);
	vf_synchronize();
	conf_free(old);
}

int
spp_vf_component_update(unsigned slot, const struct spp_comp_spec *spec,
			const struct spp_cls_entry *entries, unsigned nb_entries)
{
	struct slot_ports ports = { 0 };
	const struct comp_ops *ops;
	struct comp_conf *conf;
	unsigned int i;
	int ret;

	if (slot >= SPP_MAX_COMPONENTS)
		return spp_fail(EINVAL, "component slot %u out of range", slot);
	if (spec->type >= nb_comp_types || comp_types[spec->type] == NULL)
		return spp_fail(EINVAL, "unknown component type %u", spec->type);
	ops = comp_types[spec->type];
	if (spec->nb_rx > SPP_MAX_COMP_PORTS || spec->nb_tx > SPP_MAX_COMP_PORTS)
		return spp_fail(E2BIG, "a component takes at most %u ports per direction",
				SPP_MAX_COMP_PORTS);
	ret = check_ports(spec->rx, spec->nb_rx);
	if (ret == 0)
		ret = check_ports(spec->tx, spec->nb_tx);
	if (ret < 0)
		return ret;
	ports.nb_rx = spec->nb_rx;
	ports.nb_tx = spec->nb_tx;
	for (i = 0; i < spec->nb_rx; i++)
		ports.rx[i] = spec->rx[i].handle;
	for (i = 0; i < spec->nb_tx; i++)
		ports.tx[i] = spec->tx[i].handle;
	if (!ops->ready(spec->nb_rx, spec->nb_tx)) {
		/* not enough ports for its type yet: keep it idle */
		ret = sides_claim(slot, &ports);
		if (ret < 0)
			return ret;
		slot_publish(slot, NULL);
		sides_release(slot, &ports);
		return 0;
	}

	conf = rte_zmalloc("spp_comp_conf", sizeof(*conf), RTE_CACHE_LINE_SIZE);
	if (conf == NULL)
		return spp_fail(ENOMEM, "out of memory for a component configuration");
	conf->ops = ops;
	conf->type = spec->type;
	conf->nb_rx = spec->nb_rx;
	conf->nb_tx = spec->nb_tx;
	memcpy(conf->rx, spec->rx, sizeof(spec->rx[0]) * spec->nb_rx);
	memcpy(conf->tx, spec->tx, sizeof(spec->tx[0]) * spec->nb_tx);
	if (ops->setup != NULL) {
		ret = ops->setup(conf, entries, nb_entries);
		if (ret < 0) {
			rte_free(conf);
			return ret;
		}
	}
	ret = sides_claim(slot, &ports);
	if (ret < 0) {
		conf_free(conf);
		return ret;
	}
	slot_publish(slot, conf);
	sides_release(slot, &ports);
	return 0;
}

int
spp_vf_table_update(unsigned slot, const struct spp_cls_entry *add, unsigned nb_add,
		    const struct spp_cls_entry *del, unsigned nb_del)
{
	const struct comp_conf *conf;
	void *retired = NULL;
	int ret;

	if (slot >= SPP_MAX_COMPONENTS)
		return spp_fail(EINVAL, "component slot %u out of range", slot);
	conf = vf.slot[slot].conf;  /* only this (control) thread publishes it */
	if (conf == NULL)
		return 0;
	if (conf->ops->table_update == NULL)
		return spp_fail(EINVAL, "component slot %u (%s) has no table", slot,
				conf->ops->name);
	ret = conf->ops->table_update(conf, add, nb_add, del, nb_del, &retired);
	if (retired != NULL) {
		vf_synchronize();
		conf->ops->table_reclaim(retired);
	}
	return ret;
}

int
spp_vf_component_clear(unsigned slot)
{
	static const struct slot_ports none;

	if (slot >= SPP_MAX_COMPONENTS)
		return spp_fail(EINVAL, "component slot %u out of range", slot);
	slot_publish(slot, NULL);
	sides_release(slot, &none);
	memset(&vf.slot[slot].st, 0, sizeof(vf.slot[slot].st));
	return 0;
}

int
spp_vf_component_counters(unsigned slot, struct spp_comp_counters *out)
{
	const struct comp_slot *s;

	if (slot >= SPP_MAX_COMPONENTS)
		return spp_fail(EINVAL, "component slot %u out of range", slot);
	s = &vf.slot[slot];
	if (s->conf != NULL)
		s->conf->ops->status(s->conf, &s->st, out);
	else
		*out = s->st.ctr;
	return 0;
}

int
spp_vf_component_cycles(unsigned slot, struct spp_cycles *out)
{
	if (slot >= SPP_MAX_COMPONENTS)
		return spp_fail(EINVAL, "component slot %u out of range", slot);
	*out = vf.slot[slot].st.cyc;
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
