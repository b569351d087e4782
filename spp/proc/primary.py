"""`spp primary`: the DPDK primary process.

Two ways to say the same thing:

    spp primary -l 0,1 -n 4 --vdev net_af_xdp0,iface=spp-p0 -- -p 0x1 -n 10 -s 127.0.0.1:5555
    spp primary start --phy spp-p0 --phy spp-p1 --rings 10 --ctl 127.0.0.1:5555

Each `--phy IFACE` becomes an af_xdp port that loads our XDP steering
program; `--pci BDF` allows one real NIC for DPDK's physical PMDs. The main
lcore runs this Python control loop; the worker lcores (all of them, or the
first `--bridge-lcores N`) run the C bridge/patch loop, the devices spread
over them round robin.

The mbuf pool is sized from the ports and rings given (`--mbufs N` sets it
instead, and may then run out), with room for `--vhost-ports N` vhost ports
(default 4) created later; `--bridge-ring-size N` sets the depth of each
device's ring pair (default 8192).
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
from spp.resources import (
    LAUNCH_PROC_NAMES,
    ResourceError,
    check_client_id,
    check_launch_opts,
    format_mac,
    opts_to_argv,
    parse_uid,
)

log = logging.getLogger("spp.primary")

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_XDP_PROG = ROOT / "build" / "bpf" / "xdp_steer.o"
DEFAULT_MEMORY_MB = 512
DEFAULT_BRIDGE_RING = 8192
DEFAULT_VHOST_PORTS = 4
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
    mbufs: int = 0  # 0: sized from the ports and rings
    bridge_ring_size: int = DEFAULT_BRIDGE_RING
    vhost_ports: int = DEFAULT_VHOST_PORTS
    bridge_lcores: int | None = None  # None: every worker lcore
    eal: list[str] = field(default_factory=list)


FRIENDLY_VALUED = {"--phy", "--pci", "--rings", "--ctl", "--xdp-prog", "--xdp-mode", "--mbufs",
                   "--bridge-ring-size", "--vhost-ports", "--bridge-lcores"}
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
        elif name == "--bridge-ring-size":
            opts.bridge_ring_size = _int(value, "--bridge-ring-size")
        elif name == "--vhost-ports":
            opts.vhost_ports = _int(value, "--vhost-ports")
        elif name == "--bridge-lcores":
            opts.bridge_lcores = _int(value, "--bridge-lcores")

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
    if opts.mbufs and opts.mbufs < 1024:
        raise UsageError(f"--mbufs {opts.mbufs} is too small (at least 1024)")
    size = opts.bridge_ring_size
    if not 64 <= size <= 1 << 20 or size & (size - 1):
        raise UsageError(f"--bridge-ring-size {size} is not a power of two between 64 and "
                         f"{1 << 20}")
    if not 0 <= opts.vhost_ports <= 32:
        raise UsageError(f"--vhost-ports must be between 0 and 32, not {opts.vhost_ports}")
    if opts.bridge_lcores is not None and not 1 <= opts.bridge_lcores <= 16:
        raise UsageError(f"--bridge-lcores must be between 1 and 16, not {opts.bridge_lcores}")
    return opts


def bridge_lcores(opts: PrimaryOptions, workers: list[int]) -> list[int]:
    """The worker lcores that bridge devices: all, or the first --bridge-lcores."""
    if opts.bridge_lcores is None:
        return workers[:16]
    if opts.bridge_lcores > len(workers):
        raise UsageError(f"--bridge-lcores {opts.bridge_lcores} needs as many worker lcores, "
                         f"but -l gives {len(workers)} ({','.join(map(str, workers))})")
    return workers[:opts.bridge_lcores]


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


def _steering(file_prefix: str) -> Any:
    from spp.xdp import XdpSteering, instance_dir

    return XdpSteering(instance_dir(file_prefix))


DEV_STATS = ("ipackets", "opackets", "ibytes", "obytes", "imissed", "ierrors", "oerrors",
             "rx_nombuf")
XSK_STATS = ("rx_dropped", "rx_invalid_descs", "tx_invalid_descs", "rx_ring_full",
             "rx_fill_ring_empty_descs", "tx_ring_empty_descs")


NETDEV_STATS = ("rx_packets", "rx_bytes", "rx_dropped", "rx_errors", "rx_nohandler",
                "tx_packets", "tx_bytes", "tx_dropped", "tx_errors")


def _netdev_stats(iface: str) -> dict[str, int]:
    """The kernel's own counters of an af_xdp port's interface (what it dropped around XDP)."""
    base = Path("/sys/class/net") / iface / "statistics"
    out = {}
    for key in NETDEV_STATS:
        try:
            out[key] = int((base / key).read_text())
        except (OSError, ValueError):
            continue
    return out


def _owner(pid: int, client_id: int) -> dict[str, int] | None:
    """Who holds a port's or ring's reading or writing side (client 0: the primary)."""
    return {"pid": pid, "client_id": client_id} if pid else None


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
        self.log_offsets: dict[int, int] = {}
        self.stop: asyncio.Event | None = None
        self.started = False
        self._steer: Any = None
        self.bridge_lcores = bridge_lcores(opts, ealargs.worker_lcores)
        self.xdp_errors: dict[str, str] = {}  # iface -> why its steering is unavailable

    def _check(self, ret: int) -> int:
        return check(ret, self.ffi, self.lib)

    # ---- life cycle -------------------------------------------------
    def start(self) -> None:
        eal_init(self.ffi, self.lib, "spp-primary", self.ealargs.args)
        self.started = True
        mask = self.opts.portmask if self.opts.portmask is not None else ALL_PORTS
        self._check(self.lib.spp_primary_configure(self.opts.bridge_ring_size,
                                                   self.opts.vhost_ports))
        self._check(self.lib.spp_primary_setup(self.opts.rings, mask, self.opts.mbufs))
        lcores = self.bridge_lcores
        self._check(self.lib.spp_primary_start(self.ffi.new("unsigned[]", lcores), len(lcores)))
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
                    "size": rinfo.size, "count": rinfo.count, "drained": rinfo.drained,
                    "reader": _owner(rinfo.reader_pid, rinfo.reader_client),
                    "writer": _owner(rinfo.writer_pid, rinfo.writer_client),
                })
        patches = [{"src": s, "dst": d} for s, d in self.patches]
        ports = ([f"phy:{p['id']}" for p in phy_ports] + [f"ring:{r['id']}" for r in ring_ports]
                 + [f"vhost:{v['id']}" for v in vhost_ports])
        return {
            "master-lcore": self.ealargs.main_lcore,
            "lcores": self.ealargs.lcores,
            "bridge_lcores": list(self.bridge_lcores),
            "mbuf_pool": self._pool_json(),
            "phy_ports": phy_ports,
            "ring_ports": ring_ports,
            "vhost_ports": vhost_ports,
            # upstream's newer shape: the forwarder thread (our bridge + patch lcore)
            "forwarder": {"status": "running" if self.forwarding else "idling",
                          "ports": ports, "patches": patches},
            "patches": patches,
            "forwarding": self.forwarding,
            "xdp": self._xdp_status(),
            "launched": self.launched(),
            **cycles.cycle_fields(self.ffi, self.lib, self.ealargs.worker_lcores),
        }

    def _dev_json(self, info: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": info.id, "rx": info.rx, "tx": info.tx, "tx_drop": info.tx_drop,
            "rx_drop": info.rx_drop, "rx_no_reader": info.rx_no_reader,
            "drained": info.drained, "rx_queued": info.rx_queued,
            "tx_queued": info.tx_queued, "eth": format_mac(bytes(info.mac)),
            "iface": self.ffi.string(info.name).decode(),
            "driver": self.ffi.string(info.driver).decode(),
            "nof_queues": {"rx": max(1, info.nb_queues), "tx": max(1, info.nb_queues)},
            "mode": "bridged" if info.kind == 1 else "direct",
            "link": "up" if info.link_up else "down",
            "promiscuous": bool(info.promiscuous),
            "lcore": None if info.lcore == 0xFFFF else info.lcore,
            "reader": _owner(info.reader_pid, info.reader_client),
            "writer": _owner(info.writer_pid, info.writer_client),
        }
        if info.has_stats:
            out["stats"] = {k: getattr(info.stats, k) for k in DEV_STATS}
        if info.has_xsk:
            out["xdp_socket"] = {k: getattr(info.xsk, k) for k in XSK_STATS}
            netdev = _netdev_stats(out["iface"])
            if netdev:
                out["netdev"] = netdev
        return out

    def _pool_json(self) -> dict[str, Any]:
        pool = self.ffi.new("struct spp_pool_info *")
        if self.lib.spp_primary_pool_info(pool) != 0:
            return {}
        return {"name": self.ffi.string(pool.name).decode(), "size": pool.size,
                "in_use": pool.in_use, "available": pool.available,
                "reserved": pool.reserved, "outside_umem": pool.outside_umem,
                "lost": pool.lost}

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
        """Start spp_vf CLIENT_ID in the background (upstream's `launch`).

        Its output goes to <run dir>/<prefix>/vfN.log; status `launched` then
        tells whether it runs and, once it has exited, its own last word.
        """
        proc = args.get("proc_name")
        if proc not in LAUNCH_PROC_NAMES:
            raise CommandError(f"cannot launch '{str(proc)[:40]}': this primary launches "
                               "spp_vf only")
        cid = check_client_id(args.get("client_id"))
        eal = check_launch_opts(args.get("eal") or {}, "eal")
        app = check_launch_opts(args.get("app") or {}, "app")
        if app.get("--client-id") not in (None, str(cid)):
            raise CommandError(f"app option --client-id {app['--client-id']} differs from "
                               f"client_id {cid}")
        app["--client-id"] = str(cid)
        child = self.children.get(cid)
        if child is not None and child.poll() is None:
            raise CommandError(f"vf {cid} launched earlier still runs (pid {child.pid})")
        argv = opts_to_argv(eal) + ["--"] + opts_to_argv(app)
        instance = self.ealargs.file_prefix
        log_file = rundir.log_path(f"vf{cid}", instance)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("ab") as logf:
            self.log_offsets[cid] = logf.tell()
            child = subprocess.Popen(
                [sys.executable, "-m", "spp.cli.main", "vf", *argv],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.children[cid] = child
        log.info("launched spp_vf %d (pid %d): %s", cid, child.pid, " ".join(argv))

    def launched(self) -> list[dict[str, Any]]:
        """Every spp_vf this primary launched: running, or its exit code and reason."""
        out = []
        for cid, child in sorted(self.children.items()):
            code = child.poll()
            entry: dict[str, Any] = {"client_id": cid, "pid": child.pid,
                                     "running": code is None}
            if code is not None:
                entry["exit_code"] = code
                entry["reason"] = self._last_word(cid)
            out.append(entry)
        return out

    def _last_word(self, cid: int) -> str:
        """The launched process's one-line reason: its last `spp vf:` line of this run."""
        path = rundir.log_path(f"vf{cid}", self.ealargs.file_prefix)
        try:
            with path.open("rb") as fh:
                fh.seek(self.log_offsets.get(cid, 0))
                text = fh.read(1 << 20).decode(errors="replace")
        except OSError:
            return ""
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        ours = [ln for ln in lines if ln.startswith("spp vf:")]
        return ((ours or lines or [""])[-1])[:300]

    def cmd_exit(self, args: dict[str, Any]) -> None:
        if self.stop is not None:
            asyncio.get_running_loop().call_later(0.1, self.stop.set)


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
    except (NativeError, rundir.PidFileBusy) as exc:
        print(f"spp primary: {exc}", file=sys.stderr)
        return 1
    finally:
        primary.shutdown()
