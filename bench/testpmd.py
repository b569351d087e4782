"""dpdk-testpmd instances: the txonly generator and the io-forwarding reference."""

from __future__ import annotations

import re
import time

from bench.procs import BenchError, Procs
from bench.topo import GEN_IF, GEN_NS, PORT_A, PORT_B, TARGET_MAC
from spp.testkit.wait import wait_for

READY = "Press enter to exit"
# line-buffered: READY must reach the log file while testpmd runs
TESTPMD = ["stdbuf", "-oL", "dpdk-testpmd"]
COMMON = ["--no-pci", "--in-memory", "-m", "256", "--log-level=warning"]
APP = ["--auto-start", "--nb-cores=1", "--total-num-mbufs=16384"]


def _vdev(index: int, iface: str) -> list[str]:
    return ["--vdev", f"net_af_xdp{index},iface={iface},start_queue=0,queue_count=1,busy_budget=0"]


def start_generator(procs: Procs, name: str = "gen") -> None:
    """64-byte frames to TARGET_MAC from GEN_IF in GEN_NS; main and tx lcore on CPU 0.

    `ip netns exec` remounts /sys without bpffs; the af_xdp PMD wants it for its program.
    """
    argv = [*TESTPMD, "--lcores", "0@0,1@0", "--file-prefix", "spp-bench-gen", *COMMON,
            *_vdev(0, GEN_IF), "--", "--forward-mode=txonly", "--txpkts=64",
            f"--eth-peer=0,{TARGET_MAC}", *APP]
    shell = "mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf; exec \"$@\""
    procs.spawn(name, ["sh", "-c", shell, "sh", *argv], netns=GEN_NS)
    procs.wait_log(name, READY, 60)


def start_reference(procs: Procs, name: str = "ref", extra: tuple[str, ...] = ()) -> None:
    """testpmd io forwarding PORT_A <-> PORT_B: main lcore on CPU 0, one fwd lcore on CPU 1."""
    argv = [*TESTPMD, "--lcores", "0@0,1@1", "--file-prefix", "spp-bench-ref", *COMMON,
            *_vdev(0, PORT_A), *_vdev(1, PORT_B), "--", "--forward-mode=io", *APP, *extra]
    procs.spawn(name, argv)
    procs.wait_log(name, READY, 60)


def start_rxonly(procs: Procs, name: str = "rxonly") -> None:
    """testpmd rxonly on PORT_A (receives and frees): main lcore on CPU 0, rx lcore on
    CPU 1; the most any af_xdp reader takes from PORT_A here."""
    argv = [*TESTPMD, "--lcores", "0@0,1@1", "--file-prefix", "spp-bench-rx", *COMMON,
            *_vdev(0, PORT_A), "--", "--forward-mode=rxonly", *APP]
    procs.spawn(name, argv)
    procs.wait_log(name, READY, 60)


# DPDK 22.11 testpmd, at the end of a port's forward statistics
RX_PACKETS_RE = re.compile(r"Forward statistics for port 0.*?RX-packets:\s*(\d+)", re.S)


def stop_and_read_rx(procs: Procs, name: str) -> int:
    """Stop forwarding (Enter) and read how many frames port 0 received."""
    procs.press_enter(name)
    wait_for(lambda: RX_PACKETS_RE.search(procs.log(name, 1 << 20)) is not None
             or not procs.alive(name), 30, f"{name} to print its statistics")
    m = RX_PACKETS_RE.search(procs.log(name, 1 << 20))
    if m is None:
        raise BenchError(f"{name}: no forward statistics in its log:\n{procs.log(name)}")
    return int(m.group(1))


# DPDK 22.11 testpmd, at the end of its forward statistics with --record-core-cycles
CYCLES_RE = re.compile(r"CPU cycles/packet=([0-9.]+) \((?:total|busy) cycles=(\d+) / "
                       r"total (\w+) packets=(\d+)\) at (\d+) MHz Clock")


def stop_and_read_cycles(procs: Procs, name: str = "ref") -> tuple[float, int, int]:
    """Stop forwarding (Enter on testpmd's stdin) and read what --record-core-cycles printed:
    (cycles per packet, busy cycles, packets)."""
    procs.press_enter(name)
    wait_for(lambda: "CPU cycles/packet=" in procs.log(name, 1 << 20) or not procs.alive(name),
             30, f"{name} to print its statistics")
    time.sleep(0.2)  # the rest of the line
    m = CYCLES_RE.search(procs.log(name, 1 << 20))
    if m is None:
        raise BenchError(f"{name}: no cycles line in its log:\n{procs.log(name)}")
    return float(m.group(1)), int(m.group(2)), int(m.group(4))
