/* SPDX-License-Identifier: BSD-3-Clause
 *
 * patch.c - the primary's patch forwarding (patch SRC DST, forward,
 * stop), for bring-up and diagnostics. The patches are kept in the
 * primary's state; plan.c turns them into lanes of the bridge lcores.
 *
 * A patch owns the ring sides it uses, as a secondary would (owners.c),
 * and polls a directly polled device's queue 0 (common/queue_claim.c).
 * Everything here runs under the primary's lock (primary.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "common/shared.h"
#include "primary/primary.h"

#define PATCH_OWNER "a patch of the primary"

static int
res_exists(int type, unsigned int id)
{
	if (type == SPP_RES_RING)
		return id < SPP_MAX_RINGS && spp_shm->ring[id] != NULL;
	return dev_of(type, id) != NULL;
}

/* The ring sides patches use belong to the primary while a patch uses them. */
static int
patch_uses(const struct patch_table *fwd, int type, unsigned int id, int consumer)
{
	unsigned int i;

	for (i = 0; i < fwd->nb; i++) {
		const struct patch *p = &fwd->patch[i];

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
	const struct patch_table *fwd = &spp_pri.patches;
	struct side s;

	if (p->src_type == SPP_RES_PHY && !patch_uses(fwd, SPP_RES_PHY, p->src_id, 1))
		spp_queue_release(p->src_id, 0, PATCH_OWNER);

	if (p->src_type == SPP_RES_RING && !patch_uses(fwd, SPP_RES_RING, p->src_id, 1) &&
	    side_resolve(SPP_RES_RING, p->src_id, 1, &s) == 1)
		side_release(&s, getpid(), 0);
	if (p->dst_type == SPP_RES_RING && !patch_uses(fwd, SPP_RES_RING, p->dst_id, 0) &&
	    side_resolve(SPP_RES_RING, p->dst_id, 0, &s) == 1)
		side_release(&s, getpid(), 0);
}

static int
patch_claim(const struct patch *p)
{
	struct side s;
	int ret = 0;

	/* a patch from a directly polled device polls its queue 0 here (common/queue_claim.c) */
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
	struct patch_table *fwd = &spp_pri.patches;
	struct patch next = { src_type, src_id, dst_type, dst_id }, old;
	unsigned int i;
	int replace, ret;

	if (!res_exists(src_type, src_id))
		return spp_fail(ENOENT, "%s:%u does not exist", res_name(src_type), src_id);
	if (!res_exists(dst_type, dst_id))
		return spp_fail(ENOENT, "%s:%u does not exist", res_name(dst_type), dst_id);
	for (i = 0; i < fwd->nb; i++)
		if (fwd->patch[i].src_type == src_type && fwd->patch[i].src_id == src_id)
			break;
	if (i == fwd->nb && fwd->nb == MAX_PATCHES)
		return spp_fail(E2BIG, "too many patches");
	ret = patch_claim(&next);
	if (ret < 0)
		return ret;
	replace = i < fwd->nb;
	if (replace)
		old = fwd->patch[i];
	else
		fwd->nb++;
	fwd->patch[i] = next;
	ret = plan_publish(&spp_pri);
	if (ret < 0) {  /* as it was */
		if (replace)
			fwd->patch[i] = old;
		else
			fwd->nb--;
		plan_publish(&spp_pri);
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
	n = spp_pri.patches.nb;
	memcpy(old, spp_pri.patches.patch, n * sizeof(old[0]));
	spp_pri.patches.nb = 0;
	ret = plan_publish(&spp_pri);
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
	spp_pri.patches.forwarding = !!on;
	ret = plan_publish(&spp_pri);
	pri_unlock();
	return ret;
}
