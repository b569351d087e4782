"""`python -m bench [--generator G] [CASE...]`: one `CASE VALUE UNIT ratio=R` line per case.

The results also go to build/bench/results.json and a chart of each case against its
reference, build/bench/results.png (BENCH_OUT names another directory; bench/report.py).
The pps and cycles cases' generator is the in-kernel one (bench/xdpgen.py) unless
--generator or BENCH_GEN says testpmd (dpdk-testpmd txonly over af_xdp).

Takes /tmp/spp-e2e.lock for the whole run, brings the default topology up if it
is missing (and down again at the end), and stops every process it started,
also on Ctrl-C, SIGTERM or failure. A note per case goes to stderr.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType

from bench import anchors, report
from bench.cases import CASES, GEN_ENV, GENERATORS, Runner
from bench.procs import BenchError, Procs
from bench.topo import GEN_IF, GEN_NS, PORT_A, PORT_B, SINK_IF, SINK_NS, HostGuard
from spp.host.updown import HostError
from spp.proc import eal as ealmod
from spp.testkit.session import E2ELock


def _parse(argv: list[str]) -> tuple[list[str], str]:
    """(cases, generator) from the command line and BENCH_GEN."""
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    ap.add_argument("cases", nargs="*", metavar="CASE",
                    help=f"cases to run (default: all): {', '.join(CASES)}")
    ap.add_argument("--generator", choices=GENERATORS,
                    default=os.environ.get(GEN_ENV) or GENERATORS[0],
                    help=f"generator of the pps and cycles cases (default: ${GEN_ENV} or "
                         f"{GENERATORS[0]})")
    args = ap.parse_args(argv)
    # `make bench CASES=pcap,mirror`: one word of cases separated by commas
    args.cases = [c for word in args.cases for c in word.split(",") if c]
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    if args.generator not in GENERATORS:  # from BENCH_GEN: argparse checks only the flag
        ap.error(f"{GEN_ENV}={args.generator}: not one of {', '.join(GENERATORS)}")
    return args.cases or list(CASES), args.generator


_MAIN_PID = os.getpid()


def _terminate(signum: int, frame: FrameType | None) -> None:
    if os.getpid() != _MAIN_PID:
        # a forked helper (pyroute2 runs one per netns): die as it would have, never
        # unwind into this process's clean-up
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise KeyboardInterrupt(f"signal {signum}")


def _scrub() -> None:
    """What a killed DPDK process or anchors case could leave on our interfaces (XDP
    programs, threaded NAPI, the anchors' bridge) and hugepages."""
    subprocess.run(["ip", "link", "del", "dev", anchors.BRIDGE], capture_output=True,
                   check=False)
    for ns, ifname in (("root", PORT_A), ("root", PORT_B), (GEN_NS, GEN_IF),
                       (SINK_NS, SINK_IF)):
        # threaded can only be written while the interface has a NAPI (an XDP program)
        script = f"echo 0 > /sys/class/net/{ifname}/threaded"
        subprocess.run(["sh", "-c", script] if ns == "root" else
                       ["ip", "netns", "exec", ns, "sh", "-c", script],
                       capture_output=True, check=False)
        cmd = ["ip", "link", "set", "dev", ifname, "xdp", "off"]
        if ns != "root":
            cmd = ["ip", "-n", ns, *cmd[1:]]
        subprocess.run(cmd, capture_output=True, check=False)
    for prefix in ("spp-bench-gen", "spp-bench-ref"):  # testpmd --in-memory leaves these
        shutil.rmtree(ealmod.DPDK_RUNTIME / prefix, ignore_errors=True)
    if not ealmod.primary_lock_holder(ealmod.DEFAULT_FILE_PREFIX):
        ealmod.remove_hugepage_files(ealmod.DEFAULT_FILE_PREFIX)


def run(cases: list[str], generator: str = GENERATORS[0]) -> int:
    logdir = Path(tempfile.mkdtemp(prefix="spp-bench-"))
    procs = Procs(logdir)
    host = HostGuard()
    lock = E2ELock()
    status = 0
    results = report.Report()
    lock.acquire()
    try:
        host.up()
        runner = Runner(procs, generator)
        for name in cases:
            try:
                res = CASES[name](runner)
            except BenchError as exc:
                print(f"{name}: FAILED: {exc}", file=sys.stderr)
                results.cases.append(report.CaseRecord(name, error=str(exc)))
                status = 1
                continue
            finally:
                procs.stop_all()
            results.cases.append(report.CaseRecord(
                name, res.value, res.unit, res.ref, res.ref_label, res.ratio, res.note))
            print(res.summary or f"{name} {res.value:.0f} {res.unit} ratio={res.ratio:.2f}",
                  flush=True)
            print(f"  {name}: {res.note}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("bench: interrupted, cleaning up", file=sys.stderr)
        status = 130
    except (BenchError, HostError, RuntimeError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        status = 1
    finally:
        if os.getpid() != _MAIN_PID:  # a forked helper unwinding: not ours to clean
            os._exit(1)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        procs.stop_all()
        _scrub()
        host.down()
        lock.release()
    try:
        js, png = report.write(results)
        print(f"bench: results in {js}" + (f" and {png}" if png else ""), file=sys.stderr)
    except OSError as exc:
        print(f"bench: cannot write the results: {exc}", file=sys.stderr)
        status = status or 1
    print(f"bench: logs in {logdir}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    cases, generator = _parse(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        print("bench: must run as root (namespaces, hugepages, DPDK)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _terminate)
    return run(cases, generator)


if __name__ == "__main__":
    sys.exit(main())
