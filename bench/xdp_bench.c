// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_bench.c - bench helper: in-kernel traffic generator and XDP attach.
 *
 *   xdp_bench gen IFNAME OBJ FRAME_HEX [REPEAT [BATCH [SECONDS [PPS]]]]
 *	Loads the first program of OBJ (build/bpf/xdp_gen_tx.o) and runs it
 *	with BPF_PROG_TEST_RUN + BPF_F_TEST_XDP_LIVE_FRAMES on the frame
 *	FRAME_HEX (hex bytes), ingress_ifindex = IFNAME (resolved in this
 *	process's netns). Each call sends REPEAT frames (default 10000000) in
 *	batches of BATCH (default 64); calls repeat until SECONDS have passed
 *	(0 = until SIGINT or SIGTERM). With PPS > 0 it paces itself: after each
 *	call it sleeps until FRAMES / PPS seconds have passed since it began
 *	(give a REPEAT of a few ms of frames). Prints, on exit, one line:
 *	"sent FRAMES frames in SECONDS s (PPS pps)", counting completed calls.
 *
 *   xdp_bench attach IFNAME OBJ [TX_IFNAME]
 *	Loads the first program of OBJ, writes the ifindex of TX_IFNAME into
 *	its map "tx_port" at key 0 when given, and attaches it to IFNAME in
 *	native (driver) mode, failing if IFNAME already has an XDP program.
 *	The attachment keeps program and map alive after this process exits;
 *	`ip link set dev IFNAME xdp off` removes them. Nothing is pinned.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#define MAX_FRAME 1514

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Hex string to bytes; returns the length, or -1 on a bad string. */
static int parse_hex(const char *hex, unsigned char *out, size_t max)
{
	size_t len = strlen(hex), i;

	if (len % 2 || len / 2 > max)
		return -1;
	for (i = 0; i < len / 2; i++) {
		if (sscanf(hex + 2 * i, "%2hhx", &out[i]) != 1)
			return -1;
	}
	return (int)(len / 2);
}

static unsigned int ifindex_of(const char *name)
{
	unsigned int idx = if_nametoindex(name);

	if (!idx)
		fprintf(stderr, "xdp_bench: no interface %s: %s\n", name,
			strerror(errno));
	return idx;
}

/* Opens and loads OBJ; returns its first program's fd (and the object). */
static int load_first(const char *path, struct bpf_object **objp)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	int err;

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		fprintf(stderr, "xdp_bench: cannot open %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	err = bpf_object__load(obj);
	prog = bpf_object__next_program(obj, NULL);
	if (err || !prog) {
		fprintf(stderr, "xdp_bench: cannot load %s: %s\n", path,
			strerror(err ? -err : ENOENT));
		bpf_object__close(obj);
		return -1;
	}
	*objp = obj;
	return bpf_program__fd(prog);
}

static int cmd_gen(int argc, char **argv)
{
	unsigned char frame[MAX_FRAME];
	struct xdp_md ctx = {};
	struct bpf_object *obj;
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long long sent = 0;
	double seconds = 0, pps = 0, t0, t;
	int len, fd, err = 0, repeat = 10000000, batch = 64;

	if (argc < 3)
		return 2;
	len = parse_hex(argv[2], frame, sizeof(frame));
	if (len < 14) {
		fprintf(stderr, "xdp_bench: bad frame (hex, 14..%d bytes)\n",
			MAX_FRAME);
		return 2;
	}
	if (argc > 3)
		repeat = atoi(argv[3]);
	if (argc > 4)
		batch = atoi(argv[4]);
	if (argc > 5)
		seconds = atof(argv[5]);
	if (argc > 6)
		pps = atof(argv[6]);
	if (repeat <= 0 || batch <= 0 || seconds < 0 || pps < 0)
		return 2;
	ctx.ingress_ifindex = ifindex_of(argv[0]);
	if (!ctx.ingress_ifindex)
		return 1;
	ctx.data_end = len;	/* the kernel wants data_end == frame length */
	fd = load_first(argv[1], &obj);
	if (fd < 0)
		return 1;

	/* no SA_RESTART: a signal ends the running test run with EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	t0 = now();
	while (!stop && (!seconds || now() - t0 < seconds)) {
		LIBBPF_OPTS(bpf_test_run_opts, opts,
			.data_in = frame,
			.data_size_in = len,
			.ctx_in = &ctx,
			.ctx_size_in = sizeof(ctx),
			.repeat = repeat,
			.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
			.batch_size = batch,
		);

		err = bpf_prog_test_run_opts(fd, &opts);
		if (err) {
			err = errno;
			break;
		}
		sent += repeat;
		/* paced: sleep until the frames sent so far are due */
		while (pps > 0 && !stop && (t = t0 + sent / pps - now()) > 0) {
			struct timespec ts = { .tv_sec = (time_t)t,
					       .tv_nsec = (long)((t - (time_t)t) * 1e9) };
			nanosleep(&ts, NULL);
		}
	}
	t = now() - t0;
	printf("sent %llu frames in %.3f s (%.0f pps)\n", sent, t,
	       t > 0 ? sent / t : 0.0);
	bpf_object__close(obj);
	if (err && err != EINTR) {
		fprintf(stderr, "xdp_bench: test run: %s\n", strerror(err));
		return 1;
	}
	return 0;
}

static int cmd_attach(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_map *map;
	unsigned int ifindex, tx = 0;
	__u32 key = 0;
	int fd, err;

	if (argc < 2)
		return 2;
	ifindex = ifindex_of(argv[0]);
	if (!ifindex)
		return 1;
	if (argc > 2) {
		tx = ifindex_of(argv[2]);
		if (!tx)
			return 1;
	}
	fd = load_first(argv[1], &obj);
	if (fd < 0)
		return 1;
	if (tx) {
		map = bpf_object__find_map_by_name(obj, "tx_port");
		err = map ? bpf_map_update_elem(bpf_map__fd(map), &key, &tx,
						BPF_ANY) : -ENOENT;
		if (err) {
			fprintf(stderr, "xdp_bench: tx_port[0] = %s: %s\n",
				argv[2], map ? strerror(errno) : "no map");
			bpf_object__close(obj);
			return 1;
		}
	}
	err = bpf_xdp_attach(ifindex, fd,
			     XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST,
			     NULL);
	if (err)
		fprintf(stderr, "xdp_bench: attach to %s: %s\n", argv[0],
			strerror(-err));
	bpf_object__close(obj);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	int ret = 2;

	if (argc > 1 && !strcmp(argv[1], "gen"))
		ret = cmd_gen(argc - 2, argv + 2);
	else if (argc > 1 && !strcmp(argv[1], "attach"))
		ret = cmd_attach(argc - 2, argv + 2);
	if (ret == 2)
		fprintf(stderr,
			"usage: xdp_bench gen IFNAME OBJ FRAME_HEX [REPEAT [BATCH [SECONDS [PPS]]]]\n"
			"       xdp_bench attach IFNAME OBJ [TX_IFNAME]\n");
	return ret;
}
