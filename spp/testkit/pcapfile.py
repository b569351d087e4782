"""Read what spp_pcap writes: LZ4-framed pcap files with nanosecond timestamps.

`decompress` runs the `lz4` tool (Debian's `lz4` package); `parse` reads the
pcap bytes (either byte order, micro- or nanosecond magic) into its header
and records, and refuses a truncated record.
"""

from __future__ import annotations

import re
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

MAGIC_NS = 0xA1B23C4D
MAGIC_US = 0xA1B2C3D4
# spp_pcap.YYYYMMDDhhmmss.PORT.WRITER.SEQ.pcap.lz4 (PORT: phy0, ring1, phy0nq1)
NAME_RE = re.compile(r"^spp_pcap\.(\d{14})\.((?:phy|ring)\d+(?:nq\d+)?)\.(\d+)\.(\d+)\.pcap\.lz4$")


@dataclass(frozen=True)
class Header:
    magic: int
    major: int
    minor: int
    snaplen: int
    linktype: int


@dataclass(frozen=True)
class Record:
    ts_ns: int
    caplen: int
    length: int
    data: bytes


def decompress(path: Path) -> bytes:
    """The pcap bytes of an .lz4 file (`lz4 -dc`); a broken frame raises CalledProcessError."""
    return subprocess.run(["lz4", "-dc", str(path)], check=True, capture_output=True).stdout


def parse(raw: bytes) -> tuple[Header, list[Record]]:
    if len(raw) < 24:
        raise ValueError(f"{len(raw)} bytes: no pcap header")
    for order in ("<", ">"):
        magic = struct.unpack_from(order + "I", raw)[0]
        if magic in (MAGIC_NS, MAGIC_US):
            break
    else:
        raise ValueError(f"not a pcap file (magic {raw[:4].hex()})")
    _, major, minor, _, _, snaplen, linktype = struct.unpack_from(order + "IHHiIII", raw)
    nano = magic == MAGIC_NS
    recs: list[Record] = []
    off = 24
    while off < len(raw):
        if off + 16 > len(raw):
            raise ValueError(f"truncated record header at byte {off}")
        sec, frac, caplen, length = struct.unpack_from(order + "IIII", raw, off)
        off += 16
        if off + caplen > len(raw):
            raise ValueError(f"truncated record at byte {off}")
        recs.append(Record(sec * 1_000_000_000 + (frac if nano else frac * 1000), caplen,
                           length, raw[off:off + caplen]))
        off += caplen
    return Header(magic, major, minor, snaplen, linktype), recs


def read(path: Path) -> tuple[Header, list[Record]]:
    return parse(decompress(path))
