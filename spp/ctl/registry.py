"""Process listeners (the primary's and the secondaries' ports) and the live registry."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from spp import wire
from spp.ctl.conn import ProcConn
from spp.ctl.saved import Saved, proc_key
from spp.defaults import API_ADDR

log = logging.getLogger("spp.ctl")

SECONDARY_TYPES = ("vf", "nfv", "mirror", "pcap")  # the processes the secondary port accepts


class Registry:
    """Who is connected right now: at most one primary, and one secondary (vf or nfv)
    per client id (upstream's secondary ids are one space)."""

    def __init__(self, controller_addr: str = API_ADDR,
                 heartbeat: float = wire.HEARTBEAT_S, saved: Saved | None = None) -> None:
        self.controller_addr = controller_addr
        self.heartbeat = heartbeat
        self.saved = saved if saved is not None else Saved()
        self._restores: set[asyncio.Task[None]] = set()
        self.primary: ProcConn | None = None
        self.vfs: dict[int, ProcConn] = {}
        self.nfvs: dict[int, ProcConn] = {}
        self.mirrors: dict[int, ProcConn] = {}
        self.pcaps: dict[int, ProcConn] = {}

    def processes(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        if self.primary is not None:
            out.append({"type": "primary"})
        for kind, conns in (("nfv", self.nfvs), ("vf", self.vfs), ("mirror", self.mirrors),
                            ("pcap", self.pcaps)):
            for cid in sorted(conns):
                out.append({"type": kind, "client-id": cid})
        return out

    def secondaries(self, kind: str) -> dict[int, ProcConn]:
        """The connected secondaries of `kind` (vf, nfv, mirror or pcap), by client id."""
        if kind == "mirror":
            return self.mirrors
        if kind == "pcap":
            return self.pcaps
        return self.nfvs if kind == "nfv" else self.vfs

    async def handle_primary(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await self._handle(r, w, expect="primary")

    async def handle_secondary(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await self._handle(r, w, expect="secondary")

    def _check_hello(self, line: bytes, expect: str) -> tuple[dict[str, object] | None, str]:
        """(hello, "") or (None, reason to reject)."""
        try:
            msg = json.loads(line) if line else None
        except (ValueError, RecursionError):
            msg = None
        hello = msg.get("hello") if isinstance(msg, dict) else None
        if not isinstance(hello, dict):
            return None, "expected a hello message."
        version = hello.get("version")
        if version != wire.VERSION:
            return None, (f"protocol version {str(version)[:20]} is not supported "
                          f"(this controller speaks {wire.VERSION}).")
        kind = hello.get("type")
        if kind != expect and not (expect == "secondary" and kind in SECONDARY_TYPES):
            what = "secondary (vf, nfv, mirror, pcap)" if expect == "secondary" else expect
            return None, f"this port accepts {what} processes only."
        return hello, ""

    async def _handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter, expect: str) -> None:
        conn: ProcConn | None = None
        wire.keepalive(w)
        peer = w.get_extra_info("peername")
        where = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else "-"
        try:
            try:
                line = await asyncio.wait_for(wire.read_line(r), wire.HELLO_TIMEOUT_S)
            except wire.LineTooLong:
                line = b""
            hello, reason = self._check_hello(line, expect)
            if hello is None:
                await _reject(w, where, reason)
                return
            raw_pid = hello.get("pid")
            pid = raw_pid if isinstance(raw_pid, int) and not isinstance(raw_pid, bool) else None
            if expect == "primary":
                if self.primary is not None and not self.primary.closed.is_set():
                    await _reject(w, where, "primary is already connected.")
                    return
                conn = ProcConn("primary", r, w, pid=pid, heartbeat=self.heartbeat)
                self.primary = conn
            else:
                cid = hello.get("client_id")
                if not isinstance(cid, int) or isinstance(cid, bool) or not 0 <= cid < 1 << 16:
                    await _reject(w, where, "client_id must be a non-negative integer.")
                    return
                kind = str(hello["type"])
                old = (self.vfs.get(cid) or self.nfvs.get(cid) or self.mirrors.get(cid)
                       or self.pcaps.get(cid))
                if old is not None and not old.closed.is_set():
                    await _reject(w, where, f"client-id {cid} is already connected.")
                    return
                conn = ProcConn(kind, r, w, client_id=cid, pid=pid, heartbeat=self.heartbeat)
                self.secondaries(kind)[cid] = conn
            await conn.send({"welcome": {"controller": self.controller_addr,
                                         "version": wire.VERSION,
                                         "heartbeat": self.heartbeat}})
            log.info("%s connected (pid %s) from %s", conn.label, conn.pid, where)
            self._registered(conn)
            await conn.read_loop()
        except (TimeoutError, ConnectionError, OSError) as exc:
            log.warning("handshake failed on %s port: %s", expect, exc)
        finally:
            if conn is not None:
                conn.close()
                self._drop(conn)
                log.info("%s left", conn.label)
            else:
                with contextlib.suppress(Exception):
                    w.close()

    def _registered(self, conn: ProcConn) -> None:
        """Give the saved configuration its say (restore, adopt or start empty)."""
        task = asyncio.get_running_loop().create_task(self.saved.registered(
            proc_key(conn.kind, conn.client_id), conn.kind, conn.pid, conn.request))
        self._restores.add(task)
        task.add_done_callback(self._restores.discard)

    def _drop(self, conn: ProcConn) -> None:
        if self.primary is conn:
            self.primary = None
        if conn.client_id is not None:
            conns = self.secondaries(conn.kind)
            if conns.get(conn.client_id) is conn:
                del conns[conn.client_id]

    def close_all(self) -> None:
        for conn in [self.primary, *self.vfs.values(), *self.nfvs.values(),
                     *self.mirrors.values(), *self.pcaps.values()]:
            if conn is not None:
                conn.close()


async def _reject(w: asyncio.StreamWriter, peer: str, reason: str) -> None:
    log.warning("refused a process from %s: %s", peer, reason)
    with contextlib.suppress(Exception):
        w.write(wire.encode({"reject": reason}))
        await w.drain()
        w.close()


async def start_listeners(
    reg: Registry, host: str, pri_port: int, sec_port: int
) -> tuple[asyncio.Server, asyncio.Server]:
    pri = await asyncio.start_server(reg.handle_primary, host, pri_port, limit=wire.MAX_REPLY)
    sec = await asyncio.start_server(reg.handle_secondary, host, sec_port, limit=wire.MAX_REPLY)
    return pri, sec
