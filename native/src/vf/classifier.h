/* SPDX-License-Identifier: BSD-3-Clause
 *
 * classifier.h - the lookup table of one classifier component, and the
 * decision it makes for one frame (docs/classifier.md).
 *
 * A table is built whole by the control thread and never modified after
 * it is published, so readers need no synchronisation beyond the
 * RCU-protected pointer to it. It has two parts:
 *   - exact entries: open addressing over a power-of-two array of 16-byte
 *     slots keyed by (VID, destination MAC) packed into 64 bits;
 *   - one record per VID (0 = untagged): the tx ports a broadcast or
 *     multicast of that VLAN is copied to, and the tx port of its unknown
 *     unicast. The general (untagged) default is folded into both at build
 *     time, so a frame costs one hash lookup (unicast) or one array read
 *     (broadcast/multicast) and never a second lookup.
 */
#ifndef SPP_CLASSIFIER_H
#define SPP_CLASSIFIER_H

#include <stdint.h>
#include <rte_byteorder.h>
#include <rte_ether.h>

#include "common/common.h"

#define CLS_KEY_USED (1ULL << 63)
#define CLS_NO_PORT UINT16_MAX
#define CLS_NB_VLAN 4096

/* tx positions are bits of a 32-bit mask */
_Static_assert(SPP_MAX_COMP_PORTS <= 32, "flood masks are 32 bits wide");

struct cls_slot {
	uint64_t key;    /* CLS_KEY_USED | vid << 48 | mac; 0 when empty */
	uint64_t value;  /* tx position */
};

struct cls_vlan {
	uint32_t flood;   /* tx positions of a broadcast/multicast; 0: drop */
	uint16_t dflt;    /* tx position of an unknown unicast; CLS_NO_PORT: drop */
	uint8_t members;  /* the VLAN has entries of its own (flood, not default) */
	uint8_t pad;
};

struct cls_table {
	uint32_t mask;        /* nb slots - 1 */
	uint16_t nb_entries;
	struct cls_vlan vlan[CLS_NB_VLAN];
	struct cls_slot slot[];
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

/* value stored under key, or `miss` */
static inline uint64_t
cls_lookup(const struct cls_table *t, uint64_t key, uint64_t miss)
{
	uint32_t i = cls_hash(key) & t->mask;

	for (;;) {
		const struct cls_slot *s = &t->slot[i];

		if (s->key == key)
			return s->value;
		if (s->key == 0)
			return miss;
		i = (i + 1) & t->mask;
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
	const struct cls_vlan *v = &t->vlan[vid & 0xfff];
	uint64_t tx;

	if (unlikely(rte_is_multicast_ether_addr(dst))) {
		if (v->flood == 0)
			return SPP_CLS_NO_ENTRY;
		*ports = v->flood;
		return v->members ? SPP_CLS_FLOOD : SPP_CLS_DEFAULT;
	}
	tx = cls_lookup(t, cls_key(vid, dst->addr_bytes), CLS_NO_PORT);
	if (likely(tx != CLS_NO_PORT)) {
		*ports = 1u << tx;
		return SPP_CLS_HIT;
	}
	if (v->dflt == CLS_NO_PORT)
		return SPP_CLS_NO_ENTRY;
	*ports = 1u << v->dflt;
	return SPP_CLS_DEFAULT;
}

struct cls_table *cls_table_build(const struct spp_cls_entry *entries, unsigned int n,
				  uint16_t nb_tx);
void cls_table_free(struct cls_table *t);

#endif /* SPP_CLASSIFIER_H */
