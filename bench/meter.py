"""Frame rates from veth counters, read inside the namespaces over a fixed window."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

from bench.procs import BenchError
from bench.topo import GEN_IF, GEN_NS, SINK_IF, SINK_NS

WARMUP_S = 1.0
WINDOW_S = 2.0
TRIALS = 3

# shell builtins only between the two reads, so the window is the sleep
_SCRIPT = "read a < {f}; sleep {w}; read b < {f}; echo $a $b"


@dataclass
class Rate:
    delivered: float  # frames/s received by the sink interface
    offered: float    # frames/s the generator put on the wire

    @property
    def loss(self) -> float:
        return 1.0 - self.delivered / self.offered if self.offered else 0.0


def _window(ns: str, ifname: str, counter: str, window: float) -> subprocess.Popen[str]:
    path = f"/sys/class/net/{ifname}/statistics/{counter}"
    return subprocess.Popen(["ip", "netns", "exec", ns, "sh", "-c",
                             _SCRIPT.format(f=path, w=window)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _rate(proc: subprocess.Popen[str], window: float) -> float:
    out, err = proc.communicate(timeout=window + 10)
    try:
        a, b = (int(x) for x in out.split())
    except ValueError:
        raise BenchError(f"cannot read counters: {out!r} {err.strip()}") from None
    return (b - a) / window


def measure_once(window: float = WINDOW_S) -> Rate:
    sink = _window(SINK_NS, SINK_IF, "rx_packets", window)
    gen = _window(GEN_NS, GEN_IF, "tx_packets", window)
    return Rate(delivered=_rate(sink, window), offered=_rate(gen, window))


def measure(trials: int = TRIALS, warmup: float = WARMUP_S) -> Rate:
    """Best of `trials` windows after `warmup` seconds of traffic."""
    time.sleep(warmup)
    return max((measure_once() for _ in range(trials)), key=lambda r: r.delivered)
