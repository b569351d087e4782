/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xdp_vf.h - the fast path of spp_vf component chains, part of the steering
 * program (xdp_steer.c includes it after xdp_patch.h; it holds no program).
 *
 * The spp_vf whose component reads this port writes, per {VID, destination
 * MAC}, what its chain does with a frame (struct spp_xdp_vf_act in
 * spp_xdp.h): the destination phy and the composed VLAN operation, or "to
 * the socket" for what only userspace can finish. A frame the steering
 * would hand to the AF_XDP socket is looked up as the chain's first
 * component would (see vf_lookup); an action that redirects sends it to
 * spp_tx_ports[tx_port] after the VLAN rewrite. Anything else (no action,
 * a socket action, a missing devmap entry, a frame the rewrite cannot
 * carry) goes to the socket unchanged, where the userspace chain handles it.
 */
#ifndef SPP_XDP_VF_H
#define SPP_XDP_VF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "spp_xdp.h"
#include "xdp_patch.h"

#define VF_VLAN_HLEN 4

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SPP_XDP_VF_ACT_MAX_ENTRIES);
	__type(key, struct spp_fdb_key);
	__type(value, struct spp_xdp_vf_act);
} spp_vf_act SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SPP_XDP_VF_SLOTS);
	__type(key, __u32);
	__type(value, struct spp_xdp_fwd_counters);
} spp_vf_stats SEC(".maps");

static __always_inline int vf_is_vlan(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

/*
 * The action of the chain for this frame, NULL when there is none:
 *   1. the ANY entry (a chain without classifier takes every frame);
 *   2. broadcast/multicast: none (the classifier floods it in userspace);
 *   3. {VID, destination MAC}, then {VID, default}, then {0, default}
 *      (the classifier's exact entry, the VLAN's own default, the general
 *      default; a VID whose own default only userspace can finish has a
 *      socket action there, so step 3 is never wrongly reached).
 * VID is that of the outer tag (0 untagged or priority-tagged), as the
 * classifier reads it.
 */
static __always_inline struct spp_xdp_vf_act *vf_lookup(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct spp_fdb_key key = {};
	struct spp_xdp_vf_act *a;

	if ((void *)(eth + 1) > data_end)
		return NULL;
	key.vlan = SPP_XDP_VF_ANY_VLAN;
	__builtin_memset(key.mac, 0xff, ETH_ALEN);
	a = bpf_map_lookup_elem(&spp_vf_act, &key);
	if (a)
		return a;
	if (eth->h_dest[0] & 1)
		return NULL;
	key.vlan = 0;
	if (vf_is_vlan(eth->h_proto)) {
		__be16 *tci = (void *)(eth + 1);

		if ((void *)(tci + 2) > data_end)
			return NULL;
		key.vlan = bpf_ntohs(*tci) & 0x0fff;
	}
	__builtin_memcpy(key.mac, eth->h_dest, ETH_ALEN);
	a = bpf_map_lookup_elem(&spp_vf_act, &key);
	if (a)
		return a;
	__builtin_memset(key.mac, 0xff, ETH_ALEN);
	a = bpf_map_lookup_elem(&spp_vf_act, &key);
	if (a || key.vlan == 0)
		return a;
	key.vlan = 0;
	return bpf_map_lookup_elem(&spp_vf_act, &key);
}

/* The 16-bit word at byte `off` of the frame, -1 when the frame is shorter. */
static __always_inline int vf_word(void *data, void *data_end, __u32 off)
{
	__be16 *w = data + off;

	if ((void *)(w + 1) > data_end)
		return -1;
	return *w;
}

/*
 * Rewrite the frame as the action says (userspace's vlan.h, one port after
 * the other: each pop strips the outer tag if there is one, the push
 * rewrites the outer tag's TCI or pushes an 802.1Q tag). Everything is
 * checked before the one bpf_xdp_adjust_head(), so on failure (-1) the
 * frame is unchanged; userspace would drop such a frame as a bad one, and
 * does so when it gets it.
 */
static __always_inline int vf_rewrite(struct xdp_md *ctx, __u32 flags, __u16 tci, __u16 pops)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 macs[2 * ETH_ALEN];
	int np = 0, i, w, tagged, push, delta;

	/* how many tags the pops strip, and whether the frame keeps one */
	tagged = 0;
#pragma unroll
	for (i = 0; i < SPP_XDP_VF_MAX_POPS + 1; i++) {
		w = vf_word(data, data_end, 2 * ETH_ALEN + VF_VLAN_HLEN * i);
		if (w < 0)
			return -1;
		if (!vf_is_vlan((__be16)w)) {
			tagged = 0;
			break;
		}
		tagged = 1;
		/* a tag is stripped or rewritten only when the frame holds all of it */
		if (vf_word(data, data_end, 2 * ETH_ALEN + VF_VLAN_HLEN * i + VF_VLAN_HLEN) < 0)
			return -1;
		if (i >= pops)
			break;
		np++;
	}
	push = flags & SPP_XDP_VF_PUSH;
	if (!push && np == 0)
		return 0;
	delta = VF_VLAN_HLEN * np - (push && !tagged ? VF_VLAN_HLEN : 0);
	if (delta != 0) {
		if ((void *)((__u8 *)data + sizeof(macs)) > data_end)
			return -1;
		__builtin_memcpy(macs, data, sizeof(macs));
		if (bpf_xdp_adjust_head(ctx, delta))
			return -1;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if ((void *)((__u8 *)data + sizeof(macs)) > data_end)
			return -1;
		__builtin_memcpy(data, macs, sizeof(macs));
	}
	if (push) {
		__be16 *tag = data + 2 * ETH_ALEN;

		if ((void *)(tag + 2) > data_end)
			return -1;
		if (!tagged)
			tag[0] = bpf_htons(ETH_P_8021Q);
		tag[1] = bpf_htons(tci);
	}
	return 0;
}

_Static_assert(SPP_XDP_VF_SLOTS == SPP_XDP_VF_SLOTS_PER_TX * SPP_XDP_TX_PORTS,
	       "every destination phy has its own range of counter slots");

/*
 * XDP_REDIRECT when the chain's action sent the frame on (counted in
 * spp_vf_stats[slot]), else XDP_ABORTED: the caller then hands the frame,
 * unchanged, to the socket.
 */
static __always_inline int vf_redirect(struct xdp_md *ctx, __u64 bytes)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct spp_xdp_vf_act *p = vf_lookup(data, data_end);
	struct spp_xdp_fwd_counters *c;
	struct spp_xdp_vf_act a;

	if (!p)
		return XDP_ABORTED;
	a = *p;  /* one read of an entry userspace replaces whole */
	if (!(a.flags & SPP_XDP_VF_REDIRECT))
		return XDP_ABORTED;
	/* no devmap entry: the fallback XDP_ABORTED (0), frame untouched */
	if (bpf_redirect_map(&spp_tx_ports, a.tx_port, 0) != XDP_REDIRECT)
		return XDP_ABORTED;
	if (vf_rewrite(ctx, a.flags, a.tci, a.pops) < 0)
		return XDP_ABORTED;
	c = bpf_map_lookup_elem(&spp_vf_stats, &a.slot);
	if (c) {  /* per-CPU value: plain increments */
		c->pkts++;
		c->bytes += bytes;
	}
	return XDP_REDIRECT;
}

#endif /* SPP_XDP_VF_H */
