"""spp.testkit.seqstream: the stream frame, and seq_sink.c counting numbers (BPF_PROG_TEST_RUN,
nothing attached)."""

from __future__ import annotations

import os
import shutil
import struct

import pytest

from spp.testkit import seqstream
from spp.testkit.frames import parse_frame

DST, SRC = "52:54:00:12:34:56", "02:00:00:00:10:00"


def _numbered(seq: int) -> bytes:
    f = seqstream.seq_frame(DST, SRC)
    return f[:seqstream.SEQ_OFF] + struct.pack("=I", seq) + f[seqstream.SEQ_OFF + 4:]


def test_the_stream_frame_is_64_bytes_of_udp_to_the_stream_port() -> None:
    f = seqstream.seq_frame(DST, SRC)
    assert len(f) == seqstream.FRAME_LEN
    p = parse_frame(f)
    assert (p.dst, p.src) == (DST, SRC)
    assert f[23] == 17  # IPv4 protocol: UDP
    assert struct.unpack("!H", f[36:38])[0] == seqstream.SEQ_PORT
    assert seqstream.SEQ_OFF + 4 <= len(f)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("clang") is None,
                    reason="loading BPF needs root; building it needs clang")
def test_the_sink_counts_each_number_once_and_tells_duplicates_and_strays() -> None:
    from spp.xdp.loader import XDP_DROP, XDP_PASS, XdpObject

    count = 100
    with XdpObject(seqstream.build("seq_sink", count)) as sink:
        acts = [sink.test_run(_numbered(s)).retval for s in (0, 7, 7, 99, count, 3)]
        other = seqstream.seq_frame(DST, SRC)
        other = other[:36] + struct.pack("!H", 53) + other[38:]  # not the stream port
        acts.append(sink.test_run(other).retval)
        fd = sink.map_fd("seq_stats")
        stats = []
        for i in range(len(seqstream.STATS)):
            key, val = sink.ffi.new("uint32_t *", i), sink.ffi.new("uint64_t *")
            assert sink.lib.bpf_map_lookup_elem(fd, key, val) == 0
            stats.append(int(val[0]))
    assert acts == [XDP_DROP] * 6 + [XDP_PASS]
    assert dict(zip(seqstream.STATS, stats, strict=True)) == {"unique": 4, "dup": 1, "range": 1}


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("clang") is None,
                    reason="loading BPF needs root; building it needs clang")
def test_the_generator_numbers_frames_and_sends_exactly_count() -> None:
    from spp.xdp.loader import XDP_DROP, XDP_TX, XdpObject

    frame = seqstream.seq_frame(DST, SRC)
    with XdpObject(seqstream.build("seq_gen", 2)) as gen:
        runs = [gen.test_run(frame) for _ in range(3)]
    assert [r.retval for r in runs] == [XDP_TX, XDP_TX, XDP_DROP]
    assert [r.data for r in runs[:2]] == [_numbered(0), _numbered(1)]
