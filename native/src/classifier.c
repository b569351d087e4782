/* SPDX-License-Identifier: BSD-3-Clause
 *
 * classifier.c - building classifier tables (control thread only).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "classifier.h"

static struct cls_slot *
cls_slot_for(struct cls_table *t, uint64_t key)
{
	uint32_t i = cls_hash(key) & t->mask;

	while (t->slot[i].key != 0 && t->slot[i].key != key)
		i = (i + 1) & t->mask;
	return &t->slot[i];
}

struct cls_table *
cls_table_build(const struct spp_cls_entry *entries, unsigned int n, uint16_t nb_tx)
{
	static const uint8_t flood_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint32_t nb_slots = 16;
	struct cls_table *t;
	unsigned int i;

	/* at most 2 keys per entry (its MAC and its VLAN's flood set), load <= 1/2 */
	while (nb_slots < 4 * n)
		nb_slots <<= 1;
	t = rte_zmalloc("spp_cls_table", sizeof(*t) + nb_slots * sizeof(t->slot[0]), 64);
	if (t == NULL) {
		spp_fail(ENOMEM, "out of memory for a classifier table of %u entries", n);
		return NULL;
	}
	t->mask = nb_slots - 1;
	t->default_tx = CLS_NO_PORT;

	for (i = 0; i < n; i++) {
		const struct spp_cls_entry *e = &entries[i];
		struct cls_slot *s;

		if (e->tx_index >= nb_tx || e->tx_index >= 64) {
			spp_fail(EINVAL, "table entry %u names tx position %u of %u", i,
				 e->tx_index, nb_tx);
			rte_free(t);
			return NULL;
		}
		if (e->is_default) {
			t->default_tx = e->tx_index;
		} else {
			s = cls_slot_for(t, cls_key(e->vlan, e->mac));
			s->key = cls_key(e->vlan, e->mac);
			s->value = e->tx_index;
		}
		/* broadcast and multicast of this VLAN reach every port that has an entry */
		s = cls_slot_for(t, cls_key(e->is_default ? 0 : e->vlan, flood_mac));
		s->key = cls_key(e->is_default ? 0 : e->vlan, flood_mac);
		s->value |= 1ULL << e->tx_index;
		t->nb_entries++;
	}
	return t;
}

void
cls_table_free(struct cls_table *t)
{
	rte_free(t);
}
