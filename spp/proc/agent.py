"""The process side of the controller link (docs/protocol.md).

A process connects to `spp ctl`, says hello, and then answers requests one
at a time. If the controller goes away the process keeps forwarding and
keeps its configuration, and reconnects every RECONNECT_S seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

RECONNECT_S = 0.5
MAX_LINE = 1 << 20


class CommandError(Exception):
    """A refused command; `reason` goes back to the operator verbatim."""

    def __init__(self, reason: str, code: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Rejected(Exception):
    """The controller refused this process (duplicate client id, second primary)."""


Handler = Callable[[str, dict[str, Any]], Any]


def parse_addr(text: str, default_port: int) -> tuple[str, int]:
    """`IP[:PORT]` -> (host, port)."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    try:
        return (host or "127.0.0.1"), int(port) if port else default_port
    except ValueError:
        raise ValueError(f"'{text}' is not IP:PORT") from None


class ControllerLink:
    """Keeps one connection to the controller alive and serves its requests."""

    def __init__(self, host: str, port: int, hello: dict[str, Any], handler: Handler) -> None:
        self.host = host
        self.port = port
        self.hello = {**hello, "pid": os.getpid(), "version": 1}
        self.handler = handler
        self.connected = asyncio.Event()
        self._warned = False

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set; raises Rejected if the controller refuses us."""
        while not stop.is_set():
            try:
                await self._session(stop)
            except (OSError, asyncio.IncompleteReadError, ConnectionError) as exc:
                if not self._warned:
                    log.warning("controller %s:%d unreachable (%s); retrying every %.1fs",
                                self.host, self.port, exc, RECONNECT_S)
                    self._warned = True
            self.connected.clear()
            try:
                await asyncio.wait_for(stop.wait(), RECONNECT_S)
            except TimeoutError:
                pass

    async def _session(self, stop: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=MAX_LINE)
        try:
            writer.write(json.dumps({"hello": self.hello}).encode() + b"\n")
            await writer.drain()
            first = json.loads(await reader.readline() or b"{}")
            if "reject" in first:
                raise Rejected(str(first["reject"]))
            if "welcome" not in first:
                raise ConnectionError("controller did not answer hello")
            log.info("connected to controller %s:%d", self.host, self.port)
            self._warned = False
            self.connected.set()
            while not stop.is_set():
                line = await reader.readline()
                if not line:
                    raise ConnectionError("controller closed the connection")
                reply = self._answer(line)
                if reply is None:
                    continue
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        finally:
            writer.close()

    def _answer(self, line: bytes) -> dict[str, Any] | None:
        try:
            req = json.loads(line)
            rid, cmd, args = req["id"], req["cmd"], req.get("args") or {}
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed request %r", line[:200])
            return None
        try:
            result = self.handler(cmd, args)
            reply: dict[str, Any] = {"id": rid, "ok": True, "result": result}
        except CommandError as exc:
            reply = {"id": rid, "ok": False, "error": exc.reason, "code": exc.code}
        except Exception as exc:  # a bug must not kill the process or its forwarding
            log.exception("command %s failed", cmd)
            reply = {"id": rid, "ok": False, "error": f"internal error: {exc}", "code": 500}
        return reply


async def serve_controller(ctl: str, default_port: int, hello: dict[str, Any],
                           handler: Handler, stop: asyncio.Event) -> None:
    """Serve the controller until `stop` (set by SIGINT/SIGTERM or an `exit` command).

    Raises Rejected if the controller refuses this process.
    """
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    host, port = parse_addr(ctl, default_port)
    link = ControllerLink(host, port, hello, handler)
    link_task = asyncio.create_task(link.run(stop))
    stop_task = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({link_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    for t in (link_task, stop_task):
        t.cancel()
    if link_task in done and not link_task.cancelled() and link_task.exception():
        raise link_task.exception()  # type: ignore[misc]
