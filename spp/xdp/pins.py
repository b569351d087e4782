"""Where an SPP instance's XDP maps are pinned, and pinning them from a live interface.

Every af_xdp port loads its own instance of bpf/xdp_steer.o (DPDK's PMD does
the loading, with libbpf's defaults), so its maps belong to that port alone.
The primary finds them from the program attached to the interface and pins
them under its instance's directory, named after its DPDK file prefix:

    /sys/fs/bpf/spp/<file prefix>/<ifname>/spp_fdb
                                          /spp_port_cfg
                                          /spp_xdp_stats
                                          /spp_patch      (patch fast path)
                                          /spp_tx_ports   (its devmap)
                                          /spp_fwd_stats  (what it sent, per destination)
                                          /spp_vf_act     (spp_vf chain fast path)
                                          /spp_vf_stats   (what it sent, per counter slot)

This module is the one home of that layout: the primary pins and unpins
there, spp_vf and `spp xdp` open maps there, `spp host down` removes an
instance's directory and nothing else.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from typing import Any

from spp.defaults import FILE_PREFIX
from spp.xdp.errors import XdpBackendUnavailable, XdpError

BPFFS = Path("/sys/fs/bpf")
PIN_PARENT = "spp"
DEFAULT_INSTANCE = FILE_PREFIX
PROG_NAME = "spp_xdp_steer"
MAP_NAMES = ("spp_fdb", "spp_port_cfg", "spp_xdp_stats", "spp_patch", "spp_tx_ports",
             "spp_fwd_stats", "spp_vf_act", "spp_vf_stats")
XDP_FLAGS_NONE = 0


def instance_dir(file_prefix: str = DEFAULT_INSTANCE, bpffs: Path = BPFFS) -> Path:
    """`<bpffs>/spp/<file prefix>`: the pins of one SPP instance."""
    if not file_prefix or "/" in file_prefix or file_prefix in (".", ".."):
        raise XdpError(f"'{file_prefix}' is not a usable instance name (a DPDK file prefix)")
    return Path(bpffs) / PIN_PARENT / file_prefix


def port_dir(root: Path, ifname: str) -> Path:
    """The pins of one port of an instance."""
    return Path(root) / ifname


def _libbpf() -> tuple[Any, Any]:
    from spp.xdp.defs import defs

    ffi = defs().ffi
    try:
        return ffi, ffi.dlopen("libbpf.so.1")
    except OSError as exc:
        raise XdpBackendUnavailable(f"libbpf.so.1 not loadable: {exc}") from None


def _oserr(ret: int, what: str) -> XdpError:
    err = -ret if ret < 0 else errno.EIO
    return XdpError(f"{what}: {os.strerror(err)}")


def attached_prog_id(ifname: str) -> int:
    """Id of the XDP program attached to `ifname` (in this netns), 0 when none."""
    try:
        ifindex = socket.if_nametoindex(ifname)
    except OSError:
        raise XdpError(f"no such interface: {ifname!r}") from None
    ffi, lib = _libbpf()
    prog_id = ffi.new("uint32_t *")
    ret = lib.bpf_xdp_query_id(ifindex, XDP_FLAGS_NONE, prog_id)
    if ret < 0:
        raise _oserr(ret, f"cannot query the XDP program of {ifname}")
    return int(prog_id[0])


def prog_name(prog_id: int) -> str:
    ffi, lib = _libbpf()
    fd = lib.bpf_prog_get_fd_by_id(prog_id)
    if fd < 0:
        raise _oserr(fd, f"cannot open XDP program {prog_id}")
    try:
        info = ffi.new("struct spp_bpf_prog_info_head *")
        ln = ffi.new("uint32_t *", ffi.sizeof(info[0]))
        ret = lib.bpf_obj_get_info_by_fd(fd, info, ln)
        if ret < 0:
            raise _oserr(ret, f"cannot read XDP program {prog_id}")
        return str(ffi.string(info.name).decode())
    finally:
        os.close(fd)


def pin_port_maps(ifname: str, dest: Path) -> list[str]:
    """Pin the spp_* maps of the steering program attached to `ifname` under `dest`.

    Refuses an interface whose program is not ours. Replaces stale pins left in
    `dest` by a crashed run of the same instance. Returns the paths pinned.
    """
    prog_id = attached_prog_id(ifname)
    if prog_id == 0:
        raise XdpError(f"{ifname} has no XDP program attached")
    ffi, lib = _libbpf()
    fd = lib.bpf_prog_get_fd_by_id(prog_id)
    if fd < 0:
        raise _oserr(fd, f"cannot open XDP program {prog_id} of {ifname}")
    try:
        ids = ffi.new("uint32_t[]", 16)
        info = ffi.new("struct spp_bpf_prog_info_head *")
        info.nr_map_ids = 16
        info.map_ids = int(ffi.cast("uintptr_t", ids))
        ln = ffi.new("uint32_t *", ffi.sizeof(info[0]))
        ret = lib.bpf_obj_get_info_by_fd(fd, info, ln)
        if ret < 0:
            raise _oserr(ret, f"cannot read XDP program {prog_id} of {ifname}")
        name = ffi.string(info.name).decode()
        if name != PROG_NAME:
            raise XdpError(f"{ifname} runs XDP program '{name}' (id {prog_id}), "
                           f"not {PROG_NAME}: is another tool using it?")
        map_ids = [int(ids[i]) for i in range(min(int(info.nr_map_ids), 16))]
    finally:
        os.close(fd)
    found = _open_maps(ffi, lib, map_ids)
    try:
        missing = [m for m in MAP_NAMES if m not in found]
        if missing:
            raise XdpError(f"XDP program of {ifname} lacks map(s) {', '.join(missing)}: "
                           "rebuild build/bpf/xdp_steer.o")
        dest.mkdir(parents=True, exist_ok=True)
        pinned = []
        for name in MAP_NAMES:
            path = dest / name
            path.unlink(missing_ok=True)
            ret = lib.bpf_obj_pin(found[name], str(path).encode())
            if ret < 0:
                raise _oserr(ret, f"cannot pin {path}")
            pinned.append(str(path))
        return pinned
    finally:
        for mfd in found.values():
            os.close(mfd)


def _open_maps(ffi: Any, lib: Any, map_ids: list[int]) -> dict[str, int]:
    found: dict[str, int] = {}
    for mid in map_ids:
        mfd = lib.bpf_map_get_fd_by_id(mid)
        if mfd < 0:
            continue
        info = ffi.new("struct spp_bpf_map_info_head *")
        ln = ffi.new("uint32_t *", ffi.sizeof(info[0]))
        name = ""
        if lib.bpf_obj_get_info_by_fd(mfd, info, ln) == 0:
            name = ffi.string(info.name).decode()
        if name in MAP_NAMES and name not in found:
            found[name] = mfd
        else:
            os.close(mfd)
    return found


def unpin_dir(root: str | os.PathLike[str]) -> list[str]:
    """Remove the map pins of one instance (or one port) directory, then the emptied dirs.

    Only `spp_*` files directly in `root` or in its subdirectories are removed;
    anything else is left where it is. Pinned maps vanish once no program or fd
    holds them anymore. Returns the removed pin paths.
    """
    base = Path(root)
    removed: list[str] = []
    if not base.is_dir():
        return removed
    dirs = [base] + sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink())
    for d in dirs:
        for p in sorted(d.glob("spp_*")):
            if p.is_dir() and not p.is_symlink():
                continue
            try:
                p.unlink()
                removed.append(str(p))
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise XdpError(f"cannot unpin {p}: {exc.strerror}") from None
    for d in reversed(dirs):
        try:
            d.rmdir()
        except OSError:
            pass  # not empty: something that is not ours
    return removed


def remove_instance(file_prefix: str, bpffs: Path = BPFFS) -> list[str]:
    """The pins of one instance (primary exit, `spp host down`); other instances keep theirs."""
    root = instance_dir(file_prefix, bpffs)
    removed = unpin_dir(root)
    try:
        root.parent.rmdir()  # the shared parent goes with the last instance
    except OSError:
        pass
    return removed


def instances_with_port(ifname: str, bpffs: Path = BPFFS) -> list[str]:
    """Instances (file prefixes) whose pin directory has maps of `ifname`."""
    parent = Path(bpffs) / PIN_PARENT
    if not parent.is_dir():
        return []
    return sorted(d.name for d in parent.iterdir() if (d / ifname / MAP_NAMES[0]).exists())
