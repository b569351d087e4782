// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_gen_tx.c - bench traffic generator program.
 *
 * Never attached to an interface: build/bench/xdp_bench runs it with
 * BPF_PROG_TEST_RUN and BPF_F_TEST_XDP_LIVE_FRAMES, ingress_ifindex set to the
 * generator's veth end. Every frame it returns XDP_TX for is sent out of that
 * veth, so the kernel transmits the test frame `repeat` times.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_gen_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
