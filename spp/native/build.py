"""Build the C data-plane core into the cffi extension module `spp._native`.

Out-of-line API mode: cffi compiles every C file under native/src/ (grouped
by process: common/, primary/, secondary/, vf/) together with a small
generated wrapper, against DPDK found through pkg-config. The cdef is the
CFFI block of native/include/spp_native.h, the only boundary with Python:
its functions, structs and #define'd constants (read in Python as
`lib.SPP_...`).

A second, tiny module `spp._limits` holds only the integer `#define`s of that
block (table sizes, name lengths, codes). It links nothing but libc, so the
controller and the CLI read the core's limits (spp.native.limits) without
loading DPDK; the C compiler checks each value against the header.

Run: python -m spp.native.build   (the Makefile does)
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parents[2]
NATIVE = ROOT / "native"
HEADER = NATIVE / "include" / "spp_native.h"


def cdef_block(header: Path) -> str:
    """The part of the header between the CFFI markers."""
    text = header.read_text()
    begin, end = "/* CFFI-BEGIN */", "/* CFFI-END */"
    return text[text.index(begin) + len(begin) : text.index(end)]


def define_names(block: str) -> list[str]:
    """Names of the integer constants `#define`d in a cdef block."""
    return re.findall(r"^#define\s+(SPP_\w+)\s+\S", block, re.MULTILINE)


def pkg_config(*args: str) -> list[str]:
    try:
        out = subprocess.run(
            ["pkg-config", *args, "libdpdk"], check=True, capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"pkg-config cannot find libdpdk (install libdpdk-dev): {exc}") from None
    return shlex.split(out)


def make_builder() -> FFI:
    ffi = FFI()
    ffi.cdef(cdef_block(HEADER))
    sources = sorted(str(p) for p in (NATIVE / "src").rglob("*.c"))
    ffi.set_source(
        "spp._native",
        '#include "spp_native.h"',
        sources=sources,
        # "spp_native.h", and the core's own headers by folder: "common/shared.h"
        include_dirs=[str(NATIVE / "include"), str(NATIVE / "src")],
        extra_compile_args=[
            *pkg_config("--cflags"),
            "-O3",
            # the module exports PyInit__native only; the C core's own symbols stay inside
            "-fvisibility=hidden",
            "-Wall",
            "-Wextra",
            "-Wno-unused-parameter",
            "-Wno-missing-field-initializers",
            "-Wno-sign-compare",
            "-DALLOW_EXPERIMENTAL_API",
        ],
        extra_link_args=[*pkg_config("--libs"), "-lrte_bus_vdev", "-llz4"],
    )
    return ffi


def make_limits_builder() -> FFI:
    ffi = FFI()
    ffi.cdef("\n".join(f"#define {name} ..." for name in define_names(cdef_block(HEADER))))
    ffi.set_source("spp._limits", '#include "spp_native.h"',
                   include_dirs=[str(NATIVE / "include")])
    return ffi


def main() -> int:
    tmp = ROOT / "build" / "native"
    tmp.mkdir(parents=True, exist_ok=True)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for builder in (make_limits_builder(), make_builder()):
            lib = builder.compile(tmpdir=str(tmp), verbose=False)
            target = ROOT / "spp" / Path(lib).name
            Path(lib).replace(target)
            print(f"built {target.relative_to(ROOT)}")
    finally:
        os.chdir(cwd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
