/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pcap_worker.c - the lcores of spp_pcap (pcap.h): the receive lcore,
 * which moves bursts from the captured port into the writer rings, and the
 * writer lcores, which write what their ring holds to their files.
 */
#include <time.h>

#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include "common/common.h"
#include "common/cycles.h"
#include "pcap/pcap.h"

static inline int
load(const int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void
store(int *p, int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/*
 * Hand bufs[0..n) to the writers, starting with writer *rr, in order:
 * what one ring has no room for goes to the next. Returns how many were
 * taken; the caller frees the rest.
 */
static unsigned int
hand_out(struct pcap_state *s, struct rte_mbuf **bufs, unsigned int n, unsigned int *rr)
{
	unsigned int sent = 0, k;

	for (k = 0; k < s->nb_writers && sent < n; k++) {
		struct pcap_writer *w = &s->w[(*rr + k) % s->nb_writers];

		sent += rte_ring_sp_enqueue_burst(w->ring, (void **)(bufs + sent), n - sent, NULL);
	}
	*rr = (*rr + 1) % s->nb_writers;
	return sent;
}

int
pcap_receive(void *arg)
{
	struct pcap_state *s = arg;
	unsigned int lcore = rte_lcore_id(), rr = 0;
	struct spp_cycles *cyc = &spp_lcore_cyc[lcore].c;
	struct spp_idle idle = { 0 };
	struct rte_mbuf *bufs[PCAP_BURST];
	uint64_t round = rte_rdtsc();

	while (!s->stop) {
		unsigned int n = 0, sent, i;

		if (load(&s->rx_req) != s->rx_state) {
			rr = 0;
			store(&s->rx_state, load(&s->rx_req));
		}
		if (s->rx_state)
			n = port_rx(&s->port, &s->ctr, lcore, bufs, PCAP_BURST);
		if (n > 0) {
			if (s->ts_off >= 0) {
				uint64_t now = rte_rdtsc();

				for (i = 0; i < n; i++)
					*RTE_MBUF_DYNFIELD(bufs[i], s->ts_off, uint64_t *) = now;
			}
			sent = hand_out(s, bufs, n, &rr);
			if (sent < n)
				rte_pktmbuf_free_bulk(bufs + sent, n - sent);
			__atomic_store_n(&s->received, s->received + n, __ATOMIC_RELAXED);
			__atomic_store_n(&s->dropped, s->dropped + (n - sent), __ATOMIC_RELAXED);
		}
		spp_idle_update(&idle, n);
		spp_cycles_round(cyc, &round, n);
	}
	store(&s->rx_state, 0);
	return 0;
}

/* Wall-clock nanoseconds of a frame received at TSC `tsc`. */
static uint64_t
frame_ns(const struct pcap_state *s, const struct rte_mbuf *m)
{
	struct timespec ts;
	uint64_t d;

	if (s->ts_off < 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	d = *RTE_MBUF_DYNFIELD(m, s->ts_off, const uint64_t *) - s->base_tsc;
	return s->base_ns + d / s->hz * 1000000000u + d % s->hz * 1000000000u / s->hz;
}

/* Write one frame (every segment of it) as a record. */
static void
write_frame(const struct pcap_state *s, struct pcap_writer *w, const struct rte_mbuf *m)
{
	const void *seg[8];
	uint32_t len[8];
	unsigned int nseg = 0;
	const struct rte_mbuf *p;

	for (p = m; p != NULL && nseg < RTE_DIM(seg); p = p->next, nseg++) {
		seg[nseg] = rte_pktmbuf_mtod(p, const void *);
		len[nseg] = p->data_len;
	}
	if (w->out.fd >= 0 &&
	    pcap_out_record(&w->out, frame_ns(s, m), rte_pktmbuf_pkt_len(m), seg, len, nseg) == 0)
		__atomic_store_n(&w->written, w->written + 1, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&w->lost, w->lost + 1, __ATOMIC_RELAXED);
}

/* Dequeue and write one burst; how many frames it held. */
static unsigned int
write_burst(const struct pcap_state *s, struct pcap_writer *w)
{
	struct rte_mbuf *bufs[PCAP_BURST];
	unsigned int n, i;

	n = rte_ring_sc_dequeue_burst(w->ring, (void **)bufs, PCAP_BURST, NULL);
	for (i = 0; i < n; i++)
		write_frame(s, w, bufs[i]);
	if (n > 0)
		rte_pktmbuf_free_bulk(bufs, n);
	return n;
}

int
pcap_write(void *arg)
{
	struct pcap_state *s = arg;
	unsigned int lcore = rte_lcore_id(), i;
	struct pcap_writer *w = NULL;
	struct spp_cycles *cyc = &spp_lcore_cyc[lcore].c;
	struct spp_idle idle = { 0 };
	uint64_t round = rte_rdtsc();

	for (i = 0; i < s->nb_writers; i++)
		if (s->w[i].lcore == lcore)
			w = &s->w[i];
	if (w == NULL)
		return -1;
	while (!s->stop) {
		unsigned int work = 0;
		int req = load(&w->req);

		if (req && w->state == PCAP_W_IDLE)
			store(&w->state, pcap_out_begin(&w->out, w->stem) == 0 ? PCAP_W_RUNNING
										: PCAP_W_FAILED);
		if (w->state != PCAP_W_IDLE && !(req && load(&s->hold)))
			work = write_burst(s, w);
		if (!req && w->state != PCAP_W_IDLE) {
			/* the receive lcore has stopped: what is in the ring is the last */
			while (write_burst(s, w) > 0)
				;
			pcap_out_end(&w->out);
			store(&w->state, PCAP_W_IDLE);
		}
		spp_idle_update(&idle, work);
		spp_cycles_round(cyc, &round, work);
	}
	return 0;
}
