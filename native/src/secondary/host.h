/* SPDX-License-Identifier: BSD-3-Clause
 *
 * host.h - the state of the component host (spp_vf, spp_mirror), shared by
 * its control thread (host.c) and its worker lcores (host_worker.c). One
 * instance lives in host.c and is handed to each worker when it is launched.
 *
 * Plans and component configurations are immutable once published; the
 * control thread builds a replacement, swaps the pointer and frees the
 * old copy after every worker has passed a quiescent state (rte_rcu_qsbr),
 * so no worker ever waits for the control plane and forwarding never
 * pauses.
 */
#ifndef SPP_SEC_HOST_H
#define SPP_SEC_HOST_H

#include <stdint.h>
#include <rte_rcu_qsbr.h>

#include "secondary/component.h"
#include "secondary/port.h"

struct comp_slot {
	struct comp_conf *conf;   /* RCU-protected; NULL: stopped */
	struct comp_state st;
};

/* the components one worker lcore runs, in order */
struct lcore_plan {
	uint16_t nb;
	uint16_t slot[SPP_MAX_COMP_PER_LCORE];
};

/* which ports a component uses, for the ring sides this process claims */
struct slot_ports {
	uint16_t nb_rx, nb_tx;
	uint16_t rx[SPP_MAX_COMP_PORTS];
	uint16_t tx[SPP_MAX_COMP_PORTS];
};

struct vf_state {
	int attached;
	int running;
	int vhost_client;
	unsigned int client_id;
	volatile int stop;                   /* workers return when set */
	struct rte_rcu_qsbr *qsbr;
	struct lcore_plan *plan[SPP_MAX_LCORES];       /* RCU-protected */
	struct comp_slot slot[SPP_MAX_COMPONENTS];
	struct slot_ports slot_ports[SPP_MAX_COMPONENTS];
	struct port port[SPP_VF_MAX_PORTS];            /* by handle */
	struct port_ctr port_ctr[SPP_MAX_LCORES][SPP_VF_MAX_PORTS];  /* row: one lcore */
};

/*
 * Attach to the primary as process `who` (its name in errors) whose
 * components are of `types` (indexed by SPP_COMP_*; NULL: not a type of
 * this process). spp_vf_attach() (vf/vf_types.c) uses spp_vf's types,
 * spp_mirror_attach() (mirror/mirror.c) spp_mirror's.
 */
int vf_host_attach(const char *who, unsigned int client_id, int vhost_client,
		   const struct comp_ops *const *types, unsigned int nb_types);

/* rte_eal_remote_launch() function of a worker lcore; `arg`: the struct vf_state */
int vf_worker(void *arg);

#endif /* SPP_SEC_HOST_H */
