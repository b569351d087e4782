"""Status fields the processes report about themselves: who they are and what packets cost.

Both mains add `process` (pid, version, start time), `tsc_hz` and `lcore_cycles` (one entry
per worker lcore: busy and idle TSC cycles, frames moved) to their status; spp_vf adds a
`cycles` object to each component. The counters are the C core's (native/src/common/cycles.h).
"""

from __future__ import annotations

import os
import time
from typing import Any

from spp import __version__

START_TIME = time.time()


def process_info() -> dict[str, Any]:
    """`{"pid", "version", "start_time"}` of this process (start_time: Unix seconds)."""
    return {"pid": os.getpid(), "version": __version__, "start_time": START_TIME}


def per_packet(busy: int, packets: int) -> float | None:
    """Busy cycles per frame, or None before the first frame."""
    return round(busy / packets, 1) if packets else None


def lcore_cycles(ffi: Any, lib: Any, lcores: list[int]) -> list[dict[str, int]]:
    """`[{"lcore", "busy", "idle", "packets"}]` of the worker lcores of this process."""
    out = []
    c = ffi.new("struct spp_cycles *")
    for lcore in lcores:
        if lib.spp_lcore_cycles(lcore, c) == 0:
            out.append({"lcore": lcore, "busy": c.busy, "idle": c.idle, "packets": c.packets})
    return out


def component_cycles(ffi: Any, lib: Any, slot: int) -> dict[str, Any]:
    """`{"busy", "packets", "per_packet"}` of a spp_vf component slot."""
    c = ffi.new("struct spp_cycles *")
    if lib.spp_vf_component_cycles(slot, c) != 0:
        return {}
    return {"busy": c.busy, "packets": c.packets, "per_packet": per_packet(c.busy, c.packets)}


def cycle_fields(ffi: Any, lib: Any, worker_lcores: list[int]) -> dict[str, Any]:
    """The top-level status fields both processes add."""
    return {
        "process": process_info(),
        "tsc_hz": int(lib.spp_tsc_hz()),
        "lcore_cycles": lcore_cycles(ffi, lib, worker_lcores),
    }
