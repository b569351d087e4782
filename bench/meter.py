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

# shell builtins only between the two reads, so the window is the sleep; each read is
# the sum of one or more counter files of the interface
_READ = "{var}=0; for f in {files}; do read c < $f; {var}=$(({var} + c)); done"
_SCRIPT = "{ra}; sleep {w}; {rb}; echo $a $b"


@dataclass
class Rate:
    delivered: float  # frames/s received by the sink interface
    offered: float    # frames/s the generator put on the wire
    also: tuple[float, ...] = ()  # frames/s received by the `also` interfaces, in order

    @property
    def loss(self) -> float:
        return 1.0 - self.delivered / self.offered if self.offered else 0.0


def window_script(ifname: str, counters: tuple[str, ...], window: float) -> str:
    """sh script printing the sum of `counters` of `ifname` before and after `window` s."""
    files = " ".join(f"/sys/class/net/{ifname}/statistics/{c}" for c in counters)
    return _SCRIPT.format(ra=_READ.format(var="a", files=files),
                          rb=_READ.format(var="b", files=files), w=window)


def _window(ns: str, ifname: str, counters: tuple[str, ...],
            window: float) -> subprocess.Popen[str]:
    return subprocess.Popen(["ip", "netns", "exec", ns, "sh", "-c",
                             window_script(ifname, counters, window)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _rate(proc: subprocess.Popen[str], window: float) -> float:
    out, err = proc.communicate(timeout=window + 10)
    try:
        a, b = (int(x) for x in out.split())
    except ValueError:
        raise BenchError(f"cannot read counters: {out!r} {err.strip()}") from None
    return (b - a) / window


# what the generator's veth end counts as offered: tx_packets for a generator that
# transmits through the stack (testpmd af_xdp); an XDP_TX generator's frames that the
# peer's ring had no room for are counted in tx_dropped instead (bench/anchors.py)
OFFERED_SENT = ("tx_packets",)
OFFERED_XDP = ("tx_packets", "tx_dropped")


def measure_once(window: float = WINDOW_S, offered: tuple[str, ...] = OFFERED_SENT,
                 also: tuple[tuple[str, str], ...] = ()) -> Rate:
    """One window; `also`: more (netns, interface) sinks whose rx rate is read in it."""
    sink = _window(SINK_NS, SINK_IF, ("rx_packets",), window)
    gen = _window(GEN_NS, GEN_IF, offered, window)
    more = [_window(ns, ifname, ("rx_packets",), window) for ns, ifname in also]
    return Rate(delivered=_rate(sink, window), offered=_rate(gen, window),
                also=tuple(_rate(m, window) for m in more))


def measure(trials: int = TRIALS, warmup: float = WARMUP_S,
            offered: tuple[str, ...] = OFFERED_SENT,
            also: tuple[tuple[str, str], ...] = ()) -> Rate:
    """Best of `trials` windows after `warmup` seconds of traffic."""
    time.sleep(warmup)
    return max((measure_once(offered=offered, also=also) for _ in range(trials)),
               key=lambda r: r.delivered)


def counters(ns: str, ifname: str, names: tuple[str, ...]) -> int:
    """The sum of counters `names` of `ifname` in `ns` now."""
    script = _READ.format(var="a", files=" ".join(
        f"/sys/class/net/{ifname}/statistics/{c}" for c in names)) + "; echo $a"
    res = subprocess.run(["ip", "netns", "exec", ns, "sh", "-c", script], capture_output=True,
                         text=True, check=False)
    try:
        return int(res.stdout)
    except ValueError:
        raise BenchError(f"cannot read {ns}/{ifname} counters: {res.stderr.strip()}") from None
