"""Fake spp processes speaking docs/protocol.md, and a controller stack for tests.

`python tests/fakes.py` starts a controller on free ports plus a fake primary
and a fake vf 1 (lcores 2-6, as the classify-ICMP use case runs it), prints the REST base URL on the
first line of stdout and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from spp import wire
from spp.ctl.server import Controller

UID_RE = re.compile(r"^(phy|ring|vhost):(\d+)$")
ROLE_LIMITS = {  # (max rx, max tx); None = any number
    "forward": (1, 1),
    "merge": (None, 1),
    "classifier": (1, None),
    "classifier_mac": (1, None),
}


class Refused(Exception):
    def __init__(self, reason: str, code: int = 400) -> None:
        super().__init__(reason)
        self.code = code


class FakeProc:
    """Protocol client: hello, then answer requests through `handle`."""

    kind = "primary"

    def __init__(self) -> None:
        self.writer: asyncio.StreamWriter | None = None
        self.silent: set[str] = set()  # commands never answered (timeout tests)
        self.deaf = False  # never answer heartbeats (a hung process)
        self.version = wire.VERSION
        self.log: list[tuple[str, dict[str, Any]]] = []
        self.rejected: str | None = None
        self.done = asyncio.Event()

    def hello(self) -> dict[str, Any]:
        return {"type": "primary", "pid": 4242, "version": self.version}

    async def connect(self, host: str, port: int) -> None:
        reader, self.writer = await asyncio.open_connection(host, port, limit=wire.MAX_REQUEST)
        self.writer.write(json.dumps({"hello": self.hello()}).encode() + b"\n")
        await self.writer.drain()
        first = json.loads(await reader.readline())
        if "reject" in first:
            self.rejected = first["reject"]
            self.writer.close()
            self.done.set()
            return
        self._task = asyncio.create_task(self._loop(reader))

    async def _loop(self, reader: asyncio.StreamReader) -> None:
        assert self.writer is not None
        try:
            while line := await reader.readline():
                req = json.loads(line)
                if "hb" in req:
                    if self.deaf:
                        continue
                    self.writer.write(json.dumps({"hb": req["hb"]}).encode() + b"\n")
                    await self.writer.drain()
                    continue
                cmd, args = req["cmd"], req.get("args") or {}
                self.log.append((cmd, args))
                if cmd in self.silent:
                    continue
                try:
                    reply = {"id": req["id"], "ok": True, "result": self.handle(cmd, args)}
                except Refused as exc:
                    reply = {"id": req["id"], "ok": False, "error": str(exc), "code": exc.code}
                self.writer.write(json.dumps(reply).encode() + b"\n")
                await self.writer.drain()
                if cmd == "exit":
                    break
        finally:
            self.writer.close()
            self.done.set()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        raise NotImplementedError


class FakePrimary(FakeProc):
    def __init__(self, nphy: int = 2, nring: int = 10) -> None:
        super().__init__()
        self.nphy, self.nring = nphy, nring
        self.patches: list[dict[str, str]] = []
        self.forwarding = False
        self.launched: list[dict[str, Any]] = []
        self.outcomes: dict[int, dict[str, Any]] = {}  # client id -> `launched` entry

    def _check(self, uid: str) -> None:
        m = UID_RE.match(uid)
        limit = {"phy": self.nphy, "ring": self.nring}.get(m.group(1)) if m else None
        if m is None or limit is None or int(m.group(2)) >= limit:
            raise Refused(f"no such port {uid}.")

    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        if cmd == "status":
            return {
                "lcores": [1], "master-lcore": 1,
                "phy_ports": [{"id": i, "rx": 0, "tx": 0, "tx_drop": 0,
                               "eth": f"02:00:00:00:00:0{i}"} for i in range(self.nphy)],
                "ring_ports": [{"id": i, "rx": 0, "rx_drop": 0, "tx": 0, "tx_drop": 0}
                               for i in range(self.nring)],
                "patches": self.patches, "forwarding": self.forwarding, "xdp": {},
                "launched": [self.outcomes.get(int(a["client_id"]),
                                               {"client_id": int(a["client_id"]), "pid": 99,
                                                "running": True})
                             for a in self.launched],
            }
        if cmd == "patch":
            self._check(args["src"])
            self._check(args["dst"])
            self.patches.append({"src": args["src"], "dst": args["dst"]})
            return None
        if cmd == "patch_reset":
            self.patches = []
            return None
        if cmd in ("forward", "stop"):
            self.forwarding = cmd == "forward"
            return None
        if cmd == "launch":
            self.launched.append(args)
            return None
        if cmd == "ports":
            self._check(args["port"])
            return None
        if cmd in ("clear", "exit"):
            return None
        raise Refused(f"unknown command {cmd}.")


class FakeVf(FakeProc):
    kind = "vf"

    def __init__(self, client_id: int = 1, lcores: tuple[int, ...] = (2, 3, 4, 5, 6),
                 phys: tuple[str, ...] = ("phy:0", "phy:1")) -> None:
        super().__init__()
        self.client_id = client_id
        self.master, self.workers = lcores[0], list(lcores[1:])
        self.phys = list(phys)
        self.comps: dict[str, dict[str, Any]] = {}
        self.table: dict[tuple[Any, Any], dict[str, Any]] = {}  # (mac, vlan) -> entry

    def hello(self) -> dict[str, Any]:
        return {"type": "vf", "client_id": self.client_id, "pid": 4300 + self.client_id,
                "version": self.version}

    def status(self) -> dict[str, Any]:
        comps: list[dict[str, Any]] = []
        for core in self.workers:
            here = [c for c in self.comps.values() if c["core"] == core]
            comps += [dict(c) for c in here] or [{"core": core, "type": "unuse"}]
        used = {p["port"] for c in self.comps.values() for p in c["rx_port"] + c["tx_port"]}
        ports = sorted(set(self.phys) | used,
                       key=lambda u: (u.split(":")[0], int(u.split(":")[1])))
        table = [{"type": e["type"],
                  "value": e["mac"] if e["type"] == "mac" else f"{e['vlan']}/{e['mac']}",
                  "port": e["port"]} for e in self.table.values()]
        return {"client-id": self.client_id, "ports": ports, "components": comps,
                "classifier_table": table, "master-lcore": self.master,
                "worker-lcores": list(self.workers), "port_counters": {}}

    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        if cmd == "status":
            return self.status()
        if cmd == "exit":
            return None
        if cmd == "component_start":
            name, core = args["name"], args["core"]
            if core not in self.workers:
                raise Refused(f"core {core} is not a worker lcore of this process.")
            if name in self.comps:
                raise Refused(f"component '{name}' already exists.")
            self.comps[name] = {"core": core, "name": name, "type": args["type"],
                                "rx_port": [], "tx_port": []}
            return None
        if cmd == "component_stop":
            if self.comps.pop(args["name"], None) is None:
                raise Refused(f"component '{args['name']}' not found.", 404)
            return None
        if cmd == "port":
            return self._port(args)
        if cmd == "classifier_table":
            return self._table(args)
        if cmd == "classifier_table_batch":
            before = dict(self.table)
            try:
                for i, entry in enumerate(args["entries"]):
                    try:
                        self._table(entry)
                    except Refused as exc:
                        raise Refused(f"entry {i}: {exc}") from None
            except Refused:
                self.table = before
                raise
            return None
        raise Refused(f"unknown command {cmd}.")

    def _port(self, args: dict[str, Any]) -> None:
        comp = self.comps.get(args["name"])
        if comp is None:
            raise Refused(f"component '{args['name']}' not found.", 404)
        lst = comp[f"{args['dir']}_port"]
        found = [p for p in lst if p["port"] == args["port"]]
        if args["action"] == "detach":
            if not found:
                raise Refused(f"{args['port']} is not a {args['dir']} port of {args['name']}.")
            lst.remove(found[0])
            return
        if found:
            raise Refused(f"{args['port']} is already a {args['dir']} port of {args['name']}.")
        limit = ROLE_LIMITS[comp["type"]][0 if args["dir"] == "rx" else 1]
        if limit is not None and len(lst) >= limit:
            raise Refused(f"{comp['type']} '{args['name']}' takes {limit} {args['dir']} port.")
        lst.append({"port": args["port"], "vlan": args.get("vlan") or
                    {"operation": "none", "id": 0, "pcp": 0}})

    def _table(self, args: dict[str, Any]) -> None:
        entry = {"type": args["type"], "vlan": args.get("vlan"), "mac": args["mac_address"],
                 "port": args["port"]}
        key = (entry["mac"], entry["vlan"])
        if args["action"] == "add":
            if key in self.table:
                raise Refused(f"entry {entry['mac']} already exists.")
            self.table[key] = entry
        else:
            if self.table.get(key) != entry:
                raise Refused(f"no entry {entry['mac']} {entry['port']}.")
            del self.table[key]


class FakeNfv(FakeProc):
    """spp_nfv as the controller sees it: commands by name, upstream's status JSON."""

    kind = "nfv"

    def __init__(self, client_id: int = 2, lcores: tuple[int, ...] = (7, 8),
                 phys: tuple[str, ...] = ("phy:0", "phy:1")) -> None:
        super().__init__()
        self.client_id, self.lcores = client_id, list(lcores)
        self.ports = list(phys)
        self.patches: dict[str, str] = {}
        self.running = False

    def hello(self) -> dict[str, Any]:
        return {"type": "nfv", "client_id": self.client_id, "pid": 4400 + self.client_id,
                "version": self.version}

    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        if cmd == "status":
            return {"client-id": self.client_id,
                    "status": "running" if self.running else "idling",
                    "master-lcore": self.lcores[0], "lcores": self.lcores,
                    "ports": self.ports,
                    "patches": [{"src": s, "dst": d} for s, d in self.patches.items()]}
        if cmd in ("forward", "stop"):
            self.running = cmd == "forward"
            return None
        if cmd == "add":
            if args["port"] in self.ports:
                raise Refused(f"{args['port']} is already added")
            self.ports.append(args["port"])
            return None
        if cmd == "del":
            if args["port"] not in self.ports:
                raise Refused(f"{args['port']} is not added")
            self.ports.remove(args["port"])
            return None
        if cmd == "patch":
            for key in ("src", "dst"):
                if args[key] not in self.ports:
                    raise Refused(f"{args[key]} not added (`add` it first)")
            self.patches[args["src"]] = args["dst"]
            return None
        if cmd == "patch_reset":
            self.patches = {}
            return None
        if cmd == "exit":
            return None
        raise Refused(f"unknown nfv command '{cmd}'")


class FakeMirrorDataPlane:
    """What spp_mirror's model pushes to the C core, recorded (no DPDK)."""

    def __init__(self) -> None:
        self.open: dict[int, str] = {}
        self.comps: dict[int, tuple[str, list[str], list[str]]] = {}
        self.lcores: dict[int, list[int]] = {}
        self.next_handle = 0

    def open_port(self, uid: Any, queue: int) -> int:
        self.next_handle += 1
        self.open[self.next_handle] = str(uid)
        return self.next_handle

    def close_port(self, handle: int) -> None:
        del self.open[handle]

    def update_component(self, slot: int, comp: Any, entries: list[Any]) -> None:
        self.comps[slot] = (comp.role, [str(a.uid) for a in comp.rx],
                            [str(a.uid) for a in comp.tx])

    def update_table(self, slot: int, comp: Any, add: list[Any], remove: list[Any]) -> None:
        raise AssertionError("a mirror has no table")

    def clear_component(self, slot: int) -> None:
        self.comps.pop(slot, None)

    def set_lcore(self, lcore: int, slots: list[int]) -> None:
        self.lcores[lcore] = slots

    def steer(self, rx: Any, add: list[Any], remove: list[Any]) -> None:
        raise AssertionError("a mirror steers nothing")


class FakeMirror(FakeProc):
    """spp_mirror as the controller sees it: its real model on a recording data plane."""

    kind = "mirror"

    def __init__(self, client_id: int = 3, lcores: tuple[int, ...] = (2, 3, 4)) -> None:
        from spp.proc.mirror import MirrorModel

        super().__init__()
        self.client_id = client_id
        self.dp = FakeMirrorDataPlane()
        self.model = MirrorModel(client_id, lcores[0], list(lcores[1:]), 2, self.dp)

    def hello(self) -> dict[str, Any]:
        return {"type": "mirror", "client_id": self.client_id, "pid": 4500 + self.client_id,
                "version": self.version}

    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        if cmd == "status":
            return self.model.status()
        if cmd in ("component_start", "component_stop", "port"):
            from spp.errors import SppError

            try:
                return getattr(self.model, cmd)(args)
            except SppError as exc:  # the model's reason and code, as the agent sends them
                raise Refused(exc.reason, exc.code) from None
        if cmd == "exit":
            return None
        raise Refused(f"unknown mirror command '{cmd}'")


class FakePcapDataPlane:
    """spp_pcap's C side as the model sees it: writers that count, no files."""

    def __init__(self, writers: tuple[int, ...] = (4, 5)) -> None:
        self.lcores = writers
        self.stem = ""
        self.files = 0
        self.running = False
        self.calls: list[str] = []
        self.fail: str | None = None  # the reason the next start is refused

    def start(self, stem: str) -> None:
        from spp.native import NativeError

        if self.fail is not None:
            raise NativeError(self.fail)
        self.calls.append(f"start {stem}")
        self.stem, self.files, self.running = stem, 1, True

    def stop(self) -> None:
        self.calls.append("stop")
        self.running = False

    def counters(self) -> dict[str, int]:
        return {"received": 10, "written": 9, "dropped": 1}

    def writers(self) -> list[Any]:
        from spp.proc.pcap import WriterInfo

        return [WriterInfo(lc, self.files, 4 + i, 0, 100, 0, self.running, self.stem)
                for i, lc in enumerate(self.lcores)]


class FakePcap(FakeProc):
    """spp_pcap as the controller sees it: its real model on a fake data plane."""

    kind = "pcap"

    def __init__(self, client_id: int = 5) -> None:
        import datetime as dt

        from spp.proc.pcap import PcapModel
        from spp.resources import parse_port

        super().__init__()
        self.client_id = client_id
        self.dp = FakePcapDataPlane()
        self.model = PcapModel(client_id, 2, 3, parse_port("phy:0"), Path("/tmp/cap"),
                               1 << 30, 65535, self.dp,
                               clock=lambda: dt.datetime(2026, 1, 2, 3, 4, 5))

    def hello(self) -> dict[str, Any]:
        return {"type": "pcap", "client_id": self.client_id, "pid": 4600 + self.client_id,
                "version": self.version}

    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        from spp.errors import SppError

        if cmd == "exit":
            return None
        try:
            return self.model.handle(cmd, args)
        except SppError as exc:  # the model's reason and code, as the agent sends them
            raise Refused(exc.reason, exc.code) from None


class Stack:
    """Controller + fakes on one event loop in a background thread."""

    def __init__(self, timeout: float = 2.0, heartbeat: float = 1.0, **ctl_opts: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.ctl = Controller("127.0.0.1", 0, 0, 0, timeout=timeout, heartbeat=heartbeat,
                              **ctl_opts)
        self.run(self.ctl.start())
        self.url = f"http://127.0.0.1:{self.ctl.api_port}/v1"
        self.base = f"http://127.0.0.1:{self.ctl.api_port}"

    def run(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def add(self, proc: FakeProc) -> FakeProc:
        port = self.ctl.pri_port if proc.kind == "primary" else self.ctl.sec_port

        async def _go() -> None:
            await proc.connect("127.0.0.1", port)
            for _ in range(200):  # until registered (or rejected)
                if proc.rejected or self._registered(proc):
                    return
                await asyncio.sleep(0.01)

        self.run(_go())
        return proc

    def _registered(self, proc: FakeProc) -> bool:
        reg = self.ctl.registry
        if isinstance(proc, FakeVf):
            return proc.client_id in reg.vfs
        if isinstance(proc, FakeNfv):
            return proc.client_id in reg.nfvs
        if isinstance(proc, FakeMirror):
            return proc.client_id in reg.mirrors
        if isinstance(proc, FakePcap):
            return proc.client_id in reg.pcaps
        return reg.primary is not None

    def drop(self, proc: FakeProc) -> None:
        self.loop.call_soon_threadsafe(proc.close)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.run(self.ctl.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@contextlib.contextmanager
def running(**procs: FakeProc) -> Iterator[Stack]:
    """A Stack (0.5 s command timeout) with `procs` connected in the order given,
    each its attribute by keyword (`running(pri=FakePrimary())` -> s.pri); closed after."""
    s = Stack(timeout=0.5)
    try:
        for name, proc in procs.items():
            setattr(s, name, s.add(proc))
        yield s
    finally:
        s.close()


def rest(s: Stack, method: str, path: str, body: Any = None,
         raw: str | bytes | None = None) -> requests.Response:
    """One call to the stack's REST API (`path` below /v1/): `body` as JSON, or `raw`
    sent as it is with a JSON content type."""
    if raw is not None:
        return requests.request(method, f"{s.url}/{path}", data=raw, timeout=5,
                                headers={"Content-Type": "application/json"})
    return requests.request(method, f"{s.url}/{path}", json=body, timeout=5)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-primary", action="store_true")
    ap.add_argument("--vf", type=int, action="append", default=None)
    opts = ap.parse_args(argv)
    stack = Stack()
    if not opts.no_primary:
        stack.add(FakePrimary())
    for cid in opts.vf or [1]:
        stack.add(FakeVf(cid))
    print(stack.base, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
