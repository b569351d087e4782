// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_drop.c - bench counting sink.
 *
 * Drops every frame. On a veth end it turns on the veth's NAPI (so frames the
 * peer redirects to it are received) and the veth still counts each frame in
 * rx_packets before this program runs; the bench reads that counter.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
