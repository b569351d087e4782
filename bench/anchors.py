"""Bench case `anchors`: what this host's kernel can forward, measured in the same run.

Every anchor forwards GEN_IF (in GEN_NS) -> PORT_A ... PORT_B -> SINK_IF (in SINK_NS),
the path of the pps cases, under the in-kernel generator (bench/xdpgen.py, @GEN_CPU):

  xdp_redirect   xdp_redirect_dev.o on PORT_A: bpf_redirect_map to PORT_B through a
                 devmap, in PORT_A's NAPI thread @FWD_CPU
  linux_bridge   bridge BRIDGE over PORT_A and PORT_B; xdp_pass.o on PORT_A gives it
                 a NAPI (@FWD_CPU) that runs the stack and the bridge
  testpmd_afxdp  dpdk-testpmd io forwarding PORT_A -> PORT_B over af_xdp
                 (bench/testpmd.py: main lcore @CPU0, fwd lcore @CPU1); PORT_A's NAPI,
                 which copies frames into the AF_XDP socket, @AFXDP_RX_CPU

The sink is xdp_drop.o on SINK_IF, its NAPI thread @SINK_CPU at SCHED_FIFO SINK_PRIO:
it counts each frame in rx_packets and drops it before the stack, and it preempts the
generator on the shared CPU so that it keeps up. The generator runs at SCHED_FIFO
GEN_PRIO, below the sink: what else wakes on its CPU (a process's control thread, the
controller) then takes nothing from the rate it offers, which otherwise swung by a third
between two runs of the same anchor. Offered is what the generator sent
(GEN_IF's tx_packets + tx_dropped: frames the peer's ring had no room for count as
dropped); delivered is SINK_IF's rx_packets; best of TRIALS windows, as the pps cases.
"""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench import meter, testpmd, xdpgen
from bench.meter import Rate
from bench.procs import BenchError, Procs
from bench.schedstat import run_ns
from bench.topo import GEN_IF, GEN_NS, PORT_A, PORT_B, SINK_IF, SINK_NS, TARGET_MAC

GEN_NAME = "xgen"
REF_NAME = "anchor-ref"
BRIDGE = "spp-bench-br"
FWD_CPU = 1
SINK_CPU = 0
SINK_PRIO = 50
GEN_PRIO = 40
AFXDP_RX_CPU = 0
GEN_BOUND_LOSS = 0.02  # less loss than this: the anchor forwarded all it was offered
ROOT_NS = xdpgen.ROOT_NS


@dataclass
class Anchor:
    name: str
    rate: Rate
    pins: str
    # CPU time per delivered frame of each forwarding thread, ns (label -> ns/frame)
    cost: dict[str, float] = field(default_factory=dict)


# a thread whose run time is charged to the frames: label -> (pid, tid); a kernel
# thread (NAPI) is its own pid
Watch = dict[str, tuple[int, int]]


def frame_cost(watch: Watch, window: float = meter.WINDOW_S,
               offered: tuple[str, ...] = meter.OFFERED_XDP) -> dict[str, float]:
    """Nanoseconds each watched thread ran per frame delivered, over one window
    (schedstat run time / sink rx_packets): what a forwarder costs its CPU per frame,
    whatever else shares that CPU."""
    run0 = {k: run_ns(*ids) for k, ids in watch.items()}
    rate = meter.measure_once(window, offered)
    run1 = {k: run_ns(*ids) for k, ids in watch.items()}
    frames = rate.delivered * window
    if frames <= 0:
        return {}
    return {k: (run1[k] - run0[k]) / frames for k in watch}


def _mpps(pps: float) -> str:
    return f"{pps / 1e6:.2f}"


def summary_line(anchors: list[Anchor]) -> str:
    """`anchors NAME=Mpps ... offered=Mpps`: delivered per anchor, and the lowest rate the
    generator offered in any of them."""
    parts = [f"{a.name}={_mpps(a.rate.delivered)}" for a in anchors]
    offered = min((a.rate.offered for a in anchors), default=0.0)
    return " ".join(["anchors", *parts, f"offered={_mpps(offered)}"])


def cost_text(cost: dict[str, float]) -> str:
    """`; CPU per frame: NAPI 180 ns + bridge lcore 25 ns = 205 ns`, or nothing."""
    if not cost:
        return ""
    parts = " + ".join(f"{k} {v:.0f} ns" for k, v in cost.items())
    total = f" = {sum(cost.values()):.0f} ns" if len(cost) > 1 else ""
    return f"; CPU per frame: {parts}{total}"


def detail(anchors: list[Anchor], trials: int) -> str:
    """Every CPU pin, and offered and delivered, per anchor."""
    common = (f"generator xdp_bench (BPF_PROG_TEST_RUN live frames, XDP_TX, batch "
              f"{xdpgen.BATCH}, {xdpgen.FRAME_LEN}B UDP to {TARGET_MAC})"
              f" @CPU{xdpgen.GEN_CPU} SCHED_FIFO {GEN_PRIO} in {GEN_NS}/{GEN_IF}; sink xdp_drop on "
              f"{SINK_NS}/{SINK_IF}, threaded NAPI @CPU{SINK_CPU} SCHED_FIFO {SINK_PRIO}; "
              f"best of {trials} x {meter.WINDOW_S:g} s")
    per = []
    for a in anchors:
        # no loss: the forwarder kept up, the CPUs that offered were the limit
        bound = (f", bound by the offered rate (CPU{xdpgen.GEN_CPU})"
                 if a.rate.loss < GEN_BOUND_LOSS else "")
        per.append(f"{a.name}: {a.pins}; offered {_mpps(a.rate.offered)} Mpps, delivered "
                   f"{_mpps(a.rate.delivered)} Mpps (loss {a.rate.loss:.1%}{bound})"
                   + cost_text(a.cost))
    return "; ".join([common, *per])


def traffic(procs: Procs, trials: int, warmup: float,
            watch: Watch | None = None) -> tuple[Rate, dict[str, float]]:
    """The generator on for one measurement, and one more window for the CPU time per
    frame of the `watch` threads (none: no cost)."""
    xdpgen.start(procs, GEN_NAME, fifo_prio=GEN_PRIO)
    try:
        rate = meter.measure(trials, warmup, offered=meter.OFFERED_XDP)
        cost = frame_cost(watch) if watch else {}
        procs.check_alive(GEN_NAME)
    finally:
        procs.stop(GEN_NAME)
    return rate, cost


def _traffic(procs: Procs, trials: int, warmup: float) -> Rate:
    return traffic(procs, trials, warmup)[0]


def napi_watch(pids: list[int]) -> Watch:
    """The NAPI thread(s) of an interface as `Watch` entries."""
    return {("NAPI" if len(pids) == 1 else f"NAPI {p}"): (p, p) for p in pids}


def _quiet(argv: list[str]) -> None:
    subprocess.run(argv, capture_output=True, check=False)


def _bridge(stack: contextlib.ExitStack) -> None:
    """BRIDGE over PORT_A and PORT_B, IPv6 off (no frames of its own); deleted with the
    stack (which frees its ports)."""
    res = subprocess.run(["ip", "link", "add", "name", BRIDGE, "type", "bridge"],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise BenchError(f"cannot create bridge {BRIDGE}: {res.stderr.strip()}")
    stack.callback(_quiet, ["ip", "link", "del", "dev", BRIDGE])
    v6 = Path(f"/proc/sys/net/ipv6/conf/{BRIDGE}/disable_ipv6")
    if v6.exists():
        v6.write_text("1\n")
    for port in (PORT_A, PORT_B):
        xdpgen.run(["ip", "link", "set", "dev", port, "master", BRIDGE])
    xdpgen.run(["ip", "link", "set", "dev", BRIDGE, "up"])


def fifo_text(prio: int) -> str:
    return f" SCHED_FIFO {prio}" if prio > 0 else ""


def xdp_redirect(procs: Procs, trials: int, warmup: float, fifo_prio: int = 0) -> Anchor:
    """The bare redirect; its NAPI thread at SCHED_FIFO `fifo_prio` when > 0."""
    with contextlib.ExitStack() as stack:
        xdpgen.attach(stack, ROOT_NS, PORT_A, xdpgen.REDIRECT_OBJ, PORT_B)
        napi = xdpgen.threaded_napi(stack, ROOT_NS, PORT_A, FWD_CPU, fifo_prio)
        rate, cost = traffic(procs, trials, warmup, napi_watch(napi))
    return Anchor("xdp_redirect", rate,
                  f"xdp_redirect_dev {PORT_A}->{PORT_B} (devmap) in {PORT_A}'s threaded "
                  f"NAPI @CPU{FWD_CPU}{fifo_text(fifo_prio)}", cost)


def linux_bridge(procs: Procs, trials: int, warmup: float) -> Anchor:
    with contextlib.ExitStack() as stack:
        xdpgen.attach(stack, ROOT_NS, PORT_A, xdpgen.PASS_OBJ)
        xdpgen.threaded_napi(stack, ROOT_NS, PORT_A, FWD_CPU)
        _bridge(stack)
        rate = _traffic(procs, trials, warmup)
    nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    nf_note = f", bridge-nf-call-iptables={nf.read_text().strip()}" if nf.exists() else ""
    return Anchor("linux_bridge", rate,
                  f"bridge {BRIDGE} {PORT_A}->{PORT_B}, xdp_pass on {PORT_A}, its threaded "
                  f"NAPI (stack + bridge) @CPU{FWD_CPU}{nf_note}")


def testpmd_afxdp(procs: Procs, trials: int, warmup: float) -> Anchor:
    with contextlib.ExitStack() as stack:
        stack.callback(procs.stop, REF_NAME)
        testpmd.start_reference(procs, REF_NAME)
        xdpgen.threaded_napi(stack, ROOT_NS, PORT_A, AFXDP_RX_CPU, SINK_PRIO)
        rate = _traffic(procs, trials, warmup)
    return Anchor("testpmd_afxdp", rate,
                  f"dpdk-testpmd io-fwd {PORT_A}->{PORT_B} af_xdp, main lcore @CPU0, fwd "
                  f"lcore @CPU1; {PORT_A}'s threaded NAPI (af_xdp rx) @CPU{AFXDP_RX_CPU} "
                  f"SCHED_FIFO {SINK_PRIO}")


def run_case(procs: Procs, trials: int = meter.TRIALS,
             warmup: float = meter.WARMUP_S) -> tuple[list[Anchor], str, str]:
    """All three anchors with the sink in place: (anchors, summary line, detail line)."""
    xdpgen.build()
    anchors = []
    with contextlib.ExitStack() as stack:
        xdpgen.attach(stack, SINK_NS, SINK_IF, xdpgen.DROP_OBJ)
        xdpgen.threaded_napi(stack, SINK_NS, SINK_IF, SINK_CPU, SINK_PRIO)
        for anchor in (xdp_redirect, linux_bridge, testpmd_afxdp):
            anchors.append(anchor(procs, trials, warmup))
    return anchors, summary_line(anchors), detail(anchors, trials)
