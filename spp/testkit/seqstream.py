"""A paced stream of numbered frames from the in-kernel generator, each number checked
where it arrives.

The generator is build/bench/xdp_bench gen (BPF_PROG_TEST_RUN with live frames) running
spp/testkit/bpf/seq_gen.c in the sending namespace: it sends exactly `count` 64-byte
UDP frames, numbered 0..count-1, out of the sending veth at `pps` frames per second.
On the receiving veth spp/testkit/bpf/seq_sink.c (native XDP) sets one bit per number
and counts numbers seen once, numbers seen again (duplicates) and numbers out of range,
so after the stream: lost = count - unique, duplicated = dup.

    with SeqSink("spp-remote", "r-eth1", count) as sink:   # before the primary starts
        with SeqGen("spp-remote", "r-eth0", dst, src, count, pps, logdir) as gen:
            ... change things ...
            gen.wait(sink)
        sink.stats()                                      # {"unique": .., "dup": .., ..}

The receiving veth's peer gets frames through ndo_xdp_xmit only while the receiving veth
has an XDP program: the sink is that program. Everything is undone on exit: the sink's
XDP program and its pinned maps, the generator process (by pid).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from spp.host.topology import ROOT_NS
from spp.testkit import frames

ROOT = Path(__file__).resolve().parents[2]
SRC_DIR = Path(__file__).resolve().parent / "bpf"
BUILD_DIR = ROOT / "build" / "testkit"
HELPER = ROOT / "build" / "bench" / "xdp_bench"
BPFFS = Path("/sys/fs/bpf")

SEQ_PORT = 0x5351  # UDP destination port of stream frames: nothing else uses it
FRAME_LEN = 64     # Ethernet + IPv4 + UDP + 22 bytes of payload, no FCS
SEQ_OFF = 14 + 20 + 8  # the sequence number: first 4 payload bytes
STATS = ("unique", "dup", "range")  # seq_stats slots, in this order
BATCH = 64  # frames per live-frames batch (as the bench)
CALLS_PER_S = 50  # generator calls per second: each sends pps / CALLS_PER_S frames


def seq_frame(dst: str, src: str, src_ip: str = "198.18.0.1",
              dst_ip: str = "198.18.0.11") -> bytes:
    """The stream frame before numbering: IPv4 UDP SEQ_PORT -> SEQ_PORT, FRAME_LEN bytes."""
    udp_len = FRAME_LEN - SEQ_OFF + 8
    udp = struct.pack("!HHHH", SEQ_PORT, SEQ_PORT, udp_len, 0) + bytes(udp_len - 8)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0,
                     ipaddress.IPv4Address(src_ip).packed,
                     ipaddress.IPv4Address(dst_ip).packed)
    ip = ip[:10] + struct.pack("!H", frames.checksum(ip)) + ip[12:]
    return frames.ethernet(dst, src, frames.ETH_P_IP, ip + udp)


def _defines(count: int) -> list[str]:
    stats = [f"-DSEQ_{name.upper()}={i}" for i, name in enumerate(STATS)]
    return [f"-DSEQ_FRAMES={count}", f"-DSEQ_OFF={SEQ_OFF}", f"-DSEQ_PORT={SEQ_PORT}",
            *stats, f"-DSEQ_NSTATS={len(STATS)}"]


def build(name: str, count: int) -> Path:
    """spp/testkit/bpf/NAME.c built for `count` frames: build/testkit/NAME-COUNT.o."""
    out = BUILD_DIR / f"{name}-{count}.o"
    src = SRC_DIR / f"{name}.c"
    if out.is_file() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    arch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True,
                          check=True).stdout.strip()
    subprocess.run(["clang", "-O2", "-g", "-Wall", "-Werror", "-target", "bpf", "-mcpu=v3",
                    f"-I/usr/include/{arch}", *_defines(count), "-c", str(src), "-o",
                    str(out)], check=True, capture_output=True, text=True)
    return out


def build_helper() -> Path:
    """build/bench/xdp_bench (its Makefile; a no-op when up to date)."""
    subprocess.run(["make", "-s", "-C", str(ROOT / "bench")], check=True,
                   capture_output=True, text=True)
    return HELPER


def _in_ns(ns: str, argv: list[str]) -> list[str]:
    """`argv` run in netns `ns` without remounting /sys (bpffs stays visible)."""
    return argv if ns == ROOT_NS else ["nsenter", f"--net=/run/netns/{ns}", *argv]


class SeqSink:
    """seq_sink.o on (ns, ifname) in native mode, its maps pinned in a bpffs directory of
    its own; detached and unpinned on exit."""

    def __init__(self, ns: str, ifname: str, count: int) -> None:
        self.ns, self.ifname, self.count = ns, ifname, count
        self.obj = build("seq_sink", count)
        self.dir = Path(tempfile.mkdtemp(prefix="spp-seq-", dir=BPFFS))
        self.attached = False

    def _bpftool(self, *args: str, ns: str = ROOT_NS) -> str:
        res = subprocess.run(_in_ns(ns, ["bpftool", "-j", *args]), capture_output=True,
                             text=True, check=False)
        if res.returncode != 0:
            raise RuntimeError(f"bpftool {' '.join(args)}: {(res.stderr or res.stdout).strip()}")
        return res.stdout

    def __enter__(self) -> SeqSink:
        try:
            self._bpftool("prog", "load", str(self.obj), str(self.dir / "prog"), "type", "xdp",
                          "pinmaps", str(self.dir))
            self._bpftool("net", "attach", "xdpdrv", "pinned", str(self.dir / "prog"), "dev",
                          self.ifname, ns=self.ns)
            self.attached = True
        except BaseException:
            self.close()
            raise
        return self

    def _dump(self, name: str) -> list[int]:
        """The values of pinned array map `name` by key (bpftool's BTF-formatted dump)."""
        rows = json.loads(self._bpftool("map", "dump", "pinned", str(self.dir / name)))
        vals = {int(r["formatted"]["key"]): int(r["formatted"]["value"]) for r in rows}
        return [vals[k] for k in sorted(vals)]

    def stats(self) -> dict[str, int]:
        """Numbers seen once ("unique"), seen again ("dup"), >= count ("range")."""
        return dict(zip(STATS, self._dump("seq_stats"), strict=True))

    def missing(self, limit: int = 10) -> list[tuple[int, int]]:
        """The first `limit` runs [first, last] of numbers below `count` never seen."""
        out: list[tuple[int, int]] = []
        start = None
        for word, bits in enumerate(self._dump("seq_seen")):
            for bit in range(64):
                seq = word * 64 + bit
                seen = seq >= self.count or bool(bits >> bit & 1)
                if not seen and start is None:
                    start = seq
                elif seen and start is not None:
                    out.append((start, seq - 1))
                    start = None
                    if len(out) == limit:
                        return out
        return out

    def arrived(self) -> int:
        """Stream frames that reached the sink so far."""
        return sum(self.stats().values())

    def close(self) -> None:
        if self.attached:
            cmd = ["ip", *([] if self.ns == ROOT_NS else ["-n", self.ns]), "link", "set",
                   "dev", self.ifname, "xdp", "off"]
            subprocess.run(cmd, capture_output=True, check=False)
            self.attached = False
        shutil.rmtree(self.dir, ignore_errors=True)  # unpins prog and maps

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class SeqGen:
    """The paced in-kernel generator in `ns`: `count` numbered frames from `ifname`
    to `dst` at `pps` (later runs send nothing), started on enter, stopped by `wait`;
    killed (by pid) on exit if still running."""

    def __init__(self, ns: str, ifname: str, dst: str, src: str, count: int, pps: int,
                 logdir: Path, cpu: int = 0) -> None:
        self.count, self.pps = count, pps
        obj = build("seq_gen", count)
        repeat = max(BATCH, pps // CALLS_PER_S)
        self.argv = _in_ns(ns, ["taskset", "-c", str(cpu), str(build_helper()), "gen", ifname,
                                str(obj), seq_frame(dst, src).hex(), str(repeat), str(BATCH), "0",
                                str(pps)])
        self.log = logdir / "seqgen.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.t0 = 0.0

    def __enter__(self) -> SeqGen:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.t0 = time.monotonic()
        return self

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def wait(self, sink: SeqSink, stall: float = 1.0) -> int:
        """Lets the generator run until `sink` has seen `count` frames, or no new one for
        `stall` s after the stream's due end, or for 3x its due time; then stops it
        (SIGINT) and returns how many times it ran the program (>= count: all `count`
        numbered frames went out of its veth)."""
        assert self.proc is not None
        due = self.count / self.pps
        last, last_t = -1, time.monotonic()
        while self.proc.poll() is None and self.elapsed() < 3 * due:
            n = sink.arrived()
            if n >= self.count:
                break
            if n != last:
                last, last_t = n, time.monotonic()
            elif self.elapsed() > due and time.monotonic() - last_t > stall:
                break
            time.sleep(0.1)
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
        rc = self.proc.wait(10)
        out = self.log.read_text()
        if rc != 0 or not out.startswith("sent "):
            raise RuntimeError(f"generator exited {rc}: {out}")
        return int(out.split()[1])

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
