"""`spp mirror`: the spp_mirror secondary process (port mirroring).

    spp mirror -l 2-4 -n 4 --proc-type=secondary -- --client-id 1 -s IP:PORT [--vhost-client]
    spp mirror start --client-id 1 --ctl IP:PORT -l 2-4

spp_mirror is spp_vf with one component type, `mirror`: one rx port and two
tx ports, every frame received leaves on both. The first lcore of `-l` is
the master (this Python control loop), the others worker lcores running the
mirror components in C (native/src/mirror/ on the component host of spp_vf,
native/src/secondary/host.c).
Commands, their transactions and their errors are spp_vf's
(spp.proc.vf_model): `component_start` / `component_stop`, `port`
(attach/detach, rx/tx), `status`, `exit`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from spp.errors import Refused
from spp.native import check, eal_init
from spp.proc import eal as ealmod
from spp.proc import skeleton
from spp.proc.vf import Vf
from spp.proc.vf_dataplane import NativeDataPlane
from spp.proc.vf_model import VfModel

log = logging.getLogger("spp.mirror")

APP_USAGE = "--client-id N -s IP:PORT [--vhost-client]"
COMMANDS = ("status", "component_start", "component_stop", "port", "exit")

MirrorOptions = skeleton.SecondaryOptions
OPTIONS: skeleton.Table = skeleton.secondary_options()


def parse_args(argv: list[str]) -> MirrorOptions:
    """EAL options (and the friendly --client-id, --ctl) before `--`, upstream's after it."""
    opts = MirrorOptions()
    skeleton.parse_secondary(argv, OPTIONS, opts, "spp_mirror", APP_USAGE)
    return opts


class MirrorModel(VfModel):
    """spp_vf's model with the one type `mirror` (1 rx, 2 tx) and no classifier table."""

    roles = {"mirror": "mirror"}
    role_limits: dict[str, tuple[int | None, int | None]] = {"mirror": (1, 2)}
    types_text = "mirror"

    def status(self) -> dict[str, Any]:
        """Upstream's document: ports are `{"port": UID}` (a VLAN operation, if any, added);
        a mirror short of ports says in `waiting` why it forwards nothing yet."""
        out = super().status()
        del out["classifier_table"]
        rx_need, tx_need = self.role_limits["mirror"]
        for comp in out["components"]:
            for key in ("rx_port", "tx_port"):
                for port in comp.get(key, []):
                    if port.get("vlan", {}).get("operation") == "none":
                        del port["vlan"]
            if comp.get("type") != "mirror":
                continue
            rx, tx = len(comp.get("rx_port", [])), len(comp.get("tx_port", []))
            if (rx, tx) != (rx_need, tx_need):
                comp["waiting"] = (f"forwards nothing until it has {rx_need} rx and {tx_need} "
                                   f"tx ports (has {rx} rx, {tx} tx)")
        return out


class Mirror(Vf):
    """spp_mirror: its mirror components on the worker lcores and the commands that change them."""

    def __init__(self, opts: MirrorOptions, ealargs: ealmod.EalArgs) -> None:
        super().__init__(opts, ealargs)
        self.hello = {"type": "mirror", "client_id": opts.client_id}
        self.pid_name = f"mirror{opts.client_id}"
        self.dp = NativeDataPlane(self.ffi, self.lib, self.client_id, ealargs.file_prefix,
                                  proc_name="spp_mirror")

    def start(self) -> None:
        eal_init(self.ffi, self.lib, "spp-mirror", self.ealargs.args)
        self.started = True
        check(self.lib.spp_mirror_attach(self.client_id, int(self.opts.vhost_client)),
              self.ffi, self.lib)
        check(self.lib.spp_vf_start_workers(), self.ffi, self.lib)
        self.model = MirrorModel(self.client_id, self.ealargs.main_lcore,
                                 self.ealargs.worker_lcores, self.lib.spp_primary_nb_phy(),
                                 self.dp)

    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        assert self.model is not None
        m = self.model
        handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "status": lambda a: self.status(),
            "component_start": m.component_start,
            "component_stop": m.component_stop,
            "port": m.port,
            "exit": lambda a: skeleton.request_exit(self),
        }
        fn = handlers.get(cmd)
        if fn is None:
            raise Refused(f"unknown mirror command '{cmd}'")
        return fn(args)

    def status(self) -> dict[str, Any]:
        out = super().status()
        out.pop("xdp_steering", None)  # spp_mirror has no classifier, so steers nothing
        out.pop("xdp_fastpath", None)  # nor XDP chains: its copies are userspace's
        for comp in out["components"]:
            comp.pop("datapath", None)
        return out


def prepare(argv: list[str]) -> Mirror:
    """Everything that can be checked before DPDK starts, then the process."""
    opts = parse_args(argv)
    return Mirror(opts, skeleton.secondary_eal_args(opts.eal, [2, 3]))


def main(argv: list[str]) -> int:
    return skeleton.run("spp mirror", lambda: prepare(argv))
