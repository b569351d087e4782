/* SPDX-License-Identifier: BSD-3-Clause
 *
 * classifier.c - building classifier tables (control thread only), and
 * spp_cls_decide(), which asks a table built from the same entries the
 * question the hot path asks, for tests and diagnostics.
 *
 * Tables live in ordinary process memory: only this process's lcores read
 * them, and building one needs no EAL (so the decision is testable alone).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vf/classifier.h"

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
	uint16_t own_default[CLS_NB_VLAN];
	uint32_t members[CLS_NB_VLAN];
	uint32_t nb_slots = 16, general_bit = 0;
	uint16_t general;
	struct cls_table *t;
	unsigned int i;
	size_t size;

	/* exact entries at load <= 1/2 */
	while (nb_slots < 2 * n)
		nb_slots <<= 1;
	size = sizeof(*t) + nb_slots * sizeof(t->slot[0]);
	t = aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(size, RTE_CACHE_LINE_SIZE));
	if (t == NULL) {
		spp_fail(ENOMEM, "out of memory for a classifier table of %u entries", n);
		return NULL;
	}
	memset(t, 0, size);
	t->mask = nb_slots - 1;
	memset(own_default, 0xff, sizeof(own_default));
	memset(members, 0, sizeof(members));

	for (i = 0; i < n; i++) {
		const struct spp_cls_entry *e = &entries[i];
		uint16_t vid = e->vlan;
		struct cls_slot *s;

		if (e->tx_index >= nb_tx || e->tx_index >= SPP_MAX_COMP_PORTS) {
			spp_fail(EINVAL, "table entry %u names tx position %u of %u", i,
				 e->tx_index, nb_tx);
			free(t);
			return NULL;
		}
		if (vid > SPP_VLAN_ID_MAX) {
			spp_fail(EINVAL, "table entry %u has VLAN id %u (0-%u)", i, vid,
				 SPP_VLAN_ID_MAX);
			free(t);
			return NULL;
		}
		if (e->is_default) {
			own_default[vid] = e->tx_index;
		} else {
			s = cls_slot_for(t, cls_key(vid, e->mac));
			s->key = cls_key(vid, e->mac);
			s->value = e->tx_index;
		}
		/* a VLAN's broadcast reaches every port with an entry in it */
		members[vid] |= 1u << e->tx_index;
		t->nb_entries++;
	}

	/* the untagged default is the general one: it also serves every tagged VLAN */
	general = own_default[0];
	if (general != CLS_NO_PORT)
		general_bit = 1u << general;
	for (i = 0; i < CLS_NB_VLAN; i++) {
		struct cls_vlan *v = &t->vlan[i];

		v->dflt = own_default[i] != CLS_NO_PORT ? own_default[i] : general;
		v->flood = members[i] | general_bit;
		v->members = members[i] != 0;
	}
	return t;
}

void
cls_table_free(struct cls_table *t)
{
	free(t);
}

int
spp_cls_decide(const struct spp_cls_entry *entries, unsigned nb_entries, unsigned nb_tx,
	       uint16_t vlan, const uint8_t *dst, uint32_t *tx_mask)
{
	struct rte_ether_addr addr;
	struct cls_table *t;
	int ret;

	if (nb_tx > SPP_MAX_COMP_PORTS)
		return spp_fail(E2BIG, "a classifier has at most %u tx ports", SPP_MAX_COMP_PORTS);
	t = cls_table_build(entries, nb_entries, (uint16_t)nb_tx);
	if (t == NULL)
		return -EINVAL;
	memcpy(addr.addr_bytes, dst, RTE_ETHER_ADDR_LEN);
	*tx_mask = 0;
	ret = cls_decide(t, vlan, &addr, tx_mask);
	cls_table_free(t);
	return ret;
}
