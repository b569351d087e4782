"""Grafana dashboards as code (grafanalib): `grafana/dashboards/*.json` are generated here.

    spp metrics dashboards [--out grafana/dashboards]     (or: make dashboards)

Every panel queries only metrics of `families.SPECS`; tests check that, check that the
committed JSON is what this module generates, and run every query against a real
Prometheus scraping a real stack (tests/e2e/test_observability.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafanalib._gen import DashboardEncoder
from grafanalib.core import (
    Dashboard,
    GridPos,
    RowPanel,
    Stat,
    Target,
    Template,
    Templating,
    Time,
    TimeSeries,
)

DATASOURCE = {"type": "prometheus", "uid": "spp-prometheus"}  # provisioning/datasources
RATE = "$__rate_interval"
VF = 'client_id=~"$client_id"'
OUT_DIR = Path(__file__).resolve().parents[2] / "grafana" / "dashboards"


@dataclass(frozen=True)
class Panel:
    title: str
    targets: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    kind: str = "timeseries"  # or "stat"
    description: str = ""


def rate(metric: str, selector: str = "") -> str:
    sel = f"{{{selector}}}" if selector else ""
    return f"rate({metric}{sel}[{RATE}])"


# ---- the panels, by row ---------------------------------------------------------
DATAPLANE: tuple[tuple[str, tuple[Panel, ...]], ...] = (
    ("Processes", (
        Panel("Process up", (("spp_up", "{{process}}"),), kind="stat",
              description="0: the exporter could not read that process's status."),
        Panel("Uptime", (("time() - spp_process_start_time_seconds", "{{process}}"),),
              unit="s", kind="stat"),
        Panel("lcores and version", ((
            "spp_process_lcores * on(process) group_left(version) spp_process_info",
            "{{process}} {{version}}"),), kind="stat"),
        Panel("Classifier entries", ((f"spp_classifier_entries{{{VF}}}", "vf {{client_id}}"),),
              kind="stat"),
        Panel("Patches and forwarding (nfv, primary)", (
            # 0 patches for a process that reports forwarding and has none
            ("count by (proc, client_id) (spp_patch_info) or spp_forwarding * 0",
             "{{proc}} {{client_id}} patches"),
            ("spp_forwarding", "{{proc}} {{client_id}} forwarding"),
        ), kind="stat",
            description="Patches of each nfv and of the primary; forwarding 1 while it "
                        "forwards along them."),
        Panel("Controller changes and refusals", (
            (f"sum by (result) ({rate('spp_ctl_audited_requests_total')})", "{{result}}"),
        ), unit="reqps",
            description="REST changes spp ctl accepted or failed, and requests it refused "
                        "(foreign Host or Origin, no token, not JSON); each one is also a "
                        "line of its log."),
    )),
    ("Port rates in and out", (
        Panel("Phy rx / tx pps", (
            (rate("spp_phy_rx_packets_total"), "{{port}} rx"),
            (rate("spp_phy_tx_packets_total"), "{{port}} tx"),
        ), unit="pps"),
        Panel("Device rx / tx pps (rte_eth_stats)", (
            (rate("spp_device_packets_total"), "{{port}} {{direction}}"),
        ), unit="pps"),
        Panel("Device rx / tx bytes/s (rte_eth_stats)", (
            (rate("spp_device_bytes_total"), "{{port}} {{direction}}"),
        ), unit="Bps"),
        Panel("Secondary port rx / tx pps (vf, mirror, nfv)", (
            (rate("spp_vf_port_rx_packets_total", VF), "{{proc}} {{client_id}} {{port}} rx"),
            (rate("spp_vf_port_tx_packets_total", VF), "{{proc}} {{client_id}} {{port}} tx"),
        ), unit="pps"),
        Panel("Ring throughput (pps)", (
            (rate("spp_ring_rx_packets_total"), "{{port}} dequeued"),
            (rate("spp_ring_tx_packets_total"), "{{port}} enqueued"),
        ), unit="pps"),
        Panel("Component rx / tx pps", (
            (rate("spp_component_rx_packets_total", VF), "{{component}} rx"),
            (rate("spp_component_tx_packets_total", VF), "{{component}} tx"),
        ), unit="pps"),
    )),
    ("Drops by reason", (
        Panel("Component drops by reason", ((
            f"sum by (client_id, component, reason) ({rate('spp_component_dropped_total', VF)})",
            "{{component}} {{reason}}"),), unit="pps"),
        Panel("Port and ring drops", (
            (rate("spp_phy_rx_dropped_total"), "{{port}} rx ring full"),
            (rate("spp_phy_tx_dropped_total"), "{{port}} tx refused"),
            (rate("spp_ring_rx_dropped_total"), "{{port}} rx"),
            (rate("spp_ring_tx_dropped_total"), "{{port}} full"),
            (rate("spp_vf_port_tx_dropped_total", VF), "{{proc}} {{client_id}} {{port}} tx"),
        ), unit="pps"),
        Panel("Device drops (imissed, rx_nombuf, errors)", ((
            f"sum by (port, reason) ({rate('spp_device_dropped_total')})",
            "{{port}} {{reason}}"),), unit="pps"),
        Panel("AF_XDP socket drops", ((
            f"sum by (port, reason) ({rate('spp_xdp_socket_dropped_total')})",
            "{{port}} {{reason}}"),), unit="pps",
            description="XDP_STATISTICS of each port's socket: frames the kernel could not "
                        "give SPP (rx ring full, fill ring empty) or refused (invalid "
                        "descriptors)."),
    )),
    ("Classifier and XDP", (
        Panel("Classifier outcomes", ((
            f"sum by (client_id, component, outcome) "
            f"({rate('spp_classifier_packets_total', VF)})",
            "{{component}} {{outcome}}"),), unit="pps",
            description="hit: exact MAC; flood: broadcast/multicast; default: a default "
                        "entry; no_entry: dropped."),
        Panel("XDP verdict rates", (
            (rate("spp_xdp_packets_total"), "{{iface}} {{verdict}}"),
        ), unit="pps"),
    )),
    ("Capture (pcap)", (
        Panel("Capture frames per second", (
            (rate("spp_pcap_packets_total", VF), "pcap {{client_id}} {{port}} {{outcome}}"),
        ), unit="pps",
            description="received: taken from the captured port; written: in the files; "
                        "dropped: the writer lcores could not take them (counted, never "
                        "held back on the port)."),
        Panel("Capture write bytes/s", (
            (rate("spp_pcap_written_bytes_total", VF), "pcap {{client_id}} core {{core}}"),
        ), unit="Bps", description="Bytes each writer lcore wrote, before compression."),
        Panel("Capturing", ((f"spp_pcap_capturing{{{VF}}}", "pcap {{client_id}}"),),
              kind="stat"),
    )),
    ("Rings and memory", (
        Panel("Ring fill", (
            ("spp_ring_entries / spp_ring_capacity", "{{port}}"),
        ), unit="percentunit"),
        Panel("Mbuf pool in use", (
            ("spp_mbuf_pool_in_use / spp_mbuf_pool_size", "{{pool}} fraction"),
        ), unit="percentunit"),
    )),
)

CPU: tuple[tuple[str, tuple[Panel, ...]], ...] = (
    ("lcores", (
        Panel("lcore busy", ((
            f"{rate('spp_lcore_busy_cycles_total')} / ({rate('spp_lcore_busy_cycles_total')}"
            f" + {rate('spp_lcore_idle_cycles_total')})",
            "{{process}} lcore {{lcore}}"),), unit="percentunit",
            description="Share of TSC cycles in poll rounds that moved frames."),
        Panel("lcore busy cycles per second", (
            (rate("spp_lcore_busy_cycles_total"), "{{process}} lcore {{lcore}}"),
        ), unit="hertz"),
        Panel("TSC frequency", (("spp_tsc_frequency_hertz", "{{process}}"),), unit="hertz",
              kind="stat"),
    )),
    ("Cycles per packet", (
        Panel("Component cycles per packet", ((
            f"{rate('spp_component_busy_cycles_total', VF)} / "
            f"{rate('spp_component_rx_packets_total', VF)}",
            "{{component}} (core {{core}})"),), unit="short",
            description="Busy cycles of a component's burst calls per frame it took in."),
        Panel("Component cycles per packet since start", (
            (f"spp_component_cycles_per_packet{{{VF}}}", "{{component}}"),
        ), unit="short", kind="stat"),
        Panel("Components in the XDP fast path", (
            (f"spp_component_xdp{{{VF}}}", "{{component}}"),
        ), unit="short", kind="stat",
            description="1: the component's frames take the XDP fast path (its counters "
                        "include XDP's), 0: the userspace path."),
        Panel("Busy cycles per frame sent, all lcores", ((
            f"sum({rate('spp_lcore_busy_cycles_total')}) / "
            f"sum({rate('spp_phy_tx_packets_total')})",
            "all worker lcores / phy tx"),), unit="short",
            description="Every worker lcore's busy cycles (bridge included) per frame that "
                        "left through a phy port."),
    )),
)

DASHBOARDS: dict[str, tuple[str, str, str, tuple[tuple[str, tuple[Panel, ...]], ...]]] = {
    # file name: (uid, title, description, rows)
    "spp.json": ("spp-xdp", "SPP (spp-xdp)",
                 "Soft Patch Panel traffic, drops and resources from `spp metrics serve`.",
                 DATAPLANE),
    "spp-cpu.json": ("spp-xdp-cpu", "SPP CPU cost (spp-xdp)",
                     "Worker lcore busy share and cycles per packet.", CPU),
}


def _panel(p: Panel, pos: GridPos) -> Any:
    targets = [
        Target(expr=expr, legendFormat=legend, refId=chr(ord("A") + i), datasource=DATASOURCE)
        for i, (expr, legend) in enumerate(p.targets)
    ]
    if p.kind == "stat":
        return Stat(title=p.title, description=p.description, dataSource=DATASOURCE,
                    targets=targets, gridPos=pos, format=p.unit, reduceCalc="lastNotNull",
                    graphMode="area", thresholds=[{"color": "green", "value": None}])
    return TimeSeries(title=p.title, description=p.description, dataSource=DATASOURCE,
                      targets=targets, gridPos=pos, unit=p.unit, legendDisplayMode="table",
                      legendCalcs=["lastNotNull", "max"], tooltipMode="multi")


def _layout(rows: tuple[tuple[str, tuple[Panel, ...]], ...]) -> list[Any]:
    """Each row a full-width header, then its panels: stats 6 wide x 4 high, graphs 12 x 8."""
    out: list[Any] = []
    y = 0
    for title, panels in rows:
        out.append(RowPanel(title=title, gridPos=GridPos(h=1, w=24, x=0, y=y)))
        y += 1
        x, row_h = 0, 0
        for p in panels:
            w, h = (6, 4) if p.kind == "stat" else (12, 8)
            if x + w > 24:
                x, y = 0, y + row_h
                row_h = 0
            out.append(_panel(p, GridPos(h=h, w=w, x=x, y=y)))
            x += w
            row_h = max(row_h, h)
        y += row_h
    return out


def dashboard(name: str) -> Dashboard:
    uid, title, description, rows = DASHBOARDS[name]
    client = Template(
        name="client_id", label="vf client id", dataSource=DATASOURCE,
        query="label_values(spp_classifier_entries, client_id)",
        includeAll=True, multi=True, allValue=".*", refresh=2, sort=3, default="$__all")
    return Dashboard(
        uid=uid, title=title, description=description, tags=["spp", "dpdk", "xdp"],
        timezone="browser", editable=True, graphTooltip=1, refresh="5s",
        time=Time("now-15m", "now"), templating=Templating(list=[client]),
        panels=_layout(rows),
    ).auto_panel_ids()


def render(name: str) -> str:
    doc = dashboard(name).to_json_data()
    return json.dumps(doc, cls=DashboardEncoder, indent=2, sort_keys=True) + "\n"


def write_all(out_dir: Path = OUT_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in DASHBOARDS:
        path = out_dir / name
        path.write_text(render(name))
        paths.append(path)
    return paths


def all_queries() -> Iterator[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL) of every panel target."""
    for name, (_uid, _title, _desc, rows) in DASHBOARDS.items():
        for _row, panels in rows:
            for p in panels:
                for expr, _legend in p.targets:
                    yield name, p.title, expr
