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
 * Maps (names are ABI: userspace opens the pins by these names):
 *   spp_fdb        HASH         struct spp_fdb_key -> struct spp_fdb_val
 *                  pinned by name: <bpffs>/spp_fdb
 *   spp_port_cfg   HASH         __u32 ifindex -> struct spp_xdp_port_cfg
 *                  pinned by name: <bpffs>/spp_port_cfg
 *   spp_xdp_stats  PERCPU_HASH  __u32 ifindex -> struct spp_xdp_counters
 *                  pinned by name: <bpffs>/spp_xdp_stats
 *   xsks_map       XSKMAP       __u32 rx queue -> AF_XDP socket
 *                  NOT pinned: every af_xdp port loads its own copy.
 */
#ifndef SPP_XDP_H
#define SPP_XDP_H

#include <linux/types.h>

/* SPP_XDP_CDEF_BEGIN */

/* spp_port_cfg.mode. An ifindex without an entry behaves as MODE_ALL. */
#define SPP_XDP_MODE_ALL 0        /* every frame to the AF_XDP socket */
#define SPP_XDP_MODE_REGISTERED 1 /* bcast/mcast + FDB-registered unicast */

/* spp_port_cfg.flags */
#define SPP_XDP_F_DROP_UNKNOWN 1  /* unregistered unicast: XDP_DROP, not PASS */

/* spp_fdb_val.flags (informational; the program only tests presence) */
#define SPP_FDB_F_STATIC 1

#define SPP_FDB_MAX_ENTRIES 16384
#define SPP_PORT_CFG_MAX_ENTRIES 256
#define SPP_XDP_STATS_MAX_ENTRIES 256
#define SPP_XSKS_MAX_ENTRIES 64

/* 12 bytes, no padding: safe as a hash key. vlan 0 = untagged. */
struct spp_fdb_key {
	__u32 ifindex;  /* ingress netdev */
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

struct spp_xdp_counters {
	__u64 to_spp_pkts;
	__u64 to_spp_bytes;
	__u64 to_kernel_pkts;
	__u64 to_kernel_bytes;
	__u64 dropped_pkts;
	__u64 dropped_bytes;
};

/* SPP_XDP_CDEF_END */

#endif /* SPP_XDP_H */
