/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mp_client.c - the secondary's half of the request protocol (mp.h): ask
 * the primary over rte_mp and wait for its answer. Every call blocks the
 * control thread for at most SPP_MP_TIMEOUT_S; workers never ask.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_string_fns.h>

#include "common/common.h"
#include "common/mp.h"

static int
mp_request(struct spp_mp_req *req, const char *what)
{
	struct rte_mp_msg msg;
	struct rte_mp_reply replies;
	const struct timespec timeout = { .tv_sec = SPP_MP_TIMEOUT_S, .tv_nsec = 0 };
	struct spp_mp_rep rep;

	memset(&msg, 0, sizeof(msg));
	rte_strscpy(msg.name, SPP_MP_REQUEST, sizeof(msg.name));
	req->pid = getpid();
	msg.len_param = sizeof(*req);
	memcpy(msg.param, req, sizeof(*req));
	if (rte_mp_request_sync(&msg, &replies, &timeout) != 0)
		return spp_fail(EIO, "cannot ask the primary %s: %s", what,
				rte_strerror(rte_errno));
	if (replies.nb_received != 1) {
		free(replies.msgs);
		return spp_fail(ETIMEDOUT, "the primary did not answer (%s)", what);
	}
	memcpy(&rep, replies.msgs[0].param, sizeof(rep));
	free(replies.msgs);
	if (rep.result < 0)
		return spp_fail(-rep.result, "%s", rep.reason);
	return 0;
}

int
spp_mp_request_vhost(unsigned int id, int client)
{
	struct spp_mp_req req = { .op = SPP_MP_VHOST_ADD, .res_id = (uint16_t)id,
			      .vhost_client = (uint8_t)!!client };

	return mp_request(&req, "for a vhost port");
}

static uint16_t mp_client_id;

int
spp_mp_attach(unsigned int client_id, const uint64_t *lcore_mask)
{
	struct spp_mp_req req = { .op = SPP_MP_ATTACH, .client_id = (uint16_t)client_id };

	mp_client_id = (uint16_t)client_id;
	req.lcores[0] = lcore_mask[0];
	req.lcores[1] = lcore_mask[1];
	return mp_request(&req, "to attach");
}

int
spp_mp_detach(void)
{
	struct spp_mp_req req = { .op = SPP_MP_DETACH, .client_id = mp_client_id };

	return mp_request(&req, "to detach");
}

int
spp_mp_side(int res_type, unsigned int res_id, int consumer, int claim)
{
	struct spp_mp_req req = { .op = claim ? SPP_MP_CLAIM : SPP_MP_RELEASE,
			      .client_id = mp_client_id, .res_type = (uint16_t)res_type,
			      .res_id = (uint16_t)res_id, .consumer = (uint8_t)!!consumer };

	return mp_request(&req, claim ? "for a port" : "to release a port");
}
