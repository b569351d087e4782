"""Load build/bpf/xdp_steer.o with libbpf and run it on synthetic frames.

This is what DPDK's af_xdp PMD does (bpf_object__open_file + load, first
program): every load has maps of its own. ``pin_maps`` pins them where the
primary would pin a port's maps (spp.xdp.pins), so tests reach them through
XdpSteering without a primary. Nothing is attached to any interface: frames
are fed with BPF_PROG_TEST_RUN.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spp.xdp.defs import defs
from spp.xdp.errors import XdpBackendUnavailable, XdpError

XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT = range(5)
XDP_ACTIONS = {0: "XDP_ABORTED", 1: "XDP_DROP", 2: "XDP_PASS", 3: "XDP_TX", 4: "XDP_REDIRECT"}


def default_object() -> Path:
    """build/bpf/xdp_steer.o of this checkout (override: $SPP_XDP_PROG)."""
    env = os.environ.get("SPP_XDP_PROG")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "build" / "bpf" / "xdp_steer.o"


@dataclass(frozen=True)
class TestRunResult:
    __test__ = False  # not a pytest class

    retval: int
    data: bytes

    @property
    def action(self) -> str:
        return XDP_ACTIONS.get(self.retval, str(self.retval))


class XdpObject:
    """A loaded (not attached) instance of the steering object."""

    def __init__(
        self,
        obj_path: str | os.PathLike[str] | None = None,
        pin_root: str | os.PathLike[str] | None = None,
    ) -> None:
        self.ffi = defs().ffi
        try:
            self.lib = self.ffi.dlopen("libbpf.so.1")
        except OSError as exc:
            raise XdpBackendUnavailable(f"libbpf.so.1 not loadable: {exc}") from None
        self.path = Path(obj_path) if obj_path else default_object()
        if not self.path.is_file():
            raise XdpError(f"{self.path} not found: run `make -C bpf` first")
        opts = self.ffi.new("struct bpf_object_open_opts *")
        opts.sz = self.ffi.sizeof("struct bpf_object_open_opts")
        self._keep: list[Any] = []
        if pin_root is not None:  # only maps declared with pinning use it (none of ours)
            self._keep.append(self.ffi.new("char[]", str(pin_root).encode()))
            opts.pin_root_path = self._keep[0]
        obj = self.lib.bpf_object__open_file(str(self.path).encode(), opts)
        err = self.lib.libbpf_get_error(obj)
        if err:
            raise XdpError(f"cannot open {self.path}: {os.strerror(-err)}")
        self.obj: Any = obj
        ret = self.lib.bpf_object__load(obj)
        if ret:
            self.close()
            raise XdpError(f"cannot load {self.path}: {os.strerror(-ret)} (see libbpf log)")
        prog = self.lib.bpf_object__next_program(obj, self.ffi.NULL)
        if prog == self.ffi.NULL:
            self.close()
            raise XdpError(f"{self.path} has no program")
        self.prog_name = self.ffi.string(self.lib.bpf_program__name(prog)).decode()
        self.prog_fd = int(self.lib.bpf_program__fd(prog))

    def map_fd(self, name: str) -> int:
        m = self.lib.bpf_object__find_map_by_name(self.obj, name.encode())
        if m == self.ffi.NULL:
            raise XdpError(f"{self.path} has no map {name!r}")
        return int(self.lib.bpf_map__fd(m))

    def pin_maps(self, dest: str | os.PathLike[str]) -> list[str]:
        """Pin the spp_* maps of this load under ``dest`` (a port directory)."""
        from spp.xdp.pins import MAP_NAMES

        d = Path(dest)
        d.mkdir(parents=True, exist_ok=True)
        out = []
        for name in MAP_NAMES:
            ret = self.lib.bpf_obj_pin(self.map_fd(name), str(d / name).encode())
            if ret < 0:
                raise XdpError(f"cannot pin {d / name}: {os.strerror(-ret)}")
            out.append(str(d / name))
        return out

    def test_run(
        self, frame: bytes, ingress_ifindex: int = 0, rx_queue_index: int = 0
    ) -> TestRunResult:
        """Run the program once on ``frame`` (BPF_PROG_TEST_RUN).

        ``ingress_ifindex`` 0 = the kernel's default (loopback of this netns).
        """
        data_in = self.ffi.from_buffer(frame)
        out = self.ffi.new("char[]", len(frame) + 512)
        ctx = self.ffi.new("struct xdp_md *")
        ctx.data_end = len(frame)
        ctx.ingress_ifindex = ingress_ifindex
        ctx.rx_queue_index = rx_queue_index
        opts = self.ffi.new("struct bpf_test_run_opts *")
        opts.sz = self.ffi.sizeof("struct bpf_test_run_opts")
        opts.data_in = data_in
        opts.data_size_in = len(frame)
        opts.data_out = out
        opts.data_size_out = len(out)
        if ingress_ifindex or rx_queue_index:
            opts.ctx_in = ctx
            opts.ctx_size_in = self.ffi.sizeof(ctx[0])
        opts.repeat = 1
        ret = self.lib.bpf_prog_test_run_opts(self.prog_fd, opts)
        if ret < 0:
            raise XdpError(f"BPF_PROG_TEST_RUN failed: {os.strerror(-ret)}")
        return TestRunResult(int(opts.retval), bytes(self.ffi.buffer(out, opts.data_size_out)))

    def close(self) -> None:
        """Close the object's fds (pins stay: remove them with spp.xdp.pins.unpin_dir)."""
        if getattr(self, "obj", None) is not None:
            self.lib.bpf_object__close(self.obj)
            self.obj = None

    def __enter__(self) -> XdpObject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
