"""spp_vf configuration: components, their ports and the classifier table.

This is the control-plane model of one spp_vf process. Every command is a
transaction:

1. validate the arguments completely (spp.resources holds the shared rules);
2. build the new state as new objects, leaving the current ones untouched;
3. apply it to the data plane step by step (open a port, push a component's
   new configuration to the C core, place it on its lcore, mirror table
   entries into the XDP steering map), recording how to undo each step;
4. commit the new state to the model only when every step succeeded.

If any step fails, the steps already applied are undone in reverse order and
the model is not touched, so the model, its status and the C data plane stay
exactly as they were. Closing a port whose last user went away is the one
step done after the commit: it cannot change forwarding (no component refers
to the port any more) and a failure there is only logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from spp.errors import NotFound, Refused
from spp.native.limits import SPP_MAX_COMP_PER_LCORE as MAX_COMP_PER_LCORE
from spp.native.limits import SPP_MAX_COMP_PORTS as MAX_COMP_PORTS
from spp.native.limits import SPP_MAX_COMPONENTS as MAX_COMPONENTS
from spp.resources import (
    MAX_TABLE_ENTRIES,
    PortRef,
    ResourceError,
    Uid,
    check_lcore,
    check_name,
    check_pcp,
    check_vlan_id,
    parse_port,
    parse_queue,
    parse_table_mac,
)

log = logging.getLogger("spp.vf")

ROLES = {"forward": "forward", "merge": "merge", "classifier": "classifier",
         "classifier_mac": "classifier"}
ROLE_LIMITS = {  # (max rx, max tx); None = any number
    "forward": (1, 1),
    "merge": (None, 1),
    "classifier": (1, None),
}
MAX_PORTS_PER_DIR = MAX_COMP_PORTS

Key = tuple[int, "bytes | None"]  # (VLAN, MAC); MAC None: the VLAN's default


class DataPlane(Protocol):
    """What the model needs from the C core and the XDP map (faked in unit tests).

    Every method raises on failure (NativeError from the C core, any other
    exception from the XDP map); the model then rolls back.
    """

    def open_port(self, uid: Uid, queue: int) -> int: ...
    def close_port(self, handle: int) -> None: ...
    def update_component(self, slot: int, comp: Component, entries: list[TableEntry]) -> None: ...
    def update_table(self, slot: int, comp: Component, add: list[TableEntry],
                     remove: list[TableEntry]) -> None: ...
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


@dataclass(frozen=True)
class Attachment:
    ref: PortRef
    vlan: Vlan
    handle: int    # the C core's open port

    @property
    def uid(self) -> Uid:
        return self.ref.uid

    @property
    def queue(self) -> int:
        return self.ref.queue

    def to_json(self) -> dict[str, Any]:
        return {"port": str(self.ref), "vlan": self.vlan.to_json()}


@dataclass(frozen=True)
class Component:
    name: str
    core: int
    role: str
    slot: int
    rx: tuple[Attachment, ...] = ()
    tx: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class TableEntry:
    vlan: int           # 0 for "mac" entries
    mac: bytes | None   # None = "default"
    ref: PortRef        # the tx port it sends to
    kind: str           # mac | vlan
    shown: str          # the MAC as status shows it

    @property
    def uid(self) -> Uid:
        return self.ref.uid

    def key(self) -> tuple[int, bytes | None]:
        return (self.vlan, self.mac)

    def to_json(self) -> dict[str, Any]:
        value = self.shown if self.kind == "mac" else f"{self.vlan}/{self.shown}"
        return {"type": self.kind, "value": value, "port": str(self.ref)}


@dataclass
class _Open:
    handle: int
    refs: int


def _err(reason: str) -> Refused:
    return Refused(reason)


class Txn:
    """The data-plane steps of one command and how to undo each of them."""

    def __init__(self) -> None:
        self._undo: list[tuple[str, Callable[[], Any]]] = []

    def step(self, what: str, do: Callable[[], Any], undo: Callable[[], Any] | None = None) -> Any:
        result = do()
        if undo is not None:
            self._undo.append((what, undo))
        return result

    def on_undo(self, what: str, undo: Callable[[], Any]) -> None:
        """Register the undo of a step whose undo needs the step's result."""
        self._undo.append((what, undo))

    def rollback(self) -> None:
        for what, undo in reversed(self._undo):
            try:
                undo()
            except Exception:  # noqa: BLE001 - keep undoing the rest; the log says what is off
                log.exception("rollback of '%s' failed: model and data plane may differ", what)
        self._undo.clear()


class VfModel:
    # the component types this process runs (spp_mirror's model has its own)
    roles: dict[str, str] = ROLES
    role_limits: dict[str, tuple[int | None, int | None]] = ROLE_LIMITS
    types_text = "forward, merge, classifier"

    def __init__(self, client_id: int, master: int, workers: list[int], phy_count: int,
                 dp: DataPlane) -> None:
        self.client_id = client_id
        self.master = master
        self.workers = workers
        self.phy_count = phy_count
        self.dp = dp
        self.components: dict[str, Component] = {}
        self.table: dict[Key, TableEntry] = {}  # in the order the entries were added
        self._by_port: dict[PortRef, dict[Key, TableEntry]] = {}
        self._macs = 0  # MAC entries in the table (defaults are not counted)
        self.ports: dict[PortRef, _Open] = {}

    # ---- lookups ----------------------------------------------------
    def _component(self, name: Any) -> Component:
        comp = self.components.get(name) if isinstance(name, str) else None
        if comp is None:
            raise NotFound(f"component '{_short(name)}' not found.")
        return comp

    def _free_slot(self) -> int:
        used = {c.slot for c in self.components.values()}
        for slot in range(MAX_COMPONENTS):
            if slot not in used:
                return slot
        raise _err(f"too many components (at most {MAX_COMPONENTS})")

    def _lcore_slots(self, core: int, without: int | None = None) -> list[int]:
        return [c.slot for c in self.components.values() if c.core == core and c.slot != without]

    def entries_for(self, comp: Component) -> list[TableEntry]:
        """The table entries that send to a tx port of `comp`."""
        return [e for a in comp.tx for e in self._by_port.get(a.ref, {}).values()]

    def entries_to(self, ref: PortRef) -> list[TableEntry]:
        return list(self._by_port.get(ref, {}).values())

    # ---- one command = one transaction ----------------------------------
    def _run(self, apply: Callable[[Txn], Callable[[], None]]) -> None:
        """Run `apply` (data-plane steps); call the commit it returns, or roll back."""
        txn = Txn()
        try:
            commit = apply(txn)
        except Exception as exc:
            txn.rollback()
            if isinstance(exc, Refused | NotFound):  # the command itself, as given
                raise
            # a step the data plane or the XDP map failed: the command is refused
            raise _err(str(exc) or type(exc).__name__) from None
        commit()

    def _close_unused(self, released: list[PortRef]) -> None:
        """After a commit: close ports no component uses any more."""
        for ref in released:
            entry = self.ports.get(ref)
            if entry is None:
                continue
            entry.refs -= 1
            if entry.refs <= 0:
                del self.ports[ref]
                try:
                    self.dp.close_port(entry.handle)
                except Exception as exc:  # noqa: BLE001 - nothing forwards through it now
                    log.warning("closing %s (handle %d): %s", ref, entry.handle, exc)

    # ---- commands ---------------------------------------------------
    def component_start(self, args: dict[str, Any]) -> None:
        try:
            name = check_name(args.get("name"))
            core = check_lcore(args.get("core"))
        except ResourceError as exc:
            raise _err(str(exc)) from None
        kind = args.get("type")
        role = self.roles.get(kind) if isinstance(kind, str) else None
        if role is None:
            raise _err(f"unknown component type '{_short(args.get('type'))}' "
                       f"({self.types_text})")
        if name in self.components:
            raise _err(f"component '{name}' already exists.")
        if core == self.master:
            raise _err(f"core {core} is the master lcore of this process, not a worker "
                       f"(workers: {_list(self.workers)})")
        if core not in self.workers:
            raise _err(f"core {core} is not a worker lcore of this process "
                       f"(workers: {_list(self.workers)})")
        old_slots = self._lcore_slots(core)
        if len(old_slots) >= MAX_COMP_PER_LCORE:
            raise _err(f"core {core} already runs {MAX_COMP_PER_LCORE} components")
        comp = Component(name, core, role, self._free_slot())

        def apply(t: Txn) -> Callable[[], None]:
            t.step("update_component", lambda: self.dp.update_component(comp.slot, comp, []),
                   lambda: self.dp.clear_component(comp.slot))
            t.step("set_lcore", lambda: self.dp.set_lcore(core, [*old_slots, comp.slot]),
                   lambda: self.dp.set_lcore(core, old_slots))
            return lambda: self.components.__setitem__(name, comp)

        self._run(apply)

    def component_stop(self, args: dict[str, Any]) -> None:
        comp = self._component(args.get("name"))
        old_slots = self._lcore_slots(comp.core)
        entries = self.entries_for(comp)

        def apply(t: Txn) -> Callable[[], None]:
            t.step("set_lcore", lambda: self.dp.set_lcore(
                comp.core, self._lcore_slots(comp.core, without=comp.slot)),
                lambda: self.dp.set_lcore(comp.core, old_slots))
            if comp.role == "classifier" and comp.rx:
                rx = comp.rx[0].uid
                t.step("steer", lambda: self.dp.steer(rx, [], entries),
                       lambda: self.dp.steer(rx, entries, []))
            t.step("clear_component", lambda: self.dp.clear_component(comp.slot),
                   lambda: self.dp.update_component(comp.slot, comp, entries))

            def commit() -> None:
                del self.components[comp.name]
                self._close_unused([a.ref for a in comp.rx + comp.tx])
            return commit

        self._run(apply)

    def port(self, args: dict[str, Any]) -> None:
        action = args.get("action")
        if action not in ("attach", "detach", "add", "del"):
            raise _err(f"invalid action '{_short(action)}' (attach, detach)")
        direction = args.get("dir")
        if direction not in ("rx", "tx"):
            raise _err(f"invalid dir '{_short(direction)}' (rx, tx)")
        try:
            ref = parse_port(args.get("port"))
            if "nq" in args:
                if ref.queue:
                    raise ResourceError(f"queue given twice for {ref}")
                ref = PortRef(ref.uid, parse_queue(args["nq"]))
        except ResourceError as exc:
            raise _err(str(exc)) from None
        if ref.queue and ref.uid.kind != "phy":
            raise _err(f"nq applies to phy ports only, not {ref.uid}")
        comp = self._component(args.get("name"))
        if action in ("attach", "add"):
            self._attach(comp, ref, direction, self._vlan(args.get("vlan")))
        else:
            self._detach(comp, ref, direction)

    def _vlan(self, spec: Any) -> Vlan:
        """`{}` or no `vlan` is no VLAN operation; `del` needs no id/pcp (as upstream)."""
        if spec is None:
            return Vlan()
        if not isinstance(spec, dict):
            raise _err("vlan must be an object {operation, id, pcp}")
        op = spec.get("operation", "none")
        if op == "add":
            try:
                return Vlan("add", check_vlan_id(spec.get("id")), check_pcp(spec.get("pcp", 0)))
            except ResourceError as exc:
                raise _err(str(exc)) from None
        if op in ("del", "none"):
            return Vlan(op)
        raise _err(f"invalid vlan operation '{_short(op)}' (add, del, none)")

    def _attach(self, comp: Component, ref: PortRef, direction: str, vlan: Vlan) -> None:
        ports = comp.rx if direction == "rx" else comp.tx
        other = comp.tx if direction == "rx" else comp.rx
        limit = self.role_limits[comp.role][0 if direction == "rx" else 1]
        if any(a.ref == ref for a in ports):
            raise _err(f"{ref} is already a {direction} port of '{comp.name}'")
        if limit is not None and len(ports) >= limit:
            raise _err(f"component '{comp.name}' ({comp.role}) takes {limit} {direction} "
                       f"port(s) and already has {', '.join(str(a.ref) for a in ports)}")
        if len(ports) >= MAX_PORTS_PER_DIR:
            raise _err(f"component '{comp.name}' already has {MAX_PORTS_PER_DIR} "
                       f"{direction} ports")
        if any(a.ref == ref for a in other):
            raise _err(f"{ref} cannot be both rx and tx of '{comp.name}'")
        opened = self.ports.get(ref)

        def apply(t: Txn) -> Callable[[], None]:
            if opened is not None:
                handle = opened.handle
            else:
                handle = t.step("open_port", lambda: self.dp.open_port(ref.uid, ref.queue))
                t.on_undo("open_port", lambda: self.dp.close_port(handle))
            att = Attachment(ref, vlan, handle)
            new = (replace(comp, rx=(*comp.rx, att)) if direction == "rx"
                   else replace(comp, tx=(*comp.tx, att)))
            t.step("update_component",
                   lambda: self.dp.update_component(new.slot, new, self.entries_for(new)),
                   lambda: self.dp.update_component(comp.slot, comp, self.entries_for(comp)))
            if new.role == "classifier" and new.rx:
                rx = new.rx[0].uid
                add = self.entries_for(new) if direction == "rx" else self.entries_to(ref)
                if add:
                    t.step("steer", lambda: self.dp.steer(rx, add, []),
                           lambda: self.dp.steer(rx, [], add))

            def commit() -> None:
                self.components[comp.name] = new
                if opened is not None:
                    opened.refs += 1
                else:
                    self.ports[ref] = _Open(handle, 1)
            return commit

        self._run(apply)

    def _detach(self, comp: Component, ref: PortRef, direction: str) -> None:
        ports = comp.rx if direction == "rx" else comp.tx
        att = next((a for a in ports if a.ref == ref), None)
        if att is None:
            raise _err(f"{ref} is not a {direction} port of '{comp.name}'")
        new = (replace(comp, rx=tuple(a for a in comp.rx if a is not att)) if direction == "rx"
               else replace(comp, tx=tuple(a for a in comp.tx if a is not att)))

        def apply(t: Txn) -> Callable[[], None]:
            t.step("update_component",
                   lambda: self.dp.update_component(new.slot, new, self.entries_for(new)),
                   lambda: self.dp.update_component(comp.slot, comp, self.entries_for(comp)))
            if comp.role == "classifier" and comp.rx:
                rx = comp.rx[0].uid
                lost = self.entries_for(comp) if direction == "rx" else self.entries_to(ref)
                if lost:
                    t.step("steer", lambda: self.dp.steer(rx, [], lost),
                           lambda: self.dp.steer(rx, lost, []))

            def commit() -> None:
                self.components[comp.name] = new
                self._close_unused([ref])
            return commit

        self._run(apply)

    def classifier_table(self, args: dict[str, Any]) -> None:
        """One entry (upstream's command): the reason does not name it."""
        self._table_change([args], named=False)

    def classifier_table_batch(self, args: dict[str, Any]) -> None:
        """`entries`: a list of classifier_table commands applied as one transaction.

        All or nothing: the first bad entry is named (`entry N: ...`, from 0)
        and nothing changes. Entries apply in order, so a batch may delete
        an entry and add it back with another port.
        """
        entries = args.get("entries")
        if not isinstance(entries, list):
            raise _err("entries must be a list of classifier_table entries")
        self._table_change(entries, named=True)

    def _parse_entry(self, args: Any) -> tuple[str, TableEntry, str]:
        if not isinstance(args, dict):
            raise _err("an entry must be an object {action, type, mac_address, port}")
        action = args.get("action")
        if action not in ("add", "del"):
            raise _err(f"invalid action '{_short(action)}' (add, del)")
        kind = args.get("type")
        if kind not in ("mac", "vlan"):
            raise _err(f"invalid type '{_short(kind)}' (mac, vlan)")
        try:
            vlan = check_vlan_id(args.get("vlan")) if kind == "vlan" else 0
            mac, shown = parse_table_mac(args.get("mac_address"))
            ref = parse_port(args.get("port"))
        except ResourceError as exc:
            raise _err(str(exc)) from None
        label = f"{'vlan ' + str(vlan) + ' ' if kind == 'vlan' else ''}{shown}"
        return action, TableEntry(vlan, mac, ref, kind, shown), label

    def _table_change(self, commands: list[Any], named: bool) -> None:
        # the table as the batch leaves it, for the keys the batch touches
        after: dict[Key, TableEntry | None] = {}
        deleted: set[Key] = set()  # an entry deleted and added back goes to the end
        macs = self._macs
        for i, args in enumerate(commands):
            try:
                action, entry, label = self._parse_entry(args)
                key = entry.key()
                current = after[key] if key in after else self.table.get(key)
                if action == "add":
                    if current is not None:
                        raise _err(f"classifier_table already has {label} (-> {current.ref})")
                    if entry.mac is not None and macs >= MAX_TABLE_ENTRIES:
                        raise _err(f"classifier_table is full ({MAX_TABLE_ENTRIES} MAC "
                                   "entries)")
                    after.pop(key, None)  # entries keep the order of their last add
                    after[key] = entry
                else:
                    if current is None or current.ref != entry.ref:
                        raise _err(f"classifier_table has no entry {label} -> {entry.ref}")
                    after[key] = None
                    deleted.add(key)
                macs += (1 if action == "add" else -1) if entry.mac is not None else 0
            except Refused as exc:
                if named:
                    raise type(exc)(f"entry {i}: {exc.reason}") from None
                raise
        add: list[TableEntry] = []
        remove: list[TableEntry] = []
        for key, new in after.items():
            old = self.table.get(key)
            if old == new and key not in deleted:
                continue
            if old is not None:
                remove.append(old)
            if new is not None:
                add.append(new)
        if not add and not remove:
            return
        add_to, remove_from = _by_ref(add), _by_ref(remove)

        def apply(t: Txn) -> Callable[[], None]:
            for comp in self.components.values():
                tx = [a.ref for a in comp.tx]
                if comp.role != "classifier" or not (add_to.keys() | remove_from.keys()) & {*tx}:
                    continue
                self._table_steps(t, comp, [e for ref in tx for e in add_to.get(ref, ())],
                                  [e for ref in tx for e in remove_from.get(ref, ())])

            def commit() -> None:
                for ref, entries in remove_from.items():
                    index = self._by_port[ref]
                    for e in entries:
                        del self.table[e.key()]
                        del index[e.key()]
                for e in add:  # the table keeps the order of the commands
                    self.table[e.key()] = e
                for ref, entries in add_to.items():
                    index = self._by_port.setdefault(ref, {})
                    for e in entries:
                        index[e.key()] = e
                self._macs = macs
            return commit

        self._run(apply)

    def _table_steps(self, t: Txn, comp: Component, add: list[TableEntry],
                     remove: list[TableEntry]) -> None:
        """Change the table of classifier `comp` in place, and its rx port's XDP map."""
        t.step("update_table", lambda: self.dp.update_table(comp.slot, comp, add, remove),
               lambda: self.dp.update_table(comp.slot, comp, remove, add))
        if comp.rx:
            rx = comp.rx[0].uid
            t.step("steer", lambda: self.dp.steer(rx, add, remove),
                   lambda: self.dp.steer(rx, remove, add))

    # ---- status -----------------------------------------------------
    def status(self) -> dict[str, Any]:
        ports = [f"phy:{i}" for i in range(self.phy_count)]
        for ref in self.ports:
            if str(ref) not in ports:
                ports.append(str(ref))
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
            "classifier_table": [e.to_json() for e in self.table.values()],
            "master-lcore": self.master,
            "worker-lcores": list(self.workers),
        }


def _by_ref(entries: list[TableEntry]) -> dict[PortRef, list[TableEntry]]:
    out: dict[PortRef, list[TableEntry]] = {}
    for e in entries:
        out.setdefault(e.ref, []).append(e)
    return out


def _list(ids: list[int]) -> str:
    return ",".join(str(i) for i in ids) or "none"


def _short(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = ["VfModel", "Component", "TableEntry", "Attachment", "Vlan", "DataPlane", "Txn"]
