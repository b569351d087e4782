"""spp_vf configuration: components, their ports and the classifier table.

This is the control-plane model of one spp_vf process. It validates every
command completely before touching the data plane, then pushes the whole
new configuration of each affected component to the C core, which swaps it
in atomically. A refused command therefore leaves both the model and the
forwarding exactly as they were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from spp.proc.agent import CommandError
from spp.proc.resources import (
    ResourceError,
    Uid,
    check_pcp,
    check_vlan_id,
    format_mac,
    parse_mac,
    parse_uid,
)

ROLES = {"forward": "forward", "merge": "merge", "classifier": "classifier",
         "classifier_mac": "classifier"}
ROLE_LIMITS = {  # (max rx, max tx); None = any number
    "forward": (1, 1),
    "merge": (None, 1),
    "classifier": (1, None),
}
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$")
MAX_COMPONENTS = 64
MAX_PORTS_PER_DIR = 32


class DataPlane(Protocol):
    """What the model needs from the C core (faked in unit tests)."""

    def open_port(self, uid: Uid, queue: int) -> int: ...
    def close_port(self, handle: int) -> None: ...
    def update_component(self, slot: int, comp: Component, entries: list[TableEntry]) -> None: ...
    def clear_component(self, slot: int) -> None: ...
    def set_lcore(self, lcore: int, slots: list[int]) -> None: ...
    def steer(self, rx: Uid, add: list[TableEntry], remove: list[TableEntry]) -> None: ...


@dataclass(frozen=True)
class Vlan:
    operation: str = "none"  # none | add | del
    id: int = 0
    pcp: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "id": self.id, "pcp": self.pcp}


@dataclass
class Attachment:
    uid: Uid
    queue: int
    vlan: Vlan

    def to_json(self) -> dict[str, Any]:
        return {"port": str(self.uid), "vlan": self.vlan.to_json()}


@dataclass
class Component:
    name: str
    core: int
    role: str
    slot: int
    rx: list[Attachment] = field(default_factory=list)
    tx: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class TableEntry:
    vlan: int           # 0 for "mac" entries
    mac: bytes | None   # None = "default"
    uid: Uid
    kind: str           # mac | vlan
    shown: str          # the MAC as the operator wrote it

    def key(self) -> tuple[int, bytes | None]:
        return (self.vlan, self.mac)

    def to_json(self) -> dict[str, Any]:
        value = self.shown if self.kind == "mac" else f"{self.vlan}/{self.shown}"
        return {"type": self.kind, "value": value, "port": str(self.uid)}


def _err(reason: str, code: int = 400) -> CommandError:
    return CommandError(reason, code)


def _int_arg(args: dict[str, Any], key: str) -> int:
    value = args.get(key)
    if isinstance(value, bool):
        raise _err(f"{key} must be an integer, not {value!r}")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int):
        raise _err(f"{key} must be an integer, not {value!r}")
    return value


class VfModel:
    def __init__(self, client_id: int, master: int, workers: list[int], phy_count: int,
                 dp: DataPlane) -> None:
        self.client_id = client_id
        self.master = master
        self.workers = workers
        self.phy_count = phy_count
        self.dp = dp
        self.components: dict[str, Component] = {}
        self.table: list[TableEntry] = []
        self.ports: dict[tuple[Uid, int], list[int]] = {}  # -> [handle, refcount]

    # ---- helpers ----------------------------------------------------
    def _component(self, name: Any) -> Component:
        comp = self.components.get(str(name))
        if comp is None:
            raise _err(f"component '{name}' not found.", 404)
        return comp

    def _free_slot(self) -> int:
        used = {c.slot for c in self.components.values()}
        for slot in range(MAX_COMPONENTS):
            if slot not in used:
                return slot
        raise _err(f"too many components (at most {MAX_COMPONENTS})")

    def _lcore_slots(self, core: int) -> list[int]:
        return [c.slot for c in self.components.values() if c.core == core]

    def _acquire(self, uid: Uid, queue: int) -> int:
        key = (uid, queue)
        if key in self.ports:
            self.ports[key][1] += 1
            return self.ports[key][0]
        handle = self.dp.open_port(uid, queue)
        self.ports[key] = [handle, 1]
        return handle

    def _release(self, uid: Uid, queue: int) -> None:
        key = (uid, queue)
        entry = self.ports.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            del self.ports[key]
            self.dp.close_port(entry[0])

    def handle_of(self, att: Attachment) -> int:
        return self.ports[(att.uid, att.queue)][0]

    def entries_for(self, comp: Component) -> list[TableEntry]:
        tx = {a.uid for a in comp.tx}
        return [e for e in self.table if e.uid in tx]

    def _push(self, comp: Component) -> None:
        self.dp.update_component(comp.slot, comp, self.entries_for(comp))

    # ---- commands ---------------------------------------------------
    def component_start(self, args: dict[str, Any]) -> None:
        name = args.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise _err(f"invalid component name {name!r} (letters, digits, _ . -; up to 32)")
        core = _int_arg(args, "core")
        role = ROLES.get(str(args.get("type")))
        if role is None:
            raise _err(f"unknown component type '{args.get('type')}' "
                       "(forward, merge, classifier)")
        if name in self.components:
            raise _err(f"component '{name}' already exists.")
        if core == self.master:
            raise _err(f"core {core} is the master lcore of this process, not a worker "
                       f"(workers: {_list(self.workers)})")
        if core not in self.workers:
            raise _err(f"core {core} is not a worker lcore of this process "
                       f"(workers: {_list(self.workers)})")
        if len(self._lcore_slots(core)) >= 16:
            raise _err(f"core {core} already runs 16 components")
        comp = Component(name, core, role, self._free_slot())
        self.dp.update_component(comp.slot, comp, [])
        self.components[name] = comp
        self.dp.set_lcore(core, self._lcore_slots(core))

    def component_stop(self, args: dict[str, Any]) -> None:
        comp = self._component(args.get("name"))
        del self.components[comp.name]
        self.dp.set_lcore(comp.core, self._lcore_slots(comp.core))
        self.dp.clear_component(comp.slot)
        if comp.role == "classifier" and comp.rx:
            self.dp.steer(comp.rx[0].uid, [], self.entries_for(comp))
        for att in comp.rx + comp.tx:
            self._release(att.uid, att.queue)

    def port(self, args: dict[str, Any]) -> None:
        action = args.get("action")
        if action not in ("attach", "detach", "add", "del"):
            raise _err(f"invalid action '{action}' (attach, detach)")
        direction = args.get("dir")
        if direction not in ("rx", "tx"):
            raise _err(f"invalid dir '{direction}' (rx, tx)")
        try:
            uid = parse_uid(str(args.get("port", "")))
        except ResourceError as exc:
            raise _err(str(exc)) from None
        queue = args.get("nq", 0)
        if isinstance(queue, bool) or not isinstance(queue, int) or queue < 0:
            raise _err(f"nq must be a non-negative integer, not {queue!r}")
        if queue and uid.kind != "phy":
            raise _err(f"nq applies to phy ports only, not {uid}")
        comp = self._component(args.get("name"))
        if action in ("attach", "add"):
            self._attach(comp, uid, queue, direction, self._vlan(args.get("vlan")))
        else:
            self._detach(comp, uid, queue, direction)

    def _vlan(self, spec: Any) -> Vlan:
        if spec is None:
            return Vlan()
        if not isinstance(spec, dict):
            raise _err("vlan must be an object {operation, id, pcp}")
        op = spec.get("operation", "none")
        try:
            if op == "add":
                return Vlan("add", check_vlan_id(spec.get("id")), check_pcp(spec.get("pcp", 0)))
        except ResourceError as exc:
            raise _err(str(exc)) from None
        if op in ("del", "none"):
            return Vlan(op)
        raise _err(f"invalid vlan operation '{op}' (add, del, none)")

    def _attach(self, comp: Component, uid: Uid, queue: int, direction: str,
                vlan: Vlan) -> None:
        ports = comp.rx if direction == "rx" else comp.tx
        limit = ROLE_LIMITS[comp.role][0 if direction == "rx" else 1]
        if any(a.uid == uid and a.queue == queue for a in ports):
            raise _err(f"{uid} is already a {direction} port of '{comp.name}'")
        if limit is not None and len(ports) >= limit:
            raise _err(f"component '{comp.name}' ({comp.role}) takes {limit} {direction} "
                       f"port(s) and already has {', '.join(str(a.uid) for a in ports)}")
        if len(ports) >= MAX_PORTS_PER_DIR:
            raise _err(f"component '{comp.name}' already has {MAX_PORTS_PER_DIR} "
                       f"{direction} ports")
        other = comp.tx if direction == "rx" else comp.rx
        if any(a.uid == uid and a.queue == queue for a in other):
            raise _err(f"{uid} cannot be both rx and tx of '{comp.name}'")
        from spp.native import NativeError

        try:
            self._acquire(uid, queue)
        except NativeError as exc:
            raise _err(str(exc)) from None
        att = Attachment(uid, queue, vlan)
        ports.append(att)
        try:
            self._push(comp)
        except NativeError as exc:
            ports.remove(att)
            self._release(uid, queue)
            raise _err(str(exc)) from None
        if comp.role == "classifier":
            if direction == "rx":
                self.dp.steer(uid, self.entries_for(comp), [])
            elif comp.rx:
                self.dp.steer(comp.rx[0].uid, [e for e in self.table if e.uid == uid], [])

    def _detach(self, comp: Component, uid: Uid, queue: int, direction: str) -> None:
        ports = comp.rx if direction == "rx" else comp.tx
        att = next((a for a in ports if a.uid == uid and a.queue == queue), None)
        if att is None:
            raise _err(f"{uid} is not a {direction} port of '{comp.name}'")
        lost = self.entries_for(comp) if direction == "rx" else [
            e for e in self.table if e.uid == uid]
        ports.remove(att)
        self._push(comp)
        self._release(uid, queue)
        if comp.role == "classifier":
            rx = att.uid if direction == "rx" else (comp.rx[0].uid if comp.rx else None)
            if rx is not None:
                self.dp.steer(rx, [], lost)

    def classifier_table(self, args: dict[str, Any]) -> None:
        action = args.get("action")
        if action not in ("add", "del"):
            raise _err(f"invalid action '{action}' (add, del)")
        kind = args.get("type")
        if kind not in ("mac", "vlan"):
            raise _err(f"invalid type '{kind}' (mac, vlan)")
        try:
            vlan = check_vlan_id(args.get("vlan")) if kind == "vlan" else 0
            shown = str(args.get("mac_address", ""))
            mac = None if shown == "default" else parse_mac(shown)
            uid = parse_uid(str(args.get("port", "")))
        except ResourceError as exc:
            raise _err(str(exc)) from None
        entry = TableEntry(vlan, mac, uid, kind, shown)
        label = f"{'vlan ' + str(vlan) + ' ' if kind == 'vlan' else ''}{shown}"
        current = next((e for e in self.table if e.key() == entry.key()), None)
        if action == "add":
            if current is not None:
                raise _err(f"classifier_table already has {label} (-> {current.uid})")
            self.table.append(entry)
            changed = [entry]
        else:
            if current is None or current.uid != uid:
                raise _err(f"classifier_table has no entry {label} -> {uid}")
            self.table.remove(current)
            changed = [current]
        for comp in self.components.values():
            if comp.role == "classifier" and any(a.uid == uid for a in comp.tx):
                self._push(comp)
                if comp.rx:
                    add = changed if action == "add" else []
                    self.dp.steer(comp.rx[0].uid, add, [] if add else changed)

    # ---- status -----------------------------------------------------
    def status(self) -> dict[str, Any]:
        ports = [f"phy:{i}" for i in range(self.phy_count)]
        for uid, _q in self.ports:
            if str(uid) not in ports:
                ports.append(str(uid))
        comps: list[dict[str, Any]] = []
        for core in self.workers:
            on_core = [c for c in self.components.values() if c.core == core]
            if not on_core:
                comps.append({"core": core, "type": "unuse"})
            for c in sorted(on_core, key=lambda c: c.slot):
                comps.append({
                    "core": c.core, "name": c.name, "type": c.role,
                    "rx_port": [a.to_json() for a in c.rx],
                    "tx_port": [a.to_json() for a in c.tx],
                })
        return {
            "client-id": self.client_id,
            "ports": ports,
            "components": comps,
            "classifier_table": [e.to_json() for e in self.table],
            "master-lcore": self.master,
            "worker-lcores": list(self.workers),
        }


def _list(ids: list[int]) -> str:
    return ",".join(str(i) for i in ids) or "none"


__all__ = ["VfModel", "Component", "TableEntry", "Attachment", "Vlan", "DataPlane",
           "format_mac"]
