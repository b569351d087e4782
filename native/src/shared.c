/* SPDX-License-Identifier: BSD-3-Clause
 *
 * shared.c - create (primary) or find (secondary) the shared memzone, and
 * keep lcore ids unique across the processes that share a mempool: its
 * per-lcore caches are indexed by lcore id, so two processes running the
 * same lcore id would corrupt them.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memzone.h>

#include "shared.h"

struct spp_shared *spp_shm;
static int lcores_claimed;

int
spp_shared_create(void)
{
	const struct rte_memzone *mz;

	mz = rte_memzone_reserve(SPP_SHARED_MZ, sizeof(*spp_shm), rte_socket_id(), 0);
	if (mz == NULL)
		return spp_fail(ENOMEM, "cannot reserve memzone %s: %s", SPP_SHARED_MZ,
				rte_strerror(rte_errno));
	spp_shm = mz->addr;
	memset(spp_shm, 0, sizeof(*spp_shm));
	spp_shm->magic = SPP_SHARED_MAGIC;
	spp_shm->version = SPP_SHARED_VERSION;
	return 0;
}

int
spp_shared_attach(void)
{
	const struct rte_memzone *mz = rte_memzone_lookup(SPP_SHARED_MZ);

	if (mz == NULL)
		return spp_fail(ENOENT, "no SPP primary found (memzone %s missing)",
				SPP_SHARED_MZ);
	spp_shm = mz->addr;
	if (spp_shm->magic != SPP_SHARED_MAGIC || spp_shm->version != SPP_SHARED_VERSION)
		return spp_fail(EPROTO, "primary speaks another shared-memory version");
	return 0;
}

int
spp_lcores_claim(void)
{
	pid_t self = getpid();
	unsigned int lcore;

	RTE_LCORE_FOREACH(lcore) {
		pid_t owner = spp_shm->lcore_owner[lcore];

		if (owner != 0 && owner != self && kill(owner, 0) == 0)
			return spp_fail(EBUSY, "lcore %u is already used by process %d; "
					"give each SPP process its own lcore ids", lcore, owner);
	}
	RTE_LCORE_FOREACH(lcore)
		spp_shm->lcore_owner[lcore] = self;
	lcores_claimed = 1;
	return 0;
}

void
spp_lcores_release(void)
{
	pid_t self = getpid();
	unsigned int lcore;

	if (!lcores_claimed || spp_shm == NULL)
		return;
	for (lcore = 0; lcore < SPP_MAX_LCORES; lcore++)
		if (spp_shm->lcore_owner[lcore] == self)
			spp_shm->lcore_owner[lcore] = 0;
	lcores_claimed = 0;
}
