"""A paced stream of numbered frames from the in-kernel generator, each number checked
where it arrives.

The generator (`generate`, run as `python -m spp.testkit.seqstream` in the sending
namespace) runs spp/testkit/bpf/seq_gen.c with BPF_PROG_TEST_RUN and live frames, as
the bench's in-kernel generator does: it sends exactly `count` 64-byte UDP frames,
numbered 0..count-1, out of the sending veth at `pps` frames per second, in bursts of
pps / CALLS_PER_S frames.
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
XDP program and its pinned maps, the generator process (by pid), the generator's
anchor veth pair.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from spp.host.netdev import XDP_FLAGS_SKB_MODE
from spp.host.topology import ROOT_NS
from spp.testkit import frames

ROOT = Path(__file__).resolve().parents[2]
SRC_DIR = Path(__file__).resolve().parent / "bpf"
BUILD_DIR = ROOT / "build" / "testkit"
BPFFS = Path("/sys/fs/bpf")

SEQ_PORT = 0x5351  # UDP destination port of stream frames: nothing else uses it
FRAME_LEN = 64     # Ethernet + IPv4 + UDP + 22 bytes of payload, no FCS
SEQ_OFF = 14 + 20 + 8  # the sequence number: first 4 payload bytes
STATS = ("unique", "dup", "range")  # seq_stats slots, in this order
BATCH = 64  # frames per live-frames batch (as the bench)
# generator calls per second: each sends pps / CALLS_PER_S frames back to back (a burst
# the userspace chain's rings must absorb), then it sleeps until the next is due
CALLS_PER_S = 400
# the generator runs SCHED_FIFO at this priority: its wake-ups pre-empt busy-polling
# lcores on its CPU, or calls come late and bursts grow
GEN_FIFO_PRIO = 10


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


# the netdev the generator's program is attached to: one end of a veth pair of its own
# (this kernel has no dummy driver), both ends down, so nothing is sent on it
GEN_ANCHOR, GEN_ANCHOR_PEER = "spp-seqgen", "spp-seqgen1"
BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1
# the libbpf calls `generate` makes (libbpf 1.x ABI; struct layouts as in bpf/libbpf.h)
LIBBPF_CDEF = """
struct bpf_object;
struct bpf_program;
struct bpf_object *bpf_object__open_file(const char *path, const void *opts);
long libbpf_get_error(const void *ptr);
int bpf_object__load(struct bpf_object *obj);
void bpf_object__close(struct bpf_object *obj);
struct bpf_program *bpf_object__next_program(const struct bpf_object *obj,
                                             struct bpf_program *prog);
int bpf_program__fd(const struct bpf_program *prog);
int bpf_xdp_attach(int ifindex, int prog_fd, uint32_t flags, const void *opts);
struct xdp_md { uint32_t data, data_end, data_meta, ingress_ifindex, rx_queue_index,
                egress_ifindex; };
struct bpf_test_run_opts {
    size_t sz; const void *data_in; void *data_out; uint32_t data_size_in;
    uint32_t data_size_out; const void *ctx_in; void *ctx_out; uint32_t ctx_size_in;
    uint32_t ctx_size_out; uint32_t retval; int repeat; uint32_t duration; uint32_t flags;
    uint32_t cpu; uint32_t batch_size;
};
int bpf_prog_test_run_opts(int prog_fd, struct bpf_test_run_opts *opts);
"""


def generate(ifname: str, obj: Path, frame: bytes, count: int, pps: int, anchor: str) -> int:
    """Runs `obj`'s program with BPF_PROG_TEST_RUN + live frames on `frame` from `ifname`
    (in this process's netns) until it has run `count` times, pps / CALLS_PER_S runs a
    call, paced to `pps`; stops early on SIGINT/SIGTERM. Returns the runs made.

    A test run with repeat > 1 adds its program to the kernel's XDP dispatcher and takes
    it out again, each a synchronize_rcu() (about 25 ms a call), unless the program is
    already there: so it is first attached (generic mode) to netdev `anchor`, which
    nothing sends on."""
    import cffi

    stop: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop.append(signum))
    ffi = cffi.FFI()
    ffi.cdef(LIBBPF_CDEF)
    lib = ffi.dlopen("libbpf.so.1")
    bpf_obj = lib.bpf_object__open_file(str(obj).encode(), ffi.NULL)
    if lib.libbpf_get_error(bpf_obj) or lib.bpf_object__load(bpf_obj):
        raise OSError(f"cannot load {obj}")
    try:
        prog_fd = lib.bpf_program__fd(lib.bpf_object__next_program(bpf_obj, ffi.NULL))
        ret = lib.bpf_xdp_attach(socket.if_nametoindex(anchor), prog_fd, XDP_FLAGS_SKB_MODE,
                                 ffi.NULL)
        if ret < 0:
            raise OSError(-ret, f"attach to {anchor}: {os.strerror(-ret)}")
        data = ffi.from_buffer(frame)
        ctx = ffi.new("struct xdp_md *")
        ctx.data_end = len(frame)
        ctx.ingress_ifindex = socket.if_nametoindex(ifname)
        opts = ffi.new("struct bpf_test_run_opts *")
        opts.sz = ffi.sizeof("struct bpf_test_run_opts")
        opts.data_in, opts.data_size_in = data, len(frame)
        opts.ctx_in, opts.ctx_size_in = ctx, ffi.sizeof(ctx[0])
        opts.flags, opts.batch_size = BPF_F_TEST_XDP_LIVE_FRAMES, BATCH
        per_call = max(BATCH, pps // CALLS_PER_S)
        sent, t0 = 0, time.monotonic()
        while sent < count and not stop:
            opts.repeat = min(per_call, count - sent)
            ret = lib.bpf_prog_test_run_opts(prog_fd, opts)
            if ret < 0:
                raise OSError(-ret, f"test run: {os.strerror(-ret)}")
            sent += opts.repeat
            ahead = t0 + sent / pps - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        took = time.monotonic() - t0
    finally:
        lib.bpf_object__close(bpf_obj)
    print(f"sent {sent} frames in {took:.3f} s ({sent / took:.0f} pps)", flush=True)
    return sent


class SeqGen:
    """`generate` in netns `ns` (its own process): `count` numbered frames from `ifname`
    to `dst` at `pps`, started on enter; `wait` returns how many went out. On exit the
    process is killed (by pid) if still running and the anchor veth pair is deleted."""

    def __init__(self, ns: str, ifname: str, dst: str, src: str, count: int, pps: int,
                 logdir: Path, cpu: int = 0) -> None:
        self.ns, self.count, self.pps = ns, count, pps
        obj = build("seq_gen", count)
        self.argv = _in_ns(ns, ["chrt", "-f", str(GEN_FIFO_PRIO), "taskset", "-c", str(cpu),
                                sys.executable, "-m", "spp.testkit.seqstream", ifname,
                                str(obj), seq_frame(dst, src).hex(), str(count), str(pps),
                                GEN_ANCHOR])
        self.log = logdir / "seqgen.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.t0 = 0.0
        self.anchor = False

    def _ip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", *([] if self.ns == ROOT_NS else ["-n", self.ns]), *args],
                              capture_output=True, text=True, check=False)

    def __enter__(self) -> SeqGen:
        res = self._ip("link", "add", GEN_ANCHOR, "type", "veth", "peer", "name", GEN_ANCHOR_PEER)
        if res.returncode != 0:
            raise RuntimeError(f"ip link add {GEN_ANCHOR}: {res.stderr.strip()}")
        self.anchor = True
        try:
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True, cwd=ROOT)
        except BaseException:
            self.close()
            raise
        self.t0 = time.monotonic()
        return self

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def wait(self, sink: SeqSink, settle: float = 0.5) -> int:
        """Waits for the generator to finish, then until `sink` has all `count` frames or
        saw none for `settle` s; returns how many numbered frames the generator sent."""
        assert self.proc is not None
        rc = self.proc.wait(3 * self.count / self.pps + 10)
        out = self.log.read_text()
        if rc != 0 or not out.startswith("sent "):
            raise RuntimeError(f"generator exited {rc}: {out}")
        last = -1
        while (n := sink.arrived()) < self.count and n != last:
            last = n
            time.sleep(settle)
        return int(out.split()[1])

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.anchor:
            self._ip("link", "del", GEN_ANCHOR)  # its peer and attached program with it
            self.anchor = False

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


if __name__ == "__main__":
    generate(sys.argv[1], Path(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4]),
             int(sys.argv[5]), sys.argv[6])
