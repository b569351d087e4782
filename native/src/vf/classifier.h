/* SPDX-License-Identifier: BSD-3-Clause
 *
 * classifier.h - the lookup table of one classifier component, and the
 * decision it makes for one frame (docs/classifier.md).
 *
 * The control thread changes a table in place while worker lcores read it
 * without locks. It has two parts:
 *   - exact entries: open addressing over a power-of-two array of 16-byte
 *     slots keyed by (VID, destination MAC) packed into 64 bits. An entry
 *     is published by writing its value and then its key with one release
 *     store; a deleted entry's key becomes a tombstone, and a tombstone is
 *     never reused, so a reader that matched the old key still reads the
 *     old value. When tombstones and entries fill half the array, the live
 *     entries are copied into a new array, the new array is published and
 *     the old one is freed by the caller after an RCU grace period.
 *   - one record per VID (0 = untagged): the tx ports a broadcast or
 *     multicast of that VLAN is copied to, and the tx port of its unknown
 *     unicast, each record replaced by one 64-bit store. The general
 *     (untagged) default is folded into every record, so a frame costs one
 *     hash lookup (unicast) or one array read (broadcast/multicast) and
 *     never a second lookup.
 */
#ifndef SPP_CLASSIFIER_H
#define SPP_CLASSIFIER_H

#include <stdint.h>
#include <rte_byteorder.h>
#include <rte_ether.h>

#include "common/common.h"

#define CLS_KEY_USED (1ULL << 63)
#define CLS_KEY_DELETED 1ULL   /* tombstone: never a live key (CLS_KEY_USED is clear) */
#define CLS_NO_PORT UINT16_MAX
#define CLS_NB_VLAN 4096

/* tx positions are bits of a 32-bit mask */
_Static_assert(SPP_MAX_COMP_PORTS <= 32, "flood masks are 32 bits wide");

struct cls_slot {
	uint64_t key;    /* CLS_KEY_USED | vid << 48 | mac; 0 empty; CLS_KEY_DELETED */
	uint64_t value;  /* tx position; written before the key is published */
};

struct cls_exact {
	uint32_t mask;   /* nb slots - 1 */
	uint32_t used;   /* live entries + tombstones (control thread only) */
	uint32_t live;
	struct cls_slot slot[];
};

union cls_vlan {
	struct {
		uint32_t flood;   /* tx positions of a broadcast/multicast; 0: drop */
		uint16_t dflt;    /* tx position of an unknown unicast; CLS_NO_PORT: drop */
		uint8_t members;  /* the VLAN has entries of its own (flood, not default) */
		uint8_t pad;
	};
	uint64_t word;        /* what readers load and the control thread stores */
};

struct cls_table {
	struct cls_exact *exact;            /* RCU: replaced when it fills up */
	union cls_vlan vlan[CLS_NB_VLAN];
	/* control thread only */
	uint16_t nb_tx;
	uint32_t nb_entries;
	uint16_t own_default[CLS_NB_VLAN];  /* a VLAN's own default; CLS_NO_PORT: none */
	uint32_t count[CLS_NB_VLAN][SPP_MAX_COMP_PORTS];  /* entries per VLAN and tx */
};

static inline uint64_t
cls_key(uint16_t vid, const uint8_t *mac)
{
	uint64_t m = (uint64_t)mac[0] << 40 | (uint64_t)mac[1] << 32 | (uint64_t)mac[2] << 24 |
		     (uint64_t)mac[3] << 16 | (uint64_t)mac[4] << 8 | (uint64_t)mac[5];

	return CLS_KEY_USED | (uint64_t)(vid & 0xfff) << 48 | m;
}

static inline uint32_t
cls_hash(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (uint32_t)key;
}

/* value stored under key, or `miss`; an empty slot ends the probe */
static inline uint64_t
cls_lookup(const struct cls_exact *x, uint64_t key, uint64_t miss)
{
	uint32_t i = cls_hash(key) & x->mask;

	for (;;) {
		const struct cls_slot *s = &x->slot[i];
		uint64_t k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);

		if (k == key)
			return s->value;
		if (k == 0)
			return miss;
		i = (i + 1) & x->mask;
	}
}

/*
 * Where a frame of VLAN `vid` (0: untagged or priority-tagged) for `dst`
 * goes: the tx positions in *ports and the outcome, one of SPP_CLS_HIT,
 * SPP_CLS_FLOOD, SPP_CLS_DEFAULT or SPP_CLS_NO_ENTRY (*ports untouched).
 */
static inline int
cls_decide(const struct cls_table *t, uint16_t vid, const struct rte_ether_addr *dst,
	   uint32_t *ports)
{
	union cls_vlan v;
	uint64_t tx;

	v.word = __atomic_load_n(&t->vlan[vid & 0xfff].word, __ATOMIC_RELAXED);
	if (unlikely(rte_is_multicast_ether_addr(dst))) {
		if (v.flood == 0)
			return SPP_CLS_NO_ENTRY;
		*ports = v.flood;
		return v.members ? SPP_CLS_FLOOD : SPP_CLS_DEFAULT;
	}
	tx = cls_lookup(__atomic_load_n(&t->exact, __ATOMIC_ACQUIRE),
			cls_key(vid, dst->addr_bytes), CLS_NO_PORT);
	if (likely(tx != CLS_NO_PORT)) {
		*ports = 1u << tx;
		return SPP_CLS_HIT;
	}
	if (v.dflt == CLS_NO_PORT)
		return SPP_CLS_NO_ENTRY;
	*ports = 1u << v.dflt;
	return SPP_CLS_DEFAULT;
}

/* control thread: an empty table of a classifier with nb_tx tx ports */
struct cls_table *cls_table_new(uint16_t nb_tx);
/*
 * Delete `del` (by key) and then add `add`, in place, as one change: on
 * failure (a bad or missing entry, a duplicate, no memory) the table holds
 * what it held before and the reason names the entry. When the exact part
 * had to be replaced (also on failure), *retired is the old array: free it
 * with cls_exact_free() once no reader can still see it; else NULL.
 */
int cls_table_apply(struct cls_table *t, const struct spp_cls_entry *add, unsigned int nb_add,
		    const struct spp_cls_entry *del, unsigned int nb_del,
		    struct cls_exact **retired);
struct cls_table *cls_table_build(const struct spp_cls_entry *entries, unsigned int n,
				  uint16_t nb_tx);
void cls_exact_free(struct cls_exact *x);
void cls_table_free(struct cls_table *t);

#endif /* SPP_CLASSIFIER_H */
