// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_pass.c - passes every frame to the kernel.
 *
 * A veth delivers frames redirected to it in XDP (ndo_xdp_xmit) only when
 * its peer runs NAPI, i.e. has an XDP program. The primary attaches this one
 * to the peer of a fast-path patch's destination veth when the peer has no
 * program; it stays until the primary exits (detaching it under traffic
 * would drop what the peer still holds).
 * The bench puts it on the Linux bridge anchor's ingress port.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int spp_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
