/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pcap.h - the state of the spp_pcap secondary, shared by its control side
 * (pcap.c), its receive lcore and its writer lcores (pcap_worker.c).
 *
 * The receive lcore takes bursts from the captured port and hands them to
 * the writers, each through its own single-producer/single-consumer DPDK
 * ring; what no writer ring has room for is freed and counted as dropped,
 * so capture never holds up the captured port. It makes no system calls:
 * a frame's time is the TSC read at receive, kept in an mbuf dynamic
 * field and turned into wall-clock time by the writer. Each writer lcore
 * writes its frames to its own file sequence (pcap_file.h).
 *
 * Capture starts and stops by request and acknowledgement: the control
 * thread sets a request flag, the lcore acts on it at the top of its loop
 * and stores its new state, which the control thread waits for.
 */
#ifndef SPP_PCAP_H
#define SPP_PCAP_H

#include <stdint.h>
#include <rte_ring.h>

#include "pcap/pcap_file.h"
#include "secondary/port.h"

#define PCAP_BURST 64

enum pcap_wstate {
	PCAP_W_IDLE = 0,
	PCAP_W_RUNNING = 1,       /* its file is open, it writes what it dequeues */
	PCAP_W_FAILED = 2,        /* a capture was asked for but its file could not be opened */
};

struct pcap_writer {
	struct rte_ring *ring;
	unsigned int lcore;
	int req;                  /* control -> writer: 1 capture, 0 finish and close */
	int state;                /* writer -> control: enum pcap_wstate */
	uint64_t written;         /* records written in this capture (writer only) */
	uint64_t lost;            /* dequeued, not written after a write error (writer only) */
	char stem[SPP_PCAP_PATH_MAX];  /* set by control before req = 1 */
	struct pcap_out out;
} __rte_cache_aligned;

struct pcap_state {
	int attached;
	int running;              /* the lcores were launched */
	int capturing;
	int side_held;            /* we hold the captured port's reading side */
	unsigned int client_id;
	volatile int stop;        /* every lcore returns when set */
	struct port port;         /* the captured port */
	struct port_ctr ctr;      /* its counters (receive lcore only) */
	unsigned int rx_lcore;
	int rx_req;               /* control -> receive: 1 capture */
	int rx_state;             /* receive -> control: 1 capturing */
	uint64_t received;        /* frames taken from the port (receive lcore only) */
	uint64_t dropped;         /* of those, freed for want of room in the writer rings */
	int ts_off;               /* mbuf dynfield offset of the receive TSC; -1: none */
	uint64_t base_tsc;        /* TSC and wall clock (ns) at capture start */
	uint64_t base_ns;
	uint64_t hz;
	int hold;                 /* tests: writers leave their rings alone while capturing */
	unsigned int nb_writers;
	struct pcap_writer w[SPP_PCAP_MAX_WRITERS];
};

/* rte_eal_remote_launch() functions; `arg`: the struct pcap_state */
int pcap_receive(void *arg);
int pcap_write(void *arg);

#endif /* SPP_PCAP_H */
