"""`spp vf`: the spp_vf secondary process.

    spp vf -l 2-6 -n 4 --proc-type=secondary -- --client-id 1 -s IP:PORT [--vhost-client]
    spp vf start --client-id 1 --ctl IP:PORT -l 2-6

The first lcore of `-l` is the master (this Python control loop), the
others are worker lcores running C components.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from spp.defaults import SECONDARY_PORT
from spp.errors import Refused
from spp.native import check, eal_init, load
from spp.proc import cycles, skeleton
from spp.proc import eal as ealmod
from spp.proc.vf_dataplane import NativeDataPlane
from spp.proc.vf_model import VfModel
from spp.proc.vf_xdp import DPDK, VfFastPath, removals

log = logging.getLogger("spp.vf")

APP_USAGE = "--client-id N -s IP:PORT [--vhost-client]"
# the commands that change the chains (the XDP actions are synced after each)
MUTATING = ("component_start", "component_stop", "port", "classifier_table",
            "classifier_table_batch")


VfOptions = skeleton.SecondaryOptions
OPTIONS: skeleton.Table = skeleton.secondary_options()


def parse_args(argv: list[str]) -> VfOptions:
    """EAL options (and the friendly --client-id, --ctl) before `--`, upstream's after it."""
    opts = VfOptions()
    skeleton.parse_secondary(argv, OPTIONS, opts, "spp_vf", APP_USAGE)
    return opts


class Vf:
    """spp_vf: its components on the worker lcores and the commands that change them."""

    ctl_port = SECONDARY_PORT

    def __init__(self, opts: VfOptions, ealargs: ealmod.EalArgs) -> None:
        assert opts.client_id is not None
        self.opts = opts
        self.client_id = opts.client_id
        self.ealargs = ealargs
        self.ctl = opts.ctl
        self.file_prefix = ealargs.file_prefix
        self.hello = {"type": "vf", "client_id": opts.client_id}
        self.pid_name = f"vf{opts.client_id}"
        self.ffi, self.lib = load()
        self.dp = NativeDataPlane(self.ffi, self.lib, opts.client_id, ealargs.file_prefix)
        self.model: VfModel | None = None
        self.fast = VfFastPath(self.dp.phy_iface, self.dp.xdp_maps, self.dp.prepare_redirect,
                               attach=self.dp.xdp_attach)
        self.stop: asyncio.Event | None = None
        self.started = False

    def start(self) -> None:
        eal_init(self.ffi, self.lib, "spp-vf", self.ealargs.args)
        self.started = True
        check(self.lib.spp_vf_attach(self.client_id, int(self.opts.vhost_client)),
              self.ffi, self.lib)
        check(self.lib.spp_vf_start_workers(), self.ffi, self.lib)
        self.model = VfModel(self.client_id, self.ealargs.main_lcore,
                             self.ealargs.worker_lcores, self.lib.spp_primary_nb_phy(), self.dp)

    def ready(self) -> str:
        return (f"client-id {self.client_id} ready: master lcore {self.ealargs.main_lcore}, "
                f"workers {self.ealargs.worker_lcores}; controller {self.opts.ctl}")

    def shutdown(self) -> None:
        if not self.started:
            return
        self.fast.clear()  # frames go back to the socket before the components stop
        if self.model is not None:
            for name in list(self.model.components):
                try:
                    self.model.component_stop({"name": name})
                except Exception as exc:
                    log.warning("stopping %s: %s", name, exc)
        self.lib.spp_vf_detach()
        self.lib.spp_eal_cleanup()
        self.started = False

    def tick(self) -> None:
        """Periodically: follow the primary's offload switch (see VfFastPath.refresh)."""
        if self.model is not None:
            self.fast.refresh(self.model)

    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        assert self.model is not None
        m = self.model
        handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "status": lambda a: self.status(),
            "component_start": m.component_start,
            "component_stop": m.component_stop,
            "port": m.port,
            "classifier_table": m.classifier_table,
            "classifier_table_batch": m.classifier_table_batch,
            "exit": lambda a: skeleton.request_exit(self),
        }
        fn = handlers.get(cmd)
        if fn is None:
            raise Refused(f"unknown vf command '{cmd}'")
        if cmd not in MUTATING:
            return fn(args)
        touches = removals(cmd, args)
        if touches is not None:  # paths it may take away leave XDP first
            self.fast.retire(touches)
        try:
            return fn(args)
        finally:  # the XDP actions follow what the model now holds
            self.fast.sync(m)

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
        add_comp, add_port, datapath, fast = self.fast.report()
        for comp in out["components"]:
            if "name" in comp:
                ctr = comp["counters"]
                for key, n in add_comp.get(comp["name"], {}).items():
                    ctr[key] = ctr.get(key, 0) + n
                comp["datapath"] = datapath.get(comp["name"], DPDK)
        for ref, add in add_port.items():
            if ref in port_ctr:
                for key, n in add.items():
                    port_ctr[ref][key] += n
        out["port_counters"] = port_ctr
        out["xdp_fastpath"] = fast
        out["xdp_steering"] = {"failures": self.dp.steer_failures,
                               "last_error": self.dp.steer_error}
        out.update(cycles.cycle_fields(self.ffi, self.lib, self.ealargs.worker_lcores))
        return out


def prepare(argv: list[str]) -> Vf:
    """Everything that can be checked before DPDK starts, then the process."""
    opts = parse_args(argv)
    return Vf(opts, skeleton.secondary_eal_args(opts.eal, [2, 3]))


def main(argv: list[str]) -> int:
    return skeleton.run("spp vf", lambda: prepare(argv))
