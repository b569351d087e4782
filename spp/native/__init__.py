"""Loader of the C data-plane core (`spp._native`, built by `make build`)."""

from __future__ import annotations

from typing import Any

from spp.errors import Refused


class NativeError(Refused):
    """A C core call failed; the reason is the core's operator-facing one."""


def load() -> tuple[Any, Any]:
    """Return (ffi, lib) of the built core, or raise NativeError saying how to build it."""
    try:
        from spp._native import ffi, lib
    except ImportError as exc:
        raise NativeError(
            f"the C core is not built ({exc}); run `make build` in the source tree"
        ) from None
    return ffi, lib


def check(ret: int, ffi: Any, lib: Any) -> int:
    """Raise NativeError with the core's reason when a call returned < 0."""
    if ret < 0:
        reason = ffi.string(lib.spp_last_error()).decode(errors="replace")
        raise NativeError(reason or f"native call failed ({ret})")
    return ret


def eal_init(ffi: Any, lib: Any, prog: str, args: list[str]) -> None:
    """rte_eal_init with `prog` as argv[0]; raises NativeError with the reason."""
    c_args = [ffi.new("char[]", a.encode()) for a in [prog, *args]]
    check(lib.spp_eal_init(len(c_args), ffi.new("char *[]", c_args)), ffi, lib)
