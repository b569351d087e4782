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


# `proc` is the secondary type (vf, mirror, nfv; spp.kinds); client ids are one space
_COMP = ("client_id", "component", "type", "core", "proc")
_DEV = ("port", "iface")

SPECS: tuple[Spec, ...] = (
    Spec(
        "spp_up",
        "gauge",
        "1 if the exporter could read the process's status, else 0.",
        ("process",),
    ),
    # ---- processes and lcores -------------------------------------------------
    Spec(
        "spp_process_info",
        "gauge",
        "Always 1 for a running SPP process; its version in a label.",
        ("process", "version"),
    ),
    Spec(
        "spp_process_start_time_seconds",
        "gauge",
        "Start time of an SPP process since the Unix epoch (uptime: time() minus this).",
        ("process",),
    ),
    Spec("spp_process_lcores", "gauge", "EAL lcores of an SPP process.", ("process",)),
    Spec(
        "spp_ctl_audited_requests_total",
        "counter",
        "Requests spp ctl audited, by result: changes accepted or failed, and requests "
        "refused (refused_host, refused_origin, refused_auth, refused_content_type).",
        ("result",),
    ),
    Spec(
        "spp_tsc_frequency_hertz",
        "gauge",
        "TSC frequency of a process: cycles per second of the *_cycles_total counters.",
        ("process",),
    ),
    Spec(
        "spp_lcore_busy_cycles_total",
        "counter",
        "TSC cycles a worker lcore spent in poll rounds that moved frames.",
        ("process", "lcore"),
    ),
    Spec(
        "spp_lcore_idle_cycles_total",
        "counter",
        "TSC cycles a worker lcore spent in poll rounds that moved nothing (back-off included).",
        ("process", "lcore"),
    ),
    # ---- primary: phy ports, devices, rings, pool -----------------------------
    Spec(
        "spp_phy_rx_packets_total",
        "counter",
        "Packets received on a primary phy port.",
        ("port", "eth"),
    ),
    Spec(
        "spp_phy_rx_dropped_total",
        "counter",
        "Packets a primary phy port received but could not hand on (its rx ring was full).",
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
    Spec(
        "spp_device_packets_total",
        "counter",
        "Packets of a device's own statistics (rte_eth_stats ipackets/opackets), by direction.",
        (*_DEV, "direction"),
    ),
    Spec(
        "spp_device_bytes_total",
        "counter",
        "Bytes of a device's own statistics (rte_eth_stats ibytes/obytes), by direction.",
        (*_DEV, "direction"),
    ),
    Spec(
        "spp_device_dropped_total",
        "counter",
        "Packets a device lost, by its own counter (imissed, ierrors, oerrors, rx_nombuf).",
        (*_DEV, "reason"),
    ),
    Spec(
        "spp_xdp_socket_dropped_total",
        "counter",
        "AF_XDP socket statistics of a port (XDP_STATISTICS: rx_dropped, rx_ring_full, "
        "rx_fill_ring_empty_descs, rx_invalid_descs, tx_invalid_descs, tx_ring_empty_descs).",
        (*_DEV, "reason"),
    ),
    Spec("spp_ring_rx_packets_total", "counter", "Packets dequeued from a ring.", ("port",)),
    Spec("spp_ring_rx_dropped_total", "counter", "Packets dropped on rx of a ring.", ("port",)),
    Spec("spp_ring_tx_packets_total", "counter", "Packets enqueued to a ring.", ("port",)),
    Spec(
        "spp_ring_tx_dropped_total", "counter", "Packets dropped on tx of a ring (full).", ("port",)
    ),
    Spec("spp_ring_entries", "gauge", "Packets waiting in a ring now.", ("port",)),
    Spec("spp_ring_capacity", "gauge", "Size of a ring (entries).", ("port",)),
    Spec("spp_mbuf_pool_in_use", "gauge", "Mbufs of the pool in use now.", ("pool",)),
    Spec("spp_mbuf_pool_size", "gauge", "Mbufs in the pool.", ("pool",)),
    # ---- secondaries: spp_vf, spp_mirror (components), spp_nfv (patches) -----------
    Spec("spp_component_rx_packets_total", "counter",
         "Packets received by a component of a vf or mirror.", _COMP),
    Spec("spp_component_tx_packets_total", "counter",
         "Packets sent by a component of a vf or mirror (a mirror counts both copies).", _COMP),
    Spec(
        "spp_component_dropped_total",
        "counter",
        "Packets dropped by a component of a vf or mirror, by reason "
        "(no_entry, tx_full, bad_frame, ...).",
        (*_COMP, "reason"),
    ),
    Spec(
        "spp_classifier_packets_total",
        "counter",
        "Frames a classifier decided on, by outcome: hit (exact MAC), flood "
        "(broadcast/multicast), default (a default entry), no_entry (dropped).",
        (*_COMP, "outcome"),
    ),
    Spec(
        "spp_component_xdp",
        "gauge",
        "1 while a vf component's frames take the XDP fast path (its counters include "
        "what XDP did), 0 while they take the userspace path.",
        _COMP,
    ),
    Spec(
        "spp_component_busy_cycles_total",
        "counter",
        "TSC cycles of a component's burst calls that moved frames "
        "(per packet: rate of this over rate of spp_component_rx_packets_total).",
        _COMP,
    ),
    Spec(
        "spp_component_cycles_per_packet",
        "gauge",
        "Busy TSC cycles per frame of a component since it started.",
        _COMP,
    ),
    Spec(
        "spp_vf_port_rx_packets_total",
        "counter",
        "Packets received on a port of a secondary (proc: vf, mirror, nfv).",
        ("client_id", "port", "proc"),
    ),
    Spec(
        "spp_vf_port_tx_packets_total",
        "counter",
        "Packets sent on a port of a secondary (proc: vf, mirror, nfv).",
        ("client_id", "port", "proc"),
    ),
    Spec(
        "spp_vf_port_tx_dropped_total",
        "counter",
        "Packets dropped on tx of a port of a secondary (proc: vf, mirror, nfv).",
        ("client_id", "port", "proc"),
    ),
    Spec(
        "spp_patch_info",
        "gauge",
        "Always 1 for a patch src -> dst of an nfv (proc nfv) or of the primary "
        "(proc primary, client_id empty).",
        ("proc", "client_id", "src", "dst"),
    ),
    Spec(
        "spp_forwarding",
        "gauge",
        "1 while an nfv (or the primary) forwards along its patches, 0 while it idles.",
        ("proc", "client_id"),
    ),
    Spec("spp_classifier_entries", "gauge", "Entries in a vf's classifier table.", ("client_id",)),
    # ---- spp_pcap -------------------------------------------------------------------
    Spec(
        "spp_pcap_packets_total",
        "counter",
        "Frames of a pcap's captured port by outcome: received (taken from the port), "
        "written (in its files), dropped (the writers could not take them).",
        ("client_id", "port", "outcome"),
    ),
    Spec("spp_pcap_capturing", "gauge", "1 while a pcap captures, 0 while it idles.",
         ("client_id",)),
    Spec("spp_pcap_written_bytes_total", "counter",
         "Bytes a writer lcore of a pcap wrote to its files (before LZ4 compression).",
         ("client_id", "core")),
    Spec(
        "spp_xdp_packets_total",
        "counter",
        "Packets seen by the XDP steering program, by verdict (to_spp, to_kernel, dropped, "
        "fwd: sent on by the patch fast path).",
        ("iface", "verdict"),
    ),
)

METRIC_NAMES: frozenset[str] = frozenset(s.name for s in SPECS)

XDP_VERDICTS: tuple[tuple[str, str], ...] = (
    ("to_spp_pkts", "to_spp"),
    ("to_kernel_pkts", "to_kernel"),
    ("dropped_pkts", "dropped"),
    ("fwd_pkts", "fwd"),
)
# classifier outcome -> the component counter that holds it (the status JSON the process sends)
CLS_OUTCOMES: tuple[tuple[str, str], ...] = (
    ("hit", "hit"),
    ("flood", "flood"),
    ("default", "default"),
    ("drop_no_entry", "no_entry"),
)
DEVICE_DIRECTIONS: tuple[tuple[str, str, str], ...] = (
    ("ipackets", "ibytes", "rx"),
    ("opackets", "obytes", "tx"),
)
DEVICE_DROPS: tuple[str, ...] = ("imissed", "ierrors", "oerrors", "rx_nombuf")
XDP_SOCKET_DROPS: tuple[str, ...] = (
    "rx_dropped",
    "rx_ring_full",
    "rx_fill_ring_empty_descs",
    "rx_invalid_descs",
    "tx_invalid_descs",
    "tx_ring_empty_descs",
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


def _text(value: object) -> str:
    """A label value from a status field: the string, or "" for anything else."""
    return value if isinstance(value, str) else ""


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

    def add_ctl(self, info: Mapping[str, Any]) -> None:
        """The controller's audit counts by result (GET /v1/ctl)."""
        audit = info.get("audit")
        if isinstance(audit, dict):
            for result, count in sorted(audit.items()):
                self.add("spp_ctl_audited_requests_total", [str(result)], count)

    def add_process(self, process: str, status: Mapping[str, Any]) -> None:
        """Process info, lcores and lcore cycles: the fields both mains report."""
        info = status.get("process")
        if isinstance(info, dict):
            version = info.get("version")
            self.add("spp_process_info", [process, version if isinstance(version, str) else ""], 1)
            self.add("spp_process_start_time_seconds", [process], info.get("start_time"))
        lcores = status.get("lcores")
        if not isinstance(lcores, list):
            master, workers = status.get("master-lcore"), status.get("worker-lcores")
            lcores = ([master] if master is not None else []) + (
                workers if isinstance(workers, list) else []
            )
        if lcores:
            self.add("spp_process_lcores", [process], len(lcores))
        self.add("spp_tsc_frequency_hertz", [process], status.get("tsc_hz"))
        for lc in _dicts(status.get("lcore_cycles")):
            lcore = lc.get("lcore")
            if isinstance(lcore, bool) or not isinstance(lcore, int):
                continue
            self.add("spp_lcore_busy_cycles_total", [process, str(lcore)], lc.get("busy"))
            self.add("spp_lcore_idle_cycles_total", [process, str(lcore)], lc.get("idle"))

    def _add_device(self, uid: str, p: Mapping[str, Any]) -> None:
        iface = _text(p.get("iface"))
        stats = p.get("stats")
        if isinstance(stats, dict):
            for pkts, octets, direction in DEVICE_DIRECTIONS:
                self.add("spp_device_packets_total", [uid, iface, direction], stats.get(pkts))
                self.add("spp_device_bytes_total", [uid, iface, direction], stats.get(octets))
            for reason in DEVICE_DROPS:
                self.add("spp_device_dropped_total", [uid, iface, reason], stats.get(reason))
        xsk = p.get("xdp_socket")
        if isinstance(xsk, dict):
            for reason in XDP_SOCKET_DROPS:
                self.add("spp_xdp_socket_dropped_total", [uid, iface, reason], xsk.get(reason))

    def add_primary(self, status: Mapping[str, Any]) -> None:
        self.add_process("primary", status)
        for p in _dicts(status.get("phy_ports")):
            uid = port_uid("phy", p.get("id"))
            if uid is None:
                continue
            eth = _text(p.get("eth"))
            self.add("spp_phy_rx_packets_total", [uid, eth], p.get("rx"))
            self.add("spp_phy_rx_dropped_total", [uid, eth], p.get("rx_drop"))
            self.add("spp_phy_tx_packets_total", [uid, eth], p.get("tx"))
            self.add("spp_phy_tx_dropped_total", [uid, eth], p.get("tx_drop"))
            self._add_device(uid, p)
        for p in _dicts(status.get("vhost_ports")):
            uid = port_uid("vhost", p.get("id"))
            if uid is not None:
                self._add_device(uid, p)
        for r in _dicts(status.get("ring_ports")):
            uid = port_uid("ring", r.get("id"))
            if uid is None:
                continue
            self.add("spp_ring_rx_packets_total", [uid], r.get("rx"))
            self.add("spp_ring_rx_dropped_total", [uid], r.get("rx_drop"))
            self.add("spp_ring_tx_packets_total", [uid], r.get("tx"))
            self.add("spp_ring_tx_dropped_total", [uid], r.get("tx_drop"))
            self.add("spp_ring_entries", [uid], r.get("count"))
            self.add("spp_ring_capacity", [uid], r.get("size"))
        self._add_patches("primary", "", status, status.get("forwarding"))
        pool = status.get("mbuf_pool")
        if isinstance(pool, dict):
            name = _text(pool.get("name"))
            self.add("spp_mbuf_pool_in_use", [name], pool.get("in_use"))
            self.add("spp_mbuf_pool_size", [name], pool.get("size"))
        xdp = status.get("xdp")
        if isinstance(xdp, dict):
            for iface, counters in xdp.items():
                if not isinstance(counters, dict):
                    continue
                for key, verdict in XDP_VERDICTS:
                    self.add("spp_xdp_packets_total", [str(iface), verdict], counters.get(key))

    def add_vf(self, client_id: int, status: Mapping[str, Any]) -> None:
        self.add_secondary("vf", client_id, status)

    def _add_patches(self, proc: str, cid: str, status: Mapping[str, Any],
                     forwarding: Any) -> None:
        for p in _dicts(status.get("patches")):
            src, dst = p.get("src"), p.get("dst")
            if isinstance(src, str) and isinstance(dst, str):
                self.add("spp_patch_info", [proc, cid, src, dst], 1)
        if isinstance(forwarding, bool):
            self.add("spp_forwarding", [proc, cid], int(forwarding))

    def add_secondary(self, kind: str, client_id: int, status: Mapping[str, Any]) -> None:
        """A secondary's status (GET /v1/vfs/N, /nfvs/N, /mirrors/N, /pcaps/N): its process
        and lcores, components (vf, mirror), port counters, patches (nfv), table (vf) and
        capture counters (pcap)."""
        cid = str(client_id)
        self.add_process(f"{kind}:{cid}", status)
        for c in _dicts(status.get("components")):
            name, counters = c.get("name"), c.get("counters")
            if not isinstance(name, str) or not isinstance(counters, dict):
                continue  # `unuse` lcores have neither
            ctype = str(c.get("type", ""))
            labels = [cid, name, ctype, str(c.get("core", "")), kind]
            self.add("spp_component_rx_packets_total", labels, counters.get("rx"))
            self.add("spp_component_tx_packets_total", labels, counters.get("tx"))
            for key in sorted(counters):
                if key.startswith("drop_") and len(key) > 5:
                    reason = key[5:]
                    self.add("spp_component_dropped_total", [*labels, reason], counters[key])
            if "datapath" in c:
                self.add("spp_component_xdp", labels, int(c.get("datapath") == "xdp"))
            if ctype in ("classifier", "classifier_mac"):
                for key, outcome in CLS_OUTCOMES:
                    self.add("spp_classifier_packets_total", [*labels, outcome], counters.get(key))
            cycles = c.get("cycles")
            if isinstance(cycles, dict):
                self.add("spp_component_busy_cycles_total", labels, cycles.get("busy"))
                busy, pkts = number(cycles.get("busy")), number(cycles.get("packets"))
                if busy is not None and pkts:
                    self.add("spp_component_cycles_per_packet", labels, busy / pkts)
        ports = status.get("port_counters")
        if isinstance(ports, dict):
            for port, pc in ports.items():
                if not isinstance(pc, dict):
                    continue
                labels = [cid, str(port), kind]
                self.add("spp_vf_port_rx_packets_total", labels, pc.get("rx"))
                self.add("spp_vf_port_tx_packets_total", labels, pc.get("tx"))
                self.add("spp_vf_port_tx_dropped_total", labels, pc.get("tx_drop"))
        if "patches" in status:
            state = status.get("status")
            self._add_patches(kind, cid, status, state == "running" if isinstance(
                state, str) else None)
        table = status.get("classifier_table")
        if isinstance(table, list):
            self.add("spp_classifier_entries", [cid], len(table))
        if kind == "pcap":
            self._add_pcap(cid, status)

    def _add_pcap(self, cid: str, status: Mapping[str, Any]) -> None:
        """A pcap's counters (GET /v1/pcaps/N `counters`), capture state and writers."""
        cores = list(_dicts(status.get("core")))
        rx_port = next((p.get("port") for c in cores if c.get("role") == "receive"
                        for p in _dicts(c.get("rx_port"))), "")
        counters = status.get("counters")
        if isinstance(counters, dict):
            for outcome in ("received", "written", "dropped"):
                self.add("spp_pcap_packets_total", [cid, _text(rx_port), outcome],
                         counters.get(outcome))
        state = status.get("status")
        if isinstance(state, str):
            self.add("spp_pcap_capturing", [cid], int(state == "running"))
        for c in cores:
            if c.get("role") == "write":
                self.add("spp_pcap_written_bytes_total", [cid, str(c.get("core", ""))],
                         c.get("bytes"))
