"""Metric definitions of the exporter and a builder that fills them from status JSON.

Every family is declared once in `SPECS`; `METRIC_NAMES` (the names as exposed, with
`_total` on counters) is derived from it and is what the Grafana dashboard test checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


@dataclass(frozen=True)
class Spec:
    name: str  # exposed name (counters end in _total)
    kind: str  # "counter" | "gauge"
    help: str
    labels: tuple[str, ...]


_COMP = ("client_id", "component", "type", "core")

SPECS: tuple[Spec, ...] = (
    Spec(
        "spp_up",
        "gauge",
        "1 if the exporter could read the process's status, else 0.",
        ("process",),
    ),
    Spec(
        "spp_phy_rx_packets_total",
        "counter",
        "Packets received on a primary phy port.",
        ("port", "eth"),
    ),
    Spec(
        "spp_phy_tx_packets_total",
        "counter",
        "Packets sent on a primary phy port.",
        ("port", "eth"),
    ),
    Spec(
        "spp_phy_tx_dropped_total",
        "counter",
        "Packets dropped on tx of a primary phy port.",
        ("port", "eth"),
    ),
    Spec("spp_ring_rx_packets_total", "counter", "Packets dequeued from a ring.", ("port",)),
    Spec("spp_ring_rx_dropped_total", "counter", "Packets dropped on rx of a ring.", ("port",)),
    Spec("spp_ring_tx_packets_total", "counter", "Packets enqueued to a ring.", ("port",)),
    Spec(
        "spp_ring_tx_dropped_total", "counter", "Packets dropped on tx of a ring (full).", ("port",)
    ),
    Spec("spp_component_rx_packets_total", "counter", "Packets received by a vf component.", _COMP),
    Spec("spp_component_tx_packets_total", "counter", "Packets sent by a vf component.", _COMP),
    Spec(
        "spp_component_dropped_total",
        "counter",
        "Packets dropped by a vf component, by reason (no_entry, tx_full, bad_frame).",
        (*_COMP, "reason"),
    ),
    Spec(
        "spp_vf_port_rx_packets_total",
        "counter",
        "Packets received on a port of a vf.",
        ("client_id", "port"),
    ),
    Spec(
        "spp_vf_port_tx_packets_total",
        "counter",
        "Packets sent on a port of a vf.",
        ("client_id", "port"),
    ),
    Spec(
        "spp_vf_port_tx_dropped_total",
        "counter",
        "Packets dropped on tx of a port of a vf.",
        ("client_id", "port"),
    ),
    Spec("spp_classifier_entries", "gauge", "Entries in a vf's classifier table.", ("client_id",)),
    Spec(
        "spp_xdp_packets_total",
        "counter",
        "Packets seen by the XDP steering program, by verdict (to_spp, to_kernel, dropped).",
        ("iface", "verdict"),
    ),
)

METRIC_NAMES: frozenset[str] = frozenset(s.name for s in SPECS)

DROP_REASONS: tuple[tuple[str, str], ...] = (
    ("drop_no_entry", "no_entry"),
    ("drop_tx_full", "tx_full"),
    ("drop_bad_frame", "bad_frame"),
)
XDP_VERDICTS: tuple[tuple[str, str], ...] = (
    ("to_spp_pkts", "to_spp"),
    ("to_kernel_pkts", "to_kernel"),
    ("dropped_pkts", "dropped"),
)


def number(value: Any) -> float | None:
    """A finite non-negative counter value, or None (bools, strings, NaN, junk)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    v = float(value)
    if v != v or v < 0 or v == float("inf"):
        return None
    return v


def port_uid(kind: str, raw: Any) -> str | None:
    """`phy:0` from id 0, "0" or "phy:0"; None for anything else."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return f"{kind}:{raw}"
    if isinstance(raw, str) and raw:
        return raw if ":" in raw else (f"{kind}:{raw}" if raw.isdigit() else None)
    return None


def _dicts(items: Any) -> Iterable[dict[str, Any]]:
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


class Families:
    """Empty families for all SPECS; `add` appends a sample once per label set."""

    def __init__(self) -> None:
        self._fams: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}
        self._seen: set[tuple[str, tuple[str, ...]]] = set()
        for s in SPECS:
            labels = list(s.labels)
            if s.kind == "counter":
                self._fams[s.name] = CounterMetricFamily(s.name, s.help, labels=labels)
            else:
                self._fams[s.name] = GaugeMetricFamily(s.name, s.help, labels=labels)

    def metrics(self) -> list[Metric]:
        return list(self._fams.values())

    def add(self, name: str, labels: Iterable[str], value: Any) -> None:
        v = number(value)
        key = (name, tuple(str(x) for x in labels))
        if v is None or key in self._seen:
            return
        self._seen.add(key)
        self._fams[name].add_metric(list(key[1]), v)

    def add_up(self, process: str, up: bool) -> None:
        self.add("spp_up", [process], 1 if up else 0)

    def add_primary(self, status: Mapping[str, Any]) -> None:
        for p in _dicts(status.get("phy_ports")):
            uid = port_uid("phy", p.get("id"))
            if uid is None:
                continue
            eth = p.get("eth") if isinstance(p.get("eth"), str) else ""
            self.add("spp_phy_rx_packets_total", [uid, eth], p.get("rx"))
            self.add("spp_phy_tx_packets_total", [uid, eth], p.get("tx"))
            self.add("spp_phy_tx_dropped_total", [uid, eth], p.get("tx_drop"))
        for r in _dicts(status.get("ring_ports")):
            uid = port_uid("ring", r.get("id"))
            if uid is None:
                continue
            self.add("spp_ring_rx_packets_total", [uid], r.get("rx"))
            self.add("spp_ring_rx_dropped_total", [uid], r.get("rx_drop"))
            self.add("spp_ring_tx_packets_total", [uid], r.get("tx"))
            self.add("spp_ring_tx_dropped_total", [uid], r.get("tx_drop"))
        xdp = status.get("xdp")
        if isinstance(xdp, dict):
            for iface, counters in xdp.items():
                if not isinstance(counters, dict):
                    continue
                for key, verdict in XDP_VERDICTS:
                    self.add("spp_xdp_packets_total", [str(iface), verdict], counters.get(key))

    def add_vf(self, client_id: int, status: Mapping[str, Any]) -> None:
        cid = str(client_id)
        for c in _dicts(status.get("components")):
            name, counters = c.get("name"), c.get("counters")
            if not isinstance(name, str) or not isinstance(counters, dict):
                continue  # `unuse` lcores have neither
            labels = [cid, name, str(c.get("type", "")), str(c.get("core", ""))]
            self.add("spp_component_rx_packets_total", labels, counters.get("rx"))
            self.add("spp_component_tx_packets_total", labels, counters.get("tx"))
            for key, reason in DROP_REASONS:
                self.add("spp_component_dropped_total", [*labels, reason], counters.get(key))
        ports = status.get("port_counters")
        if isinstance(ports, dict):
            for port, pc in ports.items():
                if not isinstance(pc, dict):
                    continue
                self.add("spp_vf_port_rx_packets_total", [cid, str(port)], pc.get("rx"))
                self.add("spp_vf_port_tx_packets_total", [cid, str(port)], pc.get("tx"))
                self.add("spp_vf_port_tx_dropped_total", [cid, str(port)], pc.get("tx_drop"))
        table = status.get("classifier_table")
        if isinstance(table, list):
            self.add("spp_classifier_entries", [cid], len(table))
