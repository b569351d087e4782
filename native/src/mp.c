/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mp.c - "create vhost:N" from a secondary, carried out by the primary.
 *
 * A vhost-user device maps the guest's memory into the process that
 * accepted the socket, so it has to live in the primary; the primary then
 * bridges it to a ring pair like an af_xdp port. The request and its
 * answer travel over rte_mp; the handler runs on the primary's IPC thread
 * and only does process-local work (rte_vdev_init), so it cannot deadlock
 * on another IPC round trip.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_string_fns.h>

#include "common.h"
#include "mp.h"

#define MP_VHOST_ADD "spp_vhost_add"

struct mp_vhost_req {
	uint32_t id;
	uint32_t client;
};

struct mp_vhost_rep {
	int32_t result;
	char reason[200];
};

static_assert(sizeof(struct mp_vhost_rep) <= RTE_MP_MAX_PARAM_LEN, "reply too large");

static int
on_vhost_add(const struct rte_mp_msg *msg, const void *peer)
{
	const struct mp_vhost_req *req = (const void *)msg->param;
	struct rte_mp_msg reply;
	struct mp_vhost_rep *rep = (void *)reply.param;

	memset(&reply, 0, sizeof(reply));
	rte_strscpy(reply.name, msg->name, sizeof(reply.name));
	reply.len_param = sizeof(*rep);
	if (msg->len_param != sizeof(*req)) {
		rep->result = -EINVAL;
		rte_strscpy(rep->reason, "malformed vhost request", sizeof(rep->reason));
	} else {
		rep->result = spp_primary_add_vhost(req->id, (int)req->client);
		if (rep->result < 0)
			rte_strscpy(rep->reason, spp_last_error(), sizeof(rep->reason));
	}
	return rte_mp_reply(&reply, peer);
}

int
spp_mp_primary_register(void)
{
	int ret = rte_mp_action_register(MP_VHOST_ADD, on_vhost_add);

	if (ret != 0 && rte_errno != EEXIST)
		return spp_fail(rte_errno, "cannot register IPC action: %s",
				rte_strerror(rte_errno));
	return 0;
}

void
spp_mp_primary_unregister(void)
{
	rte_mp_action_unregister(MP_VHOST_ADD);
}

int
spp_mp_request_vhost(unsigned int id, int client)
{
	struct rte_mp_msg msg;
	struct rte_mp_reply replies;
	struct mp_vhost_req *req = (void *)msg.param;
	const struct timespec timeout = { .tv_sec = 5, .tv_nsec = 0 };
	struct mp_vhost_rep rep;

	memset(&msg, 0, sizeof(msg));
	rte_strscpy(msg.name, MP_VHOST_ADD, sizeof(msg.name));
	msg.len_param = sizeof(*req);
	req->id = id;
	req->client = (uint32_t)!!client;
	if (rte_mp_request_sync(&msg, &replies, &timeout) != 0)
		return spp_fail(EIO, "cannot ask the primary for vhost:%u: %s", id,
				rte_strerror(rte_errno));
	if (replies.nb_received != 1) {
		free(replies.msgs);
		return spp_fail(ETIMEDOUT, "primary did not answer the vhost:%u request", id);
	}
	memcpy(&rep, replies.msgs[0].param, sizeof(rep));
	free(replies.msgs);
	if (rep.result < 0)
		return spp_fail(-rep.result, "%s", rep.reason);
	return 0;
}
