/* SPDX-License-Identifier: BSD-3-Clause
 *
 * attach.c - joining and leaving the primary as a secondary (attach.h).
 */
#include <errno.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mempool.h>

#include "common/common.h"
#include "common/mp.h"
#include "common/shared.h"
#include "secondary/attach.h"

void
sec_lcore_mask(uint64_t lcores[2])
{
	unsigned int lcore;

	lcores[0] = lcores[1] = 0;
	RTE_LCORE_FOREACH(lcore)
		lcores[lcore / 64] |= 1ULL << (lcore % 64);
}

int
sec_attach(const char *who, unsigned int client_id, const char *qsbr_name,
	   struct rte_rcu_qsbr **qsbr)
{
	uint64_t lcores[2];
	size_t sz;
	int ret;

	if (rte_eal_process_type() != RTE_PROC_SECONDARY)
		return spp_fail(EINVAL, "%s must run with --proc-type=secondary", who);
	ret = spp_shared_attach();
	if (ret < 0)
		return ret;
	sec_lcore_mask(lcores);
	ret = spp_mp_attach(client_id, lcores);
	if (ret < 0)
		return ret;
	sz = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
	*qsbr = rte_zmalloc(qsbr_name, sz, RTE_CACHE_LINE_SIZE);
	if (*qsbr == NULL || rte_rcu_qsbr_init(*qsbr, RTE_MAX_LCORE) != 0)
		return spp_fail(ENOMEM, "cannot allocate the RCU state");
	return 0;
}

void
sec_leave(void)
{
	struct rte_mempool *pool = rte_mempool_lookup(SPP_POOL_NAME);
	unsigned int lcore;

	if (pool != NULL)
		RTE_LCORE_FOREACH(lcore)
			rte_mempool_cache_flush(rte_mempool_default_cache(pool, lcore), pool);
	if (spp_mp_detach() < 0)
		SPP_LOG(WARNING, "detach: %s", spp_last_error());
}
