"""The bench cases. Each measures itself and its reference in the same run."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import anchors as anchor_runs
from bench import family, table_updates, testpmd, vm_tcp, xdpgen
from bench.anchors import run_case as run_anchors
from bench.meter import OFFERED_SENT, OFFERED_XDP, TRIALS, WARMUP_S, WINDOW_S, Rate, measure
from bench.procs import BenchError, Procs
from bench.schedstat import RunShare, worker_threads
from bench.topo import PORT_A, PORT_B, SINK_IF, SINK_NS, TARGET_MAC
from spp.testkit.stack import Stack

TABLE_ENTRIES = 4096
# primary-patch-xdp: the forwarding NAPI thread of the fast path and of the bare redirect
# it is compared with, both @CPU1 at this SCHED_FIFO priority (as the anchors' sink): what
# else runs on CPU 1 of a shared machine then delays neither (0: SCHED_OTHER)
FWD_NAPI_PRIO = 50
# the pps and cycles cases' generator: "xdp", the in-kernel one (bench/xdpgen.py), or
# "testpmd", dpdk-testpmd txonly over af_xdp (bench/testpmd.py); `python -m bench
# --generator`, or BENCH_GEN in the environment (`make bench BENCH_GEN=testpmd`)
GENERATORS = ("xdp", "testpmd")
# vf-icmp-lcores: the vf's main lcore and cls, fwd, mgr (lcores 3, 4, 5) all on CPU 0, so
# that CPU 1 belongs to the primary's bridge lcore (the af_xdp I/O), as it belongs to
# testpmd's fwd lcore in the reference; the components cost under 100 cycles a frame
# (vf-icmp-cycles), the I/O lcore over 3000
VF_LCORES_ON_CPU0 = "2@0,3@0,4@0,5@0"
# vf-icmp-xdp: the vf's lcores, which the fast path leaves idle, on CPU 1 with the
# forwarding NAPI thread (SCHED_FIFO: it preempts them), so that CPU 0 is the generator's
# and the sink's as in the bare redirect it is compared with
VF_LCORES_ON_CPU1 = "2@1,3@1,4@1,5@1"
# vf-icmp-lcores: ... and the primary's ring:N that deep (--ring-size; default 1024):
# ~6 ms at 700 kpps, longer than the scheduler leaves one of those lcores waiting for CPU 0
VF_LCORES_RING_SIZE = 4096
GEN_ENV = "BENCH_GEN"
GEN_NAME = "gen"


def generator_label(generator: str) -> str:
    if generator == "xdp":
        return (f"generator in-kernel XDP_TX (BPF_PROG_TEST_RUN live frames, batch "
                f"{xdpgen.BATCH}) 64B UDP @CPU{xdpgen.GEN_CPU} to {TARGET_MAC}")
    return f"generator testpmd txonly 64B UDP @CPU0 to {TARGET_MAC}"


@dataclass
class Result:
    value: float
    unit: str
    ref: float
    note: str
    ref_label: str = "dpdk-testpmd io-fwd"
    summary: str = ""  # the case's stdout line, when it is not `CASE VALUE UNIT ratio=R`

    @property
    def ratio(self) -> float:
        return self.value / self.ref if self.ref else 0.0


def _fmt(rate: Rate) -> str:
    return f"{rate.delivered:,.0f} pps (offered {rate.offered:,.0f}, loss {rate.loss:.1%})"


class Runner:
    """Runs cases on one Procs; the testpmd reference is measured once and shared."""

    def __init__(self, procs: Procs, generator: str = "xdp") -> None:
        if generator not in GENERATORS:
            raise ValueError(f"unknown generator {generator!r}; known: {GENERATORS}")
        self.procs = procs
        self.generator = generator
        self._ref: Rate | None = None
        if generator == "xdp":
            xdpgen.build()

    def start_gen(self) -> None:
        """The generator, running until stop_gen()."""
        if self.generator == "xdp":
            xdpgen.start(self.procs, GEN_NAME)
        else:
            testpmd.start_generator(self.procs, GEN_NAME)

    def stop_gen(self) -> None:
        self.procs.stop(GEN_NAME)

    def traffic(self) -> Rate:
        """Generator on for one measurement (warm-up + best of TRIALS windows)."""
        self.start_gen()
        try:
            return measure(offered=OFFERED_XDP if self.generator == "xdp" else OFFERED_SENT)
        finally:
            self.stop_gen()

    def reference(self) -> Rate:
        if self._ref is None:
            testpmd.start_reference(self.procs)
            try:
                self._ref = self.traffic()
            finally:
                self.procs.stop("ref")
        return self._ref

    def ref_note(self) -> str:
        ref = self.reference()
        return (f"reference dpdk-testpmd io-fwd {PORT_A}->{PORT_B}, 1 fwd lcore @CPU1: "
                f"{_fmt(ref)}; {generator_label(self.generator)}; "
                f"best of {TRIALS} x {WINDOW_S:g} s")

    def stack(self, offload: str = "off", *extra: str) -> Stack:
        """Controller and primary; the XDP fast path of phy-to-phy patches `offload`;
        `extra` more primary options."""
        st = Stack(children=self.procs, client_timeout=30, start_timeout=60)
        st.start_ctl()
        st.start_primary("-l", "0,1", "--no-pci", "--phy", PORT_A, "--phy", PORT_B, *extra,
                         "--xdp-offload", offload)
        return st

    # ---- cases --------------------------------------------------------
    def primary_patch(self) -> Result:
        ref = self.reference()
        st = self.stack()
        try:
            st.patch_and_forward("phy:0", "phy:1")
            rate = self.traffic()
        finally:
            st.close()
        return Result(rate.delivered, "pps", ref.delivered,
                      f"primary patch phy:0->phy:1 (XDP offload off), worker lcore 1 @CPU1: "
                      f"{_fmt(rate)}; " + self.ref_note())

    def _xdp_case(self, name: str, start: Callable[[], Stack],
                  describe: Callable[[Stack], str]) -> Result:
        """A path in the XDP fast path, set up by `start`, against testpmd io-fwd over af_xdp
        (`ratio`) and bare XDP devmap redirect (`limit`), all with the anchors' sink
        (xdp_drop in a pinned NAPI thread) and in the same run.

        The bare redirect is measured right before and right after the fast path, and the
        limit is their mean (bracketing): on a shared machine the load on CPU 1 changes
        within a minute, and a single anchor measured earlier made the ratio a measure of
        that change. Both anchors are printed, and each forwarder's CPU time per frame
        (its NAPI thread, and our bridge lcore that polls the emptied sockets): what each
        part costs CPU 1. `describe` says what ran, read before the stack stops."""
        if self.generator != "xdp":
            raise BenchError(f"{name} needs the in-kernel generator (--generator xdp)")
        a = anchor_runs
        with contextlib.ExitStack() as stack:
            xdpgen.attach(stack, SINK_NS, SINK_IF, xdpgen.DROP_OBJ)
            xdpgen.threaded_napi(stack, SINK_NS, SINK_IF, a.SINK_CPU, a.SINK_PRIO)
            ref = a.testpmd_afxdp(self.procs, TRIALS, WARMUP_S)
            before = a.xdp_redirect(self.procs, TRIALS, WARMUP_S, FWD_NAPI_PRIO)
            st = start()
            try:
                pid = st.procs["primary"].pid
                bridge = worker_threads(pid).get(1)
                with contextlib.ExitStack() as napi:
                    pids = xdpgen.threaded_napi(napi, a.ROOT_NS, PORT_A, a.FWD_CPU,
                                                FWD_NAPI_PRIO)
                    watch = a.napi_watch(pids)
                    if bridge is not None:
                        watch["bridge lcore 1"] = (pid, bridge)
                    rate, cost = a.traffic(self.procs, TRIALS, WARMUP_S, watch)
                what = describe(st)
            finally:
                st.close()
            after = a.xdp_redirect(self.procs, TRIALS, WARMUP_S, FWD_NAPI_PRIO)
        after.name = "xdp_redirect (after)"
        limit = (before.rate.delivered + after.rate.delivered) / 2
        fast = a.Anchor(name, rate, f"{what} ({PORT_A}'s threaded NAPI @CPU{a.FWD_CPU}"
                        f"{a.fifo_text(FWD_NAPI_PRIO)})", cost)
        ratio, lim = rate.delivered / ref.rate.delivered, rate.delivered / limit
        summary = f"{name} {rate.delivered:.0f} pps ratio={ratio:.2f} limit={lim:.2f}"
        return Result(rate.delivered, "pps", ref.rate.delivered,
                      a.detail([fast, ref, before, after], TRIALS) +
                      f"; ratio against testpmd_afxdp, limit against the mean xdp_redirect "
                      f"{limit / 1e6:.2f} Mpps of the runs right before and right after "
                      f"(limit {rate.delivered / before.rate.delivered:.2f} and "
                      f"{rate.delivered / after.rate.delivered:.2f} against each)",
                      ref_label="dpdk-testpmd io-fwd af_xdp", summary=summary)

    def primary_patch_xdp(self) -> Result:
        """The primary's patch phy:0->phy:1 in the XDP fast path (see _xdp_case)."""
        def start() -> Stack:
            st = self.stack(offload="on")
            try:
                st.patch_and_forward("phy:0", "phy:1")
                paths = [p.get("datapath") for p in st.primary_status().get("patches", [])]
                if paths != ["xdp"]:
                    raise BenchError(f"the patch is not in the XDP fast path: {paths}")
            except BaseException:
                st.close()
                raise
            return st

        return self._xdp_case("primary-patch-xdp", start, lambda st: (
            "primary patch phy:0->phy:1 in XDP; primary lcore 0 @CPU0, bridge lcore 1 @CPU1 "
            "polling its sockets, which the fast path leaves empty"))

    def vf_icmp_xdp(self) -> Result:
        """The vf pipeline phy:0 -> cls -> ring:0 -> fwd -> ring:1 -> mgr -> phy:1 in the XDP
        fast path of spp_vf chains (see _xdp_case)."""
        def start() -> Stack:
            st = self.vf_stack("2-5", (3, 4, 5), offload="on", pins=VF_LCORES_ON_CPU1)
            try:
                paths = {c["name"]: c.get("datapath") for c in st.vf_status()["components"]
                         if "name" in c}
                if set(paths.values()) != {"xdp"}:
                    raise BenchError(f"the vf chain is not in the XDP fast path: {paths}")
            except BaseException:
                st.close()
                raise
            return st

        def describe(st: Stack) -> str:
            fast = st.vf_status().get("xdp_fastpath", {}).get(PORT_A, {})
            return (f"vf cls->fwd->mgr phy:0->phy:1 in XDP, {fast.get('xdp_pkts', 0)} frames "
                    f"via XDP; vf lcores {VF_LCORES_ON_CPU1} and primary bridge lcore 1 "
                    "polling rings and sockets the fast path leaves empty")

        return self._xdp_case("vf-icmp-xdp", start, describe)

    def vf_stack(self, lcores: str, cores: tuple[int, int, int],
                 offload: str = "off", pins: str = "", ring_size: int = 0) -> Stack:
        """Primary and spp_vf with phy:0 -> cls -> ring:0 -> fwd -> ring:1 -> mgr -> phy:1,
        cls, fwd and mgr on `cores`; `pins` an EAL --lcores map (default: lcore i on CPU
        i mod 2), `ring_size` the primary's --ring-size (0: its default); the caller
        stops it."""
        st = self.stack(offload, *(("--ring-size", str(ring_size)) if ring_size else ()))
        try:
            st.start_vf(1, lcores, eal=("--no-pci", *(("--lcores", pins) if pins else ())))
            for (name, role), core in zip((("cls", "classifier"), ("fwd", "forward"),
                                           ("mgr", "merge")), cores, strict=True):
                st.component(name, core, role)
            for comp, uid, d in (("cls", "phy:0", "rx"), ("cls", "ring:0", "tx"),
                                 ("fwd", "ring:0", "rx"), ("fwd", "ring:1", "tx"),
                                 ("mgr", "ring:1", "rx"), ("mgr", "phy:1", "tx")):
                st.port(comp, uid, d)
            st.mac_entry(TARGET_MAC, "ring:0")
        except BaseException:
            st.close()
            raise
        return st

    def _vf_pipeline(self, lcores: str, cores: tuple[int, int, int],
                     pins: str = "", ring_size: int = 0) -> tuple[Rate, str]:
        st = self.vf_stack(lcores, cores, pins=pins, ring_size=ring_size)
        try:
            rate = self.traffic()
        finally:
            st.close()
        return rate, f"vf cls/fwd/mgr on lcores {cores}: {_fmt(rate)}"

    def vf_icmp_1lcore(self) -> Result:
        ref = self.reference()
        rate, what = self._vf_pipeline("2,3", (3, 3, 3))
        return Result(rate.delivered, "pps", ref.delivered,
                      f"{what}; vf lcore 3 and primary bridge lcore 1 share CPU 1; "
                      + self.ref_note())

    def vf_icmp_lcores(self) -> Result:
        ref = self.reference()
        rate, what = self._vf_pipeline("2-5", (3, 4, 5), VF_LCORES_ON_CPU0,
                                       VF_LCORES_RING_SIZE)
        return Result(rate.delivered, "pps", ref.delivered,
                      f"{what}; 2 CPUs only: vf lcores {VF_LCORES_ON_CPU0} (with the "
                      "generator), primary bridge lcore 1 alone "
                      f"@CPU1, --ring-size {VF_LCORES_RING_SIZE}, XDP offload off; "
                      + self.ref_note())

    def _testpmd_cycles_run(self) -> Cycles:
        """One run of dpdk-testpmd io forwarding with --record-core-cycles under the same
        generator (it reports once, when it stops). Its busy cycles are scaled by the share
        of the generator's run its fwd lcore ran, as ours are."""
        testpmd.start_reference(self.procs, "ref-cycles", extra=("--record-core-cycles",))
        try:
            pid = self.procs.procs["ref-cycles"].pid
            share = RunShare({pid: [1]})
            self.start_gen()
            try:
                share.start()
                time.sleep(WARMUP_S + CYCLE_WINDOW_S)
            finally:
                ran = share.stop()[(pid, 1)]
                self.stop_gen()
            time.sleep(0.5)
            cpp, busy, pkts = testpmd.stop_and_read_cycles(self.procs, "ref-cycles")
        finally:
            self.procs.stop("ref-cycles")
        return Cycles(cpp * ran, busy, pkts, f"TSC {cpp:.0f} x ran {ran:.2f}",
                      tsc_per_packet=cpp)

    def _spp_cycles_run(self, lcores: str, cores: tuple[int, int, int]) -> Cycles:
        st = self.vf_stack(lcores, cores)
        try:
            self.start_gen()
            try:
                time.sleep(WARMUP_S)
                pids = _worker_lcores(st)
                share = RunShare({pid: list(lcs) for pid, lcs in pids.items()})
                busy0, sent0, lc0 = _busy_and_sent(st)
                share.start()
                time.sleep(CYCLE_WINDOW_S)
                ran = share.stop()
                busy1, sent1, lc1 = _busy_and_sent(st)
            finally:
                self.stop_gen()
        finally:
            st.close()
        sent = sent1 - sent0
        if sent <= 0:
            raise BenchError("no frame left phy:1 during the cycles window")
        per_lcore = {k: lc1[k] - lc0.get(k, 0) for k in lc1}
        # each lcore's TSC busy cycles times the share of the window its thread ran
        honest = {k: per_lcore[k] * ran[(pid, lc)]
                  for pid, lcs in pids.items() for lc, k in lcs.items()}
        busy = sum(per_lcore.values())
        split = ", ".join(f"{k} {per_lcore[k] / sent:.0f} x ran {ran[(pid, lc)]:.2f}"
                          for pid, lcs in pids.items() for lc, k in sorted(lcs.items()))
        return Cycles(sum(honest.values()) / sent, busy, sent,
                      f"{sent / CYCLE_WINDOW_S:,.0f} pps forwarded; TSC busy "
                      f"{busy / sent:.0f}/pkt; per lcore (TSC cycles/pkt x share of the "
                      f"window its thread ran): {split}", tsc_per_packet=busy / sent)

    def vf_icmp_cycles(self) -> Result:
        """Our cycles per frame against testpmd's, in CYCLE_TRIALS pairs of runs, each pair
        back to back (testpmd, then a fresh primary and spp_vf): the load of a shared host
        drifts within minutes, so a ratio is only taken within a pair; the pair with the
        median ratio is reported, every pair is printed."""
        pairs = []
        for _ in range(CYCLE_TRIALS):
            ref = self._testpmd_cycles_run()
            pairs.append((self._spp_cycles_run("2,3", (3, 3, 3)), ref))
        pairs.sort(key=lambda p: p[0].per_packet / p[1].per_packet)
        ours, ref = pairs[len(pairs) // 2]
        every = ", ".join(f"{o.per_packet:.0f}/{r.per_packet:.0f} = "
                          f"{o.per_packet / r.per_packet:.2f}" for o, r in pairs)
        return Result(ours.per_packet, "cycles/pkt", ref.per_packet,
                      f"busy cycles, each lcore's scaled by the share of the window its thread "
                      f"ran (schedstat), of the primary's bridge lcore and spp_vf's lcore 3 "
                      f"(cls, fwd, mgr) per frame sent on phy:1: {ours.per_packet:.0f} "
                      f"({ours.note}); reference dpdk-testpmd --record-core-cycles io-fwd "
                      f"{PORT_A}->{PORT_B}, its fwd lcore likewise: "
                      f"{ref.per_packet:.0f} cycles/pkt over {ref.packets:,} packets "
                      f"({ref.note}); same {generator_label(self.generator)}; the median of "
                      f"{CYCLE_TRIALS} pairs of runs (ours/testpmd): {every}")

    def classifier_entries(self) -> Result:
        st = self.stack()
        try:
            st.start_vf(1, "2,3", eal=("--no-pci",))
            st.component("cls", 3, "classifier")
            st.port("cls", "phy:0", "rx")
            st.port("cls", "phy:1", "tx")
            st.mac_entry(TARGET_MAC, "phy:1")
            one = self.traffic()
            t0 = time.monotonic()
            for i in range(1, TABLE_ENTRIES):
                st.mac_entry(f"02:42:00:00:{i >> 8:02x}:{i & 0xff:02x}", "phy:1")
            took = time.monotonic() - t0
            full = self.traffic()
        finally:
            st.close()
        return Result(full.delivered, "pps", one.delivered,
                      f"classifier phy:0->cls@lcore 3->phy:1 with {TABLE_ENTRIES} entries: "
                      f"{_fmt(full)}; reference same pipeline with 1 entry: {_fmt(one)}; "
                      f"{TABLE_ENTRIES - 1} entries added over REST in {took:.1f} s",
                      ref_label="same pipeline, 1 entry")

    def table_updates(self) -> Result:
        st = self.stack()
        try:
            p50_full, p50_small, summary, detail = table_updates.run_case(st)
        finally:
            st.close()
        return Result(p50_full, "ms", p50_small, detail, "one REST add at 10 entries", summary)

    def anchors(self) -> Result:
        """Bare XDP redirect, Linux bridge and testpmd af_xdp under the in-kernel generator
        (bench/anchors.py); the chart shows testpmd against bare XDP."""
        found, summary, note = run_anchors(self.procs)
        by = {a.name: a.rate.delivered for a in found}
        return Result(by["testpmd_afxdp"], "pps", by["xdp_redirect"], note,
                      ref_label="bare XDP redirect (devmap)", summary=summary)

    def pcap(self) -> Result:
        """spp_pcap's capture rate against tcpdump's on the same veth (bench/family.py)."""
        if self.generator != "xdp":
            raise BenchError("pcap needs the in-kernel generator (--generator xdp)")
        r = family.pcap_case(self.procs)
        return Result(r.pcap_rate, "pps", r.tcpdump_rate, r.note,
                      ref_label="tcpdump -w, same veth", summary=r.summary)

    def mirror(self) -> Result:
        """spp_mirror rx -> two tx against testpmd io-fwd on the same veths (bench/family.py)."""
        ref = self.reference()
        rate = family.mirror_run(self.procs)
        ratio = rate.delivered / ref.delivered if ref.delivered else 0.0
        return Result(rate.delivered, "pps", ref.delivered, family.mirror_note(rate, ref),
                      summary=f"mirror {rate.delivered:.0f} pps ratio={ratio:.2f} "
                              f"copy={rate.also[0]:.0f} pps")

    def vm_tcp(self) -> Result:
        mbit, ref, note = vm_tcp.run_case(self.procs)
        return Result(mbit, "Mbit/s", ref, note,
                      ref_label="dpdk-testpmd io af_xdp<->vhost-user, same VM")


CYCLE_WINDOW_S = 3.0
CYCLE_TRIALS = 5  # pairs of runs (testpmd, ours) back to back; the median pair counts


@dataclass
class Cycles:
    per_packet: float        # busy cycles per frame, scaled by the share of time it ran
    busy: int                # TSC busy cycles over the window
    packets: int
    note: str = ""
    tsc_per_packet: float = 0.0  # busy / packets as the TSC counted them


def _proc_label(proc: dict[str, Any]) -> str:
    """`primary` or `vf1`: a cpu_usage entry's process, as the stack names its child."""
    return "primary" if proc["proc-type"] == "primary" else f"vf{proc['client-id']}"


def _worker_lcores(st: Stack) -> dict[int, dict[int, str]]:
    """pid -> {worker lcore id: its label in _busy_and_sent} of the stack's processes."""
    out: dict[int, dict[int, str]] = {}
    for proc in st.client.get("cpu_usage"):
        name = _proc_label(proc)
        out[st.procs[name].pid] = {lc["lcore"]: f"{name}/lcore{lc['lcore']}"
                                   for lc in proc.get("lcore_cycles", [])}
    return out


def _busy_and_sent(st: Stack) -> tuple[int, int, dict[str, int]]:
    """Busy cycles of every worker lcore of every process, and frames sent on phy:1."""
    busy, per_lcore = 0, {}
    for proc in st.client.get("cpu_usage"):
        who = _proc_label(proc)
        for lc in proc.get("lcore_cycles", []):
            busy += lc["busy"]
            per_lcore[f"{who}/lcore{lc['lcore']}"] = lc["busy"]
    phy1 = next(p for p in st.client.primary_status()["phy_ports"] if p["id"] == 1)
    return busy, phy1["tx"], per_lcore


CASES: dict[str, Callable[[Runner], Result]] = {
    "primary-patch": Runner.primary_patch,
    "primary-patch-xdp": Runner.primary_patch_xdp,
    "vf-icmp-1lcore": Runner.vf_icmp_1lcore,
    "vf-icmp-lcores": Runner.vf_icmp_lcores,
    "vf-icmp-xdp": Runner.vf_icmp_xdp,
    "classifier-entries": Runner.classifier_entries,
    "vf-icmp-cycles": Runner.vf_icmp_cycles,
    "vm-tcp": Runner.vm_tcp,
    "table-updates": Runner.table_updates,
    "anchors": Runner.anchors,
    "pcap": Runner.pcap,
    "mirror": Runner.mirror,
}
