"""`spp vf`: the spp_vf secondary process.

    spp vf -l 2-6 -n 4 --proc-type=secondary -- --client-id 1 -s 127.0.0.1:6666 [--vhost-client]
    spp vf start --client-id 1 --ctl 127.0.0.1:6666 -l 2-6

The first lcore of `-l` is the master (this Python control loop), the
others are worker lcores running C components.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from dataclasses import dataclass, field
from typing import Any

from spp import rundir
from spp.native import NativeError, check, eal_init, load
from spp.proc import cycles, faults
from spp.proc import eal as ealmod
from spp.proc.agent import CommandError, Rejected, serve_controller
from spp.proc.vf_model import Component, TableEntry, VfModel
from spp.resources import ResourceError, Uid, check_client_id, format_mac

log = logging.getLogger("spp.vf")

COMP_TYPES = {"forward": 1, "merge": 2, "classifier": 3}
VLAN_OPS = {"none": 0, "add": 1, "del": 2}


class UsageError(ValueError):
    pass


@dataclass
class VfOptions:
    client_id: int | None = None
    ctl: str = "127.0.0.1:6666"
    vhost_client: bool = False
    eal: list[str] = field(default_factory=list)


def parse_args(argv: list[str]) -> VfOptions:
    if argv and argv[0] == "start":
        argv = argv[1:]
    head, app = ealmod.split_app_args(argv)
    opts = VfOptions()
    tokens = [("head", t) for t in head] + [("app", t) for t in app]
    i = 0
    while i < len(tokens):
        part, tok = tokens[i]
        name, eq, inline = tok.partition("=")
        if name in ("--client-id", "--ctl") or (part == "app" and name == "-s"):
            if eq:
                value, i = inline, i + 1
            elif i + 1 < len(tokens) and not tokens[i + 1][1].startswith("-"):
                value, i = tokens[i + 1][1], i + 2
            elif name == "-s":
                i += 1  # bare `-s` as in the seeds: default controller
                continue
            else:
                raise UsageError(f"{name} needs a value")
            if name == "--client-id":
                try:
                    opts.client_id = check_client_id(value)
                except ResourceError as exc:
                    raise UsageError(f"--client-id: {exc}") from None
            else:
                opts.ctl = value
            continue
        if name == "--vhost-client":
            opts.vhost_client = True
        elif part == "head":
            if name in ("-m", "--socket-mem"):  # memory belongs to the primary
                i += 1 if eq else 2
                continue
            opts.eal.append(tok)
        else:
            raise UsageError(f"unknown spp_vf option '{tok}' "
                             "(after --: --client-id N -s IP:PORT [--vhost-client])")
        i += 1
    if opts.client_id is None:
        raise UsageError("--client-id is required")
    return opts


COUNTERS = ("rx", "tx", "drop_no_entry", "drop_tx_full", "drop_bad_frame", "drop_nomem")
CLASSIFIER_COUNTERS = (("hit", "hit"), ("flood", "flood"), ("default", "to_default"))


class NativeDataPlane:
    """The VfModel's view of the C core and of the XDP steering map.

    Every step raises on failure (NativeError, or XdpError from the map) so
    that the model rolls the command back. `SPP_FAULT_FILE` (tests only) names
    a file; when it holds the name of a step, that step fails once instead of
    running (see spp.proc.faults).
    """

    def __init__(self, ffi: Any, lib: Any, client_id: int = 1,
                 file_prefix: str = ealmod.DEFAULT_FILE_PREFIX) -> None:
        self.ffi, self.lib = ffi, lib
        self.client_id = client_id
        self.file_prefix = file_prefix
        self._steer: Any = None
        self._phy_iface: dict[int, str] = {}
        self._claims: dict[int, dict[int, bytes]] = {}  # slot -> rx handle -> owner text
        self.steer_failures = 0
        self.steer_error: str | None = None

    def _check(self, ret: int) -> int:
        return check(ret, self.ffi, self.lib)

    def open_port(self, uid: Uid, queue: int) -> int:
        faults.hit("open_port")
        return self._check(self.lib.spp_vf_port_open(uid.type_code, uid.id, queue))

    def close_port(self, handle: int) -> None:
        faults.hit("close_port")
        self._check(self.lib.spp_vf_port_close(handle))

    def _claim_rx(self, slot: int, comp: Component) -> tuple[dict[int, bytes], list[int]]:
        """Claim the rx queues `comp` polls (directly polled devices only: claim.c).

        Returns the claims the component should hold and the handles newly
        claimed (released again by the caller if the update fails).
        """
        owner = f"component '{comp.name}' of spp_vf {self.client_id}".encode()
        held = self._claims.get(slot, {})
        want = {att.handle: owner for att in comp.rx}
        new = []
        try:
            for handle in want:
                if held.get(handle) == owner:
                    continue
                self._check(self.lib.spp_vf_rx_claim(handle, owner))
                new.append(handle)
        except NativeError:
            for handle in new:
                self.lib.spp_vf_rx_release(handle, owner)
            raise
        return want, new

    def _release_rx(self, claims: dict[int, bytes]) -> None:
        for handle, owner in claims.items():
            self.lib.spp_vf_rx_release(handle, owner)

    def update_component(self, slot: int, comp: Component, entries: list[TableEntry]) -> None:
        faults.hit("update_component")
        want, new = self._claim_rx(slot, comp)
        try:
            self._update_component(slot, comp, entries)
        except NativeError:
            self._release_rx({h: want[h] for h in new})
            raise
        held = self._claims.get(slot, {})
        self._release_rx({h: o for h, o in held.items() if want.get(h) != o})
        self._claims[slot] = want

    def _update_component(self, slot: int, comp: Component, entries: list[TableEntry]) -> None:
        spec = self.ffi.new("struct spp_comp_spec *")
        spec.type = COMP_TYPES[comp.role]
        for arr, atts, attr in ((spec.rx, comp.rx, "nb_rx"), (spec.tx, comp.tx, "nb_tx")):
            for i, att in enumerate(atts):
                arr[i].handle = att.handle
                arr[i].vlan_op = VLAN_OPS[att.vlan.operation]
                arr[i].vlan_id = att.vlan.id
                arr[i].vlan_pcp = att.vlan.pcp
            setattr(spec, attr, len(atts))
        tx_index = {att.ref: i for i, att in enumerate(comp.tx)}
        c_entries = self.ffi.new("struct spp_cls_entry[]", max(1, len(entries)))
        for i, e in enumerate(entries):
            c_entries[i].vlan = e.vlan
            c_entries[i].is_default = 1 if e.mac is None else 0
            if e.mac is not None:
                c_entries[i].mac = list(e.mac)
            c_entries[i].tx_index = tx_index[e.ref]
        self._check(self.lib.spp_vf_component_update(slot, spec, c_entries, len(entries)))

    def clear_component(self, slot: int) -> None:
        faults.hit("clear_component")
        self._check(self.lib.spp_vf_component_clear(slot))
        self._release_rx(self._claims.pop(slot, {}))

    def set_lcore(self, lcore: int, slots: list[int]) -> None:
        faults.hit("set_lcore")
        arr = self.ffi.new("uint16_t[]", slots or [0])
        self._check(self.lib.spp_vf_lcore_set(lcore, arr, len(slots)))

    def steer(self, rx: Uid, add: list[TableEntry], remove: list[TableEntry]) -> None:
        """Mirror classifier entries into the XDP steering map of an af_xdp phy port.

        Ports that are not af_xdp have no map: nothing to do. An af_xdp port
        whose maps cannot be found (a primary run with --no-xdp-prog, or pins
        removed) is a warning counted in status (`xdp_steering`): SPP still
        classifies every frame that reaches it, and in `registered` mode the
        kernel keeps unicast for a MAC missing from the map. A map that exists
        but refuses the update fails the step, with the entries already
        written taken back, so the command leaves everything as it was.
        """
        if rx.kind != "phy" or not any(e.mac is not None for e in [*add, *remove]):
            return
        iface = self._iface(rx.id)
        if iface is None:
            return
        faults.hit("steer")
        from spp.xdp import XdpMapsNotFound, XdpSteering, instance_dir

        if self._steer is None:
            try:
                self._steer = XdpSteering(instance_dir(self.file_prefix))
            except XdpMapsNotFound as exc:
                self._steer_unavailable(iface, exc)
                return
        done: list[tuple[str, TableEntry]] = []
        try:
            for e in remove:
                if e.mac is not None:
                    self._steer.del_mac(iface, format_mac(e.mac), e.vlan)
                    done.append(("del", e))
            for e in add:
                if e.mac is not None:
                    self._steer.add_mac(iface, format_mac(e.mac), e.vlan)
                    done.append(("add", e))
        except Exception as exc:
            for op, e in reversed(done):  # leave the map as it was
                assert e.mac is not None
                with contextlib.suppress(Exception):
                    if op == "add":
                        self._steer.del_mac(iface, format_mac(e.mac), e.vlan)
                    else:
                        self._steer.add_mac(iface, format_mac(e.mac), e.vlan)
            if isinstance(exc, XdpMapsNotFound):
                self._steer_unavailable(iface, exc)
                return
            raise

    def _steer_unavailable(self, iface: str, exc: Exception) -> None:
        self.steer_failures += 1
        self.steer_error = f"{iface}: {exc}"
        log.warning("XDP steering of %s not updated (in registered mode its unicast "
                    "stays with the kernel): %s", iface, exc)

    def _iface(self, phy: int) -> str | None:
        if phy not in self._phy_iface:
            info = self.ffi.new("struct spp_dev_info *")
            if self.lib.spp_primary_phy_info(phy, info) != 0:
                return None
            driver = self.ffi.string(info.driver).decode()
            if driver != "net_af_xdp":
                return None
            self._phy_iface[phy] = self.ffi.string(info.name).decode()
        return self._phy_iface.get(phy)

    def counters(self, model: VfModel) -> tuple[dict[str, dict[str, int]], dict[str, Any]]:
        comp_ctr = {}
        c = self.ffi.new("struct spp_comp_counters *")
        for comp in model.components.values():
            self.lib.spp_vf_component_counters(comp.slot, c)
            ctr = {name: int(getattr(c, name)) for name in COUNTERS}
            if comp.role == "classifier":
                ctr.update({key: int(getattr(c, field)) for key, field in CLASSIFIER_COUNTERS})
            comp_ctr[comp.name] = ctr
        port_ctr: dict[str, Any] = {}
        p = self.ffi.new("struct spp_port_counters *")
        for ref, opened in model.ports.items():
            self.lib.spp_vf_port_counters(opened.handle, p)
            port_ctr[str(ref)] = {"rx": p.rx, "tx": p.tx, "tx_drop": p.tx_drop}
        return comp_ctr, port_ctr


class Vf:
    def __init__(self, opts: VfOptions, ealargs: ealmod.EalArgs) -> None:
        self.opts = opts
        self.ealargs = ealargs
        self.ffi, self.lib = load()
        assert opts.client_id is not None
        self.dp = NativeDataPlane(self.ffi, self.lib, opts.client_id, ealargs.file_prefix)
        self.model: VfModel | None = None
        self.stop: asyncio.Event | None = None
        self.started = False

    def start(self) -> None:
        eal_init(self.ffi, self.lib, "spp-vf", self.ealargs.args)
        self.started = True
        assert self.opts.client_id is not None
        check(self.lib.spp_vf_attach(self.opts.client_id, int(self.opts.vhost_client)),
              self.ffi, self.lib)
        check(self.lib.spp_vf_start_workers(), self.ffi, self.lib)
        self.model = VfModel(self.opts.client_id, self.ealargs.main_lcore,
                             self.ealargs.worker_lcores, self.lib.spp_primary_nb_phy(), self.dp)

    def shutdown(self) -> None:
        if not self.started:
            return
        if self.model is not None:
            for name in list(self.model.components):
                try:
                    self.model.component_stop({"name": name})
                except Exception as exc:
                    log.warning("stopping %s: %s", name, exc)
        self.lib.spp_vf_detach()
        self.lib.spp_eal_cleanup()
        self.started = False

    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        assert self.model is not None
        m = self.model
        if cmd == "status":
            return self.status()
        if cmd == "component_start":
            return m.component_start(args)
        if cmd == "component_stop":
            return m.component_stop(args)
        if cmd == "port":
            return m.port(args)
        if cmd == "classifier_table":
            return m.classifier_table(args)
        if cmd == "exit":
            if self.stop is not None:
                asyncio.get_running_loop().call_later(0.1, self.stop.set)
            return None
        raise CommandError(f"unknown vf command '{cmd}'")

    def status(self) -> dict[str, Any]:
        assert self.model is not None
        out = self.model.status()
        comp_ctr, port_ctr = self.dp.counters(self.model)
        slots = {c.name: c.slot for c in self.model.components.values()}
        for comp in out["components"]:
            if "name" in comp:
                comp["counters"] = comp_ctr.get(comp["name"], {})
                if comp["name"] in slots:
                    comp["cycles"] = cycles.component_cycles(self.ffi, self.lib,
                                                             slots[comp["name"]])
        out["port_counters"] = port_ctr
        out["xdp_steering"] = {"failures": self.dp.steer_failures,
                               "last_error": self.dp.steer_error}
        out.update(cycles.cycle_fields(self.ffi, self.lib, self.ealargs.worker_lcores))
        return out


async def _serve(vf: Vf) -> None:
    vf.stop = asyncio.Event()

    def handle(cmd: str, args: dict[str, Any]) -> Any:
        try:
            return vf.handle(cmd, args)
        except NativeError as exc:
            raise CommandError(str(exc)) from None

    await serve_controller(vf.opts.ctl, 6666, {"type": "vf", "client_id": vf.opts.client_id},
                           handle, vf.stop)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="spp-vf: %(message)s")
    try:
        opts = parse_args(argv)
        ealmod.check_hugepages()
        ealargs = ealmod.build_eal_args(opts.eal, proc_type="secondary", default_lcores=[2, 3])
        if not ealmod.primary_lock_holder(ealargs.file_prefix):
            raise UsageError(f"no SPP primary is running with file prefix "
                             f"'{ealargs.file_prefix}': start `spp primary` first")
        vf = Vf(opts, ealargs)
    except (UsageError, ealmod.EalError, ValueError, NativeError) as exc:
        print(f"spp vf: {exc}", file=sys.stderr)
        return 2
    try:
        vf.start()
        log.info("client-id %d ready: master lcore %d, workers %s; controller %s",
                 opts.client_id, ealargs.main_lcore, ealargs.worker_lcores, opts.ctl)
        with rundir.pid_file(rundir.pid_path(f"vf{opts.client_id}", ealargs.file_prefix)):
            asyncio.run(_serve(vf))
        return 0
    except Rejected as exc:
        print(f"spp vf: controller refused this process: {exc}", file=sys.stderr)
        return 1
    except (NativeError, rundir.PidFileBusy) as exc:
        print(f"spp vf: {exc}", file=sys.stderr)
        return 1
    finally:
        vf.shutdown()
