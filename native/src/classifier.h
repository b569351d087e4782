/* SPDX-License-Identifier: BSD-3-Clause
 *
 * classifier.h - the lookup table of one classifier component.
 *
 * Open addressing over a power-of-two array of 16-byte slots, keyed by
 * (VLAN id, destination MAC) packed into 64 bits. Built whole by the
 * control thread and never modified after it is published, so readers
 * need no synchronisation beyond the RCU-protected pointer to it. Flood
 * sets (broadcast/multicast per VLAN) are stored in the same array under
 * the broadcast MAC, whose value is a bit mask of tx positions.
 */
#ifndef SPP_CLASSIFIER_H
#define SPP_CLASSIFIER_H

#include <stdint.h>
#include <rte_byteorder.h>
#include <rte_ether.h>

#include "common.h"

#define CLS_KEY_USED (1ULL << 63)
#define CLS_MAC_FLOOD 0xffffffffffffULL
#define CLS_NO_PORT UINT16_MAX

struct cls_slot {
	uint64_t key;    /* CLS_KEY_USED | vlan << 48 | mac; 0 when empty */
	uint64_t value;  /* tx position, or flood mask for CLS_MAC_FLOOD keys */
};

struct cls_table {
	uint32_t mask;        /* nb slots - 1 */
	uint16_t default_tx;  /* CLS_NO_PORT if none */
	uint16_t nb_entries;
	struct cls_slot slot[];
};

static inline uint64_t
cls_key(uint16_t vlan, const uint8_t *mac)
{
	uint64_t m = (uint64_t)mac[0] << 40 | (uint64_t)mac[1] << 32 | (uint64_t)mac[2] << 24 |
		     (uint64_t)mac[3] << 16 | (uint64_t)mac[4] << 8 | (uint64_t)mac[5];

	return CLS_KEY_USED | (uint64_t)(vlan & 0xfff) << 48 | m;
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

struct cls_table *cls_table_build(const struct spp_cls_entry *entries, unsigned int n,
				  uint16_t nb_tx);
void cls_table_free(struct cls_table *t);

#endif /* SPP_CLASSIFIER_H */
