/* SPDX-License-Identifier: BSD-3-Clause
 *
 * nfv.c - the spp_nfv secondary's control side: attach to the primary,
 * open ports, publish the plan of patches (nfv.h) and start and stop the
 * worker lcore (nfv_worker.c). Every spp_nfv_* call runs on the control
 * thread.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "common/common.h"
#include "common/mp.h"
#include "common/shared.h"
#include "nfv/nfv.h"
#include "secondary/attach.h"

static struct nfv_state nfv;

/* users[1][h]: port h is a patch source (read); users[0][h]: a destination (written) */
typedef uint8_t nfv_users[2][SPP_NFV_MAX_PORTS];

/* Wait until the worker cannot see what was just unpublished. */
static void
nfv_synchronize(void)
{
	if (nfv.running)
		rte_rcu_qsbr_synchronize(nfv.qsbr, RTE_QSBR_THRID_INVALID);
}

static int
port_is_open(unsigned int handle)
{
	return handle < SPP_NFV_MAX_PORTS && nfv.port[handle].kind != PORT_FREE;
}

/* ------------------------------------------------------------------ */
/* attach, worker, detach                                              */

int
spp_nfv_attach(unsigned client_id, int vhost_client)
{
	int ret;

	ret = sec_attach("spp_nfv", client_id, "spp_nfv_qsbr", &nfv.qsbr);
	if (ret < 0)
		return ret;
	nfv.client_id = client_id;
	nfv.vhost_client = vhost_client;
	nfv.attached = 1;
	return 0;
}

int
spp_nfv_start_worker(void)
{
	unsigned int lcore;

	if (!nfv.attached)
		return spp_fail(ENODEV, "not attached to a primary");
	if (nfv.running)
		return 0;
	lcore = rte_get_next_lcore(-1, 1, 0);
	if (lcore >= RTE_MAX_LCORE)
		return spp_fail(EINVAL, "spp_nfv needs a worker lcore (-l MASTER,WORKER)");
	nfv.stop = 0;
	nfv.worker = lcore;
	if (rte_eal_remote_launch(nfv_worker, &nfv, lcore) != 0)
		return spp_fail(EBUSY, "cannot launch the worker on lcore %u", lcore);
	nfv.running = 1;
	return (int)lcore;
}

static void
nfv_stop_worker(void)
{
	if (!nfv.running)
		return;
	nfv.stop = 1;
	rte_eal_wait_lcore(nfv.worker);
	nfv.running = 0;
}

/*
 * Leave in order: stop the worker, give back every port side (an empty
 * plan), return the mbufs cached for our lcores to the pool, then let the
 * primary free our lcore ids.
 */
int
spp_nfv_detach(void)
{
	if (!nfv.attached)
		return 0;
	nfv_stop_worker();
	if (spp_nfv_apply(NULL, NULL, 0, 0) < 0)
		SPP_LOG(WARNING, "detach: %s", spp_last_error());
	rte_free(nfv.plan);
	nfv.plan = NULL;
	sec_leave();
	rte_free(nfv.qsbr);
	nfv.qsbr = NULL;
	nfv.attached = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* ports                                                               */

int
spp_nfv_port_open(int res_type, unsigned res_id, unsigned queue)
{
	struct port p;
	unsigned int h;
	int ret;

	if (!nfv.attached)
		return spp_fail(ENODEV, "not attached to a primary");
	ret = port_open(&p, res_type, res_id, queue, nfv.vhost_client);
	if (ret < 0)
		return ret;
	for (h = 0; h < SPP_NFV_MAX_PORTS; h++)
		if (nfv.port[h].kind == PORT_FREE)
			break;
	if (h == SPP_NFV_MAX_PORTS)
		return spp_fail(E2BIG, "too many ports (%u)", SPP_NFV_MAX_PORTS);
	memset(&nfv.port_ctr[h], 0, sizeof(nfv.port_ctr[h]));
	nfv.port[h] = p;
	return (int)h;
}

static int
plan_uses(const struct nfv_plan *plan, unsigned int handle)
{
	unsigned int i;

	for (i = 0; plan != NULL && i < plan->nb; i++)
		if (plan->conf[i].rx[0].handle == handle || plan->conf[i].tx[0].handle == handle)
			return 1;
	return 0;
}

int
spp_nfv_port_close(unsigned handle)
{
	if (!port_is_open(handle))
		return spp_fail(EINVAL, "no open port %u", handle);
	if (plan_uses(nfv.plan, handle))
		return spp_fail(EBUSY, "port %u is patched", handle);
	memset(&nfv.port[handle], 0, sizeof(nfv.port[handle]));
	return 0;
}

int
spp_nfv_port_counters(unsigned handle, struct spp_port_counters *out)
{
	if (!port_is_open(handle))
		return spp_fail(EINVAL, "no open port %u", handle);
	out->rx = nfv.port_ctr[handle].rx;
	out->tx = nfv.port_ctr[handle].tx;
	out->tx_drop = nfv.port_ctr[handle].tx_drop;
	return 0;
}

/* ------------------------------------------------------------------ */
/* patches                                                             */

static void
plan_users(const struct nfv_plan *plan, nfv_users users)
{
	unsigned int i;

	memset(users, 0, sizeof(nfv_users));
	for (i = 0; plan != NULL && i < plan->nb; i++) {
		users[1][plan->conf[i].rx[0].handle] = 1;
		users[0][plan->conf[i].tx[0].handle] = 1;
	}
}

/*
 * Take (or give back) what reading or writing port h needs: the side of
 * its ring from the primary, or for a directly polled device's rx queue
 * the queue claim (one poller per queue across the processes).
 */
static int
side(unsigned int h, int consumer, int claim)
{
	char owner[SPP_NAMESIZE];

	snprintf(owner, sizeof(owner), "spp_nfv %u", nfv.client_id);
	return port_own(&nfv.port[h], consumer, claim, owner);
}

/* Claim what `after` uses and `before` did not; all or none. */
static int
sides_claim(nfv_users before, nfv_users after)
{
	char reason[256];
	unsigned int h, dir;
	int ret = 0;

	for (dir = 0; dir < 2 && ret == 0; dir++)
		for (h = 0; h < SPP_NFV_MAX_PORTS && ret == 0; h++)
			if (!before[dir][h] && after[dir][h])
				ret = side(h, (int)dir, 1);
	if (ret == 0)
		return 0;
	snprintf(reason, sizeof(reason), "%s", spp_last_error());
	for (dir = 0; dir < 2; dir++)   /* undo: releasing what is not held is a no-op */
		for (h = 0; h < SPP_NFV_MAX_PORTS; h++)
			if (!before[dir][h] && after[dir][h])
				side(h, (int)dir, 0);
	return spp_fail(-ret, "%s", reason);
}

/* Give back what `before` used and `after` does not (no worker can still use it). */
static void
sides_release(nfv_users before, nfv_users after)
{
	unsigned int h, dir;

	for (dir = 0; dir < 2; dir++)
		for (h = 0; h < SPP_NFV_MAX_PORTS; h++)
			if (before[dir][h] && !after[dir][h] && side(h, (int)dir, 0) < 0)
				SPP_LOG(WARNING, "releasing port %u: %s", h, spp_last_error());
}

/* A new plan of `nb` patches src[i] -> dst[i] into *out. */
static int
plan_build(const uint16_t *src, const uint16_t *dst, unsigned int nb, int forwarding,
	   struct nfv_plan **out)
{
	struct nfv_plan *plan;
	unsigned int i, j;

	if (nb > SPP_NFV_MAX_PORTS)
		return spp_fail(E2BIG, "at most %u patches", SPP_NFV_MAX_PORTS);
	for (i = 0; i < nb; i++) {
		if (!port_is_open(src[i]) || !port_is_open(dst[i]))
			return spp_fail(EINVAL, "patch %u names a port that is not open", i);
		for (j = 0; j < i; j++)
			if (src[j] == src[i])
				return spp_fail(EINVAL, "port %u is the source of two patches",
						src[i]);
	}
	plan = rte_zmalloc("spp_nfv_plan", sizeof(*plan) + nb * sizeof(plan->conf[0]),
			   RTE_CACHE_LINE_SIZE);
	if (plan == NULL)
		return spp_fail(ENOMEM, "out of memory for the patches");
	plan->nb = (uint16_t)nb;
	plan->forwarding = (uint8_t)!!forwarding;
	for (i = 0; i < nb; i++) {
		struct comp_conf *c = &plan->conf[i];

		c->ops = &comp_forward_ops;
		c->type = SPP_COMP_FORWARD;
		c->nb_rx = c->nb_tx = 1;
		c->rx[0].handle = src[i];
		c->tx[0].handle = dst[i];
	}
	*out = plan;
	return 0;
}

int
spp_nfv_apply(const uint16_t *src, const uint16_t *dst, unsigned nb, int forwarding)
{
	static nfv_users before, after;
	struct nfv_plan *plan = NULL, *old = nfv.plan;
	unsigned int i;
	int ret;

	if (!nfv.attached)
		return spp_fail(ENODEV, "not attached to a primary");
	ret = plan_build(src, dst, nb, forwarding, &plan);
	if (ret < 0)
		return ret;
	plan_users(old, before);
	plan_users(plan, after);
	ret = sides_claim(before, after);
	if (ret < 0) {
		rte_free(plan);
		return ret;
	}
	for (i = 0; i < nb; i++)   /* a new source starts its patch's counters afresh */
		if (!before[1][src[i]])
			memset(&nfv.st[src[i]], 0, sizeof(nfv.st[src[i]]));
	__atomic_store_n(&nfv.plan, plan, __ATOMIC_RELEASE);
	nfv_synchronize();
	rte_free(old);
	sides_release(before, after);
	return 0;
}
