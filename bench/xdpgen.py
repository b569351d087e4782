"""The in-kernel generator and the kernel knobs the XDP anchors need.

The generator is build/bench/xdp_bench (bench/xdp_bench.c) running
build/bpf/xdp_gen_tx.o with BPF_PROG_TEST_RUN + BPF_F_TEST_XDP_LIVE_FRAMES inside
GEN_NS, ingress_ifindex = GEN_IF, pinned with taskset: the kernel sends one 64-byte
UDP frame to TARGET_MAC `repeat` times per call, in batches of 64, until SIGINT. Its
frames reach the veth peer through ndo_xdp_xmit, so that peer must run an XDP
program (veth NAPI) or they are dropped.

Every change made here to the host (an XDP program on an interface, threaded NAPI
on, a NAPI thread's CPU and priority) is undone through the ExitStack it is
registered on; NAPI threads go away with the XDP program that made them.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

from bench.procs import BenchError, Procs
from bench.topo import GEN_IF, GEN_NS, TARGET_MAC
from spp.testkit import frames

ROOT = Path(__file__).resolve().parents[1]
HELPER = ROOT / "build" / "bench" / "xdp_bench"
BPF_DIR = ROOT / "build" / "bpf"
GEN_OBJ = BPF_DIR / "xdp_gen_tx.o"
PASS_OBJ = BPF_DIR / "xdp_pass.o"
DROP_OBJ = BPF_DIR / "xdp_drop.o"
REDIRECT_OBJ = BPF_DIR / "xdp_redirect_dev.o"

GEN_CPU = 0
REPEAT = 1_000_000  # frames per BPF_PROG_TEST_RUN call (0.2 s at 5 Mpps)
BATCH = 64
FRAME_LEN = 64  # as testpmd --txpkts=64: no FCS
# the generator's frame: from GEN_IF's address in the default topology to TARGET_MAC
GEN_SRC_MAC, GEN_SRC_IP, GEN_DST_IP = "52:54:00:12:34:56", "198.18.0.11", "198.18.0.12"

ROOT_NS = "root"


def build() -> None:
    """The helper and the BPF objects (bench/Makefile; a no-op when up to date)."""
    res = subprocess.run(["make", "-s", "-C", str(ROOT / "bench")], capture_output=True,
                         text=True, check=False)
    if res.returncode != 0:
        raise BenchError(f"make -C bench failed:\n{res.stdout}{res.stderr}")


def udp_frame(dst: str = TARGET_MAC, src: str = GEN_SRC_MAC, src_ip: str = GEN_SRC_IP,
              dst_ip: str = GEN_DST_IP, length: int = FRAME_LEN) -> bytes:
    """An Ethernet + IPv4 + UDP (port 9 to 9, no UDP checksum) frame of `length` bytes."""
    udp_len = length - 14 - 20
    if udp_len < 8:
        raise ValueError(f"frame length {length} < 42")
    udp = (9).to_bytes(2, "big") * 2 + udp_len.to_bytes(2, "big") + b"\0\0"
    udp += b"\0" * (udp_len - 8)
    ip = bytearray(b"\x45\x00" + (20 + udp_len).to_bytes(2, "big") + b"\0\0\x40\x00\x40\x11"
                   + b"\0\0" + bytes(map(int, src_ip.split("."))) +
                   bytes(map(int, dst_ip.split("."))))
    ip[10:12] = frames.checksum(bytes(ip)).to_bytes(2, "big")
    return frames.ethernet(dst, src, 0x0800, bytes(ip) + udp)


# a paced generator's calls per second: each call costs a few ms of set-up (its page
# pool), so few large calls; its frames come in bursts of 1/PACE_CALLS_PER_S s of frames
PACE_CALLS_PER_S = 20


def gen_argv(ifname: str = GEN_IF, frame: bytes | None = None, cpu: int = GEN_CPU,
             repeat: int = REPEAT, batch: int = BATCH, seconds: float = 0,
             pps: float = 0, fifo_prio: int = 0) -> list[str]:
    """Command line of the generator: taskset to `cpu` (at SCHED_FIFO `fifo_prio` when
    > 0), then xdp_bench gen (until SIGINT when `seconds` is 0; paced to `pps` frames per
    second when > 0, in calls of 1/PACE_CALLS_PER_S s of frames)."""
    data = udp_frame() if frame is None else frame
    if pps > 0:
        repeat = max(batch, int(pps / PACE_CALLS_PER_S))
    fifo = ["chrt", "-f", str(fifo_prio)] if fifo_prio > 0 else []
    return [*fifo, "taskset", "-c", str(cpu), str(HELPER), "gen", ifname, str(GEN_OBJ), data.hex(),
            str(repeat), str(batch), f"{seconds:g}", *([f"{pps:.0f}"] if pps > 0 else [])]


def attach_argv(ifname: str, obj: Path, tx_ifname: str | None = None) -> list[str]:
    """xdp_bench attach: `obj` on `ifname` (native mode), tx_port[0] = `tx_ifname`."""
    return [str(HELPER), "attach", ifname, str(obj), *([tx_ifname] if tx_ifname else [])]


def start(procs: Procs, name: str = "xgen", cpu: int = GEN_CPU, fifo_prio: int = 0) -> None:
    """The in-kernel generator in GEN_NS until procs.stop(name) (SIGINT)."""
    procs.spawn(name, gen_argv(GEN_IF, cpu=cpu, fifo_prio=fifo_prio), netns=GEN_NS)
    time.sleep(0.2)
    procs.check_alive(name)


# ---- host changes, each undone through an ExitStack ---------------------------------

def _in_ns(ns: str, argv: list[str]) -> list[str]:
    return argv if ns == ROOT_NS else ["ip", "netns", "exec", ns, *argv]


def run(argv: list[str]) -> str:
    res = subprocess.run(argv, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise BenchError(f"{' '.join(argv)}: {(res.stderr or res.stdout).strip()}")
    return res.stdout


def xdp_off(ns: str, ifname: str) -> None:
    """Detach whatever XDP program `ifname` has (no error when it has none)."""
    cmd = ["ip", "link", "set", "dev", ifname, "xdp", "off"]
    if ns != ROOT_NS:
        cmd = ["ip", "-n", ns, *cmd[1:]]
    subprocess.run(cmd, capture_output=True, check=False)


def attach(stack: contextlib.ExitStack, ns: str, ifname: str, obj: Path,
           tx_ifname: str | None = None) -> None:
    """`obj` on `ifname` in `ns` (fails if it already has an XDP program); detached when
    `stack` closes."""
    run(_in_ns(ns, attach_argv(ifname, obj, tx_ifname)))
    stack.callback(xdp_off, ns, ifname)


def _sh(ns: str, script: str) -> str:
    return run(_in_ns(ns, ["sh", "-c", script]))


def napi_comm_prefix(ifname: str) -> str:
    """What a NAPI thread of `ifname` is called, `napi/IFNAME-ID`, cut as the kernel cuts
    a thread name (15 characters)."""
    return f"napi/{ifname}-"[:15]


def napi_threads_named(comms: dict[int, str], ifname: str) -> list[int]:
    """Pids whose comm is a NAPI thread name of `ifname`."""
    prefix = napi_comm_prefix(ifname)
    return sorted(pid for pid, comm in comms.items() if comm.startswith(prefix))


def _kernel_thread_comms() -> dict[int, str]:
    comms = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                comms[int(entry)] = Path(f"/proc/{entry}/comm").read_text().strip()
            except OSError:
                continue
    return comms


def threaded_napi(stack: contextlib.ExitStack, ns: str, ifname: str, cpu: int,
                  fifo_prio: int = 0, timeout: float = 3.0) -> list[int]:
    """Threaded NAPI on `ifname` (it needs an XDP program, i.e. a NAPI, already) with its
    thread pinned to `cpu`, SCHED_FIFO `fifo_prio` when > 0. The old `threaded` value
    comes back when `stack` closes. Returns the NAPI thread pids."""
    path = f"/sys/class/net/{ifname}/threaded"
    old = _sh(ns, f"cat {path}").strip() or "0"
    # threads of that name that are not this interface's (another netns) stay untouched
    known = set() if old == "1" else set(napi_threads_named(_kernel_thread_comms(), ifname))
    _sh(ns, f"echo 1 > {path}")
    stack.callback(lambda: subprocess.run(_in_ns(ns, ["sh", "-c", f"echo {old} > {path}"]),
                                          capture_output=True, check=False))
    deadline = time.monotonic() + timeout
    while True:
        pids = [p for p in napi_threads_named(_kernel_thread_comms(), ifname) if p not in known]
        if pids:
            break
        if time.monotonic() > deadline:
            raise BenchError(f"no NAPI thread for {ifname} after threaded=1")
        time.sleep(0.05)
    for pid in pids:
        run(["taskset", "-p", "-c", str(cpu), str(pid)])
        if fifo_prio > 0:
            run(["chrt", "-f", "-p", str(fifo_prio), str(pid)])
    return pids

