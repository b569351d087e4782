"""spp_vf chains in XDP: the vf's configuration compiled into its rx phy ports' actions.

Who does it: the spp_vf's own control side. It alone knows its components,
ports and classifier table at the moment a command commits, and it already
writes its classifier MACs into the same pinned maps (spp_fdb). The primary
owns what is per port and not per chain: the pins, the offload switch (the
SPP_XDP_F_VF_OFFLOAD flag of each port's spp_port_cfg, which `spp xdp
offload on|off` flips with one map update per port) and, at its exit, the
XDP_PASS programs on the destinations' veth peers.

`compile_chains()` follows every chain from a phy rx port of this process
through its components (forward, merge, a classifier as the first
component), rings read by another of its components, and the port VLAN
operations, to a phy tx port. What it reaches becomes an action (destination
phy, composed VLAN operation, counter slot) under the key the XDP program
looks up (bpf/xdp_vf.h): {ANY} for a chain without classifier, else one key
per classifier entry. What it cannot finish in XDP becomes a socket action
(userspace finishes it), with the reason. The classifier's broadcast and
multicast never reach the table: XDP leaves them to the socket.

Before a command that can take a path away (a component stopped, a port
detached, a table entry deleted), `VfFastPath.retire()` turns the actions
of the paths it touches into socket actions, so their frames take the
userspace chain, which is still in place, until `sync()` has written what
the new configuration says.

While a port's offload flag is off, its actions are all socket actions (reason:
offload is off): no devmap entry is written and no veth peer gets an XDP_PASS
program, so a receiver pays nothing for a fast path that is not in use (a
peer's XDP program puts every frame sent to it through skb-mode XDP). When
the primary turns the flag on, the socket actions keep frames in userspace
until `refresh()`, called periodically, sees the new flag and syncs: peers
and devmap entries first, then the actions. Turned off, XDP stops using the
actions at once and the next `refresh()` makes them socket actions.

`VfFastPath.sync()` runs after each command (committed or not): devmap entries
(and the destination peers' XDP_PASS) before the actions that use them, the
changed actions with one hash update each, then deleted keys, then devmap
entries nothing uses. A frame finds the old or the new action, or none
(-> socket), so it takes exactly one path.

Counters: each path has a slot in the port's spp_vf_stats; what XDP sent
through a path is added to the rx/tx (and hit/default) of every component
and port on it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spp.proc.vf_model import Attachment, Component, VfModel, Vlan
from spp.resources import PortRef, ResourceError, check_vlan_id, parse_table_mac

log = logging.getLogger("spp.vf")

XDP, DPDK = "xdp", "dpdk"
ANY_VLAN = 65535  # SPP_XDP_VF_ANY_VLAN of bpf/spp_xdp.h (checked against it at sync)
MAX_POPS = 2      # SPP_XDP_VF_MAX_POPS, idem

OFFLOAD_OFF = "XDP offload is off (spp xdp offload on)"
Key = tuple[int, "bytes | None"]  # (VID, MAC); MAC None: the reserved MAC (default / ANY)


@dataclass(frozen=True)
class Path:
    """Where a chain sends a frame: phy `tx_phy`, after `pops` tag strips and a push."""

    tx_phy: int
    pops: int
    push_tci: int | None
    comps: tuple[tuple[str, str], ...]  # (component, classifier outcome "hit"/"default"/"")
    rx_ports: tuple[str, ...]           # ports read on the way, ingress first
    tx_ports: tuple[str, ...]           # ports written on the way, egress last


@dataclass
class Plan:
    """What one ingress phy's actions should be: a Path, or the reason userspace keeps it."""

    phy: int
    entries: dict[Key, Path | str] = field(default_factory=dict)
    reason: str | None = None  # why the whole chain stays in userspace


class NotCompilable(Exception):
    """A path XDP cannot finish; the message is the one-line reason."""


def compose(ops: list[Vlan]) -> tuple[int, int | None]:
    """(pops, push TCI) equal to applying `ops` one after the other (vlan.h).

    An add after an add only rewrites the TCI (add a, add b = add b); a del
    after an add strips what the add left (add a, del = del on the original).
    So every sequence is "del k times, then maybe add".
    """
    pops, push = 0, None
    for v in ops:
        if v.operation == "del":
            pops, push = pops + 1, None
        elif v.operation == "add":
            push = (v.pcp & 7) << 13 | (v.id & 0xFFF)
    return pops, push


def _reader(model: VfModel, ref: PortRef) -> tuple[Component, Attachment] | None:
    for comp in model.components.values():
        for att in comp.rx:
            if att.ref == ref:
                return comp, att
    return None


def _follow(model: VfModel, tx: Attachment, ops: list[Vlan], comps: list[tuple[str, str]],
            rx_ports: list[str], tx_ports: list[str]) -> Path:
    """The path of a frame a component sends on `tx`, to a phy tx port."""
    for _ in range(len(model.components) + 1):
        ops = [*ops, tx.vlan]
        tx_ports = [*tx_ports, str(tx.ref)]
        kind = tx.ref.uid.kind
        if kind == "phy":
            if tx.ref.queue:
                raise NotCompilable(f"{tx.ref}: XDP sends on queue 0 only")
            pops, push = compose(ops)
            if pops > MAX_POPS:
                raise NotCompilable(f"{pops} VLAN strips in a row (XDP does {MAX_POPS})")
            return Path(tx.ref.uid.id, pops, push, tuple(comps), tuple(rx_ports),
                        tuple(tx_ports))
        if kind != "ring":
            raise NotCompilable(f"{tx.ref} is not a phy port")
        found = _reader(model, tx.ref)
        if found is None:
            raise NotCompilable(f"{tx.ref} is read by no component of this spp_vf")
        comp, rx = found
        if comp.role not in ("forward", "merge"):
            raise NotCompilable(f"{comp.name} ({comp.role}) after the chain's first component")
        if len(comp.tx) != 1:
            raise NotCompilable(f"{comp.name} has no tx port")
        ops = [*ops, rx.vlan]
        comps = [*comps, (comp.name, "")]
        rx_ports = [*rx_ports, str(rx.ref)]
        tx = comp.tx[0]
    raise NotCompilable("the chain loops through its rings")


def _plan(model: VfModel, comp: Component, rx: Attachment) -> Plan:
    plan = Plan(rx.ref.uid.id)
    if rx.ref.queue:
        plan.reason = f"{rx.ref}: XDP takes queue 0 only"
        return plan
    start = [str(rx.ref)]
    if comp.role in ("forward", "merge"):
        if len(comp.tx) != 1:
            plan.reason = f"{comp.name} has no tx port"
            return plan
        try:
            plan.entries[(ANY_VLAN, None)] = _follow(model, comp.tx[0], [rx.vlan],
                                                     [(comp.name, "")], start, [])
        except NotCompilable as exc:
            plan.entries[(ANY_VLAN, None)] = str(exc)
            plan.reason = str(exc)
        return plan
    if comp.role != "classifier":
        plan.reason = f"{comp.name} is a {comp.role}"
        return plan
    if rx.vlan.operation != "none":
        plan.reason = f"{comp.name} classifies after a VLAN operation on {rx.ref}"
        return plan
    tx_of = {att.ref: att for att in comp.tx}
    for e in model.entries_for(comp):
        outcome = "hit" if e.mac is not None else "default"
        try:
            plan.entries[e.key()] = _follow(model, tx_of[e.ref], [], [(comp.name, outcome)],
                                            start, [])
        except NotCompilable as exc:
            plan.entries[e.key()] = str(exc)
    return plan


def compile_chains(model: VfModel) -> dict[int, Plan]:
    """Per phy id this vf reads: what its chain does with a frame, by XDP key."""
    out: dict[int, Plan] = {}
    for comp in model.components.values():
        for rx in comp.rx:
            if rx.ref.uid.kind == "phy":
                out[rx.ref.uid.id] = _plan(model, comp, rx)
    return out


Touches = Callable[[Key, Path], bool]


def _table_keys(entries: list[Any]) -> set[Key]:
    """The keys the `del` entries of classifier_table commands name (bad ones skipped:
    the command refuses them anyway)."""
    keys: set[Key] = set()
    for e in entries:
        if not isinstance(e, dict) or e.get("action") != "del":
            continue
        try:
            vlan = check_vlan_id(e.get("vlan")) if e.get("type") == "vlan" else 0
            keys.add((vlan, parse_table_mac(e.get("mac_address"))[0]))
        except ResourceError:
            continue
    return keys


def removals(cmd: str, args: dict[str, Any]) -> Touches | None:
    """Which paths command `cmd` may take away (retired before it runs), None: none."""
    if cmd == "component_stop" or (cmd == "port" and args.get("action") in ("detach", "del")):
        name = args.get("name")
        return lambda key, path: any(n == name for n, _ in path.comps)
    if cmd in ("classifier_table", "classifier_table_batch"):
        entries = args.get("entries") if cmd == "classifier_table_batch" else [args]
        keys = _table_keys(entries if isinstance(entries, list) else [])
        return (lambda key, path: key in keys) if keys else None
    return None


class VfFastPath:
    """The actions this spp_vf wrote into its rx phy ports' maps, kept in step with the model.

    `iface(phy)` names the af_xdp netdev of a phy id (None: not af_xdp);
    `maps()` opens the instance's XdpSteering (raises when there are none);
    `prepare(ingress, egress)` makes XDP redirects to `egress` deliverable
    (the veth peer's XDP_PASS) and raises when they would not be.
    """

    def __init__(self, iface: Any, maps: Any, prepare: Any,
                 ifindex: Any = socket.if_nametoindex, attach: Any = None) -> None:
        self._iface = iface
        self._attach = attach  # iface -> "native" / "generic" XDP (None: not known)
        self.attach: dict[str, str | None] = {}
        self._maps = maps
        self._prepare = prepare
        self._ifindex = ifindex
        self.written: dict[str, dict[Key, Any]] = {}   # ingress iface -> key -> VfAct
        self.devmap: dict[str, set[int]] = {}           # ingress iface -> phy ids we set
        self.slots: dict[str, dict[Path, int]] = {}      # ingress iface -> path -> slot
        self.paths: dict[str, dict[Key, Path]] = {}      # ingress iface -> key -> its path
        self.plans: dict[int, Plan] = {}
        self.reasons: dict[str, list[str]] = {}          # ingress iface -> why userspace
        self.unsteered: dict[str, str] = {}              # rx phy without XDP -> why
        self.flags: dict[str, bool] = {}                 # ingress iface -> offload at sync
        self.error: str | None = None

    def _slot(self, iface: str, path: Path, per_tx: int) -> int | None:
        """The counter slot of `path`: the next free one of its destination's range
        (tx_phy * per_tx ...), never reused, so a slot's count is its path's and the
        primary knows the destination of every slot it reads."""
        slots = self.slots.setdefault(iface, {})
        if path not in slots:
            n = sum(1 for p in slots if p.tx_phy == path.tx_phy)
            if n >= per_tx:
                return None
            slots[path] = path.tx_phy * per_tx + n
        return slots[path]

    def sync(self, model: VfModel) -> None:
        """Bring the maps in step with `model` (after a command committed); never raises."""
        try:
            self._sync(compile_chains(model))
            self.error = None
        except Exception as exc:  # noqa: BLE001 - userspace forwards regardless; status says
            self.error = str(exc) or type(exc).__name__
            log.warning("XDP fast path of spp_vf chains not updated: %s", self.error)

    def refresh(self, model: VfModel) -> None:
        """Sync again when a port's offload flag changed since the last sync (periodic)."""
        if not self.flags:
            return
        try:
            m = self._maps()
            changed = any(self.offload(m, ifc) != on for ifc, on in self.flags.items())
        except Exception:  # noqa: BLE001 - maps gone: the primary is leaving
            return
        if changed:
            self.sync(model)

    def _sync(self, plans: dict[int, Plan]) -> None:
        self.plans = plans
        want_ifaces: dict[str, Plan] = {}
        self.unsteered = {}
        for phy, plan in plans.items():
            ifc = self._iface(phy)
            if ifc is not None:
                want_ifaces[ifc] = plan
            else:
                self.unsteered[f"phy:{phy}"] = "not an af_xdp port: its chain stays in userspace"
        gone = [ifc for ifc in self.written if ifc not in want_ifaces]
        if not want_ifaces and not gone:
            return
        from spp.xdp.steering import VfAct

        m = self._maps()
        slot_limit = m.defs.const("SPP_XDP_VF_SLOTS_PER_TX")
        assert m.defs.const("SPP_XDP_VF_ANY_VLAN") == ANY_VLAN
        assert m.defs.const("SPP_XDP_VF_MAX_POPS") == MAX_POPS
        for ifc in gone:
            self._clear(m, ifc)
        for ifc, plan in want_ifaces.items():
            reasons = [plan.reason] if plan.reason else []
            on = self.flags[ifc] = self.offload(m, ifc)
            ready: dict[int, str | None] = {}  # destination phy -> why not, None: ready
            acts: dict[Key, Any] = {}
            for key, path in plan.entries.items():
                if isinstance(path, str):
                    acts[key] = VfAct(None)
                    reasons.append(path)
                    continue
                if path.tx_phy not in ready:
                    ready[path.tx_phy] = (self._ready(m, ifc, path.tx_phy) if on
                                          else OFFLOAD_OFF)
                why = ready[path.tx_phy]
                slot = self._slot(ifc, path, slot_limit)
                if why is None and slot is None:
                    why = f"XDP counter slots of phy:{path.tx_phy} are used up"
                if why is not None:
                    acts[key] = VfAct(None)
                    reasons.append(why)
                    continue
                assert slot is not None
                acts[key] = VfAct(path.tx_phy, path.pops, path.push_tci, slot)
            self.paths[ifc] = {k: p for k, p in plan.entries.items() if isinstance(p, Path)}
            if ifc not in self.attach and self._attach is not None:
                self.attach[ifc] = self._attach(ifc)
            old = self.written.setdefault(ifc, {})
            for key, act in acts.items():  # changed actions, one update each
                if old.get(key) != act:
                    m.set_vf_act(ifc, key[0], key[1], act)
                    old[key] = act
            for key in [k for k in old if k not in acts]:
                m.del_vf_act(ifc, key[0], key[1])
                del old[key]
            used = {a.tx_port for a in acts.values() if a.tx_port is not None}
            for phy in sorted(self.devmap.get(ifc, set()) - used):
                m.del_tx_port(ifc, phy)
                self.devmap[ifc].discard(phy)
            self.reasons[ifc] = sorted(set(reasons))

    def retire(self, touches: Touches) -> None:
        """Before a command: the redirecting actions of the paths it `touches` become
        socket actions (one update each). Never raises: `sync()` follows anyway."""
        from spp.xdp.steering import VfAct

        try:
            for ifc, acts in self.written.items():
                paths = self.paths.get(ifc, {})
                for key, act in list(acts.items()):
                    path = paths.get(key)
                    if act.tx_port is None or path is None or not touches(key, path):
                        continue
                    self._maps().set_vf_act(ifc, key[0], key[1], VfAct(None))
                    acts[key] = VfAct(None)
        except Exception as exc:  # noqa: BLE001 - the sync after the command corrects it
            log.warning("XDP fast path of spp_vf chains not retired: %s", exc)

    def _ready(self, m: Any, ifc: str, phy: int) -> str | None:
        """Write the devmap entry of destination `phy` (before any action uses it)."""
        dst = self._iface(phy)
        if dst is None:
            return f"phy:{phy} is not an af_xdp port"
        if phy in self.devmap.get(ifc, set()):
            return None
        try:
            self._prepare(ifc, dst)
            m.set_tx_port(ifc, phy, self._ifindex(dst))
        except Exception as exc:  # noqa: BLE001 - that destination stays in userspace
            return f"phy:{phy}: {exc}"
        self.devmap.setdefault(ifc, set()).add(phy)
        return None

    def _clear(self, m: Any, ifc: str) -> None:
        """Actions first, then the devmap entries they used."""
        for key in list(self.written.get(ifc, {})):
            m.del_vf_act(ifc, key[0], key[1])
            del self.written[ifc][key]
        for phy in sorted(self.devmap.get(ifc, set())):
            m.del_tx_port(ifc, phy)
        self.written.pop(ifc, None)
        self.flags.pop(ifc, None)
        self.paths.pop(ifc, None)
        self.devmap.pop(ifc, None)
        self.reasons.pop(ifc, None)

    def clear(self) -> None:
        """At exit: every action and devmap entry this vf wrote goes."""
        if not self.written:
            return
        try:
            m = self._maps()
            for ifc in list(self.written):
                self._clear(m, ifc)
        except Exception as exc:  # noqa: BLE001 - the primary removes the pins at its exit
            log.warning("XDP fast path of spp_vf chains not cleared: %s", exc)

    # ---- status ------------------------------------------------------------
    def offload(self, m: Any, ifc: str) -> bool:
        try:
            return bool(m.vf_offload(ifc))
        except Exception:  # noqa: BLE001 - unreadable: say dpdk
            return False

    def report(self) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]],
                              dict[str, str], dict[str, Any]]:
        """(component counter additions, port counter additions, datapath per component,
        the per-port summary for status)."""
        comp_add: dict[str, dict[str, int]] = {}
        port_add: dict[str, dict[str, int]] = {}
        datapath: dict[str, str] = {}
        summary: dict[str, Any] = {ref: {"userspace_reasons": [why]}
                                   for ref, why in self.unsteered.items()}
        if self.error:
            summary["error"] = self.error
        if not self.written:
            return comp_add, port_add, datapath, summary
        try:
            m = self._maps()
        except Exception as exc:  # noqa: BLE001 - status stays readable
            return comp_add, port_add, datapath, {**summary, "error": str(exc)}
        for ifc, acts in self.written.items():
            on = self.offload(m, ifc)
            slots = self.slots.get(ifc, {})
            try:
                counts = m.vf_stats(ifc, list(slots.values()))
            except Exception as exc:  # noqa: BLE001
                log.warning("%s: vf fast path counters not readable: %s", ifc, exc)
                counts = {}
            live = {a.slot for a in acts.values() if a.tx_port is not None}
            for path, slot in slots.items():
                n = counts.get(slot, (0, 0))[0]
                if on and slot in live:
                    for name, _ in path.comps:
                        datapath[name] = XDP
                if not n:
                    continue
                for name, outcome in path.comps:
                    c = comp_add.setdefault(name, {})
                    c["rx"] = c.get("rx", 0) + n
                    c["tx"] = c.get("tx", 0) + n
                    if outcome:
                        c[outcome] = c.get(outcome, 0) + n
                for ref in path.rx_ports:
                    p = port_add.setdefault(ref, {})
                    p["rx"] = p.get("rx", 0) + n
                for ref in path.tx_ports:
                    p = port_add.setdefault(ref, {})
                    p["tx"] = p.get("tx", 0) + n
            summary[ifc] = {
                "offload": on,
                "xdp_attach": self.attach.get(ifc) or "unknown",
                "xdp_actions": sum(1 for a in acts.values() if a.tx_port is not None),
                "socket_actions": sum(1 for a in acts.values() if a.tx_port is None),
                "xdp_pkts": sum(c[0] for c in counts.values()),
                "userspace_reasons": self.reasons.get(ifc, []),
            }
        return comp_add, port_add, datapath, summary
