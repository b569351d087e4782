/* SPDX-License-Identifier: BSD-3-Clause
 *
 * nfv_worker.c - the worker lcore of spp_nfv: each round, one call of
 * every patch of the published plan (comp_run of a forward configuration),
 * then a quiescent state and the idle back-off.
 */
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include "common/common.h"
#include "common/cycles.h"
#include "nfv/nfv.h"
#include "secondary/component.h"

int
nfv_worker(void *arg)
{
	struct nfv_state *nfv = arg;
	unsigned int lcore = rte_lcore_id();
	const struct comp_ctx ctx = {
		.ports = nfv->port,
		.ctr = nfv->port_ctr,
		.lcore = lcore,
	};
	struct spp_cycles *cyc = &spp_lcore_cyc[lcore].c;
	struct spp_idle idle = { 0 };
	uint64_t round = rte_rdtsc();

	rte_rcu_qsbr_thread_register(nfv->qsbr, lcore);
	rte_rcu_qsbr_thread_online(nfv->qsbr, lcore);

	while (!nfv->stop) {
		const struct nfv_plan *plan = __atomic_load_n(&nfv->plan, __ATOMIC_ACQUIRE);
		unsigned int i, work = 0;
		uint64_t tsc = round;

		if (plan != NULL && plan->forwarding) {
			for (i = 0; i < plan->nb; i++) {
				const struct comp_conf *c = &plan->conf[i];
				struct comp_state *st = &nfv->st[c->rx[0].handle];
				unsigned int n = comp_run(c, st, &ctx);

				spp_cycles_burst(&st->cyc, &tsc, n);
				work += n;
			}
		}
		rte_rcu_qsbr_quiescent(nfv->qsbr, lcore);
		spp_idle_update(&idle, work);
		spp_cycles_round(cyc, &round, work);
	}

	rte_rcu_qsbr_thread_offline(nfv->qsbr, lcore);
	rte_rcu_qsbr_thread_unregister(nfv->qsbr, lcore);
	return 0;
}
