/* SPDX-License-Identifier: BSD-3-Clause
 *
 * mp_server.c - the primary's half of the request protocol (mp.h):
 * answer the requests of secondaries.
 *
 * The rte_mp handler runs on EAL's IPC thread, which also carries the
 * replies of the primary's own IPC requests (memory hotplug, for one). So
 * the handler never blocks and never takes the primary's lock: it queues
 * the request for the primary's service thread and returns. The service
 * thread does the work (the callbacks it was started with, which take the
 * primary's lock) and answers with rte_mp_reply(), as DPDK's own hotplug
 * requests do. Every SPP_MP_REAP_PERIOD_MS it also calls ops->reap, which
 * frees what secondaries that died without detaching held.
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

#include "common/common.h"
#include "common/mp.h"

struct mp_job {
	TAILQ_ENTRY(mp_job) next;
	struct rte_mp_msg msg;
	char peer[PATH_MAX];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	TAILQ_HEAD(, mp_job) jobs;
	const struct spp_mp_server_ops *ops;
	pthread_t thread;
	int running;
	int stop;
} svc = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.jobs = TAILQ_HEAD_INITIALIZER(svc.jobs),
};

static int32_t
mp_do(const struct spp_mp_server_ops *ops, const struct spp_mp_req *req)
{
	switch (req->op) {
	case SPP_MP_VHOST_ADD:
		return ops->vhost_add(req->res_id, req->vhost_client);
	case SPP_MP_ATTACH:
		return ops->attach(req->pid, req->client_id, req->lcores);
	case SPP_MP_DETACH:
		return ops->detach(req->pid);
	case SPP_MP_CLAIM:
	case SPP_MP_RELEASE:
		return ops->side(req->pid, req->client_id, req->res_type, req->res_id,
				 req->consumer, req->op == SPP_MP_CLAIM);
	default:
		return spp_fail(EINVAL, "unknown request %u", req->op);
	}
}

static void
mp_answer(struct mp_job *job, int shutting_down)
{
	struct rte_mp_msg reply;
	struct spp_mp_rep *rep = (void *)reply.param;

	memset(&reply, 0, sizeof(reply));
	rte_strscpy(reply.name, job->msg.name, sizeof(reply.name));
	reply.len_param = sizeof(*rep);
	if (shutting_down)
		rep->result = spp_fail(ESHUTDOWN, "the primary is shutting down");
	else if (job->msg.len_param != sizeof(struct spp_mp_req))
		rep->result = spp_fail(EINVAL, "malformed request");
	else
		rep->result = mp_do(svc.ops, (const struct spp_mp_req *)job->msg.param);
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
			svc.ops->reap();
			pthread_mutex_lock(&svc.lock);
			next = now;
			next.tv_nsec += SPP_MP_REAP_PERIOD_MS * 1000000L;
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
spp_mp_server_start(const struct spp_mp_server_ops *ops)
{
	pthread_condattr_t attr;
	int ret;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&svc.wake, &attr);
	pthread_condattr_destroy(&attr);
	svc.ops = ops;
	svc.stop = 0;
	ret = rte_ctrl_thread_create(&svc.thread, "spp-service", NULL, svc_main, NULL);
	if (ret != 0)
		return spp_fail(ret, "cannot start the service thread: %s", strerror(ret));
	svc.running = 1;
	ret = rte_mp_action_register(SPP_MP_REQUEST, on_request);
	if (ret != 0 && rte_errno != EEXIST) {
		spp_mp_server_stop();
		return spp_fail(rte_errno, "cannot register IPC action: %s",
				rte_strerror(rte_errno));
	}
	return 0;
}

void
spp_mp_server_stop(void)
{
	struct mp_job *job;

	rte_mp_action_unregister(SPP_MP_REQUEST);
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
