"""Bench cases `pcap` and `mirror`: spp_pcap and spp_mirror against a reference each,
under the same generator and in the same run.

pcap: the in-kernel generator (bench/xdpgen.py, @CPU GEN_CPU) sends 64-byte UDP frames
from GEN_IF into PORT_A for CAPTURE_S seconds, and each capturer takes what arrives on
PORT_A:

  tcpdump   `tcpdump -w` on PORT_A @CPU TCPDUMP_CPU (xdp_pass.o on PORT_A gives the
            generator's frames the NAPI that takes them into the stack)
  spp_pcap  the primary (af_xdp on PORT_A) and spp_pcap -c phy:0 (lcores PCAP_LCORES:
            master, receive, two writers, one on each CPU), files LZ4-compressed
  rxonly    dpdk-testpmd rxonly on PORT_A over af_xdp (rx lcore @CPU1): receives and
            frees, writes nothing - the most any af_xdp reader takes here, so `limit`
            (spp_pcap over it) says how much of that spp_pcap reaches, and rxonly over
            tcpdump the best `ratio` any capture through af_xdp could show on this host

In both, PORT_A's NAPI is a thread @CPU NAPI_CPU at SCHED_FIFO NAPI_PRIO (it preempts the
generator there), and the files go to the same directory. A capturer's rate is the
frames in its files over the seconds the generator ran. Round 1 offers the generator's
full rate: `ratio` is spp_pcap's capture rate over tcpdump's. Round 2 paces the generator
to the rate it offered tcpdump in round 1 (the most this generator gets past the stack
and tcpdump's socket on this host, where tcpdump misses frames if it ever does): the
line reports what tcpdump missed there, spp_pcap's counted drops (target 0) and the
frames its af_xdp socket could not take (before spp_pcap sees them).

mirror: spp_mirror `mr1` takes phy:0 (PORT_A) and sends every frame to phy:1 (PORT_B,
to SINK_IF) and phy:2 (COPY_PORT, to COPY_IF); its rate is what SINK_IF receives, the
copy's what COPY_IF receives in the same windows. The reference is dpdk-testpmd io-fwd
PORT_A -> PORT_B (bench/testpmd.py), the same generator and sink; `ratio` compares the
two on SINK_IF.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import meter, testpmd, xdpgen
from bench.procs import BenchError, Procs
from bench.topo import (
    COPY_IF,
    COPY_NS,
    COPY_PORT,
    GEN_IF,
    GEN_NS,
    PORT_A,
    PORT_B,
    SINK_IF,
    SINK_NS,
    TARGET_MAC,
)
from spp.proc import eal as ealmod
from spp.testkit.stack import Stack, component, port
from spp.testkit.wait import wait_for

CAPTURE_S = 3.0
NAPI_CPU, NAPI_PRIO = 0, 50
TCPDUMP_CPU = 1
TCPDUMP_BUFFER_KIB = 8192  # tcpdump -B: its kernel buffer
PRIMARY_LCORES = (0, 1)    # main, bridge
PCAP_LCORES = (2, 3, 4, 5)  # master, receive, two writers
MIRROR_LCORES = (2, 3)     # master, the mirror component
GEN_NAME, TCPDUMP_NAME, RXONLY_NAME = "xgen", "tcpdump", "rxonly"
# what tcpdump prints on its way out
_TCPDUMP_RE = {k: re.compile(rf"(\d+) packets? {k}") for k in
               ("captured", "received by filter", "dropped by kernel")}


def pins(what: str, lcores: tuple[int, ...], roles: tuple[str, ...]) -> str:
    """`what lcore 2 (master) @CPU0, ...`: where the EAL runs each lcore on this host."""
    cpus = ealmod.usable_cpus()
    at = dict(part.split("@") for part in ealmod.lcores_option(list(lcores), cpus).split(","))
    return what + " " + ", ".join(f"lcore {lc} ({role}) @CPU{at[str(lc)]}"
                                  for lc, role in zip(lcores, roles, strict=True))


def _mpps(pps: float) -> str:
    return f"{pps / 1e6:.3f} Mpps"


@dataclass
class Capture:
    """One capturer's run: frames offered on PORT_A and what became of them."""

    who: str
    seconds: float      # how long the generator ran
    offered: int        # frames the generator sent (GEN_IF tx_packets + tx_dropped)
    captured: int       # frames in the files
    dropped: int        # frames the capturer counted as dropped
    lost_before: int = 0  # frames lost before the capturer saw them (af_xdp socket)

    @property
    def rate(self) -> float:
        return self.captured / self.seconds if self.seconds else 0.0

    @property
    def offered_rate(self) -> float:
        return self.offered / self.seconds if self.seconds else 0.0

    @property
    def missing(self) -> int:
        """Offered frames that are not in the files, counted or not."""
        return max(self.offered - self.captured, 0)

    def text(self) -> str:
        before = f", {self.lost_before} lost at the af_xdp socket" if self.who == "spp_pcap" \
            else ""
        return (f"{self.who}: offered {_mpps(self.offered_rate)}, captured "
                f"{_mpps(self.rate)} ({self.captured} of {self.offered}), counted drops "
                f"{self.dropped}{before}, missing {self.missing}")


def _generate(procs: Procs, seconds: float, pps: float) -> tuple[float, int]:
    """The generator for `seconds` (paced to `pps` when > 0): (seconds it ran, frames
    offered on GEN_IF)."""
    before = meter.counters(GEN_NS, GEN_IF, meter.OFFERED_XDP)
    t0 = time.monotonic()
    proc = procs.spawn(GEN_NAME, xdpgen.gen_argv(GEN_IF, seconds=seconds, pps=pps),
                       netns=GEN_NS)
    try:
        code = proc.wait(seconds + 15)
    except Exception:
        procs.stop(GEN_NAME)
        raise BenchError(f"the generator did not end:\n{procs.log(GEN_NAME)}") from None
    took = time.monotonic() - t0
    if code != 0:
        raise BenchError(f"the generator exited with {code}:\n{procs.log(GEN_NAME)}")
    m = re.search(r"sent \d+ frames in ([0-9.]+) s", procs.log(GEN_NAME))
    ran = float(m.group(1)) if m else took
    return ran, meter.counters(GEN_NS, GEN_IF, meter.OFFERED_XDP) - before


def tcpdump_run(procs: Procs, out: Path, pps: float) -> Capture:
    with contextlib.ExitStack() as stack:
        xdpgen.attach(stack, xdpgen.ROOT_NS, PORT_A, xdpgen.PASS_OBJ)
        xdpgen.threaded_napi(stack, xdpgen.ROOT_NS, PORT_A, NAPI_CPU, NAPI_PRIO)
        dump = out / "tcpdump.pcap"
        stack.callback(dump.unlink, missing_ok=True)
        procs.spawn(TCPDUMP_NAME, ["taskset", "-c", str(TCPDUMP_CPU), "tcpdump", "-i", PORT_A,
                                   "-n", "-s", "0", "-B", str(TCPDUMP_BUFFER_KIB), "-Z", "root",
                                   "-w", str(dump)])
        stack.callback(procs.stop, TCPDUMP_NAME)
        procs.wait_log(TCPDUMP_NAME, "listening on", 15)
        ran, offered = _generate(procs, CAPTURE_S, pps)
        time.sleep(0.5)  # what is in flight reaches tcpdump's buffer
        procs.stop(TCPDUMP_NAME, signal.SIGINT)
        log = procs.log(TCPDUMP_NAME)
    got = {k: _TCPDUMP_RE[k].search(log) for k in _TCPDUMP_RE}
    if not all(got.values()):
        raise BenchError(f"tcpdump printed no statistics:\n{log}")
    count = {k: int(m.group(1)) for k, m in got.items() if m is not None}
    return Capture("tcpdump", ran, offered, count["captured"], count["dropped by kernel"])


def rxonly_run(procs: Procs) -> Capture:
    with contextlib.ExitStack() as stack:
        testpmd.start_rxonly(procs, RXONLY_NAME)
        stack.callback(procs.stop, RXONLY_NAME)
        xdpgen.threaded_napi(stack, xdpgen.ROOT_NS, PORT_A, NAPI_CPU, NAPI_PRIO)
        ran, offered = _generate(procs, CAPTURE_S, 0)
        time.sleep(0.5)
        got = testpmd.stop_and_read_rx(procs, RXONLY_NAME)
    return Capture("testpmd rxonly", ran, offered, got, 0)


def _xsk_lost(st: Stack) -> int:
    """Frames PORT_A's af_xdp socket could not take (rx dropped, rx ring full)."""
    phy0 = next(p for p in st.primary_status()["phy_ports"] if p["id"] == 0)
    xsk = phy0.get("xdp_socket") or {}
    return int(xsk.get("rx_dropped", 0)) + int(xsk.get("rx_ring_full", 0))


def pcap_run(procs: Procs, out: Path, pps: float) -> Capture:
    st = Stack(children=procs, client_timeout=30, start_timeout=60)
    with contextlib.ExitStack() as stack:
        stack.callback(st.close)
        st.start_ctl()
        st.start_primary("-l", ",".join(map(str, PRIMARY_LCORES)), "--no-pci", "--phy", PORT_A)
        xdpgen.threaded_napi(stack, xdpgen.ROOT_NS, PORT_A, NAPI_CPU, NAPI_PRIO)
        st.start_pcap(1, ",".join(map(str, PCAP_LCORES)), "-c", "phy:0", "--out-dir", str(out))
        st.client.put("/pcaps/1/capture", {"action": "start"})
        lost0 = _xsk_lost(st)
        ran, offered = _generate(procs, CAPTURE_S, pps)

        def settled() -> bool:  # the receive lcore took the last frames from the socket
            a = st.client.pcap_status(1)["counters"]["received"]
            time.sleep(0.3)
            return bool(st.client.pcap_status(1)["counters"]["received"] == a)

        wait_for(settled, 15, "spp_pcap to take the last frames")
        st.client.put("/pcaps/1/capture", {"action": "stop"})
        status: dict[str, Any] = st.client.pcap_status(1)
        lost = _xsk_lost(st) - lost0
    c = status["counters"]
    for core in status["core"]:
        for name in core.get("files", []):
            Path(name).unlink(missing_ok=True)
    return Capture("spp_pcap", ran, offered, int(c["written"]), int(c["dropped"]), lost)


@dataclass
class PcapResult:
    ratio: float
    limit: float
    summary: str
    note: str
    pcap_rate: float
    tcpdump_rate: float


def pcap_case(procs: Procs) -> PcapResult:
    xdpgen.build()
    out = Path(tempfile.mkdtemp(prefix="spp-bench-pcap-"))
    try:
        full_t = tcpdump_run(procs, out, 0)
        full_p = pcap_run(procs, out, 0)
        full_r = rxonly_run(procs)
        paced = full_t.offered_rate
        slow_t = tcpdump_run(procs, out, paced)
        slow_p = pcap_run(procs, out, paced)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    ratio = full_p.rate / full_t.rate if full_t.rate else 0.0
    limit = full_p.rate / full_r.rate if full_r.rate else 0.0
    best = full_r.rate / full_t.rate if full_t.rate else 0.0
    summary = (f"pcap {full_p.rate:.0f} pps ratio={ratio:.2f} limit={limit:.2f} (tcpdump "
               f"{full_t.rate:.0f} pps; testpmd rxonly {full_r.rate:.0f} pps, "
               f"{best:.2f}x tcpdump); "
               f"at {paced:.0f} pps offered: tcpdump missed {slow_t.missing} "
               f"(dropped by kernel {slow_t.dropped}), spp_pcap counted drops {slow_p.dropped}"
               f", missed {slow_p.missing}")
    where = (f"generator xdp_bench (XDP_TX live frames, {xdpgen.FRAME_LEN}B UDP to "
             f"{TARGET_MAC}) @CPU{xdpgen.GEN_CPU} in {GEN_NS}/{GEN_IF}, {CAPTURE_S:g} s per "
             f"run; {PORT_A}'s threaded NAPI @CPU{NAPI_CPU} SCHED_FIFO {NAPI_PRIO}; tcpdump "
             f"-B {TCPDUMP_BUFFER_KIB} KiB -w @CPU{TCPDUMP_CPU} (xdp_pass on {PORT_A}); "
             + pins("primary", PRIMARY_LCORES, ("main", "bridge")) + "; "
             + "testpmd rxonly main lcore @CPU0, rx lcore @CPU1; "
             + pins("spp_pcap", PCAP_LCORES, ("master", "receive", "writer 1", "writer 2")))
    note = (f"{where}; full rate: {full_t.text()}; {full_p.text()}; {full_r.text()}; "
            f"paced to tcpdump's "
            f"full-rate offer ({_mpps(paced)}, bursts of 1/{xdpgen.PACE_CALLS_PER_S} s): "
            f"{slow_t.text()}; {slow_p.text()}")
    return PcapResult(ratio, limit, summary, note, full_p.rate, full_t.rate)


# ---- mirror ------------------------------------------------------------------------

def mirror_run(procs: Procs) -> meter.Rate:
    """spp_mirror phy:0 -> phy:1 + phy:2 under the generator: (best window, the copy's
    rate in it)."""
    st = Stack(children=procs, client_timeout=30, start_timeout=60)
    try:
        st.start_ctl()
        st.start_primary("-l", ",".join(map(str, PRIMARY_LCORES)), "--no-pci",
                         "--phy", PORT_A, "--phy", PORT_B, "--phy", COPY_PORT)
        st.start_mirror(1, ",".join(map(str, MIRROR_LCORES)))
        for method, path, body in (component("mr1", MIRROR_LCORES[1], "mirror"),
                                   port("add", "phy:0", "rx", "mr1"),
                                   port("add", "phy:1", "tx", "mr1"),
                                   port("add", "phy:2", "tx", "mr1")):
            st.client.request(method, f"/mirrors/1{path}", body)
        xdpgen.start(procs, GEN_NAME)
        try:
            rate = meter.measure(offered=meter.OFFERED_XDP, also=((COPY_NS, COPY_IF),))
            procs.check_alive(GEN_NAME)
        finally:
            procs.stop(GEN_NAME)
        drops = _mirror_drops(st)
    finally:
        st.close()
    if rate.delivered <= 0 or not rate.also or rate.also[0] <= 0:
        raise BenchError(f"the mirror forwarded nothing to one side: {rate}; drops {drops}")
    return rate


def _mirror_drops(st: Stack) -> dict[str, int]:
    pc = st.client.mirror_status(1).get("port_counters", {})
    return {uid: int(c.get("tx_drop", 0)) for uid, c in pc.items()}


def mirror_note(rate: meter.Rate, ref: meter.Rate) -> str:
    return (f"spp_mirror mr1 phy:0 ({PORT_A}) -> phy:1 ({PORT_B} -> {SINK_NS}/{SINK_IF}) + phy:2 "
            f"({COPY_PORT} -> {COPY_NS}/{COPY_IF}): offered {_mpps(rate.offered)}, "
            f"phy:1 side {_mpps(rate.delivered)}, copy side {_mpps(rate.also[0])}; "
            + pins("primary", PRIMARY_LCORES, ("main", "bridge")) + "; "
            + pins("spp_mirror", MIRROR_LCORES, ("master", "mirror mr1"))
            + f"; reference dpdk-testpmd io-fwd {PORT_A}->{PORT_B} af_xdp (one tx), main "
            f"lcore @CPU0, fwd lcore @CPU1: offered {_mpps(ref.offered)}, delivered "
            f"{_mpps(ref.delivered)}; generator xdp_bench {xdpgen.FRAME_LEN}B UDP "
            f"@CPU{xdpgen.GEN_CPU}; best of {meter.TRIALS} x {meter.WINDOW_S:g} s each")
