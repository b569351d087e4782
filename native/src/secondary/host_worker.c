/* SPDX-License-Identifier: BSD-3-Clause
 *
 * host_worker.c - a worker lcore of the component host (spp_vf, spp_mirror):
 * loop over its plan (the components placed on it) and run each ready
 * component for one call (comp_run).
 */
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include "common/common.h"
#include "common/cycles.h"
#include "secondary/component.h"
#include "secondary/host.h"

int
vf_worker(void *arg)
{
	struct vf_state *vf = arg;
	unsigned int lcore = rte_lcore_id();
	const struct comp_ctx ctx = {
		.ports = vf->port,
		.ctr = vf->port_ctr[lcore],
		.lcore = lcore,
	};
	struct spp_cycles *cyc = &spp_lcore_cyc[lcore].c;
	struct spp_idle idle = { 0 };
	uint64_t round = rte_rdtsc();

	rte_rcu_qsbr_thread_register(vf->qsbr, lcore);
	rte_rcu_qsbr_thread_online(vf->qsbr, lcore);

	while (!vf->stop) {
		const struct lcore_plan *plan = __atomic_load_n(&vf->plan[lcore], __ATOMIC_ACQUIRE);
		unsigned int i, work = 0;
		uint64_t tsc = round;

		for (i = 0; plan != NULL && i < plan->nb; i++) {
			struct comp_slot *s = &vf->slot[plan->slot[i]];
			const struct comp_conf *conf = __atomic_load_n(&s->conf, __ATOMIC_ACQUIRE);
			unsigned int n;

			if (conf == NULL)
				continue;
			n = comp_run(conf, &s->st, &ctx);
			spp_cycles_burst(&s->st.cyc, &tsc, n);
			work += n;
		}
		rte_rcu_qsbr_quiescent(vf->qsbr, lcore);
		spp_idle_update(&idle, work);
		spp_cycles_round(cyc, &round, work);
	}

	rte_rcu_qsbr_thread_offline(vf->qsbr, lcore);
	rte_rcu_qsbr_thread_unregister(vf->qsbr, lcore);
	return 0;
}
