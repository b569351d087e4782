// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_pass.c - bench pass-through program.
 *
 * Every frame goes on to the kernel stack. Attached to a veth end, it turns on
 * the veth's NAPI, without which frames that the peer sends with
 * ndo_xdp_xmit (XDP_TX, XDP_REDIRECT) are dropped. The bench puts it on the
 * bridge anchor's ingress port.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
