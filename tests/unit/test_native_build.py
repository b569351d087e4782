"""spp/native/build.py: the C constants in spp_native.h's CFFI block reach Python."""

from __future__ import annotations

import re

from spp.native import build


def test_every_constant_of_the_cffi_block_is_readable_from_the_module() -> None:
    from spp._native import lib  # type: ignore[import-not-found]

    block = build.cdef_block(build.HEADER)
    defines = dict(re.findall(r"^#define (SPP_\w+) (\d+)\b", block, re.MULTILINE))
    assert {"SPP_BURST", "SPP_RING_SIZE", "SPP_BRIDGE_RING_SIZE", "SPP_MAX_BRIDGE_LCORES",
            "SPP_VLAN_ID_MAX", "SPP_MIN_MBUFS"} <= defines.keys()
    for name, value in defines.items():
        assert getattr(lib, name) == int(value), name
