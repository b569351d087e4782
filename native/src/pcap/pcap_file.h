/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pcap_file.h - one writer's output: pcap records (nanosecond timestamps)
 * compressed as LZ4 frames, into files named
 *   DIR/STEM.W.SEQ.pcap.lz4      (STEM: spp_pcap.YYYYMMDDhhmmss.phy0)
 * written as DIR/NAME.tmp and renamed to DIR/NAME once the LZ4 frame is
 * complete. A new file (SEQ + 1) begins before one would grow past the
 * size limit. Plain C and libc/liblz4: no DPDK, so it runs (and is tested)
 * without EAL; in spp_pcap only the writer lcores call it.
 */
#ifndef SPP_PCAP_FILE_H
#define SPP_PCAP_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <lz4frame.h>

#include "spp_native.h"

#define PCAP_MAGIC_NS 0xa1b23c4du    /* pcap with nanosecond timestamps */
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
#define PCAP_LINKTYPE_ETHERNET 1
#define PCAP_STAGE_SIZE (256 * 1024)  /* records gathered before one LZ4F_compressUpdate */

struct pcap_file_hdr {
	uint32_t magic;
	uint16_t major;
	uint16_t minor;
	int32_t thiszone;
	uint32_t sigfigs;
	uint32_t snaplen;
	uint32_t linktype;
};

struct pcap_rec_hdr {
	uint32_t ts_sec;
	uint32_t ts_nsec;
	uint32_t caplen;
	uint32_t len;
};

struct pcap_out {
	/* set once by pcap_out_init */
	char dir[SPP_PCAP_PATH_MAX];
	char stem[SPP_PCAP_PATH_MAX];
	unsigned int index;          /* writer index W, from 1 */
	uint64_t fsize;              /* size limit of one file, bytes */
	uint32_t snaplen;
	uint8_t *stage;              /* PCAP_STAGE_SIZE bytes of uncompressed records */
	uint8_t *obuf;               /* compressed output of one update */
	size_t ocap;
	/* per capture */
	LZ4F_cctx *cctx;
	int fd;                      /* -1: no file open */
	unsigned int seq;            /* SEQ of the open (or last) file; 0: none yet */
	size_t staged;               /* bytes in stage */
	uint64_t file_bytes;         /* compressed bytes written to the open file */
	uint64_t total_bytes;        /* compressed bytes of every file of this capture */
	uint64_t records;            /* records in the open file */
	int err;                     /* first errno; the writer stops writing after it */
	char name[SPP_PCAP_PATH_MAX + 32];  /* NAME of the open (or last closed) file */
};

/* Buffers for `o`; 0 or -ENOMEM. */
int pcap_out_init(struct pcap_out *o, const char *dir, unsigned int index, uint64_t fsize,
		  uint32_t snaplen);
void pcap_out_free(struct pcap_out *o);
/* Begin a capture with file stem `stem`: opens file SEQ 1. 0 or -errno. */
int pcap_out_begin(struct pcap_out *o, const char *stem);
/*
 * Append one record of `len` frame bytes (captured: at most snaplen) given
 * as `nseg` segments; the file rotates first if the record would take it
 * past the size limit. 0 or -errno (then o->err is set and the file closed).
 */
int pcap_out_record(struct pcap_out *o, uint64_t ts_ns, uint32_t len,
		    const void *const *seg, const uint32_t *seg_len, unsigned int nseg);
/* End the capture: flush, write the LZ4 end mark, close, rename. 0 or -errno. */
int pcap_out_end(struct pcap_out *o);

#endif /* SPP_PCAP_FILE_H */
