/* SPDX-License-Identifier: BSD-3-Clause
 *
 * plan.c - the plans the bridge lcores run (bridge.c), built from the
 * devices, their readers and the patches: one lane per bridged device
 * direction, and one per patch while forwarding is on. Whoever changes
 * one of those (primary.c, owners.c, patch.c) publishes new plans, under
 * the primary's lock (primary.h).
 */
#include <errno.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_ring.h>

#include "common/common.h"
#include "common/shared.h"
#include "primary/bridge.h"
#include "primary/primary.h"

#define MAX_LANES (2 * (SPP_MAX_PHY + SPP_MAX_VHOST) + SPP_MAX_RINGS)

/* The patch from (type, id) while forwarding is on, else NULL. */
static const struct patch *
patch_from(const struct patch_table *t, int type, unsigned int id)
{
	unsigned int i;

	if (!t->forwarding)
		return NULL;
	for (i = 0; i < t->nb; i++)
		if (t->patch[i].src_type == type && t->patch[i].src_id == id)
			return &t->patch[i];
	return NULL;
}

static unsigned int
dev_lcore_index(const struct spp_shared_dev *dev)
{
	int idx = bridge_lcore_index(dev->lcore);

	return idx < 0 ? 0 : (unsigned int)idx;
}

static struct br_lane *
lane_add(struct br_plan **plans, unsigned int idx)
{
	struct br_lane *l = &plans[idx]->lane[plans[idx]->nb_lanes++];

	memset(l, 0, sizeof(*l));
	l->src_ring_id = LANE_NO_RING;
	l->dst_ring_id = LANE_NO_RING;
	return l;
}

/* Where a patch to (type, id) sends, and the lcore that must run it. */
static unsigned int
lane_set_dst(struct br_lane *l, int type, unsigned int id, unsigned int src_idx)
{
	struct spp_shared_dev *dev = dev_of(type, id);

	if (dev != NULL) {
		l->dst = LANE_TO_DEV;
		l->dst_port = dev->ethdev_id;
		l->dst_ctr = &dev->ctr;
		return dev_lcore_index(dev);  /* one lcore transmits on a device */
	}
	l->dst = LANE_TO_RING;
	l->dst_ring = spp_shm->ring[id];
	l->dst_ring_id = (uint16_t)id;
	return src_idx;
}

static void
add_dev_lanes(const struct patch_table *patches, struct br_plan **plans, int type,
	      struct spp_shared_dev *dev, unsigned int id)
{
	const struct patch *p = patch_from(patches, type, id);
	unsigned int idx = dev_lcore_index(dev);
	struct br_lane l = { .src_ring_id = LANE_NO_RING, .dst_ring_id = LANE_NO_RING };

	/* device rx: to its patch, else to its reader's ring, else nowhere */
	if (p != NULL || dev->kind == SPP_DEV_BRIDGED) {
		unsigned int at = idx;

		l.src = LANE_FROM_DEV;
		l.src_port = dev->ethdev_id;
		l.src_ctr = &dev->ctr;
		if (p != NULL) {
			at = lane_set_dst(&l, p->dst_type, p->dst_id, idx);
		} else if (dev->reader.pid != 0) {
			l.dst = LANE_TO_RING;
			l.dst_ring = dev->rx_ring;
		} else {
			l.dst = LANE_TO_NOWHERE;
		}
		*lane_add(plans, at) = l;
	}
	/* its writer's ring: to the device */
	if (dev->kind == SPP_DEV_BRIDGED) {
		struct br_lane *t = lane_add(plans, idx);

		t->src = LANE_FROM_RING;
		t->src_ring = dev->tx_ring;
		t->dst = LANE_TO_DEV;
		t->dst_port = dev->ethdev_id;
		t->dst_ctr = &dev->ctr;
	}
}

int
plan_publish(const struct primary_state *pri)
{
	struct br_plan *plans[SPP_MAX_BRIDGE_LCORES];
	unsigned int nb = bridge_nb_lcores(), i;
	int ret;

	if (nb == 0)
		return 0;  /* not running yet: spp_primary_start() publishes */
	for (i = 0; i < nb; i++) {
		plans[i] = bridge_plan_alloc(MAX_LANES);
		if (plans[i] == NULL) {
			while (i-- > 0)
				rte_free(plans[i]);
			return spp_fail(ENOMEM, "out of memory building the forwarding plan");
		}
	}
	for (i = 0; i < SPP_MAX_PHY; i++)
		if (spp_shm->phy[i].in_use)
			add_dev_lanes(&pri->patches, plans, SPP_RES_PHY, &spp_shm->phy[i], i);
	for (i = 0; i < SPP_MAX_VHOST; i++)
		if (spp_shm->vhost[i].in_use)
			add_dev_lanes(&pri->patches, plans, SPP_RES_VHOST, &spp_shm->vhost[i], i);
	for (i = 0; i < SPP_MAX_RINGS; i++) {
		const struct patch *p = patch_from(&pri->patches, SPP_RES_RING, i);
		struct br_lane l = { .src_ring_id = LANE_NO_RING, .dst_ring_id = LANE_NO_RING };
		unsigned int at;

		if (p == NULL || spp_shm->ring[i] == NULL)
			continue;
		l.src = LANE_FROM_RING;
		l.src_ring = spp_shm->ring[i];
		l.src_ring_id = (uint16_t)i;
		at = lane_set_dst(&l, p->dst_type, p->dst_id, 0);
		*lane_add(plans, at) = l;
	}
	ret = bridge_publish(plans);
	if (ret < 0)
		for (i = 0; i < nb; i++)
			rte_free(plans[i]);
	return ret;
}
