/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pcap_file.c - pcap records compressed as LZ4 frames, one file sequence
 * per writer (pcap_file.h). Records are gathered in a stage buffer and
 * compressed a stage at a time with auto-flush, so every byte handed to
 * LZ4 is in the file after each update and the file size is known.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcap/pcap_file.h"

static const LZ4F_preferences_t prefs = {
	.frameInfo = {
		.blockSizeID = LZ4F_max256KB,
		.blockMode = LZ4F_blockLinked,
		.contentChecksumFlag = LZ4F_noContentChecksum,
		.frameType = LZ4F_frame,
	},
	.autoFlush = 1,
};

/* bytes an LZ4 block header and the end mark may add to what is staged */
#define LZ4_SLACK 16

int
pcap_out_init(struct pcap_out *o, const char *dir, unsigned int index, uint64_t fsize,
	      uint32_t snaplen)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	snprintf(o->dir, sizeof(o->dir), "%s", dir);
	o->index = index;
	o->fsize = fsize;
	o->snaplen = snaplen;
	o->ocap = LZ4F_compressBound(PCAP_STAGE_SIZE, &prefs);
	if (o->ocap < LZ4F_HEADER_SIZE_MAX)
		o->ocap = LZ4F_HEADER_SIZE_MAX;
	o->stage = malloc(PCAP_STAGE_SIZE);
	o->obuf = malloc(o->ocap);
	if (o->stage == NULL || o->obuf == NULL) {
		pcap_out_free(o);
		return -ENOMEM;
	}
	return 0;
}

void
pcap_out_free(struct pcap_out *o)
{
	if (o->cctx != NULL)
		LZ4F_freeCompressionContext(o->cctx);
	if (o->fd >= 0)
		close(o->fd);
	free(o->stage);
	free(o->obuf);
	o->cctx = NULL;
	o->fd = -1;
	o->stage = o->obuf = NULL;
}

static void
path_of(const struct pcap_out *o, char *buf, size_t size, int tmp)
{
	snprintf(buf, size, "%s/%s%s", o->dir, o->name, tmp ? ".tmp" : "");
}

/* Write all of buf to the open file; 0 or -errno. */
static int
put(struct pcap_out *o, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t w = write(o->fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
		o->file_bytes += (uint64_t)w;
		o->total_bytes += (uint64_t)w;
	}
	return 0;
}

/* Compress what is staged into the file. */
static int
flush_stage(struct pcap_out *o)
{
	size_t n;

	if (o->staged == 0)
		return 0;
	n = LZ4F_compressUpdate(o->cctx, o->obuf, o->ocap, o->stage, o->staged, NULL);
	if (LZ4F_isError(n))
		return -EIO;
	o->staged = 0;
	return put(o, o->obuf, n);
}

static void
stage(struct pcap_out *o, const void *p, size_t n)
{
	memcpy(o->stage + o->staged, p, n);
	o->staged += n;
}

static int
fail(struct pcap_out *o, int ret)
{
	if (o->err == 0)
		o->err = -ret;
	if (o->fd >= 0) {
		close(o->fd);
		o->fd = -1;
	}
	return ret;
}

/* Open file o->seq + 1 and write the LZ4 frame header and the pcap header. */
static int
open_next(struct pcap_out *o)
{
	char path[2 * SPP_PCAP_PATH_MAX + 48];
	struct pcap_file_hdr h = {
		.magic = PCAP_MAGIC_NS,
		.major = PCAP_VERSION_MAJOR,
		.minor = PCAP_VERSION_MINOR,
		.snaplen = o->snaplen,
		.linktype = PCAP_LINKTYPE_ETHERNET,
	};
	size_t n;

	o->seq++;
	snprintf(o->name, sizeof(o->name), "%s.%u.%u.pcap.lz4", o->stem, o->index, o->seq);
	path_of(o, path, sizeof(path), 1);
	o->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (o->fd < 0)
		return fail(o, -errno);
	o->file_bytes = 0;
	o->records = 0;
	o->staged = 0;
	n = LZ4F_compressBegin(o->cctx, o->obuf, o->ocap, &prefs);
	if (LZ4F_isError(n))
		return fail(o, -EIO);
	if (put(o, o->obuf, n) < 0)
		return fail(o, -errno);
	stage(o, &h, sizeof(h));
	return 0;
}

/* Finish the open file: the rest of the stage, the LZ4 end mark, close, rename. */
static int
close_file(struct pcap_out *o)
{
	char tmp[2 * SPP_PCAP_PATH_MAX + 48], final[2 * SPP_PCAP_PATH_MAX + 48];
	size_t n;
	int ret;

	if (o->fd < 0)
		return 0;
	ret = flush_stage(o);
	if (ret < 0)
		return fail(o, ret);
	n = LZ4F_compressEnd(o->cctx, o->obuf, o->ocap, NULL);
	if (LZ4F_isError(n))
		return fail(o, -EIO);
	ret = put(o, o->obuf, n);
	if (ret < 0)
		return fail(o, ret);
	if (close(o->fd) < 0) {
		o->fd = -1;
		return fail(o, -errno);
	}
	o->fd = -1;
	path_of(o, tmp, sizeof(tmp), 1);
	path_of(o, final, sizeof(final), 0);
	if (rename(tmp, final) < 0)
		return fail(o, -errno);
	return 0;
}

int
pcap_out_begin(struct pcap_out *o, const char *stem)
{
	size_t ret;

	snprintf(o->stem, sizeof(o->stem), "%s", stem);
	o->seq = 0;
	o->err = 0;
	o->total_bytes = 0;
	o->name[0] = '\0';
	if (o->cctx == NULL) {
		ret = LZ4F_createCompressionContext(&o->cctx, LZ4F_VERSION);
		if (LZ4F_isError(ret)) {
			o->cctx = NULL;
			return fail(o, -ENOMEM);
		}
	}
	return open_next(o);
}

int
pcap_out_record(struct pcap_out *o, uint64_t ts_ns, uint32_t len,
		const void *const *seg, const uint32_t *seg_len, unsigned int nseg)
{
	struct pcap_rec_hdr r;
	uint32_t left;
	unsigned int i;
	int ret;

	if (o->fd < 0)
		return -(o->err ? o->err : EBADF);
	r.ts_sec = (uint32_t)(ts_ns / 1000000000u);
	r.ts_nsec = (uint32_t)(ts_ns % 1000000000u);
	r.len = len;
	r.caplen = len < o->snaplen ? len : o->snaplen;
	/*
	 * A file holds at least one record; past that, a record that could take
	 * it over the limit starts a new one. Staged bytes count at full size
	 * until compressed, so near the limit the stage is compressed first and
	 * the file's real size decides.
	 */
	if (o->records > 0 &&
	    o->file_bytes + o->staged + sizeof(r) + r.caplen + LZ4_SLACK > o->fsize) {
		ret = flush_stage(o);
		if (ret < 0)
			return fail(o, ret);
	}
	if (o->records > 0 &&
	    o->file_bytes + sizeof(r) + r.caplen + LZ4_SLACK > o->fsize) {
		ret = close_file(o);
		if (ret < 0)
			return ret;
		ret = open_next(o);
		if (ret < 0)
			return ret;
	}
	if (o->staged + sizeof(r) + r.caplen > PCAP_STAGE_SIZE) {
		ret = flush_stage(o);
		if (ret < 0)
			return fail(o, ret);
	}
	stage(o, &r, sizeof(r));
	left = r.caplen;
	for (i = 0; i < nseg && left > 0; i++) {
		uint32_t n = seg_len[i] < left ? seg_len[i] : left;

		stage(o, seg[i], n);
		left -= n;
	}
	if (left > 0)  /* fewer bytes in the segments than `len` said: pad, keep the record whole */
		while (left-- > 0)
			o->stage[o->staged++] = 0;
	o->records++;
	return 0;
}

int
pcap_out_end(struct pcap_out *o)
{
	return close_file(o);
}
