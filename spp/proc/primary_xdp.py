"""The primary's XDP steering: the program on its phy interfaces and their pinned maps.

DPDK's af_xdp PMD loads `build/bpf/xdp_steer.o` on each `--phy` interface.
Before start the primary refuses an interface that another tool's program or
a running SPP instance's is on (and removes one a crashed primary left);
after start it pins each port's maps under its instance's directory and sets
the steering mode; at exit it turns the patch fast path off, removes the
XDP_PASS programs it put on veth peers, its pins, and makes sure no program
stays.

The patch fast path (spp.xdp.fastpath): while offload is on, a forwarded
`patch phy:A phy:B` between two steered ports is done by the XDP program of
A (bpf_redirect_map to B's netdev); the primary's DPDK patch stays in place
and forwards whatever still reaches A's socket.

spp_vf chains (spp.proc.vf_xdp): the spp_vf writes its chains' actions; the
primary only allows them per port (SPP_XDP_F_VF_OFFLOAD, following the same
offload switch) and removes, at exit, the XDP_PASS programs spp_vf put on
the destinations' veth peers.
"""

from __future__ import annotations

import logging
import socket
import subprocess
from pathlib import Path
from typing import Any

from spp.errors import Refused, UsageError
from spp.proc import eal as ealmod

log = logging.getLogger("spp.primary")

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_XDP_PROG = ROOT / "build" / "bpf" / "xdp_steer.o"
MODES = ("all", "registered")


def vdev_for_phy(index: int, iface: str, xdp_prog: Path | None) -> str:
    """The af_xdp vdev of phy `index` on `iface`, loading our program unless None."""
    args = f"net_af_xdp{index},iface={iface},start_queue=0,queue_count=1,busy_budget=0"
    if xdp_prog is not None:
        args += f",xdp_prog={xdp_prog}"
    return args


def detach(ifaces: list[str]) -> None:
    """Make sure no XDP program stays on interfaces we opened (the PMD normally removes it)."""
    for iface in ifaces:
        subprocess.run(["ip", "link", "set", "dev", iface, "xdp", "off"],
                       capture_output=True, check=False)


def check_free(ifaces: list[str], file_prefix: str) -> None:
    """Refuse a phy interface another SPP instance (or another tool) runs XDP on.

    A steering program that no live primary owns (left by a crash) is removed,
    as the af_xdp PMD would otherwise refuse to attach ours.
    """
    from spp.xdp import pins
    from spp.xdp.errors import XdpError

    for iface in ifaces:
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
        detach([iface])


class PrimarySteering:
    """Steering of one primary's phy interfaces: pins, mode, counters, clean-up.

    Steering is optional in mode `all` (every frame goes to the socket): a
    port whose maps cannot be pinned or reached still forwards, and its status
    says why steering is missing. In mode `registered` that is a start failure.
    """

    def __init__(self, ifaces: list[str], file_prefix: str, mode: str, drop: bool,
                 offload: bool = True, xdp_prog: Path | None = None) -> None:
        from spp.xdp.fastpath import FastPath
        from spp.xdp.peer import PASS_OBJECT, PeerPrograms

        self.ifaces = ifaces
        self.file_prefix = file_prefix
        self.mode = mode
        self.drop = drop
        self.errors: dict[str, str] = {}  # iface -> why its steering is unavailable
        self._steer: Any = None
        self.offload = offload
        self.phys: dict[int, str] = {}  # phy id -> steered interface with pinned maps
        self.attach: dict[str, str | None] = {}  # iface -> native / generic XDP
        self.vf_errors: dict[str, str] = {}  # iface -> why its vf chain offload flag is stale
        pass_obj = xdp_prog.parent / PASS_OBJECT.name if xdp_prog is not None else PASS_OBJECT
        self.peers = PeerPrograms(pass_obj)
        self.fast = FastPath(self._maps, socket.if_nametoindex, self._prepare_route)

    def _open(self) -> Any:
        from spp.xdp import XdpSteering, instance_dir

        return XdpSteering(instance_dir(self.file_prefix))

    def start(self) -> None:
        """Pin each port's maps under the instance directory and set the steering mode."""
        from spp.xdp import instance_dir, pin_port_maps

        root = instance_dir(self.file_prefix)
        for iface in self.ifaces:
            try:
                pin_port_maps(iface, root / iface)
            except Exception as exc:  # steering is optional in mode all
                self.errors[iface] = f"XDP maps not pinned: {exc}"
                if self.mode != "all":
                    raise Refused(f"cannot steer {iface} in mode {self.mode}: {exc}") from None
                log.warning("%s: XDP steering maps not pinned (mode all works without "
                            "them): %s", iface, exc)
        try:
            steer = self._open()
            for iface in self.ifaces:
                if iface not in self.errors:
                    steer.set_mode(iface, self.mode, self.drop)
            steer.close()
        except Exception as exc:  # steering is optional; forwarding works without it
            if self.mode != "all":
                raise Refused(f"cannot set XDP mode {self.mode}: {exc}") from None
            log.warning("XDP steering maps not reachable: %s", exc)

    # ---- patch fast path ----------------------------------------------
    def _maps(self) -> Any:
        if self._steer is None:
            self._steer = self._open()
        return self._steer

    def _prepare_route(self, route: Any) -> None:
        self.peers.ensure(route.dst_if, self.attach.get(route.src_if))

    def set_phys(self, phys: dict[int, str]) -> None:
        """The phy ids of the steered interfaces (from the C core, after start)."""
        from spp.xdp.peer import attach_mode, link

        self.phys = {i: ifc for i, ifc in phys.items()
                     if ifc in self.ifaces and ifc not in self.errors}
        self.attach = {ifc: attach_mode(link(ifc)) for ifc in self.phys.values()}
        self.apply_vf_offload()

    def apply_vf_offload(self, on: bool | None = None) -> None:
        """Allow spp_vf chains in XDP on every steered port while offload is on (one flag
        update per port: a frame finds the fast path on or off, and off means the socket)."""
        want = self.offload if on is None else on
        for ifc in self.phys.values():
            try:
                self._maps().set_vf_offload(ifc, want)
                self.vf_errors.pop(ifc, None)
            except Exception as exc:  # the vf chains then stay in userspace
                self.vf_errors[ifc] = f"cannot switch the spp_vf fast path: {exc}"
                log.warning("%s: %s", ifc, self.vf_errors[ifc])

    def reap_vf_actions(self, no_reader: dict[str, bool]) -> None:
        """Remove the spp_vf chain actions of a port nobody reads: the spp_vf that wrote
        them died (one that stops clears them, and one that starts claims the port before
        it writes any), so its frames go to the socket as they would without XDP."""
        for ifc in self.phys.values():
            if not no_reader.get(ifc, False):
                continue
            try:
                n = self._maps().clear_vf_acts(ifc)
            except Exception as exc:  # the next check tries again
                log.warning("%s: cannot remove the XDP actions of a gone spp_vf: %s", ifc, exc)
                continue
            if n:
                log.warning("%s: removed %d XDP action(s) of an spp_vf that left without "
                            "clearing them", ifc, n)

    def routes(self, patches: list[tuple[str, str]], forwarding: bool) -> dict[str, Any]:
        """The patches the fast path would forward with this configuration."""
        from spp.xdp.fastpath import routes

        return routes(patches, self.phys, forwarding, self.offload)

    def fwd_totals(self) -> tuple[dict[int, int], dict[int, int]]:
        """Frames the fast paths forwarded, per phy id: (received on it, sent on it): the
        patch fast path's and the spp_vf chains' (`_vf_fwd`)."""
        rx: dict[int, int] = {}
        tx: dict[int, int] = {}
        for pid, ifc in self.phys.items():
            try:
                per_dst = {dst: pkts for dst, (pkts, _bytes) in
                           self._maps().fwd_counters(ifc).items()}
                vf_dst = self._vf_fwd(ifc)
            except Exception as exc:  # status stays readable without the maps
                log.warning("%s: fast path counters not readable: %s", ifc, exc)
                continue
            for counts in (per_dst, vf_dst):
                for dst, pkts in counts.items():
                    rx[pid] = rx.get(pid, 0) + pkts
                    tx[dst] = tx.get(dst, 0) + pkts
        return rx, tx

    def _vf_fwd(self, ifc: str) -> dict[int, int]:
        """What spp_vf chains sent in XDP from `ifc`, per destination phy id.

        The counter slots of the paths to phy D are D's range (SPP_XDP_VF_SLOTS_PER_TX
        of them from D * SLOTS_PER_TX), so every frame counted is found, also that of an
        action that came and went between two reads."""
        m = self._maps()
        per_tx = m.defs.const("SPP_XDP_VF_SLOTS_PER_TX")
        out: dict[int, int] = {}
        for dst in self.phys:
            counts = m.vf_stats(ifc, list(range(dst * per_tx, (dst + 1) * per_tx)))
            pkts = sum(p for p, _bytes in counts.values())
            if pkts:
                out[dst] = pkts
        return out

    def fast_status(self) -> dict[str, Any]:
        return {"enabled": self.offload, "attach_mode": dict(self.attach),
                "errors": {**self.vf_errors, **self.fast.errors}}

    def status(self) -> dict[str, Any]:
        """Per interface: steering mode and verdict counters, or why they are missing."""
        out: dict[str, Any] = {}
        for ifc in self.ifaces:
            if ifc in self.errors:
                out[ifc] = {"error": self.errors[ifc]}
                continue
            try:
                if self._steer is None:
                    self._steer = self._open()
                mode = self._steer.get_mode(ifc)
                out[ifc] = {**self._steer.counters(ifc), "mode": mode.mode,
                            "drop_unknown": mode.drop_unknown}
            except Exception as exc:
                out[ifc] = {"error": f"XDP steering maps not readable: {exc}"}
        return out

    def stop(self) -> None:
        """Fast path off; remove this instance's pins (other instances' stay) and our programs."""
        try:
            self.fast.retire({})
        except Exception as exc:
            log.warning("could not turn the XDP fast path off: %s", exc)
        if self.phys:
            self.apply_vf_offload(False)
        self.peers.release_all()
        self.peers.release_peers_of(list(self.phys.values()))  # those spp_vf put there
        if self._steer is not None:
            self._steer.close()
            self._steer = None
        try:
            from spp.xdp import remove_instance

            remove_instance(self.file_prefix)
        except Exception as exc:
            log.warning("could not unpin XDP maps: %s", exc)
        detach(self.ifaces)
