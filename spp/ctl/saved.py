"""Configuration that comes back: what each process was told, kept by the controller.

The controller records every configuration command a process acknowledged
(spp_vf and spp_mirror: components, ports with their VLAN operations, the
classifier table; spp_nfv: ports added and deleted, patches, forwarding; the
primary: ring/vhost ports, patches, forwarding) in a model per process, keyed
by `primary` or `TYPE:N` (`vf:1`, `mirror:2`, `nfv:3`; spp.kinds names which
model a secondary type uses). When a process registers again with another pid after
it died (it left without an `exit`), the controller replays that model to it
before any other command reaches it, logs what came back and shows it as
`restored` in its status. A process that left by `exit` (`bye`, `spp down`)
starts empty the next time, unless the controller was started with
`--restore all` (`spp up --restore`), which brings back what the state file
holds once. A process that registers again with the same pid never stopped
(the controller restarted, or the link was lost): its own status is read and
becomes the model. `--restore off` keeps nothing (upstream's behaviour).

With a state file the models survive the controller: a snapshot
(`ctl-state.json`, replaced by an atomic rename) plus a journal
(`ctl-state.journal`, one JSON line per acknowledged change, appended before
the REST answer goes out), folded into a new snapshot when it grows. A kill of
the controller at any moment leaves the last acknowledged state. A snapshot
or journal that cannot be read, or is not ours, is moved aside with a
one-line reason and the controller starts empty.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spp import resources as R
from spp import safefile
from spp.kinds import SECONDARY_KINDS

log = logging.getLogger("spp.ctl")

FORMAT = "spp-ctl-state"
VERSION = 1
RESTORE_MODES = ("on", "off", "all")
STATE_NAME = "ctl-state.json"
JOURNAL_SUFFIX = ".journal"
COMPACT_MIN_LINES = 1000        # fold the journal into a snapshot past this many lines ...
RESTORE_GATE_S = 30.0           # ... REST commands wait at most this long for a restore

VF_COMMANDS = ("component_start", "component_stop", "port", "classifier_table",
               "classifier_table_batch")
PRIMARY_COMMANDS = ("ports", "patch", "patch_reset", "forward", "stop", "xdp_offload")
NFV_COMMANDS = ("add", "del", "patch", "patch_reset", "forward", "stop")
# the commands each model records: `components` (spp_vf's), `patches` (spp_nfv's)
MODEL_COMMANDS = {"primary": PRIMARY_COMMANDS, "components": VF_COMMANDS,
                  "patches": NFV_COMMANDS}
# process type -> its model; a secondary type whose kind has no `saved` starts empty
MODELS = {"primary": "primary", **{k.name: k.saved for k in SECONDARY_KINDS.values()
                                   if k.saved is not None}}
SAVED_KINDS = tuple(MODELS)


MAX_STATE_BYTES = 256 << 20  # a state file or journal larger than this is refused


class StateFileError(Exception):
    """The state file cannot be used; the message is the one-line reason."""


# ---- models of one process ----------------------------------------------------

def _port_key(args: dict[str, Any]) -> str:
    return f"{args['name']}|{args['dir']}|{args['port']}|{args.get('nq', 0)}"


def _table_key(args: dict[str, Any]) -> str:
    return f"{args.get('vlan') or 0}|{args['mac_address']}"


def _without_action(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k != "action"}


@dataclass
class ProcModel:
    """The acknowledged configuration of one process, and what is known of its life."""

    kind: str                                   # primary | vf | mirror | nfv (MODELS)
    pid: int | None = None
    exited: bool = False                        # left by `exit`
    from_file: bool = False                     # loaded at start, not seen since
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    ports: dict[str, dict[str, Any]] = field(default_factory=dict)   # vf attachments
    table: dict[str, dict[str, Any]] = field(default_factory=dict)
    rings: list[str] = field(default_factory=list)                   # primary `ports add`
    patches: dict[str, str] = field(default_factory=dict)            # src -> dst
    forwarding: bool = False
    added: list[str] = field(default_factory=list)      # nfv `add` (beyond what it starts with)
    removed: list[str] = field(default_factory=list)    # nfv `del` of a port it starts with
    xdp_offload: str | None = None   # primary `xdp_offload` on|off, None = the process's default

    @property
    def model(self) -> str:
        """Which model: primary, components (spp_vf, spp_mirror) or patches (spp_nfv)."""
        return MODELS[self.kind]

    def empty(self) -> bool:
        return not (self.components or self.ports or self.table or self.rings
                    or self.patches or self.forwarding or self.added or self.removed
                    or self.xdp_offload is not None)

    def clear(self) -> None:
        self.components, self.ports, self.table = {}, {}, {}
        self.rings, self.patches, self.forwarding = [], {}, False
        self.added, self.removed = [], []
        self.xdp_offload = None

    # -- acknowledged commands
    def apply(self, cmd: str, args: dict[str, Any]) -> None:
        """Record a command the process acknowledged (args as relayed)."""
        if cmd == "component_start":
            self.components[args["name"]] = dict(args)
        elif cmd == "component_stop":
            self.components.pop(args["name"], None)
            self.ports = {k: p for k, p in self.ports.items() if p["name"] != args["name"]}
        elif cmd == "port":
            if args["action"] in ("attach", "add"):
                self.ports[_port_key(args)] = _without_action(args)
            else:
                self.ports.pop(_port_key(args), None)
        elif cmd == "classifier_table":
            if args["action"] == "add":
                self.table[_table_key(args)] = _without_action(args)
            else:
                self.table.pop(_table_key(args), None)
        elif cmd == "classifier_table_batch":
            for entry in args["entries"]:
                self.apply("classifier_table", entry)
        elif cmd == "ports":
            if args["action"] == "add" and args["port"] not in self.rings:
                self.rings.append(args["port"])
            elif args["action"] == "del" and args["port"] in self.rings:
                self.rings.remove(args["port"])
        elif cmd == "patch":
            self.patches.pop(args["src"], None)
            self.patches[args["src"]] = args["dst"]
        elif cmd == "patch_reset":
            self.patches = {}
        elif cmd in ("forward", "stop"):
            self.forwarding = cmd == "forward"
        elif cmd == "xdp_offload":
            self.xdp_offload = args["action"]
        elif cmd == "add":  # spp_nfv starts with every phy port: a re-added one is back
            if args["port"] in self.removed:
                self.removed.remove(args["port"])
            elif args["port"] not in self.added:
                self.added.append(args["port"])
        elif cmd == "del":
            if args["port"] in self.added:
                self.added.remove(args["port"])
            elif args["port"] not in self.removed:
                self.removed.append(args["port"])

    def holds(self, cmd: str, args: dict[str, Any]) -> bool:
        """True when `cmd` would change nothing: what it sets is already there."""
        if cmd == "component_start":
            return self.components.get(args["name"]) == args
        if cmd == "port" and args["action"] in ("attach", "add"):
            return self.ports.get(_port_key(args)) == _without_action(args)
        if cmd == "classifier_table" and args["action"] == "add":
            return self.table.get(_table_key(args)) == _without_action(args)
        if cmd == "classifier_table_batch":
            return bool(args["entries"]) and all(
                self.holds("classifier_table", e) for e in args["entries"])
        if cmd == "ports" and args["action"] == "add":
            return args["port"] in self.rings
        if cmd == "add":
            return args["port"] in self.added
        if cmd == "patch":
            return bool(self.patches.get(args["src"]) == args["dst"])
        if cmd == "forward":
            return self.forwarding
        if cmd == "xdp_offload":
            return bool(self.xdp_offload == args["action"])
        return False

    def commands(self) -> list[tuple[str, dict[str, Any]]]:
        """The commands that rebuild this configuration in an empty process, in order."""
        if self.model in ("primary", "patches"):
            if self.model == "primary":
                out: list[tuple[str, dict[str, Any]]] = (
                    [("xdp_offload", {"action": self.xdp_offload})]
                    if self.xdp_offload is not None else [])
                out += [("ports", {"action": "add", "port": p}) for p in self.rings]
            else:
                out = [("del", {"port": p}) for p in self.removed]
                out += [("add", {"port": p}) for p in self.added]
            out += [("patch", {"src": s, "dst": d}) for s, d in self.patches.items()]
            return out + ([("forward", {})] if self.forwarding else [])
        out = [("component_start", dict(c)) for c in self.components.values()]
        out += [("port", {"action": "attach", **p}) for p in self.ports.values()]
        if self.table:  # one transaction for the whole table
            out.append(("classifier_table_batch", {"entries": [
                {"action": "add", **e} for e in self.table.values()]}))
        return out

    def summary(self) -> dict[str, int]:
        if self.model == "primary":
            return {"ports": len(self.rings), "patches": len(self.patches),
                    "forwarding": int(self.forwarding),
                    **({"xdp_offload_off": 1} if self.xdp_offload == "off" else {})}
        if self.model == "patches":
            return {"ports": len(self.added), "ports_deleted": len(self.removed),
                    "patches": len(self.patches), "forwarding": int(self.forwarding)}
        return {"components": len(self.components), "ports": len(self.ports),
                "classifier_table": len(self.table)}

    # -- from a process's own status (it kept running while the controller was away)
    def adopt_status(self, st: Any) -> None:
        if not isinstance(st, dict):
            return
        self.clear()
        if self.model in ("primary", "patches"):
            for p in st.get("patches") or []:
                if isinstance(p, dict) and isinstance(p.get("src"), str):
                    self.patches[p["src"]] = str(p.get("dst"))
            if self.model == "primary":
                self.forwarding = bool(st.get("forwarding"))
                fast = st.get("xdp_offload")
                if isinstance(fast, dict) and isinstance(fast.get("enabled"), bool):
                    self.xdp_offload = "on" if fast["enabled"] else "off"
                return
            # spp_nfv: what it has beyond its phy ports (a deleted phy port is not seen)
            self.added = [str(p) for p in st.get("ports") or []
                          if isinstance(p, str) and not p.startswith("phy:")]
            self.forwarding = st.get("status") == "running"
            return
        for c in st.get("components") or []:
            if not isinstance(c, dict) or "name" not in c:
                continue
            self.apply("component_start", {"name": c["name"], "core": c["core"],
                                           "type": c["type"]})
            for direction in ("rx", "tx"):
                for att in c.get(f"{direction}_port") or []:
                    self.apply("port", {"action": "attach", "name": c["name"],
                                        "dir": direction, **_status_port(att)})
        for e in st.get("classifier_table") or []:
            entry = _status_entry(e)
            if entry is not None:
                self.apply("classifier_table", entry)

    # -- file form
    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "pid": self.pid, "exited": self.exited,
                "components": list(self.components.values()),
                "ports": list(self.ports.values()), "classifier_table": list(self.table.values()),
                "rings": self.rings, "patches": [{"src": s, "dst": d}
                                                 for s, d in self.patches.items()],
                "forwarding": self.forwarding, "added": self.added, "removed": self.removed,
                "xdp_offload": self.xdp_offload}

    @classmethod
    def from_json(cls, data: Any) -> ProcModel:
        if not isinstance(data, dict) or data.get("kind") not in MODELS:
            raise ValueError("a process entry is not an object with kind "
                             + " or ".join(MODELS))
        pid = data.get("pid")
        m = cls(data["kind"], pid if isinstance(pid, int) else None,
                bool(data.get("exited")), from_file=True)
        for c in data.get("components", []):
            m.apply("component_start", _checked_component(c))
        for p in data.get("ports", []):
            m.apply("port", {"action": "attach", **_checked_port(p)})
        for e in data.get("classifier_table", []):
            m.apply("classifier_table", {"action": "add", **_checked_entry(e)})
        for r in data.get("rings", []):
            m.apply("ports", {"action": "add", "port": str(R.parse_uid(r))})
        uid = R.parse_port if m.model == "patches" else R.parse_uid  # nfv: `phy:0 nq 1` too
        for p in data.get("patches", []):
            m.apply("patch", {"src": str(uid(p["src"])), "dst": str(uid(p["dst"]))})
        for p in data.get("removed", []):
            m.apply("del", {"port": str(R.parse_port(p))})
        for p in data.get("added", []):
            m.apply("add", {"port": str(R.parse_port(p))})
        m.forwarding = data.get("forwarding") is True
        if data.get("xdp_offload") is not None:
            if data["xdp_offload"] not in ("on", "off"):
                raise ValueError("xdp_offload is not 'on' or 'off'")
            m.xdp_offload = data["xdp_offload"]
        return m


def _status_port(att: dict[str, Any]) -> dict[str, Any]:
    """`{"port": "phy:0 nq 1", "vlan": {...}}` of a status as `port` command fields."""
    words = str(att.get("port", "")).split()
    out: dict[str, Any] = {"port": words[0] if words else ""}
    if len(words) == 3 and words[1] == "nq":
        out["nq"] = int(words[2])
    raw = att.get("vlan")
    vlan: dict[str, Any] = raw if isinstance(raw, dict) else {}
    out["vlan"] = {"operation": vlan.get("operation", "none"), "id": vlan.get("id", 0),
                   "pcp": vlan.get("pcp", 0)}
    return out


def _status_entry(e: Any) -> dict[str, Any] | None:
    if not isinstance(e, dict) or e.get("type") not in ("mac", "vlan"):
        return None
    value = str(e.get("value", ""))
    vlan: int | None = None
    if e["type"] == "vlan":
        vid, _, value = value.partition("/")
        vlan = int(vid)
    _raw, mac = R.parse_table_mac(value)
    return {"action": "add", "type": e["type"], "vlan": vlan, "mac_address": mac,
            "port": str(e.get("port"))}


def _checked_component(c: Any) -> dict[str, Any]:
    return {"name": R.check_name(c["name"]), "core": R.check_lcore(c["core"]),
            "type": str(c["type"])}


def _checked_port(p: Any) -> dict[str, Any]:
    out = {"name": R.check_name(p["name"]), "dir": p["dir"] if p["dir"] in ("rx", "tx") else "",
           "port": str(R.parse_port(p["port"]).uid)}
    if not out["dir"]:
        raise ValueError(f"bad dir {str(p['dir'])[:20]}")
    if "nq" in p:
        out["nq"] = R.parse_queue(p["nq"])
    vlan = p.get("vlan") or {}
    out["vlan"] = {"operation": str(vlan.get("operation", "none")),
                   "id": int(vlan.get("id", 0)), "pcp": int(vlan.get("pcp", 0))}
    return out


def _checked_entry(e: Any) -> dict[str, Any]:
    kind = e["type"]
    if kind not in ("mac", "vlan"):
        raise ValueError(f"bad classifier entry type {str(kind)[:20]}")
    _raw, mac = R.parse_table_mac(e["mac_address"])
    vlan = R.check_vlan_id(e["vlan"]) if kind == "vlan" else None
    return {"type": kind, "vlan": vlan, "mac_address": mac,
            "port": str(R.parse_port(e["port"]))}


# ---- the store ---------------------------------------------------------------

@dataclass
class Restored:
    """What a restore brought back (status `restored`)."""

    at: float
    pid: int | None
    summary: dict[str, int]
    failed: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"at": round(self.at, 3), "pid": self.pid, **self.summary,
                "failed": self.failed}


Request = Callable[[str, dict[str, Any]], Any]   # async (cmd, args) -> result


class Saved:
    """Every process's model, its state file, and the restores in progress."""

    def __init__(self, mode: str = "on", path: Path | None = None) -> None:
        if mode not in RESTORE_MODES:
            raise ValueError(f"--restore {mode}: expected one of {', '.join(RESTORE_MODES)}")
        self.mode = mode
        self.path = path if mode != "off" else None
        self.models: dict[str, ProcModel] = {}
        self.restored: dict[str, Restored] = {}
        self._gates: dict[str, asyncio.Event] = {}
        self._seq = 0
        self._journal_lines = 0
        self._journal: Any = None
        if self.path is not None:
            self._load()

    @property
    def journal_path(self) -> Path:
        assert self.path is not None
        return self.path.with_name(self.path.name + JOURNAL_SUFFIX)

    # -- loading
    def _load(self) -> None:
        assert self.path is not None
        try:
            self.models, self._seq = _read_snapshot(self.path)
            self._journal_lines = _replay_journal(self.journal_path, self.models, self._seq)
        except StateFileError as exc:
            kept = _set_aside([self.path, self.journal_path])
            log.warning("state file %s not used: %s; starting empty (kept as %s)",
                        self.path, exc, ", ".join(str(k) for k in kept) or "nothing")
            self.models, self._seq, self._journal_lines = {}, 0, 0
        for key, m in self.models.items():
            m.from_file = True
            if not m.empty():
                log.info("state file: %s had %s%s", key, _summary_text(m.summary()),
                         " (left by exit)" if m.exited else "")
        self._snapshot()

    # -- writing
    def _snapshot(self) -> None:
        if self.path is None:
            return
        self._seq += 1
        doc = {"format": FORMAT, "version": VERSION, "seq": self._seq,
               "procs": {k: m.to_json() for k, m in self.models.items()}}
        safefile.write_private_atomic(self.path, json.dumps(doc, separators=(",", ":")).encode())
        if self._journal is not None:
            self._journal.close()
        self._journal = safefile.open_private_append(self.journal_path, truncate=True)
        self._journal_lines = 0

    def _log_change(self, record: dict[str, Any]) -> None:
        if self.path is None or self._journal is None:
            return
        if self._journal_lines >= max(COMPACT_MIN_LINES, self._entries()):
            self._snapshot()
            return
        self._journal.write(json.dumps({"seq": self._seq, **record},
                                       separators=(",", ":")).encode() + b"\n")
        self._journal.flush()
        self._journal_lines += 1

    def _entries(self) -> int:
        return sum(len(m.table) + len(m.ports) + len(m.components) for m in self.models.values())

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    # -- hooks of the REST layer
    def model(self, key: str, kind: str) -> ProcModel:
        m = self.models.get(key)
        if m is None:
            m = self.models[key] = ProcModel(kind)
        return m

    async def gate(self, key: str) -> None:
        """Wait while `key` is being restored (commands go after what comes back)."""
        ev = self._gates.get(key)
        if ev is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ev.wait(), RESTORE_GATE_S)

    def unchanged(self, key: str, cmd: str, args: dict[str, Any]) -> bool:
        """A re-sent command equal to what a restored process already holds."""
        m = self.models.get(key)
        return (self.mode != "off" and key in self.restored and m is not None
                and m.holds(cmd, args))

    def acknowledged(self, key: str, kind: str, cmd: str, args: dict[str, Any]) -> None:
        if self.mode == "off" or kind not in SAVED_KINDS:
            return
        if cmd == "exit":
            m = self.model(key, kind)
            m.exited = True
            self.restored.pop(key, None)
            self._log_change({"proc": key, "exit": True})
            return
        if cmd not in MODEL_COMMANDS[MODELS[kind]]:
            return
        self.model(key, kind).apply(cmd, args)
        self._log_change({"proc": key, "cmd": cmd, "args": args})

    def annotate(self, key: str, status: Any) -> Any:
        """A status with `restored` added when the process got its configuration back."""
        r = self.restored.get(key)
        if r is not None and isinstance(status, dict):
            status = {**status, "restored": r.to_json()}
        return status

    # -- registration
    async def registered(self, key: str, kind: str, pid: int | None, request: Request) -> None:
        """A process registered: adopt it, restore it or start it empty (see the module doc)."""
        if self.mode == "off" or kind not in SAVED_KINDS:
            return
        m = self.model(key, kind)
        same = pid is not None and pid == m.pid
        restore = not same and not m.empty() and (
            not m.exited or (self.mode == "all" and m.from_file))
        m.from_file = False
        if not same:
            self.restored.pop(key, None)
        if not restore:
            if same:
                await self._adopt(key, m, request)
            elif not m.empty():
                log.info("%s registered anew after exit (pid %s): starting empty", key, pid)
                m.clear()
            m.pid, m.exited = pid, False
            self._snapshot()
            return
        gate = self._gates[key] = asyncio.Event()
        try:
            await self._restore(key, m, pid, request)
        finally:
            gate.set()
            self._gates.pop(key, None)

    async def _adopt(self, key: str, m: ProcModel, request: Request) -> None:
        try:
            m.adopt_status(await request("status", {}))
        except Exception as exc:  # noqa: BLE001 - keep the model we had
            log.warning("%s is back (same pid); its status was not read: %s", key, exc)
            return
        log.info("%s is back (same pid %s): keeping %s", key, m.pid, _summary_text(m.summary()))

    async def _restore(self, key: str, m: ProcModel, pid: int | None, request: Request) -> None:
        todo = collections.deque(m.commands())
        fresh = ProcModel(m.kind, pid)
        failed: list[str] = []
        while todo:
            cmd, args = todo.popleft()
            try:
                await request(cmd, args)
            except Exception as exc:  # noqa: BLE001 - the reason is reported, the rest goes on
                if cmd == "classifier_table_batch":  # find the entries that do not go back
                    todo.extendleft(("classifier_table", e) for e in reversed(args["entries"]))
                    continue
                reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
                failed.append(f"{cmd} {_args_text(args)}: {reason}"[:300])
                continue
            fresh.apply(cmd, args)
        self.models[key] = fresh
        r = Restored(time.time(), pid, fresh.summary(), failed)
        self.restored[key] = r
        self._snapshot()
        log.info("%s restarted (pid %s): restored %s%s", key, pid, _summary_text(r.summary),
                 f"; {len(failed)} failed: {'; '.join(failed[:3])}" if failed else "")


def _summary_text(summary: dict[str, int]) -> str:
    return ", ".join(f"{v} {k}" for k, v in summary.items())


def _args_text(args: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in args.items() if k != "action")


def _read_snapshot(path: Path) -> tuple[dict[str, ProcModel], int]:
    try:
        raw = safefile.read_private(path, limit=MAX_STATE_BYTES)
    except FileNotFoundError:
        return {}, 0
    except safefile.UnsafeFile as exc:
        raise StateFileError(str(exc)) from None
    except OSError as exc:
        raise StateFileError(f"cannot read it ({exc.strerror})") from None
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise StateFileError("it is not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StateFileError(f"it is not an {FORMAT} file")
    if doc.get("version") != VERSION:
        raise StateFileError(f"version {str(doc.get('version'))[:20]} is not {VERSION}")
    seq, procs = doc.get("seq"), doc.get("procs")
    if not isinstance(seq, int) or not isinstance(procs, dict):
        raise StateFileError("it has no seq or procs")
    models = {}
    for key, data in procs.items():
        if _key_kind(key) is None:
            raise StateFileError(f"unknown process {str(key)[:30]}")
        try:
            models[key] = ProcModel.from_json(data)
        except (ValueError, KeyError, TypeError, R.ResourceError) as exc:
            raise StateFileError(f"{key}: {str(exc)[:200] or type(exc).__name__}") from None
    return models, seq


def _replay_journal(path: Path, models: dict[str, ProcModel], seq: int) -> int:
    """Apply the journal's changes made since snapshot `seq`; returns the lines applied."""
    try:
        text = safefile.read_private(path, limit=MAX_STATE_BYTES).decode("utf-8")
    except FileNotFoundError:
        return 0
    except safefile.UnsafeFile as exc:
        raise StateFileError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StateFileError(f"journal {path}: cannot read it ({exc})") from None
    lines = 0
    for n, line in enumerate(text.splitlines(), 1):
        try:
            rec = json.loads(line)
            if rec["seq"] != seq:
                continue
            key = rec["proc"]
            kind = _key_kind(key)
            if kind is None:
                raise ValueError(f"unknown process {str(key)[:30]}")
            m = models.setdefault(key, ProcModel(kind))
            if rec.get("exit"):
                m.exited = True
            else:
                m.apply(str(rec["cmd"]), dict(rec["args"]))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise StateFileError(f"journal {path} line {n}: {str(exc)[:100]}") from None
        lines += 1
    return lines


def _set_aside(paths: list[Path]) -> list[Path]:
    kept = []
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for p in paths:
        if p.exists():
            dest = p.with_name(f"{p.name}.bad-{stamp}")
            with contextlib.suppress(OSError):
                os.replace(p, dest)
                kept.append(dest)
    return kept


def _key_kind(key: Any) -> str | None:
    """The process type of a model key (`primary`, `vf:1`, `nfv:2`), None if not one."""
    if key == "primary":
        return "primary"
    kind, _, cid = str(key).partition(":")
    return kind if kind in MODELS and kind != "primary" and R.is_ascii_id(cid) else None


def proc_key(kind: str, client_id: int | None) -> str:
    """The model key of a process: `primary`, `vf:N` or `nfv:N`."""
    return "primary" if kind == "primary" else f"{kind}:{client_id}"

