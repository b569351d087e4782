// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_pass.c - passes every frame to the kernel.
 *
 * A veth delivers frames redirected to it in XDP (ndo_xdp_xmit) only when
 * its peer runs NAPI, i.e. has an XDP program. The primary attaches this one
 * to the peer of a fast-path patch's destination veth when the peer has no
 * program, and removes it when no fast-path patch sends there any more.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int spp_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
