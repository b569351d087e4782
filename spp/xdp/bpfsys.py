"""Thin bpf(2) layer: open pins and read/write map elements.

Two interchangeable backends, both usable without kernel headers (nothing is
compiled at run time):

* ``libbpf``: libbpf.so.1 (Debian package libbpf1) through cffi ABI mode;
* ``bcc``: BCC's libbcc (``from bcc.libbcc import lib``; python3-bpfcc), whose
  map helpers are used as is. libbcc does not export ``bpf_obj_get``, so that
  one call is a raw bpf(BPF_OBJ_GET) syscall.

Errors are ``OSError`` with the errno the kernel returned; callers turn them
into readable :class:`~spp.xdp.errors.XdpError` messages.
"""

from __future__ import annotations

import ctypes
import errno as errno_mod
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from spp.xdp.defs import defs
from spp.xdp.errors import XdpBackendUnavailable

BPF_ANY = 0
BPF_NOEXIST = 1
BPF_EXIST = 2

_BPF_OBJ_GET = 7
_SYS_BPF = {
    "x86_64": 321,
    "aarch64": 280,
    "riscv64": 280,
    "i686": 357,
    "i386": 357,
    "armv7l": 386,
    "ppc64le": 361,
    "s390x": 351,
}

Ptr = Any  # a cffi pointer from defs().ffi (or None for "no key")


class Backend(Protocol):
    name: str

    def obj_get(self, path: str) -> int: ...
    def update(self, fd: int, key: Ptr, value: Ptr, flags: int = BPF_ANY) -> None: ...
    def lookup(self, fd: int, key: Ptr, value: Ptr) -> bool: ...
    def delete(self, fd: int, key: Ptr) -> bool: ...
    def next_key(self, fd: int, key: Ptr | None, next_key: Ptr) -> bool: ...
    def map_sizes(self, fd: int) -> tuple[int, int] | None: ...


def _oserror(ret: int, what: str) -> OSError:
    err = -ret if ret < -1 else (ctypes.get_errno() or errno_mod.EIO)
    return OSError(err, f"{what}: {os.strerror(err)}")


class LibbpfBackend:
    """libbpf.so.1 via cffi (libbpf >= 1.0 returns -errno)."""

    name = "libbpf"

    def __init__(self) -> None:
        self.ffi = defs().ffi
        try:
            self.lib = self.ffi.dlopen("libbpf.so.1")
        except OSError as exc:
            raise XdpBackendUnavailable(f"libbpf.so.1 not loadable: {exc}") from None

    def _err(self, ret: int, what: str) -> OSError:
        err = -ret if ret < -1 else (self.ffi.errno or errno_mod.EIO)
        return OSError(err, f"{what}: {os.strerror(err)}")

    def obj_get(self, path: str) -> int:
        fd = self.lib.bpf_obj_get(path.encode())
        if fd < 0:
            raise self._err(fd, f"bpf_obj_get({path})")
        return int(fd)

    def update(self, fd: int, key: Ptr, value: Ptr, flags: int = BPF_ANY) -> None:
        ret = self.lib.bpf_map_update_elem(fd, key, value, flags)
        if ret < 0:
            raise self._err(ret, "bpf_map_update_elem")

    def update_batch(self, fd: int, keys: Ptr, values: Ptr, count: int) -> None:
        """Write `count` elements in one bpf(2) call (BPF_ANY); on failure some may be written."""
        n = self.ffi.new("uint32_t *", count)
        ret = self.lib.bpf_map_update_batch(fd, keys, values, n, self.ffi.NULL)
        if ret < 0:
            raise self._err(ret, "bpf_map_update_batch")

    def lookup(self, fd: int, key: Ptr, value: Ptr) -> bool:
        ret = self.lib.bpf_map_lookup_elem(fd, key, value)
        if ret < 0:
            e = self._err(ret, "bpf_map_lookup_elem")
            if e.errno == errno_mod.ENOENT:
                return False
            raise e
        return True

    def delete(self, fd: int, key: Ptr) -> bool:
        ret = self.lib.bpf_map_delete_elem(fd, key)
        if ret < 0:
            e = self._err(ret, "bpf_map_delete_elem")
            if e.errno == errno_mod.ENOENT:
                return False
            raise e
        return True

    def next_key(self, fd: int, key: Ptr | None, next_key: Ptr) -> bool:
        ret = self.lib.bpf_map_get_next_key(fd, key if key is not None else self.ffi.NULL, next_key)
        if ret < 0:
            e = self._err(ret, "bpf_map_get_next_key")
            if e.errno == errno_mod.ENOENT:
                return False
            raise e
        return True

    def map_sizes(self, fd: int) -> tuple[int, int] | None:
        """(key_size, value_size) of the map behind ``fd``, None if unknown."""
        info = self.ffi.new("struct spp_bpf_map_info_head *")
        ln = self.ffi.new("uint32_t *", self.ffi.sizeof(info[0]))
        if self.lib.bpf_obj_get_info_by_fd(fd, info, ln) < 0:
            return None
        return int(info.key_size), int(info.value_size)


class BccBackend:
    """BCC's libbcc map helpers (ctypes) + a raw BPF_OBJ_GET syscall."""

    name = "bcc"

    def __init__(self) -> None:
        try:
            from bcc.libbcc import lib
        except Exception as exc:  # ImportError, or OSError from CDLL
            raise XdpBackendUnavailable(
                "BCC's Python bindings are not importable "
                f"({exc.__class__.__name__}: {exc}): install python3-bpfcc and make the "
                "venv with --system-site-packages"
            ) from None
        self.lib = lib
        self.ffi = defs().ffi
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.syscall.restype = ctypes.c_long
        self.sys_bpf = _SYS_BPF.get(platform.machine())

    def _addr(self, p: Ptr | None) -> int | None:
        return None if p is None else int(self.ffi.cast("uintptr_t", p))

    def obj_get(self, path: str) -> int:
        if self.sys_bpf is None:
            raise XdpBackendUnavailable(f"bpf(2) syscall number unknown on {platform.machine()}")
        raw = ctypes.create_string_buffer(path.encode())
        # union bpf_attr for BPF_OBJ_GET: u64 pathname, u32 bpf_fd, u32 file_flags
        attr = (ctypes.c_uint64 * 2)(ctypes.addressof(raw), 0)
        ctypes.set_errno(0)
        fd = self.libc.syscall(
            ctypes.c_long(self.sys_bpf),
            ctypes.c_int(_BPF_OBJ_GET),
            attr,
            ctypes.c_uint(ctypes.sizeof(attr)),
        )
        if fd < 0:
            raise _oserror(-1, f"bpf_obj_get({path})")
        return int(fd)

    def _call(self, ret: int, what: str, missing_ok: bool) -> bool:
        if ret < 0:
            e = _oserror(ret, what)
            if missing_ok and e.errno == errno_mod.ENOENT:
                return False
            raise e
        return True

    def update(self, fd: int, key: Ptr, value: Ptr, flags: int = BPF_ANY) -> None:
        ctypes.set_errno(0)
        ret = self.lib.bpf_update_elem(fd, self._addr(key), self._addr(value), flags)
        self._call(ret, "bpf_update_elem", False)

    def lookup(self, fd: int, key: Ptr, value: Ptr) -> bool:
        ctypes.set_errno(0)
        ret = self.lib.bpf_lookup_elem(fd, self._addr(key), self._addr(value))
        return self._call(ret, "bpf_lookup_elem", True)

    def delete(self, fd: int, key: Ptr) -> bool:
        ctypes.set_errno(0)
        return self._call(self.lib.bpf_delete_elem(fd, self._addr(key)), "bpf_delete_elem", True)

    def next_key(self, fd: int, key: Ptr | None, next_key: Ptr) -> bool:
        ctypes.set_errno(0)
        ret = self.lib.bpf_get_next_key(fd, self._addr(key), self._addr(next_key))
        return self._call(ret, "bpf_get_next_key", True)

    def map_sizes(self, fd: int) -> tuple[int, int] | None:
        info = self.ffi.new("struct spp_bpf_map_info_head *")
        ln = self.ffi.new("uint32_t *", self.ffi.sizeof(info[0]))
        fn = getattr(self.lib, "bpf_obj_get_info", None)  # libbcc's name
        if (
            fn is None
            or fn(fd, ctypes.c_void_p(self._addr(info)), ctypes.c_void_p(self._addr(ln))) < 0
        ):
            return None
        return int(info.key_size), int(info.value_size)


_BACKENDS: dict[str, Callable[[], Backend]] = {"libbpf": LibbpfBackend, "bcc": BccBackend}


def get_backend(name: str | None = None) -> Backend:
    """The named backend, or the first that loads (``$SPP_XDP_BACKEND``, libbpf, bcc)."""
    name = name or os.environ.get("SPP_XDP_BACKEND") or None
    if name is not None:
        if name not in _BACKENDS:
            raise XdpBackendUnavailable(f"unknown backend {name!r} (choose libbpf or bcc)")
        return _BACKENDS[name]()
    reasons = []
    for cls in _BACKENDS.values():
        try:
            return cls()
        except XdpBackendUnavailable as exc:
            reasons.append(str(exc))
    raise XdpBackendUnavailable("no bpf(2) backend: " + "; ".join(reasons))


def num_possible_cpus() -> int:
    """Number of possible CPUs (size multiplier of per-CPU map values)."""
    text = Path("/sys/devices/system/cpu/possible").read_text().strip()
    n = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        n = max(n, int(hi or lo) + 1)
    return n
