/* SPDX-License-Identifier: BSD-3-Clause
 *
 * patch.c - the patch forwarding of upstream spp_primary (patch SRC DST,
 * forward, stop), for bring-up and diagnostics, and the plans the bridge
 * lcores run (bridge.c): one lane per bridged device direction, and one
 * per patch while forwarding is on.
 *
 * A patch owns the ring sides it uses, as a secondary would (owners.c),
 * and polls a directly polled device's queue 0 (claim.c). Everything here
 * runs under the primary's lock (primary.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_malloc.h>
#include <rte_ring.h>

#include "bridge.h"
#include "common.h"
#include "primary.h"
#include "shared.h"

#define MAX_LANES (2 * (SPP_MAX_PHY + SPP_MAX_VHOST) + SPP_MAX_RINGS)

struct patch {
	int src_type;
	unsigned int src_id;
	int dst_type;
	unsigned int dst_id;
};

#define MAX_PATCHES (SPP_MAX_PHY + SPP_MAX_VHOST + SPP_MAX_RINGS)
#define PATCH_OWNER "a patch of the primary"

/* written here only, under the lock */
static struct {
	int forwarding;
	unsigned int nb_patches;
	struct patch patches[MAX_PATCHES];
} fwd;

static int
res_exists(int type, unsigned int id)
{
	if (type == SPP_RES_RING)
		return id < SPP_MAX_RINGS && spp_shm->ring[id] != NULL;
	return dev_of(type, id) != NULL;
}

/* ------------------------------------------------------------------ */
/* plans (lock held)                                                   */

static const struct patch *
patch_from(int type, unsigned int id)
{
	unsigned int i;

	if (!fwd.forwarding)
		return NULL;
	for (i = 0; i < fwd.nb_patches; i++)
		if (fwd.patches[i].src_type == type && fwd.patches[i].src_id == id)
			return &fwd.patches[i];
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
add_dev_lanes(struct br_plan **plans, int type, struct spp_shared_dev *dev, unsigned int id)
{
	const struct patch *p = patch_from(type, id);
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
publish_plan(void)
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
			add_dev_lanes(plans, SPP_RES_PHY, &spp_shm->phy[i], i);
	for (i = 0; i < SPP_MAX_VHOST; i++)
		if (spp_shm->vhost[i].in_use)
			add_dev_lanes(plans, SPP_RES_VHOST, &spp_shm->vhost[i], i);
	for (i = 0; i < SPP_MAX_RINGS; i++) {
		const struct patch *p = patch_from(SPP_RES_RING, i);
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

/* ------------------------------------------------------------------ */
/* patches                                                             */

/* The ring sides patches use belong to the primary while a patch uses them. */
static int
patch_uses(int type, unsigned int id, int consumer)
{
	unsigned int i;

	for (i = 0; i < fwd.nb_patches; i++) {
		const struct patch *p = &fwd.patches[i];

		if (consumer ? p->src_type == type && p->src_id == id :
			       p->dst_type == type && p->dst_id == id)
			return 1;
	}
	return 0;
}

/* Let go of the ring sides (and direct queue) of `p` that no patch uses any more. */
static void
patch_release_unused(const struct patch *p)
{
	struct side s;

	if (p->src_type == SPP_RES_PHY && !patch_uses(SPP_RES_PHY, p->src_id, 1))
		spp_queue_release(p->src_id, 0, PATCH_OWNER);

	if (p->src_type == SPP_RES_RING && !patch_uses(SPP_RES_RING, p->src_id, 1) &&
	    side_resolve(SPP_RES_RING, p->src_id, 1, &s) == 1)
		side_release(&s, getpid(), 0);
	if (p->dst_type == SPP_RES_RING && !patch_uses(SPP_RES_RING, p->dst_id, 0) &&
	    side_resolve(SPP_RES_RING, p->dst_id, 0, &s) == 1)
		side_release(&s, getpid(), 0);
}

static int
patch_claim(const struct patch *p)
{
	struct side s;
	int ret = 0;

	/* a patch from a directly polled device polls its queue 0 here (claim.c) */
	if (p->src_type == SPP_RES_PHY && spp_shm->phy[p->src_id].kind == SPP_DEV_DIRECT)
		ret = spp_queue_claim(p->src_id, 0, PATCH_OWNER);
	if (ret == 0 && p->src_type == SPP_RES_RING &&
	    side_resolve(SPP_RES_RING, p->src_id, 1, &s) == 1)
		ret = side_claim(&s, getpid(), 0);
	if (ret == 0 && p->dst_type == SPP_RES_RING &&
	    side_resolve(SPP_RES_RING, p->dst_id, 0, &s) == 1)
		ret = side_claim(&s, getpid(), 0);
	if (ret < 0)
		patch_release_unused(p);
	return ret;
}

static int
patch_locked(int src_type, unsigned int src_id, int dst_type, unsigned int dst_id)
{
	struct patch next = { src_type, src_id, dst_type, dst_id }, old;
	unsigned int i;
	int replace, ret;

	if (!res_exists(src_type, src_id))
		return spp_fail(ENOENT, "%s:%u does not exist", res_name(src_type), src_id);
	if (!res_exists(dst_type, dst_id))
		return spp_fail(ENOENT, "%s:%u does not exist", res_name(dst_type), dst_id);
	for (i = 0; i < fwd.nb_patches; i++)
		if (fwd.patches[i].src_type == src_type && fwd.patches[i].src_id == src_id)
			break;
	if (i == fwd.nb_patches && fwd.nb_patches == MAX_PATCHES)
		return spp_fail(E2BIG, "too many patches");
	ret = patch_claim(&next);
	if (ret < 0)
		return ret;
	replace = i < fwd.nb_patches;
	if (replace)
		old = fwd.patches[i];
	else
		fwd.nb_patches++;
	fwd.patches[i] = next;
	ret = publish_plan();
	if (ret < 0) {  /* as it was */
		if (replace)
			fwd.patches[i] = old;
		else
			fwd.nb_patches--;
		publish_plan();
		patch_release_unused(&next);
		return ret;
	}
	if (replace)
		patch_release_unused(&old);
	return 0;
}

int
spp_primary_patch(int src_type, unsigned src_id, int dst_type, unsigned dst_id)
{
	int ret;

	if (spp_shm == NULL)
		return spp_fail(ENODEV, "primary is not set up");
	pri_lock();
	ret = patch_locked(src_type, src_id, dst_type, dst_id);
	pri_unlock();
	return ret;
}

int
spp_primary_patch_reset(void)
{
	struct patch old[MAX_PATCHES];
	unsigned int i, n;
	int ret;

	if (spp_shm == NULL)
		return spp_fail(ENODEV, "primary is not set up");
	pri_lock();
	n = fwd.nb_patches;
	memcpy(old, fwd.patches, n * sizeof(old[0]));
	fwd.nb_patches = 0;
	ret = publish_plan();
	for (i = 0; i < n; i++)
		patch_release_unused(&old[i]);
	pri_unlock();
	return ret;
}

int
spp_primary_set_forwarding(int on)
{
	int ret;

	if (spp_shm == NULL)
		return spp_fail(ENODEV, "primary is not set up");
	pri_lock();
	fwd.forwarding = !!on;
	ret = publish_plan();
	pri_unlock();
	return ret;
}
