// SPDX-License-Identifier: GPL-2.0
/*
 * seq_gen.c - numbered frames for the in-kernel generator (spp/testkit/seqstream.py).
 *
 * Run by build/bench/xdp_bench gen with BPF_PROG_TEST_RUN + live frames, never
 * attached. Each run takes the next sequence number: below SEQ_FRAMES it writes the
 * number (host order, 4 bytes) at byte SEQ_OFF of the frame and returns XDP_TX, so
 * the frame leaves the generator's veth; from SEQ_FRAMES on it returns XDP_DROP, so
 * exactly SEQ_FRAMES numbered frames are sent however many runs the caller asks for.
 * SEQ_FRAMES and SEQ_OFF come from the build command line (-D).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#if !defined(SEQ_FRAMES) || !defined(SEQ_OFF)
#error "build with -DSEQ_FRAMES=N -DSEQ_OFF=BYTE (spp/testkit/seqstream.py)"
#endif

__u64 next_seq;

SEC("xdp")
int seq_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 *p = data + SEQ_OFF;
	__u64 seq;

	if ((void *)(p + 1) > end)
		return XDP_ABORTED;
	seq = __sync_fetch_and_add(&next_seq, 1);
	if (seq >= SEQ_FRAMES)
		return XDP_DROP;
	*p = (__u32)seq;
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
