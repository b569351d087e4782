"""spp_vf's data plane as its model sees it: the C core's components and the XDP map.

The model (spp.proc.vf_model) decides; this module carries each step out on
the C core (ports, components, lcore plans, rx claims) and mirrors classifier
entries into the XDP steering map of af_xdp phy ports.
"""

from __future__ import annotations

import contextlib
import logging
import struct
from collections.abc import Callable
from typing import Any

from spp.native import NativeError, check, limits
from spp.proc import eal as ealmod
from spp.proc import faults
from spp.proc.vf_model import Component, TableEntry, VfModel
from spp.resources import Uid, format_mac

log = logging.getLogger("spp.vf")

COMP_TYPES = {"forward": limits.SPP_COMP_FORWARD, "merge": limits.SPP_COMP_MERGE,
              "classifier": limits.SPP_COMP_CLASSIFIER, "mirror": limits.SPP_COMP_MIRROR}
VLAN_OPS = {"none": limits.SPP_VLAN_NONE, "add": limits.SPP_VLAN_ADD,
            "del": limits.SPP_VLAN_DEL}

COUNTERS = ("rx", "tx", "drop_no_entry", "drop_tx_full", "drop_bad_frame", "drop_nomem")
CLASSIFIER_COUNTERS = (("hit", "hit"), ("flood", "flood"), ("default", "to_default"))


_NO_MAC = bytes(6)


def _entry_packer(ffi: Any) -> tuple[Callable[..., None], int]:
    """struct.pack_into for struct spp_cls_entry (vlan, mac, is_default, tx_index).

    Packing a whole table this way is an order of magnitude faster than
    setting cffi fields one by one; the layout is read from cffi.
    """
    t = "struct spp_cls_entry"
    fmt, at = "=", 0
    for name, code in (("vlan", "H"), ("mac", "6s"), ("is_default", "?"), ("tx_index", "H")):
        offset = ffi.offsetof(t, name)
        assert offset >= at, f"{t}: fields out of the expected order"
        fmt += "x" * (offset - at) + code
        at = offset + struct.calcsize("=" + code)
    fmt += "x" * (ffi.sizeof(t) - at)
    return struct.Struct(fmt).pack_into, ffi.sizeof(t)


class NativeDataPlane:
    """The VfModel's view of the C core and of the XDP steering map.

    Every step raises on failure (NativeError, or XdpError from the map) so
    that the model rolls the command back. `SPP_FAULT_FILE` (tests only) names
    a file; when it holds the name of a step, that step fails once instead of
    running (see spp.proc.faults).
    """

    def __init__(self, ffi: Any, lib: Any, client_id: int = 1,
                 file_prefix: str = ealmod.DEFAULT_FILE_PREFIX, proc_name: str = "spp_vf") -> None:
        self.ffi, self.lib = ffi, lib
        self.client_id = client_id
        self.proc_name = proc_name  # in the owner of rx claims: "component 'x' of spp_vf 1"
        self.file_prefix = file_prefix
        self._steer: Any = None
        self._peers: Any = None
        self._phy_iface: dict[int, str] = {}
        self._claims: dict[int, dict[int, bytes]] = {}  # slot -> rx handle -> owner text
        self._entry_pack: tuple[Callable[..., None], int] | None = None
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
        """Claim the rx queues `comp` polls (directly polled devices only: queue_claim.c).

        Returns the claims the component should hold and the handles newly
        claimed (released again by the caller if the update fails).
        """
        owner = f"component '{comp.name}' of {self.proc_name} {self.client_id}".encode()
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
        c_entries = self._entries(comp, entries)
        self._check(self.lib.spp_vf_component_update(slot, spec, c_entries, len(entries)))

    def _entries(self, comp: Component, entries: list[TableEntry]) -> Any:
        """`entries` as a C array of struct spp_cls_entry, tx positions those of `comp`."""
        tx_index = {att.ref: i for i, att in enumerate(comp.tx)}
        if self._entry_pack is None:
            self._entry_pack = _entry_packer(self.ffi)
        pack, size = self._entry_pack
        buf = bytearray(size * max(1, len(entries)))
        for i, e in enumerate(entries):
            pack(buf, i * size, e.vlan, e.mac or _NO_MAC, e.mac is None, tx_index[e.ref])
        return self.ffi.from_buffer("struct spp_cls_entry[]", buf)

    def update_table(self, slot: int, comp: Component, add: list[TableEntry],
                     remove: list[TableEntry]) -> None:
        faults.hit("update_table")
        self._check(self.lib.spp_vf_table_update(slot, self._entries(comp, add), len(add),
                                                 self._entries(comp, remove), len(remove)))

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
            adding = [e for e in add if e.mac is not None]
            done += [("add", e) for e in adding]  # a failed batch may have written some
            self._steer.add_macs(iface, [(e.mac, e.vlan) for e in adding if e.mac is not None])
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

    def xdp_maps(self) -> Any:
        """The instance's XDP maps (opened once); raises XdpMapsNotFound without them."""
        from spp.xdp import XdpSteering, instance_dir

        if self._steer is None:
            self._steer = XdpSteering(instance_dir(self.file_prefix))
        return self._steer

    def prepare_redirect(self, ingress: str, egress: str) -> None:
        """Make XDP redirects from `ingress` to `egress` deliverable (a veth peer's NAPI).

        The XDP_PASS program stays on the peer until the primary exits (which
        removes it), so it never disappears under another path's traffic.
        """
        from spp.xdp.peer import PeerPrograms, attach_mode, link

        if self._peers is None:
            self._peers = PeerPrograms()
        self._peers.ensure(egress, attach_mode(link(ingress)))

    def xdp_attach(self, iface: str) -> str | None:
        """How the XDP program of `iface` is attached: native, generic (skb mode)."""
        from spp.xdp.peer import attach_mode, link

        return attach_mode(link(iface))

    def phy_iface(self, phy: int) -> str | None:
        """The netdev of af_xdp port phy:`phy`, None for other drivers."""
        return self._iface(phy)

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
