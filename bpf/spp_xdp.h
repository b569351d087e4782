/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * spp_xdp.h - the ONE definition of the XDP steering maps shared by
 * bpf/xdp_steer.c (BPF C) and spp/xdp (Python, via cffi).
 *
 * Python feeds the text between the SPP_XDP_CDEF_BEGIN and SPP_XDP_CDEF_END
 * markers to cffi's FFI.cdef() after typedef'ing __u8/__u16/__u32/__u64, so
 * that block may only contain integer #defines and plain structs: no
 * #include, #if, macros with arguments, attributes or expressions.
 *
 * Every map belongs to ONE port: each af_xdp port loads its own instance of
 * the program with its own maps, and nothing is pinned by name. The primary
 * finds them from the interface's attached program and pins them under its
 * instance's directory (spp/xdp/pins.py):
 *   <bpffs>/spp/<file prefix>/<ifname>/{spp_fdb,spp_port_cfg,spp_xdp_stats,
 *                                       spp_patch,spp_tx_ports,spp_fwd_stats}
 * so two SPP instances never share or remove each other's maps. Names are
 * ABI: userspace finds the maps by them.
 *
 *   spp_fdb        HASH          struct spp_fdb_key -> struct spp_fdb_val
 *   spp_port_cfg   ARRAY[1]      0 -> struct spp_xdp_port_cfg (zero = MODE_ALL)
 *   spp_xdp_stats  PERCPU_ARRAY  0 -> struct spp_xdp_counters
 *   spp_patch      ARRAY[1]      0 -> struct spp_xdp_patch (zero = no fast path)
 *   spp_tx_ports   DEVMAP        destination phy id -> ifindex (root netns)
 *   spp_fwd_stats  PERCPU_ARRAY  destination phy id -> struct spp_xdp_fwd_counters
 *   spp_vf_act     HASH          struct spp_fdb_key -> struct spp_xdp_vf_act
 *   spp_vf_stats   PERCPU_ARRAY  counter slot -> struct spp_xdp_fwd_counters
 *   xsks_map       XSKMAP        rx queue -> AF_XDP socket (filled by the PMD)
 *
 * Fast path (bpf/xdp_patch.h): while the primary forwards `patch phy:A phy:B`
 * in XDP, A's spp_patch[0] is {SPP_XDP_PATCH_ON, B} and A's spp_tx_ports[B] is
 * B's ifindex; a frame that would go to A's socket is redirected to B instead.
 *
 * spp_vf chains (bpf/xdp_vf.h): the spp_vf whose component reads phy A
 * compiles its chain into A's spp_vf_act (what the chain does with a frame,
 * by {VID, destination MAC}; see struct spp_xdp_vf_act) while the primary's
 * offload is on (SPP_XDP_F_VF_OFFLOAD in A's spp_port_cfg).
 */
#ifndef SPP_XDP_H
#define SPP_XDP_H

#include <linux/types.h>

/* SPP_XDP_CDEF_BEGIN */

/* spp_port_cfg.mode */
#define SPP_XDP_MODE_ALL 0        /* every frame to the AF_XDP socket */
#define SPP_XDP_MODE_REGISTERED 1 /* bcast/mcast + FDB-registered unicast */

/* spp_port_cfg.flags */
#define SPP_XDP_F_DROP_UNKNOWN 1  /* unregistered unicast: XDP_DROP, not PASS */
#define SPP_XDP_F_VF_OFFLOAD 2    /* spp_vf chains in XDP (spp_vf_act) allowed */

/* spp_fdb_val.flags (informational; the program only tests presence) */
#define SPP_FDB_F_STATIC 1

#define SPP_FDB_MAX_ENTRIES 65536  /* a whole classifier table (SPP_CLS_MAX_ENTRIES) */
#define SPP_XSKS_MAX_ENTRIES 64

/* spp_patch.flags */
#define SPP_XDP_PATCH_ON 1        /* redirect to spp_tx_ports[tx_port] in XDP */

#define SPP_XDP_TX_PORTS 32       /* spp_tx_ports keys: phy ids (SPP_MAX_PHY) */

/* 8 bytes, no padding: safe as a hash key. vlan 0 = untagged. */
/*
 * Also the key of spp_vf_act, where MAC ff:ff:ff:ff:ff:ff (broadcast: never
 * a destination the classifier looks up) is reserved:
 *   {SPP_XDP_VF_ANY_VLAN, ff:..:ff}  every frame (a chain without a
 *                                    classifier: forward/merge)
 *   {VID, ff:..:ff}                  the classifier's default of VID
 *                                    (VID 0: the general default)
 */
struct spp_fdb_key {
	__u16 vlan;     /* 802.1Q/802.1ad VID, host byte order; 0 = untagged */
	__u8 mac[6];    /* destination MAC */
};

struct spp_fdb_val {
	__u32 flags;    /* SPP_FDB_F_* */
};

struct spp_xdp_port_cfg {
	__u32 mode;     /* SPP_XDP_MODE_* */
	__u32 flags;    /* SPP_XDP_F_* */
};

/* Set with one map update: flags and tx_port change together. */
struct spp_xdp_patch {
	__u32 flags;    /* SPP_XDP_PATCH_*; 0 = every frame for SPP goes to the socket */
	__u32 tx_port;  /* key of spp_tx_ports: the destination's phy id */
};

struct spp_xdp_counters {
	__u64 to_spp_pkts;
	__u64 to_spp_bytes;
	__u64 to_kernel_pkts;
	__u64 to_kernel_bytes;
	__u64 dropped_pkts;
	__u64 dropped_bytes;
};

/* What the fast path sent to one destination (spp_fwd_stats[tx_port]). */
struct spp_xdp_fwd_counters {
	__u64 pkts;
	__u64 bytes;
};

/* spp_vf_act: reserved keys (struct spp_fdb_key) */
#define SPP_XDP_VF_ANY_VLAN 65535  /* no VID is this: every frame */

/* spp_xdp_vf_act.flags */
#define SPP_XDP_VF_REDIRECT 1     /* send to spp_tx_ports[tx_port]; else to the socket */
#define SPP_XDP_VF_PUSH 2         /* after the pops: push (or rewrite the outer) tag tci */

#define SPP_XDP_VF_MAX_POPS 2     /* pops a compiled chain may do */
#define SPP_XDP_VF_ACT_MAX_ENTRIES 70000  /* a whole table + every VID's default + ANY */
#define SPP_XDP_VF_SLOTS 4096     /* spp_vf_stats keys */
/* the slots of paths to phy D are D * SLOTS_PER_TX ... + SLOTS_PER_TX - 1, so a slot
 * names its destination even after its action is gone (SLOTS = PER_TX * TX_PORTS) */
#define SPP_XDP_VF_SLOTS_PER_TX 128

/*
 * What an spp_vf chain does with a frame, composed from its port VLAN
 * operations: strip the outer tag `pops` times (an untagged frame stays as
 * it is), then with SPP_XDP_VF_PUSH push an 802.1Q tag `tci` (or rewrite
 * the TCI of the outer tag the frame still has). Every chain of
 * add_vlantag/del_vlantag reduces to this form. Without SPP_XDP_VF_REDIRECT
 * the frame goes to the AF_XDP socket (userspace decides). Counted in
 * spp_vf_stats[slot]. Replaced with one hash update, so a reader sees the
 * old or the new action, never a mix.
 */
struct spp_xdp_vf_act {
	__u32 flags;    /* SPP_XDP_VF_* */
	__u32 tx_port;  /* key of spp_tx_ports: the destination's phy id */
	__u16 tci;      /* PCP << 13 | VID, host byte order */
	__u16 pops;     /* 0..SPP_XDP_VF_MAX_POPS */
	__u32 slot;     /* key of spp_vf_stats */
};

/* SPP_XDP_CDEF_END */

#endif /* SPP_XDP_H */
