"""table-updates: what a classifier table change costs as the table grows.

One classifier, phy:0 -> cls -> phy:1, whose general default sends a paced
stream from the generator namespace to the sink. Measured in one run:

- the latency of one REST add (`PUT /v1/vfs/1/classifier_table`, one entry,
  its XDP steering entry included) at 10, 10,000 and 65,000 entries: p50 and
  p99 of PROBES adds each; `flat` is p50 at 65,000 over p50 at 10, the
  reference measured in the same run;
- 65,536 MAC entries applied as one batch (one PUT with a JSON list), with the
  stream's frames counted on both sides: `lost` is sent minus received;
- the same 65,536 entries through a recipe played back by `spp playback`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.procs import BenchError
from bench.topo import GEN_IF, GEN_NS, SINK_IF, SINK_NS, TARGET_MAC
from spp.resources import MAX_TABLE_ENTRIES
from spp.testkit.stack import SPP, Stack
from spp.testkit.traffic import Flow, Traffic, iface_counter

SIZES = (10, 10_000, 65_000)
PROBES = 200          # single adds measured at each size
STREAM_PPS = 2000     # the stream under the batch
STREAM_TAG = 17
SETTLE_S = 0.5


def mac(i: int) -> str:
    return "02:42:" + ":".join(f"{b:02x}" for b in i.to_bytes(4, "big"))


def entry(i: int, action: str = "add") -> dict[str, Any]:
    return {"action": action, "type": "mac", "vlan": None, "mac_address": mac(i),
            "port": "phy:1"}


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


class TableBench:
    def __init__(self, st: Stack) -> None:
        self.st = st
        self.size = 0  # MAC entries now in the table, mac(0) .. mac(size - 1)

    def put(self, body: Any) -> float:
        t0 = time.perf_counter()
        self.st.client.put("/vfs/1/classifier_table", body)
        return time.perf_counter() - t0

    def fill(self, size: int) -> None:
        if size > self.size:
            self.put([entry(i) for i in range(self.size, size)])
        elif size < self.size:
            self.put([entry(i, "del") for i in range(size, self.size)])
        self.size = size

    def single_adds(self) -> list[float]:
        """Seconds of PROBES single adds on top of the table; taken out again after."""
        base = 1 << 24  # above any fill index
        took = [self.put(entry(base + k)) for k in range(PROBES)]
        self.put([entry(base + k, "del") for k in range(PROBES)])
        return took

    def batch_under_stream(self) -> tuple[float, int, int]:
        """Seconds of one 65,536-entry batch, and frames of the stream sent and received.

        Received is the sink interface's own counter: nothing else sends to it.
        """
        self.fill(0)
        body = [entry(i) for i in range(MAX_TABLE_ENTRIES)]
        flow = Flow(GEN_NS, GEN_IF, dst=TARGET_MAC, src="02:00:00:00:be:01", tag=STREAM_TAG)
        rx0 = iface_counter(SINK_NS, SINK_IF)
        gen = Traffic([flow], rate=STREAM_PPS).start()
        try:
            time.sleep(SETTLE_S)
            took = self.put(body)
            time.sleep(SETTLE_S)
        finally:
            sent = gen.stop().get(flow.key, 0)
        time.sleep(SETTLE_S)  # the last frames on their way
        got = iface_counter(SINK_NS, SINK_IF) - rx0
        self.size = MAX_TABLE_ENTRIES
        return took, sent, got

    def recipe(self) -> float:
        """Seconds of `spp playback` of 65,536 `classifier_table add` lines."""
        self.fill(0)
        with tempfile.TemporaryDirectory(prefix="spp-bench-") as tmp:
            rcp = Path(tmp) / "table.rcp"
            rcp.write_text("".join(f"vf 1; classifier_table add mac {mac(i)} phy:1\n"
                                   for i in range(MAX_TABLE_ENTRIES)))
            t0 = time.perf_counter()
            env = {**os.environ, "SPP_CTL": f"127.0.0.1:{self.st.api}"}
            res = subprocess.run([*SPP, "playback", str(rcp)], capture_output=True, text=True,
                                 env=env, check=False)
            took = time.perf_counter() - t0
        if res.returncode != 0:
            raise BenchError(f"playback failed: {res.stderr.strip()[-500:]}")
        self.size = MAX_TABLE_ENTRIES
        return took


def run_case(st: Stack) -> tuple[float, float, str, str]:
    """(p50 at 65,000 in ms, p50 at 10 in ms, summary line, detail) on a started stack."""
    st.start_vf(1, "2,3", eal=("--no-pci",))
    st.component("cls", 3, "classifier")
    st.port("cls", "phy:0", "rx")
    st.port("cls", "phy:1", "tx")
    st.client.put("/vfs/1/classifier_table", {"action": "add", "type": "mac", "vlan": None,
                                              "mac_address": "default", "port": "phy:1"})
    b = TableBench(st)
    lat: dict[int, list[float]] = {}
    for size in SIZES:
        b.fill(size)
        lat[size] = [s * 1000 for s in b.single_adds()]
    batch_s, sent, got = b.batch_under_stream()
    table = len(st.client.get("/vfs/1")["classifier_table"])
    if table != MAX_TABLE_ENTRIES + 1:
        raise BenchError(f"the batch left {table} entries, not {MAX_TABLE_ENTRIES} + default")
    recipe_s = b.recipe()
    p50 = {n: statistics.median(v) for n, v in lat.items()}
    flat = p50[SIZES[-1]] / p50[SIZES[0]]
    lost = sent - got
    summary = (f"table-updates flat={flat:.2f} batch_s={batch_s:.2f} recipe_s={recipe_s:.2f} "
               f"lost={lost}")
    detail = "; ".join(f"one REST add at {n:,} entries: p50 {p50[n]:.2f} ms, p99 "
                       f"{percentile(v, 99):.2f} ms" for n, v in lat.items())
    detail += (f"; {MAX_TABLE_ENTRIES:,} entries as one batch: {batch_s:.2f} s (target < 2 s) "
               f"under a {STREAM_PPS} pps stream: {sent} sent, {got} received, {lost} lost; "
               f"through a recipe (spp playback): {recipe_s:.2f} s (target < 5 s); "
               f"target flat <= 1.5; {PROBES} adds per size, each with its XDP steering "
               "entry; spp_vf lcore 2 (control, REST adds) @CPU0, cls on lcore 3 @CPU1, "
               "primary lcore 0 @CPU0 and bridge lcore 1 @CPU1, controller and stream sender "
               "not pinned")
    return p50[SIZES[-1]], p50[SIZES[0]], summary, detail
