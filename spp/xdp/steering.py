"""`XdpSteering`: read and change the steering maps of bpf/xdp_steer.c at run time.

The maps of each port are pinned by the primary under its instance directory
(spp.xdp.pins: `<bpffs>/spp/<file prefix>/<ifname>/`); an XdpSteering opens
one instance directory and reaches each port by interface name (or index,
resolved in the caller's netns).
"""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from spp.xdp import bpfsys
from spp.xdp.defs import defs
from spp.xdp.errors import XdpError, XdpMapsNotFound, XdpValueError
from spp.xdp.iface import check_vlan, format_mac, ifindex_of, ifname_of, parse_mac
from spp.xdp.pins import BPFFS, DEFAULT_INSTANCE, instance_dir, unpin_dir

DEFAULT_BPFFS_ROOT = str(BPFFS)
MAP_FDB = "spp_fdb"
MAP_PORT_CFG = "spp_port_cfg"
MAP_STATS = "spp_xdp_stats"
MAP_PATCH = "spp_patch"
MAP_TX_PORTS = "spp_tx_ports"
MAP_FWD_STATS = "spp_fwd_stats"
MAP_VF_ACT = "spp_vf_act"
MAP_VF_STATS = "spp_vf_stats"
PINNED_MAPS = (MAP_FDB, MAP_PORT_CFG, MAP_STATS, MAP_PATCH, MAP_TX_PORTS, MAP_FWD_STATS,
               MAP_VF_ACT, MAP_VF_STATS)

MODES = ("all", "registered")
STEER_FIELDS = (  # struct spp_xdp_counters
    "to_spp_pkts",
    "to_spp_bytes",
    "to_kernel_pkts",
    "to_kernel_bytes",
    "dropped_pkts",
    "dropped_bytes",
)
# + what the patch fast path sent on (spp_fwd_stats, all destinations)
COUNTER_FIELDS = (*STEER_FIELDS, "fwd_pkts", "fwd_bytes")

# map name -> (key C type, value C type) as in bpf/spp_xdp.h
_LAYOUT = {
    MAP_FDB: ("struct spp_fdb_key", "struct spp_fdb_val"),
    MAP_PORT_CFG: ("__u32", "struct spp_xdp_port_cfg"),
    MAP_STATS: ("__u32", "struct spp_xdp_counters"),
    MAP_PATCH: ("__u32", "struct spp_xdp_patch"),
    MAP_TX_PORTS: ("__u32", "__u32"),
    MAP_FWD_STATS: ("__u32", "struct spp_xdp_fwd_counters"),
    MAP_VF_ACT: ("struct spp_fdb_key", "struct spp_xdp_vf_act"),
    MAP_VF_STATS: ("__u32", "struct spp_xdp_fwd_counters"),
}


@dataclass(frozen=True)
class VfAct:
    """struct spp_xdp_vf_act: what an spp_vf chain does with a frame (bpf/xdp_vf.h).

    `tx_port` None: the frame goes to the AF_XDP socket (userspace finishes it).
    """

    tx_port: int | None
    pops: int = 0
    push_tci: int | None = None  # PCP << 13 | VID
    slot: int = 0


@dataclass(frozen=True)
class PortMode:
    ifindex: int
    mode: str  # "all" | "registered"
    drop_unknown: bool
    explicit: bool  # False: the program's default (all, no flags)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FdbEntry:
    ifindex: int
    vlan: int
    mac: str
    flags: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def unpin_all(root: str | os.PathLike[str] | None = None) -> list[str]:
    """Remove the pins under one instance directory (default: instance `spp`).

    Needs no BPF library. Returns the removed paths.
    """
    return unpin_dir(instance_dir() if root is None else root)


class _Port:
    """The three open maps of one port."""

    def __init__(self, ifname: str, ifindex: int, fds: dict[str, int]) -> None:
        self.ifname = ifname
        self.ifindex = ifindex
        self.fds = fds


class XdpSteering:
    """Open an instance's steering maps (`root`, default that of file prefix `spp`).

    Raises :class:`XdpMapsNotFound` when no port of the instance has pinned maps.
    """

    def __init__(
        self, root: str | os.PathLike[str] | None = None, backend: str | None = None
    ) -> None:
        self.root = Path(root) if root is not None else instance_dir(DEFAULT_INSTANCE)
        self.defs = defs()
        self.ffi = self.defs.ffi
        self.sys: bpfsys.Backend = bpfsys.get_backend(backend)
        self.ncpus = bpfsys.num_possible_cpus()
        self._ports: dict[str, _Port] = {}
        if not self.port_names():
            raise XdpMapsNotFound(
                f"XDP steering maps not found under {self.root}: "
                "is the primary running with xdp_prog?"
            )

    # -- plumbing ---------------------------------------------------------
    def port_names(self) -> list[str]:
        """Interfaces with pinned maps in this instance, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and (p / MAP_FDB).exists())

    def _port(self, iface: str | int) -> _Port:
        if isinstance(iface, int) or (isinstance(iface, str) and iface.isdigit()):
            idx = ifindex_of(iface)
            name = ifname_of(idx)
            if name is None:
                raise XdpValueError(f"no interface with index {idx} in this netns")
        else:
            name = iface
            try:
                idx = ifindex_of(name)
            except XdpValueError:
                idx = 0  # moved to another netns, or gone: the pins still answer
        port = self._ports.get(name)
        if port is not None:
            return port
        d = self.root / name
        if not (d / MAP_FDB).exists():
            raise XdpMapsNotFound(
                f"no XDP steering maps for {name} under {self.root}: is it an af_xdp phy port "
                "of this instance's primary?"
            )
        fds: dict[str, int] = {}
        try:
            for m in PINNED_MAPS:
                fds[m] = self._open(d / m, m)
        except BaseException:
            for fd in fds.values():
                os.close(fd)
            raise
        port = self._ports[name] = _Port(name, idx, fds)
        return port

    def _open(self, path: Path, name: str) -> int:
        try:
            fd = self.sys.obj_get(str(path))
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                raise XdpMapsNotFound(f"{path} is missing: is the primary running?") from None
            if exc.errno in (errno.EPERM, errno.EACCES):
                raise XdpError(f"permission denied opening {path}: run as root") from None
            raise XdpError(f"cannot open {path}: {exc.strerror}") from None
        self._check_layout(path, name, fd)
        return fd

    def _check_layout(self, path: Path, name: str, fd: int) -> None:
        """Refuse a stale pin whose key/value sizes differ from spp_xdp.h."""
        sizes = self.sys.map_sizes(fd)
        if sizes is None:
            return
        kt, vt = _LAYOUT[name]
        want = (self.ffi.sizeof(kt), self.ffi.sizeof(vt))
        if sizes != want:
            os.close(fd)
            raise XdpError(
                f"{path} has key/value size {sizes[0]}/{sizes[1]}, "
                f"spp_xdp.h says {want[0]}/{want[1]}: stale pin from another build "
                "(run `spp host down` or remove it)"
            )

    def close(self) -> None:
        for port in self._ports.values():
            for fd in port.fds.values():
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._ports.clear()

    def __enter__(self) -> XdpSteering:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wrap(self, exc: OSError, what: str) -> XdpError:
        if exc.errno == errno.E2BIG:
            return XdpError(f"{what}: map is full")
        return XdpError(f"{what}: {exc.strerror}")

    def _keys(self, fd: int, ktype: str) -> list[Any]:
        keys = []
        cur = None
        for _ in range(1 << 20):  # bound: never spin on a map mutating underneath
            nxt = self.ffi.new(ktype + " *")
            if not self.sys.next_key(fd, cur, nxt):
                break
            keys.append(nxt)
            cur = nxt
        return keys

    def _zero(self) -> Any:
        return self.ffi.new("__u32 *", 0)

    # -- port mode ----------------------------------------------------------
    def set_mode(self, iface: str | int, mode: str, drop_unknown: bool = False) -> PortMode:
        """Steer ``iface`` in mode ``all`` or ``registered`` (+ drop unknown unicast)."""
        if mode not in MODES:
            raise XdpValueError(f"bad mode {mode!r}: expected one of {', '.join(MODES)}")
        port = self._port(iface)
        cfg = self.ffi.new("struct spp_xdp_port_cfg *")
        cfg.mode = self.defs.const("SPP_XDP_MODE_" + mode.upper())
        cfg.flags = self.defs.const("SPP_XDP_F_DROP_UNKNOWN") if drop_unknown else 0
        cfg.flags |= self._cfg(port).flags & self.defs.const("SPP_XDP_F_VF_OFFLOAD")
        try:
            self.sys.update(port.fds[MAP_PORT_CFG], self._zero(), cfg)
        except OSError as exc:
            raise self._wrap(exc, f"set mode of {port.ifname}") from None
        return PortMode(port.ifindex, mode, drop_unknown, mode != "all" or drop_unknown)

    def reset_mode(self, iface: str | int) -> bool:
        """Back to the default (mode all, no flags); False when it was the default already."""
        was = self.get_mode(iface).explicit
        port = self._port(iface)
        self.sys.update(port.fds[MAP_PORT_CFG], self._zero(),
                        self.ffi.new("struct spp_xdp_port_cfg *"))
        return was

    def _cfg(self, port: _Port) -> Any:
        cfg = self.ffi.new("struct spp_xdp_port_cfg *")
        self.sys.lookup(port.fds[MAP_PORT_CFG], self._zero(), cfg)
        return cfg

    def set_vf_offload(self, iface: str | int, on: bool) -> None:
        """Allow (or stop) the spp_vf chain fast path of ``iface``: one update of its flags."""
        port = self._port(iface)
        cfg = self._cfg(port)
        bit = self.defs.const("SPP_XDP_F_VF_OFFLOAD")
        cfg.flags = (cfg.flags | bit) if on else (cfg.flags & ~bit)
        try:
            self.sys.update(port.fds[MAP_PORT_CFG], self._zero(), cfg)
        except OSError as exc:
            raise self._wrap(exc, f"set the vf offload of {port.ifname}") from None

    def vf_offload(self, iface: str | int) -> bool:
        """Whether the spp_vf chain fast path of ``iface`` is allowed."""
        return bool(self._cfg(self._port(iface)).flags & self.defs.const("SPP_XDP_F_VF_OFFLOAD"))

    def get_mode(self, iface: str | int) -> PortMode:
        port = self._port(iface)
        cfg = self.ffi.new("struct spp_xdp_port_cfg *")
        self.sys.lookup(port.fds[MAP_PORT_CFG], self._zero(), cfg)
        reg = cfg.mode == self.defs.const("SPP_XDP_MODE_REGISTERED")
        drop = bool(cfg.flags & self.defs.const("SPP_XDP_F_DROP_UNKNOWN"))
        return PortMode(port.ifindex, "registered" if reg else "all", drop, reg or drop)

    def ports(self) -> list[str]:
        """Interfaces of this instance with steering maps (names, sorted)."""
        return self.port_names()

    # -- FDB ----------------------------------------------------------------
    def _fdb_key(self, mac: str, vlan: int) -> Any:
        key = self.ffi.new("struct spp_fdb_key *")
        key.vlan = check_vlan(vlan)
        key.mac = list(parse_mac(mac))
        return key

    def add_mac(self, iface: str | int, mac: str, vlan: int = 0) -> FdbEntry:
        """Register unicast ``mac`` (on ``vlan``, 0 = untagged) arriving on ``iface``."""
        key = self._fdb_key(mac, vlan)
        port = self._port(iface)
        val = self.ffi.new("struct spp_fdb_val *")
        val.flags = self.defs.const("SPP_FDB_F_STATIC")
        try:
            self.sys.update(port.fds[MAP_FDB], key, val)
        except OSError as exc:
            raise self._wrap(exc, f"add {mac} vlan {vlan} on {port.ifname}") from None
        return FdbEntry(port.ifindex, vlan, format_mac(bytes(key.mac)), int(val.flags))

    def add_macs(self, iface: str | int, entries: list[tuple[bytes, int]]) -> None:
        """Register many (6-byte MAC, VLAN) pairs on ``iface`` at once.

        One bpf(2) call with the libbpf backend, one per entry otherwise. On
        failure some of them may be registered: the caller takes them back.
        """
        port = self._port(iface)
        for raw, vlan in entries:
            if len(raw) != 6 or raw[0] & 1:
                raise XdpValueError(f"{format_mac(raw)} is not a unicast MAC")
            check_vlan(vlan)
        key_t, val_t = "struct spp_fdb_key", "struct spp_fdb_val"
        assert (self.ffi.sizeof(key_t), self.ffi.offsetof(key_t, "mac")) == (8, 2)
        keys = b"".join(vlan.to_bytes(2, sys.byteorder) + raw for raw, vlan in entries)
        val = self.ffi.new(f"{val_t} *")
        val.flags = self.defs.const("SPP_FDB_F_STATIC")
        vals = self.ffi.buffer(val)[:] * len(entries)
        batch = getattr(self.sys, "update_batch", None)
        try:
            if batch is not None and entries:
                batch(port.fds[MAP_FDB], self.ffi.from_buffer(keys),
                      self.ffi.from_buffer(vals), len(entries))
                return
            key = self.ffi.new(f"{key_t} *")
            for i in range(len(entries)):
                self.ffi.memmove(key, keys[8 * i:8 * i + 8], 8)
                self.sys.update(port.fds[MAP_FDB], key, val)
        except OSError as exc:
            raise self._wrap(exc, f"add {len(entries)} MACs on {port.ifname}") from None

    def del_mac(self, iface: str | int, mac: str, vlan: int = 0) -> bool:
        """Remove a registration; False when it was not there."""
        key = self._fdb_key(mac, vlan)
        return self.sys.delete(self._port(iface).fds[MAP_FDB], key)

    def macs(self, iface: str | int | None = None) -> list[FdbEntry]:
        """Registered MACs (of ``iface`` or every port), sorted by ifindex, vlan, mac."""
        names = self.port_names() if iface is None else [iface]
        out = []
        val = self.ffi.new("struct spp_fdb_val *")
        for name in names:
            port = self._port(name)
            fd = port.fds[MAP_FDB]
            for key in self._keys(fd, _LAYOUT[MAP_FDB][0]):
                flags = int(val.flags) if self.sys.lookup(fd, key, val) else 0
                out.append(FdbEntry(port.ifindex, int(key.vlan), format_mac(bytes(key.mac)),
                                    flags))
        return sorted(out, key=lambda e: (e.ifindex, e.vlan, e.mac))

    # -- patch fast path (bpf/xdp_patch.h) --------------------------------------
    def _tx_key(self, port_id: int) -> Any:
        if not 0 <= port_id < self.defs.const("SPP_XDP_TX_PORTS"):
            raise XdpValueError(f"phy:{port_id} is beyond the fast path's "
                                f"{self.defs.const('SPP_XDP_TX_PORTS')} ports")
        return self.ffi.new("__u32 *", port_id)

    def set_tx_port(self, iface: str | int, port_id: int, ifindex: int) -> None:
        """Devmap entry `port_id` of ``iface`` -> netdev ``ifindex`` (of the caller's netns)."""
        port = self._port(iface)
        try:
            self.sys.update(port.fds[MAP_TX_PORTS], self._tx_key(port_id),
                            self.ffi.new("__u32 *", ifindex))
        except OSError as exc:
            raise self._wrap(exc, f"set tx port {port_id} of {port.ifname}") from None

    def del_tx_port(self, iface: str | int, port_id: int) -> bool:
        """Remove devmap entry `port_id` of ``iface``; False when it was not there."""
        port = self._port(iface)
        try:
            return self.sys.delete(port.fds[MAP_TX_PORTS], self._tx_key(port_id))
        except OSError as exc:
            raise self._wrap(exc, f"delete tx port {port_id} of {port.ifname}") from None

    def tx_port(self, iface: str | int, port_id: int) -> int | None:
        """The ifindex at devmap entry `port_id` of ``iface``, None when empty."""
        port = self._port(iface)
        val = self.ffi.new("__u32 *")
        found = self.sys.lookup(port.fds[MAP_TX_PORTS], self._tx_key(port_id), val)
        return int(val[0]) if found else None

    def set_patch(self, iface: str | int, port_id: int | None) -> None:
        """Turn the fast path of ``iface`` on towards devmap entry `port_id`, or off (None).

        One map update: the program sees the old or the new entry, never a mix.
        """
        port = self._port(iface)
        val = self.ffi.new("struct spp_xdp_patch *")
        if port_id is not None:
            self._tx_key(port_id)
            val.flags = self.defs.const("SPP_XDP_PATCH_ON")
            val.tx_port = port_id
        try:
            self.sys.update(port.fds[MAP_PATCH], self._zero(), val)
        except OSError as exc:
            raise self._wrap(exc, f"set the patch of {port.ifname}") from None

    def patch(self, iface: str | int) -> int | None:
        """The devmap entry the fast path of ``iface`` sends to, None when it is off."""
        port = self._port(iface)
        val = self.ffi.new("struct spp_xdp_patch *")
        if not self.sys.lookup(port.fds[MAP_PATCH], self._zero(), val):
            return None
        return int(val.tx_port) if val.flags & self.defs.const("SPP_XDP_PATCH_ON") else None

    # -- spp_vf chain fast path (bpf/xdp_vf.h) -----------------------------------
    def _vf_key(self, vlan: int, mac: bytes | None) -> Any:
        """None MAC: the reserved MAC (a default; with SPP_XDP_VF_ANY_VLAN: every frame)."""
        key = self.ffi.new("struct spp_fdb_key *")
        key.vlan = vlan
        key.mac = list(mac if mac is not None else b"\xff" * 6)
        return key

    def set_vf_act(self, iface: str | int, vlan: int, mac: bytes | None, act: VfAct) -> None:
        """Write the action of {vlan, mac} (one hash update: old or new, never a mix)."""
        port = self._port(iface)
        val = self.ffi.new("struct spp_xdp_vf_act *")
        if act.tx_port is not None:
            self._tx_key(act.tx_port)
            val.flags = self.defs.const("SPP_XDP_VF_REDIRECT")
            val.tx_port = act.tx_port
        if act.push_tci is not None:
            val.flags |= self.defs.const("SPP_XDP_VF_PUSH")
            val.tci = act.push_tci
        if not 0 <= act.pops <= self.defs.const("SPP_XDP_VF_MAX_POPS"):
            raise XdpValueError(f"{act.pops} VLAN pops (at most "
                                f"{self.defs.const('SPP_XDP_VF_MAX_POPS')})")
        if not 0 <= act.slot < self.defs.const("SPP_XDP_VF_SLOTS"):
            raise XdpValueError(f"counter slot {act.slot} out of range")
        val.pops = act.pops
        val.slot = act.slot
        try:
            self.sys.update(port.fds[MAP_VF_ACT], self._vf_key(vlan, mac), val)
        except OSError as exc:
            raise self._wrap(exc, f"set a vf action of {port.ifname}") from None

    def del_vf_act(self, iface: str | int, vlan: int, mac: bytes | None) -> bool:
        port = self._port(iface)
        try:
            return self.sys.delete(port.fds[MAP_VF_ACT], self._vf_key(vlan, mac))
        except OSError as exc:
            raise self._wrap(exc, f"delete a vf action of {port.ifname}") from None

    def vf_acts(self, iface: str | int) -> dict[tuple[int, bytes | None], VfAct]:
        """Every action of ``iface`` by (vlan, mac); mac None = the reserved MAC."""
        port = self._port(iface)
        fd = port.fds[MAP_VF_ACT]
        out: dict[tuple[int, bytes | None], VfAct] = {}
        redirect = self.defs.const("SPP_XDP_VF_REDIRECT")
        push = self.defs.const("SPP_XDP_VF_PUSH")
        for key in self._keys(fd, "struct spp_fdb_key"):
            val = self.ffi.new("struct spp_xdp_vf_act *")
            if not self.sys.lookup(fd, key, val):
                continue
            mac = bytes(key.mac)
            out[(int(key.vlan), None if mac == b"\xff" * 6 else mac)] = VfAct(
                int(val.tx_port) if val.flags & redirect else None, int(val.pops),
                int(val.tci) if val.flags & push else None, int(val.slot))
        return out

    def clear_vf_acts(self, iface: str | int) -> int:
        """Delete every spp_vf action of ``iface``; how many there were."""
        port = self._port(iface)
        fd = port.fds[MAP_VF_ACT]
        n = 0
        for key in self._keys(fd, "struct spp_fdb_key"):
            try:
                n += int(self.sys.delete(fd, key))
            except OSError as exc:
                raise self._wrap(exc, f"delete a vf action of {port.ifname}") from None
        return n

    def vf_stats(self, iface: str | int, slots: list[int]) -> dict[int, tuple[int, int]]:
        """What the spp_vf fast path of ``iface`` sent per counter slot: (pkts, bytes)."""
        port = self._port(iface)
        vals = self.ffi.new("struct spp_xdp_fwd_counters[]", self.ncpus)
        out: dict[int, tuple[int, int]] = {}
        for slot in slots:
            if not self.sys.lookup(port.fds[MAP_VF_STATS], self.ffi.new("__u32 *", slot), vals):
                continue
            out[slot] = (sum(int(vals[c].pkts) for c in range(self.ncpus)),
                         sum(int(vals[c].bytes) for c in range(self.ncpus)))
        return out

    # -- counters -------------------------------------------------------------
    def fwd_counters(self, iface: str | int) -> dict[int, tuple[int, int]]:
        """What the fast path of ``iface`` sent, per destination phy id: (pkts, bytes)."""
        port = self._port(iface)
        vals = self.ffi.new("struct spp_xdp_fwd_counters[]", self.ncpus)
        out: dict[int, tuple[int, int]] = {}
        for dst in range(self.defs.const("SPP_XDP_TX_PORTS")):
            if not self.sys.lookup(port.fds[MAP_FWD_STATS], self._tx_key(dst), vals):
                continue
            pkts = sum(int(vals[cpu].pkts) for cpu in range(self.ncpus))
            if pkts:
                out[dst] = (pkts, sum(int(vals[cpu].bytes) for cpu in range(self.ncpus)))
        return out

    def counters(self, iface: str | int) -> dict[str, int]:
        """The steering counters of ``iface`` summed over CPUs, and the fast path's."""
        port = self._port(iface)
        vals = self.ffi.new("struct spp_xdp_counters[]", self.ncpus)
        out = dict.fromkeys(COUNTER_FIELDS, 0)
        if self.sys.lookup(port.fds[MAP_STATS], self._zero(), vals):
            for cpu in range(self.ncpus):
                for f in STEER_FIELDS:
                    out[f] += int(getattr(vals[cpu], f))
        for pkts, nbytes in self.fwd_counters(iface).values():
            out["fwd_pkts"] += pkts
            out["fwd_bytes"] += nbytes
        return out

    def clear_counters(self, iface: str | int | None = None) -> int:
        """Zero the counters of ``iface`` (or every port); returns how many were cleared."""
        names = self.port_names() if iface is None else [iface]
        zeros = self.ffi.new("struct spp_xdp_counters[]", self.ncpus)
        fwd_zeros = self.ffi.new("struct spp_xdp_fwd_counters[]", self.ncpus)
        for name in names:
            port = self._port(name)
            self.sys.update(port.fds[MAP_STATS], self._zero(), zeros)
            for dst in range(self.defs.const("SPP_XDP_TX_PORTS")):
                self.sys.update(port.fds[MAP_FWD_STATS], self._tx_key(dst), fwd_zeros)
        return len(names)

    def status(self, iface: str | int | None = None) -> list[dict[str, Any]]:
        """Mode + counters per interface (``iface``, or every port of the instance)."""
        names = self.port_names() if iface is None else [iface]
        out = []
        for name in names:
            port = self._port(name)
            d = self.get_mode(name).to_dict()
            d["ifname"] = port.ifname
            d["macs"] = len(self.macs(name))
            d["counters"] = self.counters(name)
            out.append(d)
        return out

    def unpin_all(self) -> list[str]:
        """Close our fds and remove this instance's pins."""
        self.close()
        return unpin_dir(self.root)
