// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_steer.c - spp-xdp steering program.
 *
 * Loaded by DPDK's af_xdp PMD (xdp_prog=build/bpf/xdp_steer.o): the PMD opens
 * this object with bpf_object__open_file(), loads it, takes the FIRST program
 * of the object as the XDP program (so keep exactly one program here), and
 * puts its AF_XDP socket into the map named "xsks_map" at the queue index.
 * Every port loads its own instance with its own maps (nothing is pinned by
 * name; see spp_xdp.h for where the primary pins them), so the maps describe
 * exactly one interface and need no ifindex in their keys.
 *
 * Mode (spp_port_cfg[0]; zero = MODE_ALL):
 *   MODE_ALL         every frame -> AF_XDP socket of the rx queue
 *   MODE_REGISTERED  broadcast/multicast dst          -> AF_XDP socket
 *                    unicast dst in spp_fdb {vlan, dst} -> AF_XDP socket
 *                    other unicast                    -> XDP_PASS (kernel),
 *                                                        XDP_DROP with
 *                                                        SPP_XDP_F_DROP_UNKNOWN
 * A redirect to a queue without a socket falls back to XDP_PASS. Frames too
 * short to parse go to the kernel. Every verdict is counted in
 * spp_xdp_stats[0] (to_spp = redirect succeeded, to_kernel = XDP_PASS,
 * dropped = XDP_DROP); what the patch fast path sends on is counted per
 * destination in spp_fwd_stats instead.
 *
 * Patch fast path (xdp_patch.h): a frame bound for a socket that exists is
 * redirected to the patch's destination netdev instead while spp_patch[0]
 * is on and its spp_tx_ports entry exists.
 *
 * spp_vf chain fast path (xdp_vf.h): otherwise, while the port's
 * SPP_XDP_F_VF_OFFLOAD flag is on, such a frame takes the action the spp_vf
 * reading this port compiled into spp_vf_act, if that action redirects.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "spp_xdp.h"
#include "xdp_patch.h"
#include "xdp_vf.h"

#define VLAN_VID_MASK 0x0fff

struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, SPP_XSKS_MAX_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SPP_FDB_MAX_ENTRIES);
	__type(key, struct spp_fdb_key);
	__type(value, struct spp_fdb_val);
} spp_fdb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct spp_xdp_port_cfg);
} spp_port_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct spp_xdp_counters);
} spp_xdp_stats SEC(".maps");

static __always_inline void count(__u32 action, __u64 bytes)
{
	__u32 zero = 0;
	struct spp_xdp_counters *c = bpf_map_lookup_elem(&spp_xdp_stats, &zero);

	if (!c)
		return;
	/* Per-CPU value: plain increments are safe. */
	switch (action) {
	case XDP_REDIRECT:
		c->to_spp_pkts++;
		c->to_spp_bytes += bytes;
		break;
	case XDP_DROP:
		c->dropped_pkts++;
		c->dropped_bytes += bytes;
		break;
	default:
		c->to_kernel_pkts++;
		c->to_kernel_bytes += bytes;
		break;
	}
}

static __always_inline int verdict(int action, __u64 bytes)
{
	count(action, bytes);
	return action;
}

static __always_inline int to_spp(struct xdp_md *ctx, __u64 bytes, __u32 flags)
{
	__u32 queue = ctx->rx_queue_index;
	int action;

	/* The fast paths take only frames a socket would have received. */
	if (bpf_map_lookup_elem(&xsks_map, &queue)) {
		if (patch_redirect(bytes) == XDP_REDIRECT)
			return XDP_REDIRECT;
		if ((flags & SPP_XDP_F_VF_OFFLOAD) && vf_redirect(ctx, bytes) == XDP_REDIRECT)
			return XDP_REDIRECT;
	}
	/* XDP_PASS when no socket sits at this queue (lower flag bits = fallback). */
	action = bpf_redirect_map(&xsks_map, queue, XDP_PASS);
	return verdict(action, bytes);
}

SEC("xdp")
int spp_xdp_steer(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	__u64 bytes = data_end - data;
	struct spp_xdp_port_cfg *cfg;
	struct ethhdr *eth = data;
	struct spp_fdb_key key = {};
	__u32 mode = SPP_XDP_MODE_ALL;
	__u32 flags = 0, zero = 0;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return verdict(XDP_PASS, bytes);

	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > data_end)
			return verdict(XDP_PASS, bytes);
		key.vlan = bpf_ntohs(vh->h_vlan_TCI) & VLAN_VID_MASK;
	}

	cfg = bpf_map_lookup_elem(&spp_port_cfg, &zero);
	if (cfg) {
		mode = cfg->mode;
		flags = cfg->flags;
	}

	if (mode != SPP_XDP_MODE_REGISTERED)
		return to_spp(ctx, bytes, flags);

	/* Broadcast and multicast: SPP's switch floods/learns them. */
	if (eth->h_dest[0] & 1)
		return to_spp(ctx, bytes, flags);

	__builtin_memcpy(key.mac, eth->h_dest, ETH_ALEN);
	if (bpf_map_lookup_elem(&spp_fdb, &key))
		return to_spp(ctx, bytes, flags);

	if (flags & SPP_XDP_F_DROP_UNKNOWN)
		return verdict(XDP_DROP, bytes);
	return verdict(XDP_PASS, bytes);
}

char _license[] SEC("license") = "GPL";
