/* SPDX-License-Identifier: BSD-3-Clause
 *
 * spp_native.h - the one boundary between the Python control plane and the
 * C data plane. Everything Python may call is declared between the CFFI
 * markers below; that block is fed verbatim to cffi's cdef(), so it holds
 * only plain C: fixed-width integers, #define'd integer constants, structs
 * and prototypes. Nothing here exposes a DPDK type.
 *
 * Conventions: functions return 0 (or a non-negative value) on success and
 * a negative errno on failure; spp_last_error() then holds a one-line,
 * operator-facing reason for the calling thread. Python calls come from the
 * control thread of the process (the EAL main lcore); worker lcores never
 * call back into Python. In the primary, requests of secondaries (vhost
 * creation, attach, port claims) run on its service thread; every
 * spp_primary_* call and every such request changes or reads the primary's
 * state under one lock, so they may come from any thread.
 */
#ifndef SPP_NATIVE_H
#define SPP_NATIVE_H

#include <stdint.h>

/* CFFI-BEGIN */
#define SPP_NAMESIZE 64            /* device, driver and pool names, with the NUL */
#define SPP_MAX_PHY 32             /* phy:N */
#define SPP_MAX_RINGS 64           /* ring:N */
#define SPP_MAX_VHOST 32           /* vhost:N */
#define SPP_MAX_COMPONENTS 64      /* components of one spp_vf */
#define SPP_MAX_COMP_PORTS 32      /* ports of a component, per direction */
#define SPP_MAX_COMP_PER_LCORE 16  /* components one worker lcore runs */
#define SPP_VF_MAX_PORTS 128       /* ports one spp_vf has open */
#define SPP_NFV_MAX_PORTS 128      /* ports one spp_nfv has open (and patches: one per source) */
#define SPP_MAX_LCORES 128         /* lcore ids 0-127 */
#define SPP_MAX_DEV_QUEUES 16      /* rx queues of a directly polled phy:N that can be claimed */
#define SPP_VLAN_ID_MAX 4094       /* VLAN ids 1-4094 (0: untagged; 4095 is reserved) */

#define SPP_BURST 32               /* frames a lane or component moves per call */
#define SPP_RING_SIZE 1024         /* default slots of ring:N */
#define SPP_BRIDGE_RING_SIZE 8192  /* default slots of a device's ring pair: ~10 ms at 800 kpps */
#define SPP_BRIDGE_RING_MIN 64     /* a ring pair's size: a power of two in MIN-MAX */
#define SPP_BRIDGE_RING_MAX 1048576
#define SPP_MAX_BRIDGE_LCORES 16   /* primary lcores that bridge devices */
#define SPP_VHOST_PORTS_DEFAULT 4  /* vhost ports the pool has room for from the start */
#define SPP_POOL_LCORES 32         /* lcores, over all SPP processes, the pool keeps caches for */
#define SPP_MIN_MBUFS 1024         /* smallest pool an operator may ask for */
#define SPP_CLS_MAX_ENTRIES 65536  /* MAC entries of a classifier table (+ a default per VLAN) */

/* resource types of a TYPE:ID uid */
#define SPP_RES_PHY 1
#define SPP_RES_RING 2
#define SPP_RES_VHOST 3

/* component roles */
#define SPP_COMP_FORWARD 1
#define SPP_COMP_MERGE 2
#define SPP_COMP_CLASSIFIER 3
#define SPP_COMP_MIRROR 4      /* spp_mirror: 1 rx port to both of 2 tx ports */

/* per-port VLAN operations */
#define SPP_VLAN_NONE 0
#define SPP_VLAN_ADD 1
#define SPP_VLAN_DEL 2

/* how a phy/vhost device reaches secondaries */
#define SPP_DEV_BRIDGED 1 /* primary moves frames device <-> ring pair */
#define SPP_DEV_DIRECT 2  /* secondaries poll the ethdev queue themselves */

/* what the device itself counts (rte_eth_stats) */
struct spp_dev_stats {
	uint64_t ipackets;
	uint64_t opackets;
	uint64_t ibytes;
	uint64_t obytes;
	uint64_t imissed;
	uint64_t ierrors;
	uint64_t oerrors;
	uint64_t rx_nombuf;
};

/* what the kernel counts for an AF_XDP socket (struct xdp_statistics) */
struct spp_xsk_stats {
	uint64_t rx_dropped;
	uint64_t rx_invalid_descs;
	uint64_t tx_invalid_descs;
	uint64_t rx_ring_full;
	uint64_t rx_fill_ring_empty_descs;
	uint64_t tx_ring_empty_descs;
};

struct spp_dev_info {
	uint16_t id;          /* N of phy:N / vhost:N */
	uint16_t ethdev_id;
	uint16_t nb_queues;
	uint8_t kind;         /* SPP_DEV_BRIDGED or SPP_DEV_DIRECT */
	uint8_t link_up;
	uint8_t promiscuous;  /* 0: the device refused promiscuous mode (see the log) */
	uint8_t mac[6];
	char name[SPP_NAMESIZE];   /* interface, PCI address or vhost socket */
	char driver[SPP_NAMESIZE];
	uint64_t rx;       /* frames taken from the device */
	uint64_t rx_drop;  /* taken but not deliverable (ring full, no patch) */
	uint64_t tx;       /* frames handed to the device */
	uint64_t tx_drop;  /* frames the device refused and that were dropped */
	uint16_t lcore;    /* primary lcore bridging it; UINT16_MAX: none */
	uint8_t has_stats; /* stats filled (in the primary only) */
	uint8_t has_xsk;   /* xsk filled: an af_xdp port */
	uint16_t reader_client;  /* owners of its ring sides (pid 0: none) */
	uint16_t writer_client;
	int32_t reader_pid;
	int32_t writer_pid;
	uint32_t rx_queued;      /* frames in its rx ring, waiting for the reader */
	uint32_t tx_queued;      /* frames in its tx ring, waiting for the device */
	uint64_t rx_no_reader;   /* part of rx_drop: nobody read the port */
	uint64_t drained;        /* freed from its rings when a reader left */
	struct spp_dev_stats stats;
	struct spp_xsk_stats xsk;
};

struct spp_ring_info {
	uint16_t id;
	uint32_t size;
	uint32_t count;    /* frames waiting now */
	uint64_t rx;       /* dequeued by a reader */
	uint64_t rx_drop;
	uint64_t tx;       /* enqueued by a writer */
	uint64_t tx_drop;  /* enqueue refused: ring full */
	uint64_t drained;  /* freed when its reader left or a new one came */
	uint16_t reader_client;
	uint16_t writer_client;
	int32_t reader_pid;
	int32_t writer_pid;
};

struct spp_pool_info {
	char name[SPP_NAMESIZE];
	uint32_t size;          /* usable mbufs */
	uint32_t in_use;
	uint32_t available;
	uint32_t outside_umem;  /* withdrawn: the af_xdp PMD's UMEM does not cover them */
	uint64_t reserved;      /* mbufs the devices, rings and lcores can hold at most */
	uint64_t lost;          /* left in caches of processes that died */
};

/* ---- common ---- */
const char *spp_last_error(void);
int spp_eal_init(int argc, char **argv);
int spp_eal_cleanup(void);
unsigned spp_main_lcore(void);
int spp_worker_lcores(unsigned *out, unsigned max);
int spp_is_primary(void);

/* ---- primary ---- */
/* before setup: bridge ring and ring:N sizes (powers of two, SPP_BRIDGE_RING_MIN-MAX),
 * vhost ports the pool has room for (0-SPP_MAX_VHOST) */
int spp_primary_configure(unsigned bridge_ring_size, unsigned ring_size, unsigned vhost_ports);
/* nb_mbufs 0: size the pool from the ports, rings and lcores; else >= SPP_MIN_MBUFS */
int spp_primary_setup(unsigned nb_rings, uint64_t portmask, unsigned nb_mbufs);
/* run the bridge on these worker lcores (devices spread round robin) */
int spp_primary_start(const unsigned *lcores, unsigned nb_lcores);
int spp_primary_shutdown(void);
int spp_primary_nb_phy(void);
int spp_primary_nb_rings(void);
int spp_primary_phy_info(unsigned id, struct spp_dev_info *out);
int spp_primary_vhost_info(unsigned id, struct spp_dev_info *out);
int spp_primary_ring_info(unsigned id, struct spp_ring_info *out);
int spp_primary_pool_info(struct spp_pool_info *out);
int spp_primary_clear_stats(void);
int spp_primary_add_ring(unsigned id);
int spp_primary_add_vhost(unsigned id, int client);
int spp_primary_patch(int src_type, unsigned src_id, int dst_type, unsigned dst_id);
int spp_primary_patch_reset(void);
int spp_primary_set_forwarding(int on);

/* ---- spp_vf secondary ---- */
struct spp_comp_port {
	uint16_t handle;     /* from spp_vf_port_open() */
	uint8_t vlan_op;     /* SPP_VLAN_* */
	uint8_t vlan_pcp;
	uint16_t vlan_id;
};

struct spp_comp_spec {
	uint8_t type;        /* SPP_COMP_* */
	uint16_t nb_rx;
	uint16_t nb_tx;
	struct spp_comp_port rx[SPP_MAX_COMP_PORTS];
	struct spp_comp_port tx[SPP_MAX_COMP_PORTS];
};

/* one classifier_table entry, resolved to a tx position of the component */
struct spp_cls_entry {
	uint16_t vlan;       /* 0: untagged (a "mac" entry) */
	uint8_t mac[6];
	uint8_t is_default;  /* the MAC "default": catches unmatched unicast */
	uint16_t tx_index;   /* position in spp_comp_spec.tx */
};

/*
 * Per component. tx counts copies sent; every drop_* is a drop reason.
 * A classifier also counts each frame it took by outcome (docs/classifier.md):
 * hit + flood + to_default + drop_no_entry = frames classified.
 */
struct spp_comp_counters {
	uint64_t rx;
	uint64_t tx;
	uint64_t drop_no_entry;   /* classifier: no entry and no default */
	uint64_t drop_tx_full;    /* the tx port refused it */
	uint64_t drop_bad_frame;  /* too short for its Ethernet/VLAN header */
	uint64_t drop_nomem;      /* a VLAN rewrite needed a private copy; none could be made */
	uint64_t hit;             /* classifier: exact MAC match in the frame's VLAN */
	uint64_t flood;           /* classifier: broadcast/multicast copied to a VLAN's ports */
	uint64_t to_default;      /* classifier: sent to its VLAN's or the general default */
};

/* outcome of a classification (spp_cls_decide) */
#define SPP_CLS_NO_ENTRY 0
#define SPP_CLS_HIT 1
#define SPP_CLS_FLOOD 2
#define SPP_CLS_DEFAULT 3
/* TSC cycles of a worker lcore or of a component (native/src/cycles.h) */
struct spp_cycles {
	uint64_t busy;     /* poll rounds (lcore) or burst calls (component) that moved frames */
	uint64_t idle;     /* lcore only: rounds that moved nothing, back-off sleep included */
	uint64_t packets;  /* frames moved in those busy rounds or calls */
};

struct spp_port_counters {
	uint64_t rx;
	uint64_t tx;
	uint64_t tx_drop;
};

int spp_vf_attach(unsigned client_id, int vhost_client);
int spp_vf_detach(void);
int spp_vf_port_open(int res_type, unsigned res_id, unsigned queue);
int spp_vf_port_close(unsigned handle);
int spp_vf_port_counters(unsigned handle, struct spp_port_counters *out);
int spp_vf_component_update(unsigned slot, const struct spp_comp_spec *spec,
			    const struct spp_cls_entry *entries, unsigned nb_entries);
/*
 * Change the table of the classifier in `slot` in place: delete `del`
 * (each must be there with the same tx position), then add `add`; all or
 * nothing. Forwarding goes on while it changes. A component that is not
 * ready (no rx or tx port yet) has no table: nothing to do, its table is
 * built from the entries given to spp_vf_component_update().
 */
int spp_vf_table_update(unsigned slot, const struct spp_cls_entry *add, unsigned nb_add,
			const struct spp_cls_entry *del, unsigned nb_del);
int spp_vf_component_clear(unsigned slot);
int spp_vf_component_counters(unsigned slot, struct spp_comp_counters *out);
int spp_vf_lcore_set(unsigned lcore, const uint16_t *slots, unsigned nb_slots);
int spp_vf_start_workers(void);
int spp_vf_stop_workers(void);
/*
 * One poller per rx queue of a directly polled device, across every
 * process of the file prefix. `owner` names the poller in refusals
 * (e.g. "component 'cls' of spp_vf 1"). Ports the primary bridges are
 * rings and need no claim: both calls return 0 for them. A claim held by
 * a process that no longer runs is taken over.
 */
int spp_vf_rx_claim(unsigned handle, const char *owner);
int spp_vf_rx_release(unsigned handle, const char *owner);
int spp_vf_component_cycles(unsigned slot, struct spp_cycles *out);
/*
 * ---- spp_mirror secondary ----
 * spp_mirror runs on spp_vf's component host: after spp_mirror_attach()
 * (instead of spp_vf_attach()) the spp_vf_* calls above serve it, with
 * SPP_COMP_MIRROR its one component type.
 */
int spp_mirror_attach(unsigned client_id, int vhost_client);
/* ---- spp_nfv secondary ---- */
int spp_nfv_attach(unsigned client_id, int vhost_client);
int spp_nfv_detach(void);
/* launch the worker lcore (the first worker of -l); returns its lcore id */
int spp_nfv_start_worker(void);
/* a port handle, as spp_vf_port_open(); closing a patched port is refused */
int spp_nfv_port_open(int res_type, unsigned res_id, unsigned queue);
int spp_nfv_port_close(unsigned handle);
int spp_nfv_port_counters(unsigned handle, struct spp_port_counters *out);
/*
 * Replace every patch at once: patch i forwards port handle src[i] to
 * dst[i] (a source at most once), run by the worker when `forwarding`.
 * All or nothing: the ring sides (or rx queue) the new patches read and
 * write are claimed first; a refusal leaves the patches as they were.
 */
int spp_nfv_apply(const uint16_t *src, const uint16_t *dst, unsigned nb, int forwarding);
/*
 * ---- spp_pcap secondary ----
 * One receive lcore (the first worker of -l) takes bursts from the
 * captured port and hands them to the writer lcores (the other workers)
 * through their rings; a writer writes pcap records (nanosecond
 * timestamps) as LZ4 frames to DIR/STEM.W.SEQ.pcap.lz4 (W from 1; SEQ
 * from 1, the next one past fsize bytes).
 */
#define SPP_PCAP_MAX_WRITERS 16
#define SPP_PCAP_RING_SIZE 4096      /* slots of a writer's ring */
#define SPP_PCAP_SNAPLEN_MAX 65535
#define SPP_PCAP_PATH_MAX 256        /* an output directory, a file stem */
struct spp_pcap_counters {
	uint64_t received;   /* frames taken from the captured port in this capture */
	uint64_t written;    /* records written */
	uint64_t dropped;    /* not written: no room in the writer rings, or a write error */
};
struct spp_pcap_writer_info {
	uint32_t lcore;
	uint32_t files;      /* SEQ of its open (or last) file; 0: none */
	uint64_t written;
	uint64_t lost;       /* dequeued but not written after a write error */
	uint64_t bytes;      /* compressed bytes of this capture's files */
	int32_t error;       /* errno of the write error that stopped it; 0: none */
	int32_t open;        /* its file is open (capture running) */
	char stem[SPP_PCAP_PATH_MAX];
};
/* attach, open the port (phy:N or ring:N), make the writer rings; returns the writers */
int spp_pcap_attach(unsigned client_id, int res_type, unsigned res_id, unsigned queue,
		    const char *out_dir, uint64_t fsize, uint32_t snaplen);
int spp_pcap_start_workers(void);
/* take the port's reading side, open every writer's first file, start receiving */
int spp_pcap_capture_start(const char *stem);
/* stop receiving, let the writers empty their rings and finish their files */
int spp_pcap_capture_stop(void);
/* 1 while capturing, else 0 */
int spp_pcap_counters(struct spp_pcap_counters *out);
int spp_pcap_writer_info(unsigned idx, struct spp_pcap_writer_info *out);
int spp_pcap_rx_lcore(void);
/* tests: while set, writers take nothing from their rings until capture stops */
int spp_pcap_hold_writers(int hold);
int spp_pcap_detach(void);
/* Write n frames (lens[i] bytes each, back to back in data) as writer `index` would,
 * timestamps ts0_ns + i; returns the number of files. Needs no EAL. */
int spp_pcap_file_write(const char *dir, const char *stem, unsigned index, uint64_t fsize,
			uint32_t snaplen, const uint8_t *data, const uint32_t *lens, unsigned n,
			uint64_t ts0_ns);
/* ---- cycle accounting (either process) ---- */
uint64_t spp_tsc_hz(void);
int spp_lcore_cycles(unsigned lcore, struct spp_cycles *out);
/* ---- diagnostics ---- */
int spp_probe_ethdev_rx(uint16_t ethdev_id, uint16_t queue, unsigned wait_ms);
int spp_probe_ethdev_tx(uint16_t ethdev_id, uint16_t queue, unsigned count);
/* claim a side of phy:N's ring pair or ring:N and leave it half-way through an op */
int spp_probe_ring_stall(int res_type, unsigned res_id, int consumer, unsigned n);
/*
 * Build a classifier table from `entries` (as spp_vf_component_update
 * does) and classify one frame of VLAN `vlan` (0: untagged) for `dst`
 * exactly as the hot path would: returns SPP_CLS_* and the tx positions
 * in *tx_mask, or a negative errno. Needs no EAL.
 */
int spp_cls_decide(const struct spp_cls_entry *entries, unsigned nb_entries, unsigned nb_tx,
		   uint16_t vlan, const uint8_t *dst, uint32_t *tx_mask);
/*
 * The same after changing an empty table in place one entry at a time:
 * entry i is deleted when is_del[i], else added (as spp_vf_table_update
 * does). Returns the first refusal, if any.
 */
int spp_cls_decide_steps(const struct spp_cls_entry *entries, const uint8_t *is_del,
			 unsigned nb_entries, unsigned nb_tx, uint16_t vlan, const uint8_t *dst,
			 uint32_t *tx_mask);
/* CFFI-END */

#endif /* SPP_NATIVE_H */
