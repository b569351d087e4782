"""Topology model: network namespaces and veth pairs, loaded from YAML.

Schema (see README.md, "Host setup")::

    name: default                 # state file /run/spp/host-<name>.json
    file_prefix: spp              # DPDK --file-prefix: names the SPP instance (run dir,
                                  # XDP maps under /sys/fs/bpf/spp/<file_prefix>/)
    bpf_pin_prefix: spp_          # legacy flat pins /sys/fs/bpf/<prefix>* removed by `down`
    ctl: {bind: 127.0.0.1, api_port: 7777, pri_port: 5555, sec_port: 6666,
          metrics_port: 9877}     # optional: the controller (and exporter) of `spp up`
    namespaces: [spp-remote, spp-vm1]
    veths:
      - ends:
          - {name: r-eth0, netns: spp-remote, mac: "02:00:00:00:10:00", ipv4: 198.18.0.1/24}
          - {name: spp-p0, mac: "02:00:00:00:00:00", ipv4: 198.18.0.254/24, phy: 0}
        mtu: 1500                 # optional, default for both ends
        tx_checksum: false        # optional, default false (= `ethtool -K IF tx off`)

Each end may override `mtu` and `tx_checksum`. `netns` is a declared namespace
or `root` (the default).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spp.host.default_topology import DEFAULT_TOPOLOGY_YAML

ROOT_NS = "root"
DEFAULT_MTU = 1500
_IFNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
_NSNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TOPO_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_END_KEYS = {"name", "netns", "mac", "ipv4", "mtu", "tx_checksum", "phy"}
_VETH_KEYS = {"ends", "mtu", "tx_checksum"}
_TOP_KEYS = {"name", "file_prefix", "bpf_pin_prefix", "namespaces", "veths", "description",
             "ctl"}
_CTL_KEYS = {"bind", "api_port", "pri_port", "sec_port", "metrics_port"}


class TopologyError(ValueError):
    """The topology file is missing, not YAML, or breaks the schema."""


@dataclass(frozen=True)
class VethEnd:
    name: str
    netns: str = ROOT_NS
    mac: str | None = None
    ipv4: str | None = None  # "A.B.C.D/PREFIX"
    mtu: int = DEFAULT_MTU
    tx_checksum: bool = False
    phy: int | None = None  # index as phy:N of the primary (root-netns ends only)

    @property
    def in_root(self) -> bool:
        return self.netns == ROOT_NS


@dataclass(frozen=True)
class Veth:
    a: VethEnd
    b: VethEnd

    @property
    def ends(self) -> tuple[VethEnd, VethEnd]:
        return (self.a, self.b)


@dataclass(frozen=True)
class CtlPorts:
    """Where this instance's controller listens (upstream's defaults)."""

    bind: str = "127.0.0.1"
    api_port: int = 7777
    pri_port: int = 5555
    sec_port: int = 6666
    metrics_port: int = 9877  # `spp metrics serve` started by `spp up`

    @property
    def api(self) -> str:
        return f"{self.bind}:{self.api_port}"


@dataclass(frozen=True)
class Topology:
    name: str
    namespaces: tuple[str, ...] = ()
    veths: tuple[Veth, ...] = ()
    file_prefix: str = "spp"
    bpf_pin_prefix: str = "spp_"
    ctl: CtlPorts = field(default_factory=CtlPorts)
    source: str | None = field(default=None, compare=False)

    def interfaces(self) -> list[VethEnd]:
        return [end for v in self.veths for end in v.ends]

    def interface(self, name: str) -> VethEnd:
        for end in self.interfaces():
            if end.name == name:
                return end
        raise KeyError(name)

    def phy_interfaces(self) -> list[str]:
        """Root-netns interface names ordered by their `phy` index (phy:0 first)."""
        ends = [e for e in self.interfaces() if e.phy is not None]
        return [e.name for e in sorted(ends, key=lambda e: e.phy or 0)]


def _err(where: str, msg: str) -> TopologyError:
    return TopologyError(f"{where}: {msg}")


def _check_keys(obj: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise _err(where, f"unknown key(s) {', '.join(map(str, unknown))}")


def _parse_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("on", "off", "true", "false"):
        return value.lower() in ("on", "true")
    raise _err(where, f"expected true/false or on/off, got {value!r}")


def _parse_mtu(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 68 <= value <= 65535:
        raise _err(where, f"mtu must be an integer 68..65535, got {value!r}")
    return value


def _parse_end(raw: Any, where: str, mtu: int, tx_checksum: bool) -> VethEnd:
    if not isinstance(raw, dict):
        raise _err(where, "expected a mapping with at least `name`")
    _check_keys(raw, _END_KEYS, where)
    name = raw.get("name")
    if not isinstance(name, str) or not _IFNAME_RE.match(name):
        raise _err(where, f"bad interface name {name!r} (1-15 chars [A-Za-z0-9_.-])")
    where = f"{where} ({name})"
    netns = raw.get("netns", ROOT_NS) or ROOT_NS
    if not isinstance(netns, str):
        raise _err(where, f"bad netns {netns!r}")
    mac = raw.get("mac")
    if mac is not None:
        if not isinstance(mac, str) or not _MAC_RE.match(mac):
            raise _err(where, f"bad MAC {mac!r}")
        mac = mac.lower()
        if int(mac[:2], 16) & 1:
            raise _err(where, f"MAC {mac} is multicast")
    ipv4 = raw.get("ipv4")
    if ipv4 is not None:
        if not isinstance(ipv4, str) or "/" not in ipv4:
            raise _err(where, f"ipv4 must be ADDRESS/PREFIX, got {ipv4!r}")
        try:
            iface = ipaddress.IPv4Interface(ipv4)
        except ValueError as exc:
            raise _err(where, f"bad ipv4 {ipv4!r}: {exc}") from None
        ipv4 = iface.with_prefixlen
    phy = raw.get("phy")
    if phy is not None and (isinstance(phy, bool) or not isinstance(phy, int) or phy < 0):
        raise _err(where, f"phy must be a non-negative integer, got {phy!r}")
    return VethEnd(
        name=name,
        netns=netns,
        mac=mac,
        ipv4=ipv4,
        mtu=_parse_mtu(raw.get("mtu", mtu), where),
        tx_checksum=_parse_bool(raw.get("tx_checksum", tx_checksum), where),
        phy=phy,
    )


def _parse_veth(raw: Any, where: str) -> Veth:
    if not isinstance(raw, dict) or "ends" not in raw:
        raise _err(where, "expected a mapping with `ends: [END, END]`")
    _check_keys(raw, _VETH_KEYS, where)
    ends = raw["ends"]
    if not isinstance(ends, list) or len(ends) != 2:
        raise _err(where, "`ends` must be a list of exactly two interfaces")
    mtu = _parse_mtu(raw.get("mtu", DEFAULT_MTU), where)
    tx_checksum = _parse_bool(raw.get("tx_checksum", False), where)
    a = _parse_end(ends[0], f"{where}.ends[0]", mtu, tx_checksum)
    b = _parse_end(ends[1], f"{where}.ends[1]", mtu, tx_checksum)
    return Veth(a, b)


def _validate(topo: Topology) -> None:
    names: set[str] = set()
    macs: dict[str, str] = {}
    phys: dict[int, str] = {}
    declared = set(topo.namespaces)
    if len(declared) != len(topo.namespaces):
        raise TopologyError("namespaces: duplicate name")
    for ns in topo.namespaces:
        if ns == ROOT_NS or not _NSNAME_RE.match(ns):
            raise TopologyError(f"namespaces: bad namespace name {ns!r}")
    for end in topo.interfaces():
        if end.name in names:
            raise TopologyError(f"interface {end.name} is declared twice")
        names.add(end.name)
        if not end.in_root and end.netns not in declared:
            raise TopologyError(
                f"interface {end.name}: netns {end.netns!r} is not listed in `namespaces`"
            )
        if end.mac is not None:
            if end.mac in macs:
                raise TopologyError(
                    f"interfaces {macs[end.mac]} and {end.name} share MAC {end.mac}"
                )
            macs[end.mac] = end.name
        if end.phy is not None:
            if not end.in_root:
                raise TopologyError(f"interface {end.name}: `phy` only on root-netns interfaces")
            if end.phy in phys:
                raise TopologyError(
                    f"interfaces {phys[end.phy]} and {end.name} are both phy:{end.phy}"
                )
            phys[end.phy] = end.name


def _parse_ctl(raw: Any) -> CtlPorts:
    if raw is None:
        return CtlPorts()
    if not isinstance(raw, dict):
        raise TopologyError("ctl: expected a mapping {bind, api_port, pri_port, sec_port}")
    _check_keys(raw, _CTL_KEYS, "ctl")
    bind = raw.get("bind", CtlPorts.bind)
    try:
        ipaddress.ip_address(bind)
    except ValueError:
        raise TopologyError(f"ctl: bind must be an IP address, got {bind!r}") from None
    ports = {}
    for key in ("api_port", "pri_port", "sec_port", "metrics_port"):
        value = raw.get(key, getattr(CtlPorts, key))
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise TopologyError(f"ctl: {key} must be a TCP port 1..65535, got {value!r}")
        ports[key] = value
    if len(set(ports.values())) != 4:
        raise TopologyError("ctl: api_port, pri_port, sec_port and metrics_port must differ")
    return CtlPorts(bind=bind, **ports)


def parse_topology(data: Any, source: str | None = None) -> Topology:
    """Build and validate a Topology from the already-decoded YAML document."""
    if not isinstance(data, dict):
        raise TopologyError("topology: top level must be a mapping")
    _check_keys(data, _TOP_KEYS, "topology")
    name = data.get("name")
    if not isinstance(name, str) or not _TOPO_NAME_RE.match(name):
        raise TopologyError(f"topology: bad or missing `name` {name!r}")
    namespaces = data.get("namespaces") or []
    if not isinstance(namespaces, list) or not all(isinstance(n, str) for n in namespaces):
        raise TopologyError("namespaces: must be a list of names")
    raw_veths = data.get("veths") or []
    if not isinstance(raw_veths, list):
        raise TopologyError("veths: must be a list")
    prefixes = {}
    for key, default in (("file_prefix", "spp"), ("bpf_pin_prefix", "spp_")):
        value = data.get(key, default)
        if not isinstance(value, str) or not _PREFIX_RE.match(value):
            raise TopologyError(f"topology: bad `{key}` {value!r}")
        prefixes[key] = value
    topo = Topology(
        name=name,
        namespaces=tuple(namespaces),
        veths=tuple(_parse_veth(v, f"veths[{i}]") for i, v in enumerate(raw_veths)),
        ctl=_parse_ctl(data.get("ctl")),
        source=source,
        **prefixes,
    )
    _validate(topo)
    return topo


def loads_topology(text: str, source: str | None = None) -> Topology:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise TopologyError(f"{source or 'topology'}: not valid YAML{where}") from None
    return parse_topology(data, source)


def load_topology(path: str | Path | None = None) -> Topology:
    """Load a topology file; None means the embedded default topology."""
    if path is None:
        return default_topology()
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise TopologyError(f"{p}: no such file") from None
    except OSError as exc:
        raise TopologyError(f"{p}: cannot read ({exc.strerror})") from None
    return loads_topology(text, str(p))


def default_topology_text() -> str:
    """The embedded default topology (a copy of recipes/topologies/default.yaml)."""
    return DEFAULT_TOPOLOGY_YAML


def default_topology() -> Topology:
    return loads_topology(default_topology_text(), "default.yaml")
