"""Process listeners (primary 5555, secondaries 6666) and the live registry."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from spp.ctl.conn import MAX_LINE, ProcConn

log = logging.getLogger("spp.ctl")

HELLO_TIMEOUT = 5.0


class Registry:
    """Who is connected right now: at most one primary and one vf per client id."""

    def __init__(self, controller_addr: str = "127.0.0.1:7777") -> None:
        self.controller_addr = controller_addr
        self.primary: ProcConn | None = None
        self.vfs: dict[int, ProcConn] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def processes(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        if self.primary is not None:
            out.append({"type": "primary"})
        for cid in sorted(self.vfs):
            out.append({"type": "vf", "client-id": cid})
        return out

    async def handle_primary(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await self._handle(r, w, expect="primary")

    async def handle_secondary(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await self._handle(r, w, expect="vf")

    async def _handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter, expect: str) -> None:
        conn: ProcConn | None = None
        try:
            line = await asyncio.wait_for(r.readline(), HELLO_TIMEOUT)
            hello = json.loads(line).get("hello") if line else None
            if not isinstance(hello, dict):
                await _reject(w, "expected a hello message.")
                return
            if hello.get("type") != expect:
                await _reject(w, f"this port accepts {expect} processes only.")
                return
            if expect == "primary":
                if self.primary is not None and not self.primary.closed.is_set():
                    await _reject(w, "primary is already connected.")
                    return
                conn = ProcConn("primary", r, w, pid=hello.get("pid"))
                self.primary = conn
            else:
                cid = hello.get("client_id")
                if not isinstance(cid, int) or isinstance(cid, bool) or cid < 0:
                    await _reject(w, "client_id must be a non-negative integer.")
                    return
                old = self.vfs.get(cid)
                if old is not None and not old.closed.is_set():
                    await _reject(w, f"client-id {cid} is already connected.")
                    return
                conn = ProcConn("vf", r, w, client_id=cid, pid=hello.get("pid"))
                self.vfs[cid] = conn
            await conn.send({"welcome": {"controller": self.controller_addr}})
            log.info("%s connected (pid %s)", conn.label, conn.pid)
            await conn.read_loop()
        except (TimeoutError, ValueError, AttributeError, ConnectionError) as exc:
            log.warning("handshake failed on %s port: %s", expect, exc)
        finally:
            if conn is not None:
                conn.close()
                self._drop(conn)
                log.info("%s left", conn.label)
            else:
                with contextlib.suppress(Exception):
                    w.close()

    def _drop(self, conn: ProcConn) -> None:
        if self.primary is conn:
            self.primary = None
        if conn.client_id is not None and self.vfs.get(conn.client_id) is conn:
            del self.vfs[conn.client_id]

    def close_all(self) -> None:
        for conn in [self.primary, *self.vfs.values()]:
            if conn is not None:
                conn.close()


async def _reject(w: asyncio.StreamWriter, reason: str) -> None:
    with contextlib.suppress(Exception):
        w.write(json.dumps({"reject": reason}).encode() + b"\n")
        await w.drain()
        w.close()


async def start_listeners(
    reg: Registry, host: str, pri_port: int, sec_port: int
) -> tuple[asyncio.Server, asyncio.Server]:
    pri = await asyncio.start_server(reg.handle_primary, host, pri_port, limit=MAX_LINE)
    sec = await asyncio.start_server(reg.handle_secondary, host, sec_port, limit=MAX_LINE)
    return pri, sec
