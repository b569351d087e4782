"""The topology graph built from one status snapshot of the controller.

A snapshot (`spp.client.Client.topology_status` plus the host state files) is a
JSON object:

    {"processes": [{"type": "primary"}, {"type": "vf", "client-id": 1}, ...],
     "primary": <GET /v1/primary/status> | null,
     "secondaries": {"vf:1": <GET /v1/vfs/1>, "nfv:2": ..., ...},
     "hosts": [<host-TOPOLOGY.json, each VM with its "state">, ...]}

`graph_from_status` turns it into nodes (processes, components, ports,
netdevs, VMs, capture sinks), edges (primary and spp_nfv patches, component
rx/tx, phy <-> netdev, vhost <-> VM NIC) and groups (one per process, the
kernel, one per VM). Edges and port nodes carry the packet counters they move,
so two snapshots give per-link and per-port rates (`with_rates`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

PORT_KINDS = ("phy", "ring", "vhost")
SECONDARY_KINDS = ("nfv", "vf", "mirror", "pcap")
_PORT_RE = re.compile(r"^(phy|ring|vhost):(\d+)(?:\s*nq\s*(\d+))?$")
_SAFE_RE = re.compile(r"[^A-Za-z0-9_]")


def node_id(*parts: object) -> str:
    """A DOT-safe node id (letters, digits, `_`): `phy:0` -> `phy_0`."""
    return "_".join(_SAFE_RE.sub("_", str(p)) for p in parts)


def parse_port(text: object) -> tuple[str, str] | None:
    """`phy:0`, `ring:1`, `phy:0 nq 1` -> (node id, queue label) or None if not a port."""
    m = _PORT_RE.match(str(text).strip()) if isinstance(text, str) else None
    if m is None:
        return None
    return node_id(m.group(1), m.group(2)), (f"nq {m.group(3)}" if m.group(3) else "")


@dataclass
class Node:
    id: str
    kind: str  # process | component | phy | ring | vhost | netdev | vm | capture
    label: str
    group: str | None = None
    detail: str = ""
    counters: dict[str, int] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)


@dataclass
class Edge:
    src: str
    dst: str
    kind: str  # patch | rx | tx | netdev | vm | capture
    owner: str  # the process that moves these frames: "primary", "vf:1", ...
    label: str = ""
    running: bool = True
    undirected: bool = False
    counter: int | None = None
    rate: float | None = None

    @property
    def key(self) -> str:
        return f"{self.owner}|{self.kind}|{self.src}|{self.dst}|{self.label}"


@dataclass
class Group:
    id: str
    label: str
    kind: str  # primary | vf | nfv | mirror | pcap | kernel | vm


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    groups: dict[str, Group] = field(default_factory=dict)
    interval: float | None = None  # seconds between the two samples of the rates

    def add_node(self, node: Node) -> Node:
        """Add `node` unless a node of that id exists; return the one in the graph."""
        have = self.nodes.get(node.id)
        if have is None:
            self.nodes[node.id] = node
            return node
        if have.group is None and node.group is not None:
            have.group = node.group
        return have

    def add_edge(self, edge: Edge) -> None:
        if all(e.key != edge.key for e in self.edges):
            self.edges.append(edge)

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes": [asdict(n) for n in self.nodes.values()],
            "edges": [asdict(e) for e in self.edges],
            "groups": [asdict(g) for g in self.groups.values()],
            "interval": self.interval,
        }


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _ints(obj: Any, *keys: str) -> dict[str, int]:
    if not isinstance(obj, dict):
        return {}
    return {k: obj[k] for k in keys
            if isinstance(obj.get(k), int) and not isinstance(obj.get(k), bool)}


class _Builder:
    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status
        self.g = Graph()

    def port(self, text: object) -> tuple[str, str] | None:
        """The port node of `text` and its queue label. Ports belong to no process group:
        the primary creates them and every process may use them."""
        parsed = parse_port(text)
        if parsed is None:
            return None
        nid, queue = parsed
        kind, num = nid.split("_")
        self.g.add_node(Node(nid, kind, f"{kind}:{num}"))
        return nid, queue

    # -- primary: ports (it owns them all), netdevs, patches ------------------------
    def primary(self, st: dict[str, Any]) -> None:
        lcores = _list(st.get("lcores"))
        self.g.groups["primary"] = Group("primary", "spp_primary", "primary")
        self.g.add_node(Node("proc_primary", "process", "primary",
                             group="primary", detail=_lcores(lcores)))
        fwd = _dict(st.get("forwarder"))
        running = fwd.get("status", "running") == "running"
        for kind in PORT_KINDS:
            for p in st.get(f"{kind}_ports") or []:
                if not isinstance(p, dict) or not isinstance(p.get("id"), int):
                    continue
                nid = node_id(kind, p["id"])
                node = self.g.add_node(Node(nid, kind, f"{kind}:{p['id']}"))
                node.counters = _ints(p, "rx", "tx", "rx_drop", "tx_drop")
                iface = p.get("iface")
                if kind != "ring" and isinstance(iface, str) and iface:
                    node.detail = iface  # a phy's netdev, a vhost port's socket
                if kind == "phy" and isinstance(iface, str) and iface:
                    self.netdev(nid, iface, node.counters)
        counters = {n.id: n.counters for n in self.g.nodes.values()}
        patches = st.get("patches", fwd.get("patches")) or []
        for pt in patches:
            if isinstance(pt, dict):
                self.patch("primary", pt, running, lambda src: counters.get(src, {}).get("rx"))

    def netdev(self, phy: str, iface: str, counters: dict[str, int]) -> None:
        self.g.groups.setdefault("kernel", Group("kernel", "kernel netdevs", "kernel"))
        nid = node_id("netdev", iface)
        self.g.add_node(Node(nid, "netdev", iface, group="kernel"))
        self.g.add_edge(Edge(nid, phy, "netdev", "primary", undirected=True,
                             counter=_sum(counters, "rx", "tx")))

    def patch(self, owner: str, pt: dict[str, Any], running: bool, counter: Any) -> None:
        src, dst = self.port(pt.get("src")), self.port(pt.get("dst"))
        if src is None or dst is None:
            return
        label = " ".join(x for x in (owner, src[1], dst[1]) if x)
        self.g.add_edge(Edge(src[0], dst[0], "patch", owner, label, running,
                             counter=counter(src[0])))

    # -- secondaries ------------------------------------------------------------------
    def secondary(self, key: str, st: dict[str, Any]) -> None:
        kind, _, cid = key.partition(":")
        gid = node_id(kind, cid)
        self.g.groups[gid] = Group(gid, f"spp_{kind} {cid}", kind)
        lcores = [st.get("master-lcore"), *(st.get("worker-lcores") or [])]
        self.g.add_node(Node(node_id("proc", kind, cid), "process", key, group=gid,
                             detail=_lcores([c for c in lcores if isinstance(c, int)])))
        port_ctr = _dict(st.get("port_counters"))

        def ctr(port: object, direction: str) -> int | None:
            return _ints(port_ctr.get(str(port)), direction).get(direction)

        for p in st.get("ports") or []:
            self.port(p)
        running = st.get("status", "running") == "running"
        for pt in st.get("patches") or []:
            if isinstance(pt, dict):
                self.patch(key, pt, running,
                           lambda src, pt=pt: ctr(pt.get("src"), "rx"))
        for comp in st.get("components") or []:
            if isinstance(comp, dict) and isinstance(comp.get("name"), str):
                self.component(key, gid, comp, ctr)
        if kind == "pcap":
            self.capture(key, gid, st, ctr)

    def component(self, owner: str, gid: str, comp: dict[str, Any], ctr: Any) -> None:
        cid = node_id(gid, comp["name"])
        core = comp.get("core")
        self.g.add_node(Node(cid, "component", comp["name"], group=gid,
                             detail=f"{comp.get('type', '?')} core {core}"))
        for att in comp.get("rx_port") or []:
            port = att.get("port") if isinstance(att, dict) else None
            p = self.port(port)
            if p is not None:
                self.g.add_edge(Edge(p[0], cid, "rx", owner, _att_label(p[1], att),
                                     counter=ctr(port, "rx")))
        for att in comp.get("tx_port") or []:
            port = att.get("port") if isinstance(att, dict) else None
            p = self.port(port)
            if p is not None:
                self.g.add_edge(Edge(cid, p[0], "tx", owner, _att_label(p[1], att),
                                     counter=ctr(port, "tx")))

    def capture(self, owner: str, gid: str, st: dict[str, Any], ctr: Any) -> None:
        running = st.get("status") == "running"
        sink = node_id(gid, "files")
        for core in st.get("core") or []:
            if not isinstance(core, dict) or core.get("role") != "receive":
                continue
            for att in core.get("rx_port") or []:
                port = att.get("port") if isinstance(att, dict) else None
                p = self.port(port)
                if p is None:
                    continue
                self.g.add_node(Node(sink, "capture", "pcap files", group=gid))
                self.g.add_edge(Edge(p[0], sink, "capture", owner, p[1], running,
                                     counter=ctr(port, "rx")))

    # -- VMs from the host state ------------------------------------------------------
    def vms(self, host: dict[str, Any]) -> None:
        for vm in host.get("vms") or []:
            if not isinstance(vm, dict) or not isinstance(vm.get("name"), str):
                continue
            gid = node_id("vm", vm["name"])
            state = vm.get("state")
            label = f"VM {vm['name']}" + (f" ({state})" if isinstance(state, str) else "")
            self.g.groups[gid] = Group(gid, label, "vm")
            for nic in vm.get("nics") or []:
                if not isinstance(nic, dict):
                    continue
                p = self.port(nic.get("vhost"))
                if p is None:
                    continue
                ifname = str(nic.get("ifname") or "nic")
                nid = node_id("vm", vm["name"], ifname)
                detail = " ".join(str(nic[k]) for k in ("mac", "ipv4") if nic.get(k))
                self.g.add_node(Node(nid, "vm", f"{vm['name']} {ifname}", group=gid,
                                     detail=detail))
                # frames both ways between the VM and the vhost port, as the port counts
                vhost = self.g.nodes[p[0]].counters
                self.g.add_edge(Edge(p[0], nid, "vm", "primary", undirected=True,
                                     counter=_sum(vhost, "rx", "tx")))

    def build(self) -> Graph:
        st = self.status
        if isinstance(st.get("primary"), dict):
            self.primary(st["primary"])
        secs = _dict(st.get("secondaries"))
        for key in sorted(secs, key=_sec_order):
            if isinstance(secs[key], dict) and key.partition(":")[0] in SECONDARY_KINDS:
                self.secondary(key, secs[key])
        for host in st.get("hosts") or []:
            if isinstance(host, dict):
                self.vms(host)
        return self.g


def graph_from_status(status: dict[str, Any]) -> Graph:
    """The graph of one snapshot (see the module doc); malformed parts are left out."""
    return _Builder(status if isinstance(status, dict) else {}).build()


def with_rates(now: Graph, before: Graph, seconds: float) -> Graph:
    """`now` with per-second rates from the counter deltas since `before` (never negative:
    a counter that went back, e.g. after `clear`, gives 0)."""
    if seconds <= 0:
        return now
    out = Graph(groups=dict(now.groups), interval=seconds)
    for nid, node in now.nodes.items():
        old = before.nodes.get(nid)
        rates = {}
        if old is not None:
            rates = {k: max(0, v - old.counters[k]) / seconds
                     for k, v in node.counters.items() if k in old.counters}
        out.nodes[nid] = replace(node, rates=rates)
    old_edges = {e.key: e for e in before.edges}
    for e in now.edges:
        old_e = old_edges.get(e.key)
        rate = None
        if e.counter is not None and old_e is not None and old_e.counter is not None:
            rate = max(0, e.counter - old_e.counter) / seconds
        out.edges.append(replace(e, rate=rate))
    return out


def _att_label(queue: str, att: dict[str, Any]) -> str:
    vlan = _dict(att.get("vlan"))
    op = vlan.get("operation")
    tag = ""
    if op == "add":
        tag = f"push vlan {vlan.get('id')}"
    elif op == "del":
        tag = "pop vlan"
    return " ".join(x for x in (queue, tag) if x)


def _sum(counters: dict[str, int], *keys: str) -> int | None:
    vals = [counters[k] for k in keys if k in counters]
    return sum(vals) if vals else None


def _lcores(lcores: list[Any]) -> str:
    ids = [c for c in lcores if isinstance(c, int)]
    return "lcores " + ",".join(str(c) for c in ids) if ids else ""


def _sec_order(key: str) -> tuple[int, int, str]:
    kind, _, cid = key.partition(":")
    order = SECONDARY_KINDS.index(kind) if kind in SECONDARY_KINDS else len(SECONDARY_KINDS)
    return order, int(cid) if cid.isdigit() else 0, key


def format_rate(pps: float) -> str:
    """`1234567.0` -> `1.23 Mpps`."""
    for unit, scale in (("Mpps", 1e6), ("kpps", 1e3)):
        if pps >= scale:
            return f"{pps / scale:.2f} {unit}"
    return f"{pps:.0f} pps"
