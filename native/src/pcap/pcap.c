/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pcap.c - the spp_pcap secondary's control side: attach to the primary,
 * open the captured port, create the writer rings, launch the receive and
 * writer lcores, and start and stop capture (pcap.h). Every spp_pcap_*
 * call runs on the control thread.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "common/common.h"
#include "common/mp.h"
#include "common/shared.h"
#include "pcap/pcap.h"
#include "secondary/attach.h"

#define PCAP_ACK_TIMEOUT_MS 30000  /* a writer's last ring and file end may take a while */

static struct pcap_state pcap = { .ts_off = -1 };

static const struct rte_mbuf_dynfield ts_field = {
	.name = "spp_pcap_rx_tsc",
	.size = sizeof(uint64_t),
	.align = __alignof__(uint64_t),
};

/* Wait until *p == v; 0, or -ETIMEDOUT after `ms`. */
static int
wait_for(const int *p, int v, unsigned int ms)
{
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz() * ms / 1000;

	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) != v) {
		if (rte_get_timer_cycles() > end)
			return -ETIMEDOUT;
		usleep(200);
	}
	return 0;
}

/* Free what is left in a writer ring. */
static void
ring_drain(struct rte_ring *r)
{
	struct rte_mbuf *bufs[PCAP_BURST];
	unsigned int n;

	while ((n = rte_ring_dequeue_burst(r, (void **)bufs, PCAP_BURST, NULL)) > 0)
		rte_pktmbuf_free_bulk(bufs, n);
}

/* Writer i's ring, made afresh (or the one a previous spp_pcap of this id left, emptied). */
static int
ring_get(unsigned int i, struct rte_ring **out)
{
	char name[RTE_RING_NAMESIZE];
	struct rte_ring *r;

	snprintf(name, sizeof(name), "spp_pcap%u_w%u", pcap.client_id, i);
	r = rte_ring_create(name, SPP_PCAP_RING_SIZE, rte_socket_id(),
			    RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (r == NULL && rte_errno == EEXIST) {
		r = rte_ring_lookup(name);
		if (r != NULL)
			ring_drain(r);
	}
	if (r == NULL)
		return spp_fail(rte_errno, "cannot create ring %s: %s", name,
				rte_strerror(rte_errno));
	*out = r;
	return 0;
}

int
spp_pcap_attach(unsigned client_id, int res_type, unsigned res_id, unsigned queue,
		const char *out_dir, uint64_t fsize, uint32_t snaplen)
{
	uint64_t lcores[2] = { 0, 0 };
	unsigned int lcore, n = 0, i;
	int ret;

	if (rte_eal_process_type() != RTE_PROC_SECONDARY)
		return spp_fail(EINVAL, "spp_pcap must run with --proc-type=secondary");
	if (res_type != SPP_RES_PHY && res_type != SPP_RES_RING)
		return spp_fail(EINVAL, "spp_pcap captures phy:N or ring:N");
	if (snaplen == 0 || snaplen > SPP_PCAP_SNAPLEN_MAX)
		return spp_fail(EINVAL, "snaplen %u is not in 1-%u", snaplen, SPP_PCAP_SNAPLEN_MAX);
	ret = spp_shared_attach();
	if (ret < 0)
		return ret;
	sec_lcore_mask(lcores);
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (n == 0)
			pcap.rx_lcore = lcore;
		else if (n <= SPP_PCAP_MAX_WRITERS)
			pcap.w[n - 1].lcore = lcore;
		n++;
	}
	if (n < 2)
		return spp_fail(EINVAL, "spp_pcap needs three lcores or more: -l MASTER,RECEIVE,"
				"WRITER[,WRITER...]");
	if (n - 1 > SPP_PCAP_MAX_WRITERS)
		return spp_fail(EINVAL, "at most %u writer lcores", SPP_PCAP_MAX_WRITERS);
	pcap.client_id = client_id;
	ret = port_open(&pcap.port, res_type, res_id, queue, 0);
	if (ret < 0)
		return ret;
	ret = spp_mp_attach(client_id, lcores);
	if (ret < 0)
		return ret;
	pcap.attached = 1;
	pcap.nb_writers = n - 1;
	for (i = 0; i < pcap.nb_writers; i++) {
		ret = ring_get(i + 1, &pcap.w[i].ring);
		if (ret < 0)
			return ret;
		if (pcap_out_init(&pcap.w[i].out, out_dir, i + 1, fsize, snaplen) < 0)
			return spp_fail(ENOMEM, "out of memory for writer %u's buffers", i + 1);
	}
	pcap.ts_off = rte_mbuf_dynfield_register(&ts_field);
	if (pcap.ts_off < 0)
		SPP_LOG(WARNING, "no mbuf field for receive times (%s): writers stamp frames",
			rte_strerror(rte_errno));
	pcap.hz = rte_get_tsc_hz();
	return (int)pcap.nb_writers;
}

int
spp_pcap_start_workers(void)
{
	unsigned int i;

	if (!pcap.attached)
		return spp_fail(ENODEV, "not attached to a primary");
	if (pcap.running)
		return 0;
	pcap.stop = 0;
	if (rte_eal_remote_launch(pcap_receive, &pcap, pcap.rx_lcore) != 0)
		return spp_fail(EBUSY, "cannot launch the receive lcore %u", pcap.rx_lcore);
	pcap.running = 1;
	for (i = 0; i < pcap.nb_writers; i++)
		if (rte_eal_remote_launch(pcap_write, &pcap, pcap.w[i].lcore) != 0)
			return spp_fail(EBUSY, "cannot launch writer lcore %u", pcap.w[i].lcore);
	return 0;
}

/*
 * Take (or give back) the reading side of the captured port: the ring's
 * consumer side from the primary, or a directly polled device's rx queue.
 */
static int
side(int claim)
{
	char owner[SPP_NAMESIZE];

	snprintf(owner, sizeof(owner), "spp_pcap %u", pcap.client_id);
	return port_own(&pcap.port, 1, claim, owner);
}

/* Ask every writer to finish and close; wait for them. */
static int
writers_end(void)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < pcap.nb_writers; i++)
		__atomic_store_n(&pcap.w[i].req, 0, __ATOMIC_RELEASE);
	for (i = 0; i < pcap.nb_writers; i++)
		if (wait_for(&pcap.w[i].state, PCAP_W_IDLE, PCAP_ACK_TIMEOUT_MS) < 0 && ret == 0)
			ret = spp_fail(ETIMEDOUT, "writer lcore %u did not finish its file",
				       pcap.w[i].lcore);
	return ret;
}

int
spp_pcap_capture_start(const char *stem)
{
	struct timespec now;
	unsigned int i;
	int ret;

	if (!pcap.running)
		return spp_fail(ENODEV, "the capture lcores are not running");
	if (pcap.capturing)
		return spp_fail(EALREADY, "capture is already running");
	ret = side(1);
	if (ret < 0)
		return ret;
	pcap.side_held = 1;
	for (i = 0; i < pcap.nb_writers; i++) {
		struct pcap_writer *w = &pcap.w[i];

		snprintf(w->stem, sizeof(w->stem), "%s", stem);
		__atomic_store_n(&w->written, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&w->lost, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&w->req, 1, __ATOMIC_RELEASE);
	}
	for (i = 0; i < pcap.nb_writers; i++) {
		struct pcap_writer *w = &pcap.w[i];
		unsigned int waited = 0;
		int state;

		/* until the writer opened its file, failed to, or the time is up */
		while (wait_for(&w->state, PCAP_W_RUNNING, 100) < 0 &&
		       __atomic_load_n(&w->state, __ATOMIC_ACQUIRE) != PCAP_W_FAILED &&
		       (waited += 100) < PCAP_ACK_TIMEOUT_MS)
			;
		state = __atomic_load_n(&w->state, __ATOMIC_ACQUIRE);
		if (state != PCAP_W_RUNNING) {
			char name[2 * SPP_PCAP_PATH_MAX + 48];

			snprintf(name, sizeof(name), "%s/%s.tmp", w->out.dir, w->out.name);
			ret = state == PCAP_W_FAILED
				? spp_fail(w->out.err, "cannot write %s: %s", name,
					   strerror(w->out.err))
				: spp_fail(ETIMEDOUT, "writer lcore %u did not open its file",
					   w->lcore);
			writers_end();
			side(0);
			pcap.side_held = 0;
			return ret;
		}
	}
	clock_gettime(CLOCK_REALTIME, &now);
	pcap.base_tsc = rte_rdtsc();
	pcap.base_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	__atomic_store_n(&pcap.received, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&pcap.dropped, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&pcap.rx_req, 1, __ATOMIC_RELEASE);
	wait_for(&pcap.rx_state, 1, PCAP_ACK_TIMEOUT_MS);
	pcap.capturing = 1;
	return 0;
}

int
spp_pcap_capture_stop(void)
{
	int ret;

	if (!pcap.capturing)
		return 0;
	__atomic_store_n(&pcap.rx_req, 0, __ATOMIC_RELEASE);
	ret = wait_for(&pcap.rx_state, 0, PCAP_ACK_TIMEOUT_MS);
	if (ret < 0)
		return spp_fail(ETIMEDOUT, "the receive lcore %u did not stop", pcap.rx_lcore);
	ret = writers_end();
	if (pcap.side_held && side(0) < 0)
		SPP_LOG(WARNING, "releasing the captured port: %s", spp_last_error());
	pcap.side_held = 0;
	pcap.capturing = 0;
	return ret;
}

int
spp_pcap_counters(struct spp_pcap_counters *out)
{
	unsigned int i;

	memset(out, 0, sizeof(*out));
	out->received = __atomic_load_n(&pcap.received, __ATOMIC_RELAXED);
	out->dropped = __atomic_load_n(&pcap.dropped, __ATOMIC_RELAXED);
	for (i = 0; i < pcap.nb_writers; i++) {
		out->written += __atomic_load_n(&pcap.w[i].written, __ATOMIC_RELAXED);
		out->dropped += __atomic_load_n(&pcap.w[i].lost, __ATOMIC_RELAXED);
	}
	return pcap.capturing;
}

int
spp_pcap_writer_info(unsigned idx, struct spp_pcap_writer_info *out)
{
	const struct pcap_writer *w;

	if (idx >= pcap.nb_writers)
		return spp_fail(EINVAL, "no writer %u", idx);
	w = &pcap.w[idx];
	memset(out, 0, sizeof(*out));
	out->lcore = w->lcore;
	out->written = __atomic_load_n(&w->written, __ATOMIC_RELAXED);
	out->lost = __atomic_load_n(&w->lost, __ATOMIC_RELAXED);
	/* read while the writer is idle, or as it last published them */
	out->files = __atomic_load_n(&w->out.seq, __ATOMIC_RELAXED);
	out->bytes = __atomic_load_n(&w->out.total_bytes, __ATOMIC_RELAXED);
	out->error = w->out.err;
	out->open = __atomic_load_n(&w->state, __ATOMIC_ACQUIRE) == PCAP_W_RUNNING;
	snprintf(out->stem, sizeof(out->stem), "%s", w->out.stem);
	return 0;
}

int
spp_pcap_hold_writers(int hold)
{
	__atomic_store_n(&pcap.hold, !!hold, __ATOMIC_RELEASE);
	return 0;
}

int
spp_pcap_rx_lcore(void)
{
	return pcap.attached ? (int)pcap.rx_lcore : -1;
}

/*
 * Leave in order: stop capture (every file finished), stop the lcores,
 * free the writer rings and buffers, return our lcores' cached mbufs to
 * the pool, then let the primary free our lcore ids.
 */
int
spp_pcap_detach(void)
{
	unsigned int i;

	if (!pcap.attached)
		return 0;
	if (spp_pcap_capture_stop() < 0)
		SPP_LOG(WARNING, "detach: %s", spp_last_error());
	if (pcap.running) {
		pcap.stop = 1;
		rte_eal_mp_wait_lcore();
		pcap.running = 0;
	}
	for (i = 0; i < pcap.nb_writers; i++) {
		if (pcap.w[i].ring != NULL) {
			ring_drain(pcap.w[i].ring);
			rte_ring_free(pcap.w[i].ring);
			pcap.w[i].ring = NULL;
		}
		pcap_out_free(&pcap.w[i].out);
	}
	sec_leave();
	pcap.attached = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* the file writer alone, for tests (no EAL)                           */

int
spp_pcap_file_write(const char *dir, const char *stem, unsigned index, uint64_t fsize,
		    uint32_t snaplen, const uint8_t *data, const uint32_t *lens, unsigned n,
		    uint64_t ts0_ns)
{
	struct pcap_out o;
	unsigned int i;
	size_t off = 0;
	int ret;

	if (pcap_out_init(&o, dir, index, fsize, snaplen) < 0)
		return spp_fail(ENOMEM, "out of memory");
	ret = pcap_out_begin(&o, stem);
	for (i = 0; i < n && ret == 0; i++) {
		const void *seg = data + off;

		ret = pcap_out_record(&o, ts0_ns + i, lens[i], &seg, &lens[i], 1);
		off += lens[i];
	}
	if (ret == 0)
		ret = pcap_out_end(&o);
	else
		pcap_out_end(&o);
	pcap_out_free(&o);
	if (ret < 0)
		return spp_fail(-ret, "%s/%s: %s", dir, o.name, strerror(-ret));
	return (int)o.seq;
}
