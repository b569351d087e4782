/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mp.c - requests of secondaries, carried out by the primary.
 *
 * A secondary asks the primary to create vhost:N (a vhost-user device maps
 * the guest's memory into the process that accepted the socket, so it has
 * to live in the primary), to register it and its lcores, and to let it
 * read or write one side of a port or ring.
 *
 * The rte_mp handler runs on EAL's IPC thread, which also carries the
 * replies of the primary's own IPC requests (memory hotplug, for one). So
 * the handler never blocks and never takes the primary's lock: it queues
 * the request for the primary's service thread and returns. The service
 * thread does the work under the lock and answers with rte_mp_reply(), as
 * DPDK's own hotplug requests do. Every 500 ms it also frees what
 * secondaries that died without detaching held (spp_primary_reap()).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_string_fns.h>

#include "common.h"
#include "mp.h"
#include "primary.h"

#define MP_REQUEST "spp_request"
#define MP_TIMEOUT_S 5
#define REAP_PERIOD_MS 500

enum mp_op {
	MP_OP_VHOST_ADD = 1,
	MP_OP_ATTACH,
	MP_OP_DETACH,
	MP_OP_CLAIM,
	MP_OP_RELEASE,
};

struct mp_req {
	uint32_t op;          /* enum mp_op */
	int32_t pid;
	uint16_t client_id;
	uint16_t res_type;    /* SPP_RES_* */
	uint16_t res_id;
	uint8_t consumer;     /* the reading side, else the writing side */
	uint8_t vhost_client;
	uint64_t lcores[2];   /* lcore ids 0-127 */
};

struct mp_rep {
	int32_t result;
	char reason[200];
};

static_assert(sizeof(struct mp_req) <= RTE_MP_MAX_PARAM_LEN, "request too large");
static_assert(sizeof(struct mp_rep) <= RTE_MP_MAX_PARAM_LEN, "reply too large");

/* ------------------------------------------------------------------ */
/* primary: the service thread                                         */

struct mp_job {
	TAILQ_ENTRY(mp_job) next;
	struct rte_mp_msg msg;
	char peer[PATH_MAX];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	TAILQ_HEAD(, mp_job) jobs;
	pthread_t thread;
	int running;
	int stop;
} svc = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.jobs = TAILQ_HEAD_INITIALIZER(svc.jobs),
};

static int32_t
mp_do(const struct mp_req *req)
{
	switch (req->op) {
	case MP_OP_VHOST_ADD:
		return spp_primary_add_vhost(req->res_id, req->vhost_client);
	case MP_OP_ATTACH:
		return spp_primary_attach_process(req->pid, req->client_id, req->lcores);
	case MP_OP_DETACH:
		return spp_primary_detach_process(req->pid);
	case MP_OP_CLAIM:
	case MP_OP_RELEASE:
		return spp_primary_side(req->pid, req->client_id, req->res_type, req->res_id,
					req->consumer, req->op == MP_OP_CLAIM);
	default:
		return spp_fail(EINVAL, "unknown request %u", req->op);
	}
}

static void
mp_answer(struct mp_job *job, int shutting_down)
{
	struct rte_mp_msg reply;
	struct mp_rep *rep = (void *)reply.param;

	memset(&reply, 0, sizeof(reply));
	rte_strscpy(reply.name, job->msg.name, sizeof(reply.name));
	reply.len_param = sizeof(*rep);
	if (shutting_down)
		rep->result = spp_fail(ESHUTDOWN, "the primary is shutting down");
	else if (job->msg.len_param != sizeof(struct mp_req))
		rep->result = spp_fail(EINVAL, "malformed request");
	else
		rep->result = mp_do((const struct mp_req *)job->msg.param);
	if (rep->result < 0)
		rte_strscpy(rep->reason, spp_last_error(), sizeof(rep->reason));
	if (rte_mp_reply(&reply, job->peer) != 0)
		SPP_LOG(WARNING, "cannot answer %s: %s", job->peer, rte_strerror(rte_errno));
}

static void *
svc_main(__rte_unused void *arg)
{
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&svc.lock);
	while (!svc.stop) {
		struct mp_job *job = TAILQ_FIRST(&svc.jobs);
		struct timespec now;

		if (job != NULL) {
			TAILQ_REMOVE(&svc.jobs, job, next);
			pthread_mutex_unlock(&svc.lock);
			mp_answer(job, 0);
			free(job);
			pthread_mutex_lock(&svc.lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > next.tv_sec ||
		    (now.tv_sec == next.tv_sec && now.tv_nsec >= next.tv_nsec)) {
			pthread_mutex_unlock(&svc.lock);
			spp_primary_reap();
			pthread_mutex_lock(&svc.lock);
			next = now;
			next.tv_nsec += REAP_PERIOD_MS * 1000000L;
			next.tv_sec += next.tv_nsec / 1000000000L;
			next.tv_nsec %= 1000000000L;
			continue;
		}
		pthread_cond_timedwait(&svc.wake, &svc.lock, &next);
	}
	pthread_mutex_unlock(&svc.lock);
	return NULL;
}

/* rte_mp handler on the IPC thread: hand over, never wait */
static int
on_request(const struct rte_mp_msg *msg, const void *peer)
{
	struct mp_job *job = malloc(sizeof(*job));

	if (job == NULL)
		return -1;
	job->msg = *msg;
	rte_strscpy(job->peer, peer, sizeof(job->peer));
	pthread_mutex_lock(&svc.lock);
	TAILQ_INSERT_TAIL(&svc.jobs, job, next);
	pthread_cond_signal(&svc.wake);
	pthread_mutex_unlock(&svc.lock);
	return 0;
}

int
spp_mp_primary_register(void)
{
	pthread_condattr_t attr;
	int ret;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&svc.wake, &attr);
	pthread_condattr_destroy(&attr);
	svc.stop = 0;
	ret = rte_ctrl_thread_create(&svc.thread, "spp-service", NULL, svc_main, NULL);
	if (ret != 0)
		return spp_fail(ret, "cannot start the service thread: %s", strerror(ret));
	svc.running = 1;
	ret = rte_mp_action_register(MP_REQUEST, on_request);
	if (ret != 0 && rte_errno != EEXIST) {
		spp_mp_primary_unregister();
		return spp_fail(rte_errno, "cannot register IPC action: %s",
				rte_strerror(rte_errno));
	}
	return 0;
}

void
spp_mp_primary_unregister(void)
{
	struct mp_job *job;

	rte_mp_action_unregister(MP_REQUEST);
	if (!svc.running)
		return;
	pthread_mutex_lock(&svc.lock);
	svc.stop = 1;
	pthread_cond_signal(&svc.wake);
	pthread_mutex_unlock(&svc.lock);
	pthread_join(svc.thread, NULL);
	svc.running = 0;
	while ((job = TAILQ_FIRST(&svc.jobs)) != NULL) {
		TAILQ_REMOVE(&svc.jobs, job, next);
		mp_answer(job, 1);
		free(job);
	}
}

/* ------------------------------------------------------------------ */
/* secondary                                                           */

static int
mp_request(struct mp_req *req, const char *what)
{
	struct rte_mp_msg msg;
	struct rte_mp_reply replies;
	const struct timespec timeout = { .tv_sec = MP_TIMEOUT_S, .tv_nsec = 0 };
	struct mp_rep rep;

	memset(&msg, 0, sizeof(msg));
	rte_strscpy(msg.name, MP_REQUEST, sizeof(msg.name));
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
	struct mp_req req = { .op = MP_OP_VHOST_ADD, .res_id = (uint16_t)id,
			      .vhost_client = (uint8_t)!!client };

	return mp_request(&req, "for a vhost port");
}

static uint16_t mp_client_id;

int
spp_mp_attach(unsigned int client_id, const uint64_t *lcore_mask)
{
	struct mp_req req = { .op = MP_OP_ATTACH, .client_id = (uint16_t)client_id };

	mp_client_id = (uint16_t)client_id;
	req.lcores[0] = lcore_mask[0];
	req.lcores[1] = lcore_mask[1];
	return mp_request(&req, "to attach");
}

int
spp_mp_detach(void)
{
	struct mp_req req = { .op = MP_OP_DETACH, .client_id = mp_client_id };

	return mp_request(&req, "to detach");
}

int
spp_mp_side(int res_type, unsigned int res_id, int consumer, int claim)
{
	struct mp_req req = { .op = claim ? MP_OP_CLAIM : MP_OP_RELEASE,
			      .client_id = mp_client_id, .res_type = (uint16_t)res_type,
			      .res_id = (uint16_t)res_id, .consumer = (uint8_t)!!consumer };

	return mp_request(&req, claim ? "for a port" : "to release a port");
}
