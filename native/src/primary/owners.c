/* SPDX-License-Identifier: BSD-3-Clause
 *
 * owners.c - who reads and who writes each ring side of the primary's
 * ports and rings, which process runs which lcore, and what happens when
 * a process leaves: in order (detach) or dead (reaped: its sides rolled
 * back and freed, its lcores' mbuf caches written off).
 *
 * A side belongs to one process at a time (shared.h); the owner records
 * live in the shared memzone and change only here, under the primary's
 * lock (primary.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_mempool.h>
#include <rte_ring.h>

#include "common/common.h"
#include "common/ringside.h"
#include "common/shared.h"
#include "primary/primary.h"

/* ------------------------------------------------------------------ */
/* ring sides: who reads and who writes (lock held)                    */

/* 1: resolved; 0: nothing to own (a directly polled device); < 0: error */
int
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

int
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
		return plan_publish(&spp_pri);  /* the device now feeds the ring */
	return 0;
}

/* `died`: the owner is gone, maybe half-way through an operation on its side. */
int
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
		ret = plan_publish(&spp_pri);  /* the device stops feeding the ring first */
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
		c = rte_mempool_default_cache(spp_pri.pool, lcore);
		if (c != NULL) {
			lost += c->len;
			c->len = 0;
		}
		spp_shm->lcore_owner[lcore] = 0;
	}
	spp_pri.lost += lost;
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

	if (spp_shm == NULL || spp_pri.pool == NULL)
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
