"""`spp primary`: the DPDK primary process.

Two ways to say the same thing:

    spp primary -l 0,1 -n 4 --vdev net_af_xdp0,iface=spp-p0 -- -p 0x1 -n 10 -s IP:PORT
    spp primary start --phy spp-p0 --phy spp-p1 --rings 10 --ctl IP:PORT

Each `--phy IFACE` becomes an af_xdp port that loads our XDP steering
program (spp.proc.primary_xdp); `--pci BDF` allows one real NIC for DPDK's
physical PMDs. The main lcore runs the Python control loop (spp.proc.skeleton);
the worker lcores (all of them, or the first `--bridge-lcores N`) run the C
bridge/patch loop, the devices spread over them round robin.

`--xdp-offload off` starts with the XDP fast path of phy-to-phy patches off
(`spp xdp offload on|off` changes it at run time; spp.proc.primary_xdp).

The mbuf pool is sized from the ports and rings given (`--mbufs N` sets it
instead, and may then run out), with room for `--vhost-ports N` vhost ports
(default 4) created later; `--bridge-ring-size N` sets the depth of each
device's ring pair (default 8192), `--ring-size N` that of each ring:N
(default 1024; deeper rings absorb longer pauses of lcores that share a CPU).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spp.defaults import PRIMARY_ADDR, PRIMARY_PORT
from spp.errors import Refused, UsageError
from spp.native import check, eal_init, limits, load
from spp.native.limits import SPP_MAX_RINGS, SPP_MAX_VHOST
from spp.proc import cycles, primary_status, skeleton
from spp.proc import eal as ealmod
from spp.proc.launch import Launcher
from spp.proc.primary_xdp import (
    DEFAULT_XDP_PROG,
    MODES,
    PrimarySteering,
    check_free,
    vdev_for_phy,
)
from spp.proc.skeleton import APP, EAL, Opt, address, number
from spp.resources import parse_uid

DEFAULT_MEMORY_MB = 512
DEFAULT_RINGS = 10
DEFAULT_BRIDGE_RING = limits.SPP_BRIDGE_RING_SIZE
DEFAULT_RING_SIZE = limits.SPP_RING_SIZE
BRIDGE_RING_RANGE = (limits.SPP_BRIDGE_RING_MIN, limits.SPP_BRIDGE_RING_MAX)
DEFAULT_VHOST_PORTS = limits.SPP_VHOST_PORTS_DEFAULT
MAX_BRIDGE_LCORES = limits.SPP_MAX_BRIDGE_LCORES
MIN_MBUFS = limits.SPP_MIN_MBUFS
ALL_PORTS = (1 << 64) - 1
APP_USAGE = "-p PORTMASK -n RINGS -s IP:PORT"


@dataclass
class PrimaryOptions:
    phys: list[str] = field(default_factory=list)
    pcis: list[str] = field(default_factory=list)
    rings: int | None = None
    app_rings: int | None = None  # `-n` after `--`; `--rings` wins
    portmask: int | None = None
    ctl: str = PRIMARY_ADDR
    xdp_prog: Path | None = DEFAULT_XDP_PROG
    xdp_mode: str = "all"
    xdp_drop: bool = False
    xdp_offload: bool = True  # phy-to-phy patches forwarded in XDP
    mbufs: int = 0  # 0: sized from the ports and rings
    bridge_ring_size: int = DEFAULT_BRIDGE_RING
    ring_size: int = DEFAULT_RING_SIZE
    vhost_ports: int = DEFAULT_VHOST_PORTS
    bridge_lcores: int | None = None  # None: every worker lcore
    eal: list[str] = field(default_factory=list)


def _portmask(value: str) -> int:
    mask = number("portmask", 0 if value.lower().startswith("0x") else 16)(value)
    if mask <= 0:
        raise UsageError(f"portmask '{value}' selects no port")
    return mask


def _xdp_mode(value: str) -> str:
    if value not in MODES:
        raise UsageError(f"--xdp-mode must be 'all' or 'registered', not '{value}'")
    return value


def _on_off(value: str) -> bool:
    if value not in ("on", "off"):
        raise UsageError(f"--xdp-offload must be 'on' or 'off', not '{value}'")
    return value == "on"


OPTIONS: skeleton.Table = (
    Opt(("--phy",), "phys", EAL, append=True, help="af_xdp port on IFACE (repeat)"),
    Opt(("--pci",), "pcis", EAL, append=True, help="allow the NIC at BDF (repeat)"),
    Opt(("--rings",), "rings", EAL, number("--rings")),
    Opt(("--ctl",), "ctl", EAL, address),
    Opt(("--xdp-prog",), "xdp_prog", EAL, Path),
    Opt(("--no-xdp-prog",), "xdp_prog", EAL, None, const=None),
    Opt(("--xdp-mode",), "xdp_mode", EAL, _xdp_mode),
    Opt(("--xdp-drop",), "xdp_drop", EAL, None),
    Opt(("--xdp-offload",), "xdp_offload", EAL, _on_off),
    Opt(("--mbufs",), "mbufs", EAL, number("--mbufs")),
    Opt(("--bridge-ring-size",), "bridge_ring_size", EAL, number("--bridge-ring-size")),
    Opt(("--ring-size",), "ring_size", EAL, number("--ring-size")),
    Opt(("--vhost-ports",), "vhost_ports", EAL, number("--vhost-ports")),
    Opt(("--bridge-lcores",), "bridge_lcores", EAL, number("--bridge-lcores")),
    Opt(("-p",), "portmask", APP, _portmask),
    Opt(("-n",), "app_rings", APP, number("number of rings")),
    Opt(("-s",), "ctl", APP, address, bare=True),
)


def parse_args(argv: list[str]) -> PrimaryOptions:
    """Friendly options and EAL options before `--`, upstream's app options after it."""
    opts = PrimaryOptions()
    opts.eal = skeleton.parse_options(argv, OPTIONS, opts, "primary", APP_USAGE)
    if opts.rings is None:
        opts.rings = opts.app_rings if opts.app_rings is not None else DEFAULT_RINGS
    if not 1 <= opts.rings <= SPP_MAX_RINGS:
        raise UsageError(f"number of rings must be between 1 and {SPP_MAX_RINGS}, "
                         f"not {opts.rings}")
    if opts.mbufs and opts.mbufs < MIN_MBUFS:
        raise UsageError(f"--mbufs {opts.mbufs} is too small (at least {MIN_MBUFS})")
    lo, hi = BRIDGE_RING_RANGE
    for opt, size in (("--bridge-ring-size", opts.bridge_ring_size),
                      ("--ring-size", opts.ring_size)):
        if not lo <= size <= hi or size & (size - 1):
            raise UsageError(f"{opt} {size} is not a power of two between {lo} and {hi}")
    if not 0 <= opts.vhost_ports <= SPP_MAX_VHOST:
        raise UsageError(f"--vhost-ports must be between 0 and {SPP_MAX_VHOST}, "
                         f"not {opts.vhost_ports}")
    if opts.bridge_lcores is not None and not 1 <= opts.bridge_lcores <= MAX_BRIDGE_LCORES:
        raise UsageError(f"--bridge-lcores must be between 1 and {MAX_BRIDGE_LCORES}, "
                         f"not {opts.bridge_lcores}")
    return opts


def bridge_lcores(opts: PrimaryOptions, workers: list[int]) -> list[int]:
    """The worker lcores that bridge devices: all, or the first --bridge-lcores."""
    if opts.bridge_lcores is None:
        return workers[:MAX_BRIDGE_LCORES]
    if opts.bridge_lcores > len(workers):
        raise UsageError(f"--bridge-lcores {opts.bridge_lcores} needs as many worker lcores, "
                         f"but -l gives {len(workers)} ({','.join(map(str, workers))})")
    return workers[:opts.bridge_lcores]


def check_interfaces(opts: PrimaryOptions) -> None:
    for iface in opts.phys:
        try:
            socket.if_nametoindex(iface)
        except OSError:
            raise UsageError(f"interface '{iface}' does not exist") from None
    if opts.phys and opts.xdp_prog is not None and not opts.xdp_prog.is_file():
        raise UsageError(f"XDP program {opts.xdp_prog} not found: run `make build`")
    if opts.phys and not os.path.ismount("/sys/fs/bpf"):
        raise UsageError("bpffs is not mounted at /sys/fs/bpf: `spp host up` mounts it")


class Primary:
    """The primary's native state and the commands the controller relays to it."""

    ctl_port = PRIMARY_PORT
    hello: dict[str, Any] = {"type": "primary"}
    pid_name = "primary"

    def __init__(self, opts: PrimaryOptions, ealargs: ealmod.EalArgs) -> None:
        self.opts = opts
        self.ealargs = ealargs
        self.ctl = opts.ctl
        self.file_prefix = ealargs.file_prefix
        self.ffi, self.lib = load()
        self.patches: list[tuple[str, str]] = []
        self.forwarding = False
        self.launcher = Launcher(ealargs.file_prefix)
        self.stop: asyncio.Event | None = None
        self.started = False
        self.bridge_lcores = bridge_lcores(opts, ealargs.worker_lcores)
        steered = opts.phys if opts.xdp_prog is not None else []
        self.steering = PrimarySteering(steered, ealargs.file_prefix, opts.xdp_mode,
                                        opts.xdp_drop, opts.xdp_offload, opts.xdp_prog)
        self.fwd_base: tuple[dict[int, int], dict[int, int]] = ({}, {})  # at `clear`

    def _check(self, ret: int) -> int:
        return check(ret, self.ffi, self.lib)

    # ---- life cycle -------------------------------------------------
    def start(self) -> None:
        eal_init(self.ffi, self.lib, "spp-primary", self.ealargs.args)
        self.started = True
        mask = self.opts.portmask if self.opts.portmask is not None else ALL_PORTS
        self._check(self.lib.spp_primary_configure(self.opts.bridge_ring_size, self.opts.ring_size,
                                                   self.opts.vhost_ports))
        self._check(self.lib.spp_primary_setup(self.opts.rings, mask, self.opts.mbufs))
        lcores = self.bridge_lcores
        self._check(self.lib.spp_primary_start(self.ffi.new("unsigned[]", lcores), len(lcores)))
        if self.steering.ifaces:
            self.steering.start()
            phys, _vhosts = primary_status.devices(self.ffi, self.lib)
            self.steering.set_phys({p["id"]: p["iface"] for p in phys})

    def tick(self) -> None:
        """Periodically: XDP actions of an spp_vf that left without clearing them go."""
        if not self.steering.phys:
            return
        info = self.ffi.new("struct spp_dev_info *")
        unread = {ifc: self.lib.spp_primary_phy_info(pid, info) == 0 and info.reader_pid == 0
                  for pid, ifc in self.steering.phys.items()}
        self.steering.reap_vf_actions(unread)

    def ready(self) -> str:
        return (f"ready: {self.lib.spp_primary_nb_phy()} phy, "
                f"{self.lib.spp_primary_nb_rings()} rings, lcores {self.ealargs.lcores}; "
                f"controller {self.opts.ctl}")

    def shutdown(self) -> None:
        if not self.started:
            return
        if self.steering.ifaces:
            self.steering.fast.retire({})  # the fast path ends with forwarding
            self.steering.apply_vf_offload(False)
        self.lib.spp_primary_shutdown()
        if self.steering.ifaces:
            self.steering.stop()
        self.lib.spp_eal_cleanup()
        ealmod.remove_hugepage_files(self.ealargs.file_prefix)
        self.started = False

    # ---- commands ---------------------------------------------------
    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "status": lambda a: self.status(),
            "clear": self.cmd_clear,
            "xdp_offload": self.cmd_xdp_offload,
            "ports": self.cmd_ports,
            "patch": self.cmd_patch,
            "patch_reset": self.cmd_patch_reset,
            "forward": lambda a: self.cmd_forward(True),
            "stop": lambda a: self.cmd_forward(False),
            "launch": self.launcher.launch,
            "exit": lambda a: skeleton.request_exit(self),
        }
        fn = handlers.get(cmd)
        if fn is None:
            raise Refused(f"unknown primary command '{cmd}'")
        return fn(args)

    def status(self) -> dict[str, Any]:
        phy_ports, vhost_ports = primary_status.devices(self.ffi, self.lib)
        ring_ports = primary_status.rings(self.ffi, self.lib)
        if self.steering.phys:
            primary_status.add_fast_path(phy_ports, self.steering.fwd_totals(), self.fwd_base)
        patches = [self._patch_status(s, d) for s, d in self.patches]
        ports = ([f"phy:{p['id']}" for p in phy_ports] + [f"ring:{r['id']}" for r in ring_ports]
                 + [f"vhost:{v['id']}" for v in vhost_ports])
        return {
            "master-lcore": self.ealargs.main_lcore,
            "lcores": self.ealargs.lcores,
            "bridge_lcores": list(self.bridge_lcores),
            "mbuf_pool": primary_status.pool(self.ffi, self.lib),
            "phy_ports": phy_ports,
            "ring_ports": ring_ports,
            "vhost_ports": vhost_ports,
            # upstream's newer shape: the forwarder thread (our bridge + patch lcore)
            "forwarder": {"status": "running" if self.forwarding else "idling",
                          "ports": ports, "patches": patches},
            "patches": patches,
            "forwarding": self.forwarding,
            "xdp": self.steering.status(),
            "xdp_offload": self.steering.fast_status(),
            "launched": self.launcher.launched(),
            **cycles.cycle_fields(self.ffi, self.lib, self.ealargs.worker_lcores),
        }

    def cmd_ports(self, args: dict[str, Any]) -> None:
        uid = parse_uid(str(args.get("port", "")))
        action = args.get("action")
        if action == "add":
            if uid.kind == "ring":
                self._check(self.lib.spp_primary_add_ring(uid.id))
            elif uid.kind == "vhost":
                self._check(self.lib.spp_primary_add_vhost(uid.id, 0))
            else:
                raise Refused("phy ports are given when the primary starts (--phy, --pci)")
        elif action == "del":
            raise Refused(f"deleting {uid} is not supported while secondaries may use it")
        else:
            raise Refused(f"unknown action '{action}' (add, del)")

    def _patch_status(self, src: str, dst: str) -> dict[str, Any]:
        """A patch and the path its frames take: XDP (and how it is attached) or DPDK."""
        out: dict[str, Any] = {"src": src, "dst": dst, "datapath": "dpdk"}
        for ifc, route in self.steering.fast.active.items():
            if route.src == src:
                out["datapath"] = "xdp"
                out["xdp_attach"] = self.steering.attach.get(ifc) or "unknown"
        return out

    def _change(self, patches: list[tuple[str, str]], forwarding: bool,
                apply: Callable[[], None]) -> None:
        """Change patches or forwarding with `apply`, moving the fast path around it:
        patches that leave XDP go back to the DPDK path first, and those that XDP
        forwards afterwards go to it once the DPDK patch is in place."""
        fast = self.steering.fast
        fast.retire(self.steering.routes(patches, forwarding))
        try:
            apply()
        finally:
            fast.enable(self.steering.routes(self.patches, self.forwarding))

    def cmd_patch(self, args: dict[str, Any]) -> None:
        src, dst = parse_uid(str(args.get("src", ""))), parse_uid(str(args.get("dst", "")))
        patches = [(s, d) for s, d in self.patches if s != str(src)] + [(str(src), str(dst))]

        def apply() -> None:
            self._check(self.lib.spp_primary_patch(src.type_code, src.id, dst.type_code,
                                                   dst.id))
            self.patches = patches

        self._change(patches, self.forwarding, apply)

    def cmd_patch_reset(self, args: dict[str, Any]) -> None:
        def apply() -> None:
            self._check(self.lib.spp_primary_patch_reset())
            self.patches = []

        self._change([], self.forwarding, apply)

    def cmd_forward(self, on: bool) -> None:
        def apply() -> None:
            self._check(self.lib.spp_primary_set_forwarding(1 if on else 0))
            self.forwarding = on

        self._change(self.patches, on, apply)

    def cmd_xdp_offload(self, args: dict[str, Any]) -> dict[str, Any]:
        """`spp xdp offload on|off`: phy-to-phy patches in XDP or in DPDK; forwarding goes on."""
        on = args.get("action")
        if on not in ("on", "off"):
            raise Refused(f"xdp_offload action must be 'on' or 'off', not '{on}'")
        if on == "on" and not self.steering.phys:
            raise Refused("no af_xdp phy port with XDP steering maps: nothing to offload")
        self.steering.offload = on == "on"
        self.steering.fast.sync(self.steering.routes(self.patches, self.forwarding))
        self.steering.apply_vf_offload()
        return self.steering.fast_status()

    def cmd_clear(self, args: dict[str, Any]) -> None:
        self._check(self.lib.spp_primary_clear_stats())
        if self.steering.phys:
            self.fwd_base = self.steering.fwd_totals()


def prepare(argv: list[str]) -> Primary:
    """Everything that can be checked before DPDK starts, then the process."""
    opts = parse_args(argv)
    check_interfaces(opts)
    ealmod.check_hugepages()
    extra: list[str] = []
    for i, iface in enumerate(opts.phys):
        extra += ["--vdev", vdev_for_phy(i, iface, opts.xdp_prog)]
    for bdf in opts.pcis:
        extra += ["-a", bdf]
    ealargs = ealmod.build_eal_args(opts.eal, proc_type="primary", default_lcores=[0, 1],
                                    extra=extra, memory_mb=DEFAULT_MEMORY_MB)
    if ealmod.primary_lock_holder(ealargs.file_prefix):
        raise UsageError(f"another primary is already running with file prefix "
                         f"'{ealargs.file_prefix}'")
    if opts.xdp_prog is not None:
        check_free(opts.phys, ealargs.file_prefix)
    return Primary(opts, ealargs)


def main(argv: list[str]) -> int:
    return skeleton.run("spp primary", lambda: prepare(argv))
