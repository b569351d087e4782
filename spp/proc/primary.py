"""`spp primary`: the DPDK primary process.

Two ways to say the same thing:

    spp primary -l 0,1 -n 4 --vdev net_af_xdp0,iface=spp-p0 -- -p 0x1 -n 10 -s 127.0.0.1:5555
    spp primary start --phy spp-p0 --phy spp-p1 --rings 10 --ctl 127.0.0.1:5555

Each `--phy IFACE` becomes an af_xdp port that loads our XDP steering
program; `--pci BDF` allows one real NIC for DPDK's physical PMDs. The main
lcore runs this Python control loop; the first worker lcore runs the C
bridge/patch loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spp import rundir
from spp.native import NativeError, check, eal_init, load
from spp.proc import cycles
from spp.proc import eal as ealmod
from spp.proc.agent import CommandError, Rejected, serve_controller
from spp.proc.resources import ResourceError, parse_uid

log = logging.getLogger("spp.primary")

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_XDP_PROG = ROOT / "build" / "bpf" / "xdp_steer.o"
DEFAULT_MBUFS = 32768
DEFAULT_MEMORY_MB = 512
ALL_PORTS = (1 << 64) - 1


class UsageError(ValueError):
    pass


@dataclass
class PrimaryOptions:
    phys: list[str] = field(default_factory=list)
    pcis: list[str] = field(default_factory=list)
    rings: int | None = None
    portmask: int | None = None
    ctl: str = "127.0.0.1:5555"
    xdp_prog: Path | None = DEFAULT_XDP_PROG
    xdp_mode: str = "all"
    xdp_drop: bool = False
    mbufs: int = DEFAULT_MBUFS
    eal: list[str] = field(default_factory=list)


FRIENDLY_VALUED = {"--phy", "--pci", "--rings", "--ctl", "--xdp-prog", "--xdp-mode", "--mbufs"}
FRIENDLY_FLAGS = {"--xdp-drop", "--no-xdp-prog"}


def _int(text: str, what: str, base: int = 10) -> int:
    try:
        return int(text, base)
    except ValueError:
        raise UsageError(f"{what} '{text}' is not a number") from None


def parse_args(argv: list[str]) -> PrimaryOptions:
    """Friendly options and EAL options before `--`, upstream's app options after it."""
    if argv and argv[0] == "start":
        argv = argv[1:]
    head, app = ealmod.split_app_args(argv)
    opts = PrimaryOptions()
    i = 0
    while i < len(head):
        tok = head[i]
        name, eq, inline = tok.partition("=")
        if name in FRIENDLY_FLAGS:
            if name == "--xdp-drop":
                opts.xdp_drop = True
            else:
                opts.xdp_prog = None
            i += 1
            continue
        if name not in FRIENDLY_VALUED:
            opts.eal.append(tok)
            i += 1
            continue
        if eq:
            value, i = inline, i + 1
        elif i + 1 < len(head):
            value, i = head[i + 1], i + 2
        else:
            raise UsageError(f"{name} needs a value")
        if name == "--phy":
            opts.phys.append(value)
        elif name == "--pci":
            opts.pcis.append(value)
        elif name == "--rings":
            opts.rings = _int(value, "--rings")
        elif name == "--ctl":
            opts.ctl = value
        elif name == "--xdp-prog":
            opts.xdp_prog = Path(value)
        elif name == "--xdp-mode":
            if value not in ("all", "registered"):
                raise UsageError(f"--xdp-mode must be 'all' or 'registered', not '{value}'")
            opts.xdp_mode = value
        elif name == "--mbufs":
            opts.mbufs = _int(value, "--mbufs")

    j = 0
    while j < len(app):
        tok = app[j]
        if tok in ("-p", "-n", "-s") and j + 1 < len(app):
            value = app[j + 1]
            if tok == "-p":
                mask = _int(value, "portmask", 0 if value.lower().startswith("0x") else 16)
                if mask <= 0:
                    raise UsageError(f"portmask '{value}' selects no port")
                opts.portmask = mask
            elif tok == "-n":
                if opts.rings is None:
                    opts.rings = _int(value, "number of rings")
            else:
                opts.ctl = value
            j += 2
        elif tok == "-s":
            j += 1  # upstream recipes write `-s` alone: keep the default controller
        else:
            raise UsageError(
                f"unknown primary option '{tok}' (after --: -p PORTMASK -n RINGS -s IP:PORT)")
    if opts.rings is None:
        opts.rings = 10
    if not 1 <= opts.rings <= 64:
        raise UsageError(f"number of rings must be between 1 and 64, not {opts.rings}")
    if opts.mbufs < 1024:
        raise UsageError(f"--mbufs {opts.mbufs} is too small (at least 1024)")
    return opts


def vdev_for_phy(index: int, iface: str, xdp_prog: Path | None) -> str:
    args = f"net_af_xdp{index},iface={iface},start_queue=0,queue_count=1,busy_budget=0"
    if xdp_prog is not None:
        args += f",xdp_prog={xdp_prog}"
    return args


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


def _mac(raw: Any) -> str:
    return ":".join(f"{b:02x}" for b in bytes(raw))


def _steering(file_prefix: str) -> Any:
    from spp.xdp import XdpSteering, instance_dir

    return XdpSteering(instance_dir(file_prefix))


def check_xdp_free(opts: PrimaryOptions, file_prefix: str) -> None:
    """Refuse a phy interface another SPP instance (or another tool) runs XDP on.

    A steering program that no live primary owns (left by a crash) is removed,
    as the af_xdp PMD would otherwise refuse to attach ours.
    """
    if opts.xdp_prog is None:
        return
    from spp.xdp import pins
    from spp.xdp.errors import XdpError

    for iface in opts.phys:
        try:
            prog_id = pins.attached_prog_id(iface)
            if prog_id == 0:
                continue
            name = pins.prog_name(prog_id)
        except XdpError as exc:
            raise UsageError(str(exc)) from None
        if name != pins.PROG_NAME:
            raise UsageError(f"interface '{iface}' runs XDP program '{name}' (id {prog_id}) "
                             "of another tool: refusing to replace it")
        owners = [o for o in pins.instances_with_port(iface)
                  if o != file_prefix and ealmod.primary_lock_holder(o)]
        if owners:
            raise UsageError(f"interface '{iface}' is a phy port of SPP instance "
                             f"'{owners[0]}' (file prefix), which is running")
        log.warning("removing a stale XDP program (id %d) from %s", prog_id, iface)
        _detach_xdp([iface])


class Primary:
    """The primary's native state and the commands the controller relays to it."""

    def __init__(self, opts: PrimaryOptions, ealargs: ealmod.EalArgs) -> None:
        self.opts = opts
        self.ealargs = ealargs
        self.ffi, self.lib = load()
        self.patches: list[tuple[str, str]] = []
        self.forwarding = False
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self.stop: asyncio.Event | None = None
        self.started = False
        self._steer: Any = None
        self.xdp_errors: dict[str, str] = {}  # iface -> why its steering is unavailable

    def _check(self, ret: int) -> int:
        return check(ret, self.ffi, self.lib)

    # ---- life cycle -------------------------------------------------
    def start(self) -> None:
        eal_init(self.ffi, self.lib, "spp-primary", self.ealargs.args)
        self.started = True
        mask = self.opts.portmask if self.opts.portmask is not None else ALL_PORTS
        self._check(self.lib.spp_primary_setup(self.opts.rings, mask, self.opts.mbufs))
        self._check(self.lib.spp_primary_run(self.ealargs.worker_lcores[0]))
        self._pin_xdp_maps()
        self._apply_xdp_mode()

    def _pin_xdp_maps(self) -> None:
        """Pin each port's steering maps under this instance's directory (spp.xdp.pins)."""
        if self.opts.xdp_prog is None or not self.opts.phys:
            return
        from spp.xdp import instance_dir, pin_port_maps

        root = instance_dir(self.ealargs.file_prefix)
        for iface in self.opts.phys:
            try:
                pin_port_maps(iface, root / iface)
            except Exception as exc:  # steering is optional in mode all
                self.xdp_errors[iface] = f"XDP maps not pinned: {exc}"
                if self.opts.xdp_mode != "all":
                    raise NativeError(f"cannot steer {iface} in mode {self.opts.xdp_mode}: "
                                      f"{exc}") from None
                log.warning("%s: XDP steering maps not pinned (mode all works without "
                            "them): %s", iface, exc)

    def _apply_xdp_mode(self) -> None:
        if self.opts.xdp_prog is None or not self.opts.phys:
            return
        try:
            steer = _steering(self.ealargs.file_prefix)
            for iface in self.opts.phys:
                if iface not in self.xdp_errors:
                    steer.set_mode(iface, self.opts.xdp_mode, self.opts.xdp_drop)
            steer.close()
        except Exception as exc:  # steering is optional; forwarding works without it
            if self.opts.xdp_mode != "all":
                raise NativeError(f"cannot set XDP mode {self.opts.xdp_mode}: {exc}") from None
            log.warning("XDP steering maps not reachable: %s", exc)

    def shutdown(self) -> None:
        if not self.started:
            return
        self.lib.spp_primary_shutdown()
        if self._steer is not None:
            self._steer.close()
        if self.opts.xdp_prog is not None and self.opts.phys:
            try:
                from spp.xdp import remove_instance

                remove_instance(self.ealargs.file_prefix)  # ours only: other instances stay
            except Exception as exc:
                log.warning("could not unpin XDP maps: %s", exc)
            _detach_xdp(self.opts.phys)
        self.lib.spp_eal_cleanup()
        ealmod.remove_hugepage_files(self.ealargs.file_prefix)
        self.started = False

    # ---- commands ---------------------------------------------------
    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        handlers = {
            "status": lambda a: self.status(),
            "clear": lambda a: self._check(self.lib.spp_primary_clear_stats()) and None,
            "ports": self.cmd_ports,
            "patch": self.cmd_patch,
            "patch_reset": self.cmd_patch_reset,
            "forward": lambda a: self.cmd_forward(True),
            "stop": lambda a: self.cmd_forward(False),
            "launch": self.cmd_launch,
            "exit": self.cmd_exit,
        }
        fn = handlers.get(cmd)
        if fn is None:
            raise CommandError(f"unknown primary command '{cmd}'")
        try:
            return fn(args)
        except NativeError as exc:
            raise CommandError(str(exc)) from None
        except ResourceError as exc:
            raise CommandError(str(exc)) from None

    def status(self) -> dict[str, Any]:
        info = self.ffi.new("struct spp_dev_info *")
        rinfo = self.ffi.new("struct spp_ring_info *")
        phy_ports = []
        for i in range(self.lib.spp_primary_nb_phy()):
            if self.lib.spp_primary_phy_info(i, info) < 0:
                continue
            phy_ports.append(self._dev_json(info))
        vhost_ports = []
        for i in range(32):
            if self.lib.spp_primary_vhost_info(i, info) == 0:
                vhost_ports.append(self._dev_json(info))
        ring_ports = []
        for i in range(64):
            if self.lib.spp_primary_ring_info(i, rinfo) == 0:
                ring_ports.append({
                    "id": rinfo.id, "rx": rinfo.rx, "rx_drop": rinfo.rx_drop,
                    "tx": rinfo.tx, "tx_drop": rinfo.tx_drop,
                    "size": rinfo.size, "count": rinfo.count,
                })
        return {
            "lcores": self.ealargs.lcores,
            "phy_ports": phy_ports,
            "ring_ports": ring_ports,
            "vhost_ports": vhost_ports,
            "patches": [{"src": s, "dst": d} for s, d in self.patches],
            "forwarding": self.forwarding,
            "xdp": self._xdp_status(),
            **cycles.cycle_fields(self.ffi, self.lib, self.ealargs.worker_lcores),
        }

    def _dev_json(self, info: Any) -> dict[str, Any]:
        return {
            "id": info.id, "rx": info.rx, "tx": info.tx, "tx_drop": info.tx_drop,
            "rx_drop": info.rx_drop, "eth": _mac(info.mac),
            "iface": self.ffi.string(info.name).decode(),
            "driver": self.ffi.string(info.driver).decode(),
            "mode": "bridged" if info.kind == 1 else "direct",
            "link": "up" if info.link_up else "down",
            "promiscuous": bool(info.promiscuous),
        }

    def _xdp_status(self) -> dict[str, Any]:
        """Per phy interface: steering mode and verdict counters, or why they are missing."""
        if self.opts.xdp_prog is None or not self.opts.phys:
            return {}
        out: dict[str, Any] = {}
        for ifc in self.opts.phys:
            if ifc in self.xdp_errors:
                out[ifc] = {"error": self.xdp_errors[ifc]}
                continue
            try:
                if self._steer is None:
                    self._steer = _steering(self.ealargs.file_prefix)
                mode = self._steer.get_mode(ifc)
                out[ifc] = {**self._steer.counters(ifc), "mode": mode.mode,
                            "drop_unknown": mode.drop_unknown}
            except Exception as exc:
                out[ifc] = {"error": f"XDP steering maps not readable: {exc}"}
        return out

    def cmd_ports(self, args: dict[str, Any]) -> None:
        uid = parse_uid(str(args.get("port", "")))
        action = args.get("action")
        if action == "add":
            if uid.kind == "ring":
                self._check(self.lib.spp_primary_add_ring(uid.id))
            elif uid.kind == "vhost":
                self._check(self.lib.spp_primary_add_vhost(uid.id, 0))
            else:
                raise CommandError("phy ports are given when the primary starts (--phy, --pci)")
        elif action == "del":
            raise CommandError(f"deleting {uid} is not supported while secondaries may use it")
        else:
            raise CommandError(f"unknown action '{action}' (add, del)")

    def cmd_patch(self, args: dict[str, Any]) -> None:
        src, dst = parse_uid(str(args.get("src", ""))), parse_uid(str(args.get("dst", "")))
        self._check(self.lib.spp_primary_patch(src.type_code, src.id, dst.type_code, dst.id))
        self.patches = [(s, d) for s, d in self.patches if s != str(src)] + [(str(src), str(dst))]

    def cmd_patch_reset(self, args: dict[str, Any]) -> None:
        self._check(self.lib.spp_primary_patch_reset())
        self.patches = []

    def cmd_forward(self, on: bool) -> None:
        self._check(self.lib.spp_primary_set_forwarding(1 if on else 0))
        self.forwarding = on

    def cmd_launch(self, args: dict[str, Any]) -> None:
        proc = args.get("proc_name")
        if proc not in ("spp_vf", "vf"):
            raise CommandError(f"cannot launch '{proc}': this primary launches spp_vf only")
        try:
            cid = int(args.get("client_id"))
        except (TypeError, ValueError):
            raise CommandError("client_id must be an integer") from None
        eal = args.get("eal") or {}
        app = args.get("app") or {}
        if not isinstance(eal, dict) or not isinstance(app, dict):
            raise CommandError("eal and app must be objects of option: value")
        argv = _opts_to_argv(eal) + ["--"] + _opts_to_argv(app)
        if "--client-id" not in app:
            argv += ["--client-id", str(cid)]
        instance = self.ealargs.file_prefix
        log_file = rundir.log_path(f"vf{cid}", instance)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        logf = log_file.open("ab")
        child = subprocess.Popen(
            [sys.executable, "-m", "spp.cli.main", "vf", *argv],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        logf.close()
        rundir.write_pid(rundir.pid_path(f"vf{cid}", instance), child.pid)
        self.children[cid] = child
        log.info("launched spp_vf %d (pid %d): %s", cid, child.pid, " ".join(argv))

    def cmd_exit(self, args: dict[str, Any]) -> None:
        if self.stop is not None:
            asyncio.get_running_loop().call_later(0.1, self.stop.set)


def _opts_to_argv(opts: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in opts.items():
        key = str(key)
        if not key.startswith("-"):
            raise CommandError(f"option '{key}' must start with '-'")
        if value in (None, "", True):
            out.append(key)
        else:
            out += [key, str(value)]
    return out


def _detach_xdp(ifaces: list[str]) -> None:
    """Make sure no XDP program stays on interfaces we opened (the PMD normally removes it)."""
    for iface in ifaces:
        subprocess.run(["ip", "link", "set", "dev", iface, "xdp", "off"],
                       capture_output=True, check=False)


async def _serve(primary: Primary) -> None:
    primary.stop = asyncio.Event()
    await serve_controller(primary.opts.ctl, 5555, {"type": "primary"}, primary.handle,
                           primary.stop)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="spp-primary: %(message)s")
    try:
        opts = parse_args(argv)
        check_interfaces(opts)
        ealmod.check_hugepages()
        extra: list[str] = []
        for i, iface in enumerate(opts.phys):
            extra += ["--vdev", vdev_for_phy(i, iface, opts.xdp_prog)]
        for bdf in opts.pcis:
            extra += ["-a", bdf]
        ealargs = ealmod.build_eal_args(
            opts.eal, proc_type="primary", default_lcores=[0, 1], extra=extra,
            memory_mb=DEFAULT_MEMORY_MB,
        )
        if ealmod.primary_lock_holder(ealargs.file_prefix):
            raise UsageError(
                f"another primary is already running with file prefix '{ealargs.file_prefix}'"
            )
        check_xdp_free(opts, ealargs.file_prefix)
        primary = Primary(opts, ealargs)
    except (UsageError, ealmod.EalError, ValueError, NativeError) as exc:
        print(f"spp primary: {exc}", file=sys.stderr)
        return 2
    try:
        primary.start()
        log.info("ready: %d phy, %d rings, lcores %s; controller %s",
                 primary.lib.spp_primary_nb_phy(), primary.lib.spp_primary_nb_rings(),
                 ealargs.lcores, opts.ctl)
        with rundir.pid_file(rundir.pid_path("primary", ealargs.file_prefix)):
            asyncio.run(_serve(primary))
        return 0
    except Rejected as exc:
        print(f"spp primary: controller refused this primary: {exc}", file=sys.stderr)
        return 1
    except NativeError as exc:
        print(f"spp primary: {exc}", file=sys.stderr)
        return 1
    finally:
        primary.shutdown()
