"""Topology model: network namespaces and veth pairs, loaded from YAML.

Schema (see README.md, "Host setup")::

    name: default                 # state file /run/spp/host-<name>.json
    file_prefix: spp              # DPDK --file-prefix: names the SPP instance (run dir,
                                  # XDP maps under /sys/fs/bpf/spp/<file_prefix>/)
    bpf_pin_prefix: spp_          # legacy flat pins /sys/fs/bpf/<prefix>* removed by `down`
    ctl: {bind: 127.0.0.1, api_port: P, pri_port: P, sec_port: P,
          metrics_port: P}        # optional: the controller (and exporter) of `spp up`;
                                  # defaults in spp.defaults
    namespaces: [spp-remote, spp-vm1]
    veths:
      - ends:
          - {name: r-eth0, netns: spp-remote, mac: "02:00:00:00:10:00", ipv4: 198.18.0.1/24}
          - {name: spp-p0, mac: "02:00:00:00:00:00", ipv4: 198.18.0.254/24, phy: 0}
        mtu: 1500                 # optional, default for both ends
        tx_checksum: false        # optional, default false (= `ethtool -K IF tx off`)

Each end may override `mtu` and `tx_checksum`. `netns` is a declared namespace
or `root` (the default).

Optional sections for QEMU VMs and the processes `spp up --topology` starts::

    vms:
      - name: spp-vm1             # QEMU -name, guest hostname
        memory: 256               # MiB (default 256)
        nics:                     # at least one; vhost-user NICs on spp's vhost:N
          - {vhost: 0, mac: "52:54:00:12:34:56", ipv4: 198.18.0.11/24, ifname: ens4}
        kernel: build/vm/vmlinuz  # optional: default the image `make setup` builds
        initrd: build/vm/initrd.img
        accel: auto               # auto (KVM if it boots, else TCG), kvm or tcg
        qemu_args: []             # extra QEMU arguments
    processes:                    # command lines after `spp primary` / `spp vf` / ...
      primary: -l 1,14 -n 4 --proc-type=primary -- -p 0x03 -n 10 -s 127.0.0.1:PRI_PORT
      vf: -l 0,2-13 -n 4 --proc-type=secondary -- --client-id 1 -s 127.0.0.1:SEC_PORT --vhost-client
      nfv: -l 15,16 --proc-type=secondary -- -n 2 -s 127.0.0.1:SEC_PORT  # or a list of lines
      mirror: [-l 17,18 --proc-type=secondary -- --client-id 3 -s 127.0.0.1:SEC_PORT]

A vf command line with `--vhost-client` makes the VMs vhost-user servers
(QEMU listens on /tmp/sockN); without it spp_vf is the server and QEMU connects.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spp import defaults
from spp.host.default_topology import DEFAULT_TOPOLOGY_YAML
from spp.kinds import SECONDARY_KINDS

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
             "ctl", "vms", "processes"}
_CTL_KEYS = {"bind", "api_port", "pri_port", "sec_port", "metrics_port"}
_VM_KEYS = {"name", "memory", "nics", "kernel", "initrd", "accel", "qemu_args"}
_NIC_KEYS = {"vhost", "mac", "ipv4", "ifname"}
_PROC_KEYS = {"primary", *SECONDARY_KINDS}
_VHOST_RE = re.compile(r"^(?:vhost:)?(\d+)$")
VM_ACCELS = ("auto", "kvm", "tcg")
VM_MEMORY_MB = (64, 4096)
MAX_VHOST_ID = 31  # the primary's vhost:N ids
DEFAULT_VM_MEMORY = 256


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
class VmNic:
    vhost: int  # spp's vhost:N; the socket is /tmp/sockN
    mac: str
    ifname: str  # interface name inside the guest
    ipv4: str | None = None

    @property
    def uid(self) -> str:
        return f"vhost:{self.vhost}"


@dataclass(frozen=True)
class Vm:
    name: str
    nics: tuple[VmNic, ...]
    memory: int = DEFAULT_VM_MEMORY  # MiB
    kernel: str | None = None  # None: the image `make setup` builds (spp.host.vmimage)
    initrd: str | None = None
    accel: str = "auto"
    qemu_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Processes:
    """Command lines (after `spp primary` / `spp vf`) that `spp up --topology` runs.

    `others` holds the other secondaries (spp.kinds: nfv, mirror, pcap), in file order:
    (type, command line after `spp TYPE`), one per client id.
    """

    primary: tuple[str, ...] | None = None
    vf: tuple[str, ...] | None = None
    others: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class CtlPorts:
    """Where this instance's controller listens (upstream's defaults)."""

    bind: str = defaults.LOCALHOST
    api_port: int = defaults.API_PORT
    pri_port: int = defaults.PRIMARY_PORT
    sec_port: int = defaults.SECONDARY_PORT
    metrics_port: int = defaults.METRICS_PORT  # `spp metrics serve` started by `spp up`

    @property
    def api(self) -> str:
        return f"{self.bind}:{self.api_port}"


@dataclass(frozen=True)
class Topology:
    name: str
    namespaces: tuple[str, ...] = ()
    veths: tuple[Veth, ...] = ()
    file_prefix: str = defaults.FILE_PREFIX
    bpf_pin_prefix: str = "spp_"
    ctl: CtlPorts = field(default_factory=CtlPorts)
    source: str | None = field(default=None, compare=False)
    vms: tuple[Vm, ...] = ()
    processes: Processes = field(default_factory=Processes)

    @property
    def vhost_client(self) -> bool:
        """spp_vf connects to the VMs' sockets (`--vhost-client` in its command line)."""
        return "--vhost-client" in (self.processes.vf or ())

    def vm(self, name: str) -> Vm:
        for vm in self.vms:
            if vm.name == name:
                return vm
        raise KeyError(name)

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
        mac = _parse_mac(mac, where)
    ipv4 = raw.get("ipv4")
    if ipv4 is not None:
        ipv4 = _parse_ipv4(ipv4, where)
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


def _parse_mac(value: Any, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 52:54:00:12:34:56 as a base-60 number
        raise _err(where, f"bad MAC {value!r} (quote MAC addresses in YAML: \"52:54:...\")")
    if not isinstance(value, str) or not _MAC_RE.match(value):
        raise _err(where, f"bad MAC {value!r}")
    mac = value.lower()
    if int(mac[:2], 16) & 1:
        raise _err(where, f"MAC {mac} is multicast")
    return mac


def _parse_ipv4(value: Any, where: str) -> str:
    if not isinstance(value, str) or "/" not in value:
        raise _err(where, f"ipv4 must be ADDRESS/PREFIX, got {value!r}")
    try:
        return ipaddress.IPv4Interface(value).with_prefixlen
    except ValueError as exc:
        raise _err(where, f"bad ipv4 {value!r}: {exc}") from None


def _parse_nic(raw: Any, where: str) -> VmNic:
    if not isinstance(raw, dict):
        raise _err(where, "expected a mapping with `vhost`, `mac` and `ifname`")
    _check_keys(raw, _NIC_KEYS, where)
    vhost = raw.get("vhost")
    m = _VHOST_RE.match(str(vhost)) if not isinstance(vhost, bool) and vhost is not None else None
    if m is None or int(m.group(1)) > MAX_VHOST_ID:
        raise _err(where, f"vhost must be vhost:N or N with N in 0..{MAX_VHOST_ID}, "
                          f"got {vhost!r}")
    ifname = raw.get("ifname")
    if not isinstance(ifname, str) or not _IFNAME_RE.match(ifname):
        raise _err(where, f"bad guest ifname {ifname!r} (1-15 chars [A-Za-z0-9_.-])")
    if "mac" not in raw:
        raise _err(where, "`mac` is required")
    ipv4 = raw.get("ipv4")
    return VmNic(vhost=int(m.group(1)), mac=_parse_mac(raw["mac"], where), ifname=ifname,
                 ipv4=None if ipv4 is None else _parse_ipv4(ipv4, where))


def _parse_vm(raw: Any, where: str) -> Vm:
    if not isinstance(raw, dict):
        raise _err(where, "expected a mapping with `name` and `nics`")
    _check_keys(raw, _VM_KEYS, where)
    name = raw.get("name")
    if not isinstance(name, str) or not _NSNAME_RE.match(name):
        raise _err(where, f"bad VM name {name!r} (1-64 chars [A-Za-z0-9_.-])")
    where = f"{where} ({name})"
    memory = raw.get("memory", DEFAULT_VM_MEMORY)
    lo, hi = VM_MEMORY_MB
    if isinstance(memory, bool) or not isinstance(memory, int) or not lo <= memory <= hi:
        raise _err(where, f"memory must be {lo}..{hi} (MiB), got {memory!r}")
    nics = raw.get("nics")
    if not isinstance(nics, list) or not nics:
        raise _err(where, "a VM needs at least one NIC in `nics`")
    accel = raw.get("accel", "auto")
    if accel not in VM_ACCELS:
        raise _err(where, f"accel must be one of {', '.join(VM_ACCELS)}, got {accel!r}")
    paths = {}
    for key in ("kernel", "initrd"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            raise _err(where, f"{key} must be a file path, got {value!r}")
        paths[key] = value
    qemu_args = raw.get("qemu_args") or []
    if not isinstance(qemu_args, list) or not all(isinstance(a, str) for a in qemu_args):
        raise _err(where, "qemu_args must be a list of strings")
    return Vm(name=name, memory=memory, accel=accel, qemu_args=tuple(qemu_args),
              nics=tuple(_parse_nic(n, f"{where}.nics[{i}]") for i, n in enumerate(nics)),
              **paths)


def _command_line(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, str) or not value.strip():
        raise TopologyError(f"{where}: expected a command line string")
    try:
        return tuple(shlex.split(value))
    except ValueError as exc:
        raise TopologyError(f"{where}: {exc}") from None


def _parse_processes(raw: Any) -> Processes:
    """`primary:` and `vf:` are one command line each; the other secondaries (nfv,
    mirror, pcap) one command line or a list of them (one per client id)."""
    if raw is None:
        return Processes()
    if not isinstance(raw, dict):
        raise TopologyError("processes: expected a mapping with `primary` and/or "
                            "secondaries (" + ", ".join(SECONDARY_KINDS) + ")")
    _check_keys(raw, _PROC_KEYS, "processes")
    lines: dict[str, tuple[str, ...] | None] = {}
    for key in ("primary", "vf"):
        value = raw.get(key)
        lines[key] = None if value is None else _command_line(value, f"processes.{key}")
    others: list[tuple[str, tuple[str, ...]]] = []
    for key, value in raw.items():
        if key in lines or value is None:
            continue
        values = value if isinstance(value, list) else [value]
        if not values:
            raise TopologyError(f"processes.{key}: expected a command line or a list of them")
        for i, line in enumerate(values):
            where = f"processes.{key}" + (f"[{i}]" if isinstance(value, list) else "")
            others.append((key, _command_line(line, where)))
    return Processes(others=tuple(others), **lines)


def _validate_vms(topo: Topology, macs: dict[str, str]) -> None:
    names: set[str] = set()
    vhosts: dict[int, str] = {}
    for vm in topo.vms:
        if vm.name in names:
            raise TopologyError(f"VM {vm.name} is declared twice")
        names.add(vm.name)
        ifnames: set[str] = set()
        for nic in vm.nics:
            where = f"VM {vm.name} NIC {nic.ifname}"
            if nic.vhost in vhosts:
                raise TopologyError(f"{where}: {nic.uid} is already the NIC {vhosts[nic.vhost]}")
            vhosts[nic.vhost] = f"{nic.ifname} of VM {vm.name}"
            if nic.ifname in ifnames:
                raise TopologyError(f"{where}: guest interface name used twice")
            ifnames.add(nic.ifname)
            if nic.mac in macs:
                raise TopologyError(f"{where}: MAC {nic.mac} is also {macs[nic.mac]}'s")
            macs[nic.mac] = f"VM {vm.name} {nic.ifname}"


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
    _validate_vms(topo, macs)


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
    for key, default in (("file_prefix", defaults.FILE_PREFIX), ("bpf_pin_prefix", "spp_")):
        value = data.get(key, default)
        if not isinstance(value, str) or not _PREFIX_RE.match(value):
            raise TopologyError(f"topology: bad `{key}` {value!r}")
        prefixes[key] = value
    raw_vms = data.get("vms") or []
    if not isinstance(raw_vms, list):
        raise TopologyError("vms: must be a list")
    topo = Topology(
        name=name,
        namespaces=tuple(namespaces),
        veths=tuple(_parse_veth(v, f"veths[{i}]") for i, v in enumerate(raw_veths)),
        ctl=_parse_ctl(data.get("ctl")),
        source=source,
        vms=tuple(_parse_vm(v, f"vms[{i}]") for i, v in enumerate(raw_vms)),
        processes=_parse_processes(data.get("processes")),
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
