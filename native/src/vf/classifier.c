/* SPDX-License-Identifier: BSD-3-Clause
 *
 * classifier.c - changing classifier tables in place (control thread
 * only), and spp_cls_decide()/spp_cls_decide_steps(), which ask a table
 * built from the same entries the question the hot path asks, for tests
 * and diagnostics.
 *
 * Tables live in ordinary process memory: only this process's lcores read
 * them, and changing one needs no EAL (so the decision is testable alone).
 * Grace periods are the caller's: cls_table_apply() hands back what it
 * unpublished.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vf/classifier.h"

#define CLS_MIN_SLOTS 16u

static struct cls_exact *
exact_new(uint32_t nb_slots)
{
	size_t size = sizeof(struct cls_exact) + (size_t)nb_slots * sizeof(struct cls_slot);
	struct cls_exact *x;

	x = aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(size, RTE_CACHE_LINE_SIZE));
	if (x == NULL)
		return NULL;
	memset(x, 0, size);
	x->mask = nb_slots - 1;
	return x;
}

void
cls_exact_free(struct cls_exact *x)
{
	free(x);
}

/* the slot holding `key`, or NULL */
static struct cls_slot *
exact_find(struct cls_exact *x, uint64_t key)
{
	uint32_t i = cls_hash(key) & x->mask;

	for (;; i = (i + 1) & x->mask) {
		if (x->slot[i].key == key)
			return &x->slot[i];
		if (x->slot[i].key == 0)
			return NULL;
	}
}

/* Publish key -> value in the first empty slot of its probe; -EEXIST if present. */
static int
exact_insert(struct cls_exact *x, uint64_t key, uint64_t value)
{
	uint32_t i = cls_hash(key) & x->mask;

	for (;; i = (i + 1) & x->mask) {
		struct cls_slot *s = &x->slot[i];

		if (s->key == key)
			return -EEXIST;
		if (s->key == 0) {
			s->value = value;
			__atomic_store_n(&s->key, key, __ATOMIC_RELEASE);
			x->used++;
			x->live++;
			return 0;
		}
	}
}

/*
 * Make room for `n` more slots at load <= 1/2, counting tombstones: copy
 * the live entries into an array loaded at most 1/4 and publish it.
 */
static int
exact_reserve(struct cls_table *t, uint32_t n, struct cls_exact **retired)
{
	struct cls_exact *old = t->exact, *x;
	uint64_t need = (uint64_t)old->live + n;
	uint32_t nb_slots = CLS_MIN_SLOTS, i;

	if (2 * ((uint64_t)old->used + n) <= (uint64_t)old->mask + 1)
		return 0;
	while ((uint64_t)nb_slots < 4 * need)
		nb_slots <<= 1;
	x = exact_new(nb_slots);
	if (x == NULL)
		return spp_fail(ENOMEM, "out of memory for a classifier table of %" PRIu64
				" entries", need);
	for (i = 0; i <= old->mask; i++)
		if (old->slot[i].key & CLS_KEY_USED)
			exact_insert(x, old->slot[i].key, old->slot[i].value);
	__atomic_store_n(&t->exact, x, __ATOMIC_RELEASE);
	*retired = old;
	return 0;
}

static uint32_t
members_of(const struct cls_table *t, unsigned int vid)
{
	uint32_t m = 0;
	unsigned int tx;

	for (tx = 0; tx < SPP_MAX_COMP_PORTS; tx++)
		if (t->count[vid][tx] != 0)
			m |= 1u << tx;
	return m;
}

/* Recompute the record of `vid` from the entries and store it whole. */
static void
vlan_refresh(struct cls_table *t, unsigned int vid)
{
	uint16_t general = t->own_default[0];
	uint32_t members = members_of(t, vid);
	union cls_vlan v = { .word = 0 };

	v.dflt = t->own_default[vid] != CLS_NO_PORT ? t->own_default[vid] : general;
	v.flood = members | (general != CLS_NO_PORT ? 1u << general : 0);
	v.members = members != 0;
	__atomic_store_n(&t->vlan[vid].word, v.word, __ATOMIC_RELAXED);
}

/* After a change of entry `e`: its VLAN's record, or every record for the general default. */
static void
entry_changed(struct cls_table *t, const struct spp_cls_entry *e)
{
	unsigned int vid;

	if (e->is_default && e->vlan == 0) {
		for (vid = 0; vid < CLS_NB_VLAN; vid++)
			vlan_refresh(t, vid);
	} else {
		vlan_refresh(t, e->vlan);
	}
}

static int
entry_check(const struct cls_table *t, const struct spp_cls_entry *e, unsigned int i)
{
	if (e->tx_index >= t->nb_tx || e->tx_index >= SPP_MAX_COMP_PORTS)
		return spp_fail(EINVAL, "table entry %u names tx position %u of %u", i,
				e->tx_index, t->nb_tx);
	if (e->vlan > SPP_VLAN_ID_MAX)
		return spp_fail(EINVAL, "table entry %u has VLAN id %u (0-%u)", i, e->vlan,
				SPP_VLAN_ID_MAX);
	return 0;
}

static int
entry_add(struct cls_table *t, const struct spp_cls_entry *e)
{
	if (e->is_default) {
		if (t->own_default[e->vlan] != CLS_NO_PORT)
			return -EEXIST;
		t->own_default[e->vlan] = e->tx_index;
	} else if (exact_insert(t->exact, cls_key(e->vlan, e->mac), e->tx_index) < 0) {
		return -EEXIST;
	}
	/* a VLAN's broadcast reaches every port with an entry in it */
	t->count[e->vlan][e->tx_index]++;
	t->nb_entries++;
	entry_changed(t, e);
	return 0;
}

/* Remove the entry equal to `e` (key and tx position); -ENOENT if there is none. */
static int
entry_del(struct cls_table *t, const struct spp_cls_entry *e)
{
	if (e->is_default) {
		if (t->own_default[e->vlan] != e->tx_index)
			return -ENOENT;
		t->own_default[e->vlan] = CLS_NO_PORT;
	} else {
		struct cls_slot *s = exact_find(t->exact, cls_key(e->vlan, e->mac));

		if (s == NULL || s->value != e->tx_index)
			return -ENOENT;
		__atomic_store_n(&s->key, CLS_KEY_DELETED, __ATOMIC_RELEASE);
		t->exact->live--;
	}
	t->count[e->vlan][e->tx_index]--;
	t->nb_entries--;
	entry_changed(t, e);
	return 0;
}

struct cls_table *
cls_table_new(uint16_t nb_tx)
{
	struct cls_table *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->exact = exact_new(CLS_MIN_SLOTS)) == NULL) {
		free(t);
		spp_fail(ENOMEM, "out of memory for a classifier table");
		return NULL;
	}
	t->nb_tx = nb_tx;
	memset(t->own_default, 0xff, sizeof(t->own_default));
	for (unsigned int vid = 0; vid < CLS_NB_VLAN; vid++)
		vlan_refresh(t, vid);
	return t;
}

static int
entry_fail(const struct spp_cls_entry *e, unsigned int i, int err)
{
	char mac[RTE_ETHER_ADDR_FMT_SIZE] = "default";

	if (!e->is_default)
		rte_ether_format_addr(mac, sizeof(mac), (const struct rte_ether_addr *)e->mac);
	if (err == -EEXIST)
		return spp_fail(EEXIST, "table entry %u: VLAN %u %s is already in the table", i,
				e->vlan, mac);
	return spp_fail(ENOENT, "table entry %u: VLAN %u %s -> tx position %u is not in the "
			"table", i, e->vlan, mac, e->tx_index);
}

int
cls_table_apply(struct cls_table *t, const struct spp_cls_entry *add, unsigned int nb_add,
		const struct spp_cls_entry *del, unsigned int nb_del, struct cls_exact **retired)
{
	unsigned int i, done_del = 0, done_add = 0;
	uint64_t macs_add = 0, macs_del = 0;
	int ret = 0;

	*retired = NULL;
	for (i = 0; i < nb_add; i++) {
		if ((ret = entry_check(t, &add[i], i)) < 0)
			return ret;
		macs_add += !add[i].is_default;
	}
	for (i = 0; i < nb_del; i++) {
		if ((ret = entry_check(t, &del[i], i)) < 0)
			return ret;
		macs_del += !del[i].is_default;
	}
	if (t->exact->live + macs_add > SPP_CLS_MAX_ENTRIES + macs_del)
		return spp_fail(E2BIG, "a classifier table holds at most %u MAC entries",
				SPP_CLS_MAX_ENTRIES);
	/* room for the adds and, should one fail, for putting the deleted back */
	ret = exact_reserve(t, nb_add + nb_del, retired);
	if (ret < 0)
		return ret;

	for (; done_del < nb_del; done_del++) {
		ret = entry_del(t, &del[done_del]);
		if (ret < 0) {
			ret = entry_fail(&del[done_del], done_del, ret);
			goto undo;
		}
	}
	for (; done_add < nb_add; done_add++) {
		ret = entry_add(t, &add[done_add]);
		if (ret < 0) {
			ret = entry_fail(&add[done_add], done_add, ret);
			goto undo;
		}
	}
	return 0;
undo:
	while (done_add > 0)
		entry_del(t, &add[--done_add]);
	while (done_del > 0)
		entry_add(t, &del[--done_del]);
	return ret;
}

struct cls_table *
cls_table_build(const struct spp_cls_entry *entries, unsigned int n, uint16_t nb_tx)
{
	struct cls_table *t = cls_table_new(nb_tx);
	struct cls_exact *retired;
	int ret;

	if (t == NULL)
		return NULL;
	ret = cls_table_apply(t, entries, n, NULL, 0, &retired);
	cls_exact_free(retired);  /* nobody reads a table that is being built */
	if (ret < 0) {
		cls_table_free(t);
		return NULL;
	}
	return t;
}

void
cls_table_free(struct cls_table *t)
{
	if (t == NULL)
		return;
	cls_exact_free(t->exact);
	free(t);
}

static int
decide(struct cls_table *t, uint16_t vlan, const uint8_t *dst, uint32_t *tx_mask)
{
	struct rte_ether_addr addr;

	memcpy(addr.addr_bytes, dst, RTE_ETHER_ADDR_LEN);
	*tx_mask = 0;
	return cls_decide(t, vlan, &addr, tx_mask);
}

int
spp_cls_decide(const struct spp_cls_entry *entries, unsigned nb_entries, unsigned nb_tx,
	       uint16_t vlan, const uint8_t *dst, uint32_t *tx_mask)
{
	struct cls_table *t;
	int ret;

	if (nb_tx > SPP_MAX_COMP_PORTS)
		return spp_fail(E2BIG, "a classifier has at most %u tx ports", SPP_MAX_COMP_PORTS);
	t = cls_table_build(entries, nb_entries, (uint16_t)nb_tx);
	if (t == NULL)
		return -EINVAL;
	ret = decide(t, vlan, dst, tx_mask);
	cls_table_free(t);
	return ret;
}

int
spp_cls_decide_steps(const struct spp_cls_entry *entries, const uint8_t *is_del,
		     unsigned nb_entries, unsigned nb_tx, uint16_t vlan, const uint8_t *dst,
		     uint32_t *tx_mask)
{
	struct cls_exact *retired;
	struct cls_table *t;
	unsigned int i;
	int ret = 0;

	if (nb_tx > SPP_MAX_COMP_PORTS)
		return spp_fail(E2BIG, "a classifier has at most %u tx ports", SPP_MAX_COMP_PORTS);
	t = cls_table_new((uint16_t)nb_tx);
	if (t == NULL)
		return -ENOMEM;
	for (i = 0; i < nb_entries && ret == 0; i++) {
		if (is_del[i])
			ret = cls_table_apply(t, NULL, 0, &entries[i], 1, &retired);
		else
			ret = cls_table_apply(t, &entries[i], 1, NULL, 0, &retired);
		cls_exact_free(retired);
	}
	if (ret == 0)
		ret = decide(t, vlan, dst, tx_mask);
	cls_table_free(t);
	return ret;
}
