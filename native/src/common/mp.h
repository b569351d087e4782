/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mp.h - the requests a secondary makes to the primary over DPDK's
 * multi-process channel (rte_mp): things only the primary may do (create
 * vhost:N), and the ownership of ports, rings and lcores it keeps for
 * everyone. This header is the protocol; each process links one half:
 *   primary/mp_server.c    answers requests on the primary's service thread
 *   secondary/mp_client.c  asks, and waits for the answer
 */
#ifndef SPP_MP_H
#define SPP_MP_H

#include <assert.h>
#include <stdint.h>
#include <sys/types.h>

#include <rte_eal.h>

#define SPP_MP_REQUEST "spp_request"  /* rte_mp action name */
#define SPP_MP_TIMEOUT_S 5            /* how long a secondary waits for an answer */

enum spp_mp_op {
	SPP_MP_VHOST_ADD = 1,
	SPP_MP_ATTACH,
	SPP_MP_DETACH,
	SPP_MP_CLAIM,
	SPP_MP_RELEASE,
};

struct spp_mp_req {
	uint32_t op;          /* enum spp_mp_op */
	int32_t pid;
	uint16_t client_id;
	uint16_t res_type;    /* SPP_RES_* */
	uint16_t res_id;
	uint8_t consumer;     /* the reading side, else the writing side */
	uint8_t vhost_client;
	uint64_t lcores[2];   /* lcore ids 0-127 */
};

struct spp_mp_rep {
	int32_t result;       /* 0 or -errno */
	char reason[200];     /* the primary's spp_last_error() when result < 0 */
};

static_assert(sizeof(struct spp_mp_req) <= RTE_MP_MAX_PARAM_LEN, "request too large");
static_assert(sizeof(struct spp_mp_rep) <= RTE_MP_MAX_PARAM_LEN, "reply too large");

/* ------------------------------------------------------------------ */
/* primary half                                                        */

/*
 * What the primary does for each request, and between requests. Each
 * callback returns 0 or a negative errno with spp_last_error() set, and
 * runs on the service thread.
 */
struct spp_mp_server_ops {
	int (*vhost_add)(unsigned int id, int client);
	int (*attach)(pid_t pid, uint16_t client_id, const uint64_t *lcore_mask);
	int (*detach)(pid_t pid);
	int (*side)(pid_t pid, uint16_t client_id, int type, unsigned int id, int consumer,
		    int claim);
	int (*reap)(void);    /* every SPP_MP_REAP_PERIOD_MS */
};

#define SPP_MP_REAP_PERIOD_MS 500

/* Start (stop) answering requests with `ops` on the primary's service thread. */
int spp_mp_server_start(const struct spp_mp_server_ops *ops);
void spp_mp_server_stop(void);

/* ------------------------------------------------------------------ */
/* secondary half: each call waits for the primary's answer            */

int spp_mp_request_vhost(unsigned int id, int client);
int spp_mp_attach(unsigned int client_id, const uint64_t *lcore_mask);
int spp_mp_detach(void);
int spp_mp_side(int res_type, unsigned int res_id, int consumer, int claim);

#endif /* SPP_MP_H */
