// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_redirect_dev.c - bench "bare XDP" forwarder.
 *
 * Redirects every frame to the interface whose ifindex is in tx_port[0]
 * (a devmap: the ifindex is resolved in the network namespace of the process
 * that writes the map). Frames are dropped while the entry is empty.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tx_port SEC(".maps");

SEC("xdp")
int xdp_redirect_dev(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_port, 0, XDP_DROP);
}

char _license[] SEC("license") = "GPL";
