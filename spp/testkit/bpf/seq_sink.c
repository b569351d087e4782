// SPDX-License-Identifier: GPL-2.0
/*
 * seq_sink.c - counts numbered frames where a stream arrives (spp/testkit/seqstream.py).
 *
 * Attached (native XDP) to the receiving veth. A frame is a stream frame when it is
 * untagged IPv4 (no options) UDP to port SEQ_PORT; its sequence number is the 4 bytes
 * at SEQ_OFF (as seq_gen.c wrote them). Each number below SEQ_FRAMES sets its bit
 * in seq_seen; seq_stats counts [SEQ_UNIQUE] numbers seen for the first time,
 * [SEQ_DUP] numbers whose bit was already set, [SEQ_RANGE] numbers >= SEQ_FRAMES.
 * Stream frames are dropped here; every other frame passes to the stack. All SEQ_*
 * come from the build command line (-D).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#if !defined(SEQ_FRAMES) || !defined(SEQ_OFF) || !defined(SEQ_PORT) || \
	!defined(SEQ_UNIQUE) || !defined(SEQ_DUP) || !defined(SEQ_RANGE) || !defined(SEQ_NSTATS)
#error "build with the -D options spp/testkit/seqstream.py gives"
#endif



struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, (SEQ_FRAMES + 63) / 64);
	__type(key, __u32);
	__type(value, __u64);
} seq_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SEQ_NSTATS);
	__type(key, __u32);
	__type(value, __u64);
} seq_stats SEC(".maps");

static __always_inline void count(__u32 stat)
{
	__u64 *n = bpf_map_lookup_elem(&seq_stats, &stat);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("xdp")
int seq_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u32 *p = data + SEQ_OFF;
	__u32 seq, word;
	__u64 *bits, bit, old;

	if ((void *)(p + 1) > end || (void *)(udp + 1) > end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP || udp->dest != bpf_htons(SEQ_PORT))
		return XDP_PASS;
	seq = *p;
	if (seq >= SEQ_FRAMES) {
		count(SEQ_RANGE);
		return XDP_DROP;
	}
	word = seq / 64;
	bits = bpf_map_lookup_elem(&seq_seen, &word);
	if (!bits)
		return XDP_DROP;
	bit = 1ULL << (seq % 64);
	old = __sync_fetch_and_or(bits, bit);
	count(old & bit ? SEQ_DUP : SEQ_UNIQUE);
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
