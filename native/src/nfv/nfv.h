/* SPDX-License-Identifier: BSD-3-Clause
 *
 * nfv.h - the state of the spp_nfv secondary, shared by its control side
 * (nfv.c) and its one worker lcore (nfv_worker.c).
 *
 * spp_nfv moves frames along patches: a patch is a forward component
 * (secondary/comp_forward.c) from a source port to a destination port.
 * All patches run on one worker lcore, one burst each per round. The
 * patches and whether they run are one immutable plan: the control thread
 * builds a new one, publishes it with a release store and frees the old
 * one after the worker passed a quiescent state (rte_rcu_qsbr), so the
 * worker never waits for the control plane.
 */
#ifndef SPP_NFV_H
#define SPP_NFV_H

#include <stdint.h>
#include <rte_rcu_qsbr.h>

#include "secondary/component.h"
#include "secondary/port.h"

/* immutable once published */
struct nfv_plan {
	uint16_t nb;                  /* patches */
	uint8_t forwarding;           /* 0: the worker leaves every port alone */
	struct comp_conf conf[];      /* one forward configuration per patch */
};

struct nfv_state {
	int attached;
	int running;                  /* the worker lcore was launched */
	int vhost_client;
	unsigned int client_id;
	unsigned int worker;          /* the worker lcore */
	volatile int stop;            /* the worker returns when set */
	struct rte_rcu_qsbr *qsbr;
	struct nfv_plan *plan;                            /* RCU-protected; NULL: none */
	struct port port[SPP_NFV_MAX_PORTS];              /* by handle */
	struct port_ctr port_ctr[SPP_NFV_MAX_PORTS];      /* written by the worker only */
	struct comp_state st[SPP_NFV_MAX_PORTS];          /* per patch, by its source handle */
};

/* rte_eal_remote_launch() function of the worker; `arg`: the struct nfv_state */
int nfv_worker(void *arg);

#endif /* SPP_NFV_H */
