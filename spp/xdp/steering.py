"""`XdpSteering`: read and change the pinned maps of bpf/xdp_steer.c at run time.

The maps are pinned by libbpf (LIBBPF_PIN_BY_NAME) when the primary's af_xdp
ports load build/bpf/xdp_steer.o, and shared by every port that loaded it.
"""

from __future__ import annotations

import errno
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from spp.xdp import bpfsys
from spp.xdp.defs import defs
from spp.xdp.errors import XdpError, XdpMapsNotFound, XdpValueError
from spp.xdp.iface import check_vlan, format_mac, ifindex_of, ifname_of, parse_mac

DEFAULT_BPFFS_ROOT = "/sys/fs/bpf"
MAP_FDB = "spp_fdb"
MAP_PORT_CFG = "spp_port_cfg"
MAP_STATS = "spp_xdp_stats"
PINNED_MAPS = (MAP_FDB, MAP_PORT_CFG, MAP_STATS)
PIN_PREFIX = "spp_"

MODES = ("all", "registered")
COUNTER_FIELDS = (
    "to_spp_pkts",
    "to_spp_bytes",
    "to_kernel_pkts",
    "to_kernel_bytes",
    "dropped_pkts",
    "dropped_bytes",
)

# map name -> (key C type, value C type) as in bpf/spp_xdp.h
_LAYOUT = {
    MAP_FDB: ("struct spp_fdb_key", "struct spp_fdb_val"),
    MAP_PORT_CFG: ("__u32", "struct spp_xdp_port_cfg"),
    MAP_STATS: ("__u32", "struct spp_xdp_counters"),
}


@dataclass(frozen=True)
class PortMode:
    ifindex: int
    mode: str  # "all" | "registered"
    drop_unknown: bool
    explicit: bool  # False: no spp_port_cfg entry, the program's default (all)

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


def unpin_all(root: str | os.PathLike[str] = DEFAULT_BPFFS_ROOT) -> list[str]:
    """Remove the ``spp_*`` pins (files, not directories) under ``root``.

    Needs no BPF library. Returns the removed paths. Pinned maps vanish once no
    program or fd holds them anymore.
    """
    removed: list[str] = []
    base = Path(root)
    if not base.is_dir():
        return removed
    for p in sorted(base.glob(PIN_PREFIX + "*")):
        if p.is_dir() and not p.is_symlink():
            continue
        try:
            p.unlink()
            removed.append(str(p))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise XdpError(f"cannot unpin {p}: {exc.strerror}") from None
    return removed


class XdpSteering:
    """Open the pinned steering maps under ``root`` and edit them.

    Interfaces are names (resolved in the caller's netns) or ifindexes.
    Raises :class:`XdpMapsNotFound` when the pins are missing.
    """

    def __init__(
        self, root: str | os.PathLike[str] = DEFAULT_BPFFS_ROOT, backend: str | None = None
    ) -> None:
        self.root = Path(root)
        self.defs = defs()
        self.ffi = self.defs.ffi
        self.sys: bpfsys.Backend = bpfsys.get_backend(backend)
        self.ncpus = bpfsys.num_possible_cpus()
        self.fds: dict[str, int] = {}
        try:
            for name in PINNED_MAPS:
                self.fds[name] = self._open(name)
        except BaseException:
            self.close()
            raise

    # -- plumbing ---------------------------------------------------------
    def _open(self, name: str) -> int:
        path = self.root / name
        try:
            fd = self.sys.obj_get(str(path))
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                raise XdpMapsNotFound(
                    f"XDP steering maps not found under {self.root}: "
                    "is the primary running with xdp_prog?"
                ) from None
            if exc.errno in (errno.EPERM, errno.EACCES):
                raise XdpError(f"permission denied opening {path}: run as root") from None
            raise XdpError(f"cannot open {path}: {exc.strerror}") from None
        self._check_layout(name, fd)
        return fd

    def _check_layout(self, name: str, fd: int) -> None:
        """Refuse a stale pin whose key/value sizes differ from spp_xdp.h."""
        sizes = self.sys.map_sizes(fd)
        if sizes is None:
            return
        kt, vt = _LAYOUT[name]
        want = (self.ffi.sizeof(kt), self.ffi.sizeof(vt))
        if sizes != want:
            os.close(fd)
            raise XdpError(
                f"{self.root / name} has key/value size {sizes[0]}/{sizes[1]}, "
                f"spp_xdp.h says {want[0]}/{want[1]}: stale pin from another build "
                "(run `spp host down` or remove it)"
            )

    def close(self) -> None:
        for fd in self.fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds.clear()

    def __enter__(self) -> XdpSteering:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wrap(self, exc: OSError, what: str) -> XdpError:
        if exc.errno == errno.E2BIG:
            return XdpError(f"{what}: map is full")
        return XdpError(f"{what}: {exc.strerror}")

    def _keys(self, name: str) -> list[Any]:
        ktype = _LAYOUT[name][0]
        keys = []
        cur = None
        for _ in range(1 << 20):  # bound: never spin on a map mutating underneath
            nxt = self.ffi.new(ktype + " *")
            if not self.sys.next_key(self.fds[name], cur, nxt):
                break
            keys.append(nxt)
            cur = nxt
        return keys

    def _u32(self, v: int) -> Any:
        return self.ffi.new("__u32 *", v)

    # -- port mode ----------------------------------------------------------
    def set_mode(self, iface: str | int, mode: str, drop_unknown: bool = False) -> PortMode:
        """Steer ``iface`` in mode ``all`` or ``registered`` (+ drop unknown unicast)."""
        if mode not in MODES:
            raise XdpValueError(f"bad mode {mode!r}: expected one of {', '.join(MODES)}")
        idx = ifindex_of(iface)
        cfg = self.ffi.new("struct spp_xdp_port_cfg *")
        cfg.mode = self.defs.const("SPP_XDP_MODE_" + mode.upper())
        cfg.flags = self.defs.const("SPP_XDP_F_DROP_UNKNOWN") if drop_unknown else 0
        try:
            self.sys.update(self.fds[MAP_PORT_CFG], self._u32(idx), cfg)
        except OSError as exc:
            raise self._wrap(exc, f"set mode of ifindex {idx}") from None
        return PortMode(idx, mode, drop_unknown, True)

    def reset_mode(self, iface: str | int) -> bool:
        """Drop the explicit entry (back to the default, mode all)."""
        return self.sys.delete(self.fds[MAP_PORT_CFG], self._u32(ifindex_of(iface)))

    def get_mode(self, iface: str | int) -> PortMode:
        idx = ifindex_of(iface)
        cfg = self.ffi.new("struct spp_xdp_port_cfg *")
        if not self.sys.lookup(self.fds[MAP_PORT_CFG], self._u32(idx), cfg):
            return PortMode(idx, "all", False, False)
        reg = cfg.mode == self.defs.const("SPP_XDP_MODE_REGISTERED")
        drop = bool(cfg.flags & self.defs.const("SPP_XDP_F_DROP_UNKNOWN"))
        return PortMode(idx, "registered" if reg else "all", drop, True)

    def ports(self) -> list[int]:
        """Ifindexes with a mode entry, counters or FDB entries, sorted."""
        idx = {int(k[0]) for k in self._keys(MAP_PORT_CFG)}
        idx |= {int(k[0]) for k in self._keys(MAP_STATS)}
        idx |= {int(k.ifindex) for k in self._keys(MAP_FDB)}
        return sorted(idx)

    # -- FDB ----------------------------------------------------------------
    def _fdb_key(self, iface: str | int, mac: str, vlan: int) -> Any:
        key = self.ffi.new("struct spp_fdb_key *")
        key.ifindex = ifindex_of(iface)
        key.vlan = check_vlan(vlan)
        key.mac = list(parse_mac(mac))
        return key

    def add_mac(self, iface: str | int, mac: str, vlan: int = 0) -> FdbEntry:
        """Register unicast ``mac`` (on ``vlan``, 0 = untagged) arriving on ``iface``."""
        key = self._fdb_key(iface, mac, vlan)
        val = self.ffi.new("struct spp_fdb_val *")
        val.flags = self.defs.const("SPP_FDB_F_STATIC")
        try:
            self.sys.update(self.fds[MAP_FDB], key, val)
        except OSError as exc:
            raise self._wrap(exc, f"add {mac} vlan {vlan} on ifindex {key.ifindex}") from None
        return FdbEntry(key.ifindex, vlan, format_mac(bytes(key.mac)), int(val.flags))

    def del_mac(self, iface: str | int, mac: str, vlan: int = 0) -> bool:
        """Remove a registration; False when it was not there."""
        return self.sys.delete(self.fds[MAP_FDB], self._fdb_key(iface, mac, vlan))

    def macs(self, iface: str | int | None = None) -> list[FdbEntry]:
        """Registered MACs (of ``iface`` or all), sorted by ifindex, vlan, mac."""
        want = None if iface is None else ifindex_of(iface)
        out = []
        val = self.ffi.new("struct spp_fdb_val *")
        for key in self._keys(MAP_FDB):
            if want is not None and key.ifindex != want:
                continue
            flags = int(val.flags) if self.sys.lookup(self.fds[MAP_FDB], key, val) else 0
            out.append(FdbEntry(int(key.ifindex), int(key.vlan), format_mac(bytes(key.mac)), flags))
        return sorted(out, key=lambda e: (e.ifindex, e.vlan, e.mac))

    # -- counters -------------------------------------------------------------
    def counters(self, iface: str | int) -> dict[str, int]:
        """The six counters of ``iface`` summed over CPUs (zeros when none yet)."""
        idx = ifindex_of(iface)
        vals = self.ffi.new("struct spp_xdp_counters[]", self.ncpus)
        out = dict.fromkeys(COUNTER_FIELDS, 0)
        if self.sys.lookup(self.fds[MAP_STATS], self._u32(idx), vals):
            for cpu in range(self.ncpus):
                for f in COUNTER_FIELDS:
                    out[f] += int(getattr(vals[cpu], f))
        return out

    def clear_counters(self, iface: str | int | None = None) -> int:
        """Zero the counters of ``iface`` (or all); returns how many entries were cleared."""
        if iface is not None:
            return int(self.sys.delete(self.fds[MAP_STATS], self._u32(ifindex_of(iface))))
        return sum(int(self.sys.delete(self.fds[MAP_STATS], k)) for k in self._keys(MAP_STATS))

    def status(self, iface: str | int | None = None) -> list[dict[str, Any]]:
        """Mode + counters per interface (``iface``, or every known one)."""
        idxs = [ifindex_of(iface)] if iface is not None else self.ports()
        out = []
        for idx in idxs:
            d = self.get_mode(idx).to_dict()
            d["ifname"] = ifname_of(idx)
            d["macs"] = sum(1 for _ in self.macs(idx))
            d["counters"] = self.counters(idx)
            out.append(d)
        return out

    def unpin_all(self) -> list[str]:
        """Close our fds and remove the ``spp_*`` pins under our root."""
        self.close()
        return unpin_all(self.root)
