/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xdp_patch.h - the fast path of the primary's phy-to-phy patches, part of
 * the steering program (xdp_steer.c includes it; it holds no program).
 *
 * The primary sets, per ingress port, spp_patch[0] = {SPP_XDP_PATCH_ON, B}
 * and spp_tx_ports[B] = ifindex of phy:B's netdev. A frame the steering
 * would hand to the AF_XDP socket is then redirected to that netdev with
 * bpf_redirect_map() and never reaches userspace. The primary writes the
 * devmap entry before it turns the patch on, and turns the patch off before
 * it deletes the entry; a patch whose entry is missing (or off) leaves the
 * frame to the socket, so each frame takes exactly one of the two paths.
 */
#ifndef SPP_XDP_PATCH_H
#define SPP_XDP_PATCH_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "spp_xdp.h"

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, SPP_XDP_TX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} spp_tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct spp_xdp_patch);
} spp_patch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SPP_XDP_TX_PORTS);
	__type(key, __u32);
	__type(value, struct spp_xdp_fwd_counters);
} spp_fwd_stats SEC(".maps");

/*
 * XDP_REDIRECT when the frame is sent to the patch's destination (counted
 * in spp_fwd_stats[destination]), else XDP_ABORTED: the caller then hands
 * it to the socket.
 */
static __always_inline int patch_redirect(__u64 bytes)
{
	__u32 zero = 0;
	struct spp_xdp_patch *p = bpf_map_lookup_elem(&spp_patch, &zero);
	struct spp_xdp_fwd_counters *c;
	struct spp_xdp_patch cur;

	if (!p)
		return XDP_ABORTED;
	cur = *p;  /* one read of the entry the primary writes with one update */
	if (!(cur.flags & SPP_XDP_PATCH_ON))
		return XDP_ABORTED;
	/* no entry at tx_port: the fallback action XDP_ABORTED (0) */
	if (bpf_redirect_map(&spp_tx_ports, cur.tx_port, 0) != XDP_REDIRECT)
		return XDP_ABORTED;
	c = bpf_map_lookup_elem(&spp_fwd_stats, &cur.tx_port);
	if (c) {  /* per-CPU value: plain increments */
		c->pkts++;
		c->bytes += bytes;
	}
	return XDP_REDIRECT;
}

#endif /* SPP_XDP_PATCH_H */
