"""The process side of the controller link (docs/protocol.md).

A process connects to `spp ctl`, says hello, and then answers requests one at
a time. Nothing the controller sends can end the process or stop its
forwarding (the C workers never wait for this loop):

- a line that is not JSON, not an object, or longer than wire.MAX_REQUEST
  is counted, logged and dropped (an oversized line up to its newline);
- a request with a bad `cmd` or `args`, or an unknown command, gets an error
  reply; a handler's SppError gets the code of its class (spp.errors), a
  handler bug a code-500 reply, never a traceback exit;
- a controller that goes silent (no request and no heartbeat for
  SILENT_AFTER heartbeat periods), closes the link, answers with a wrong
  protocol version or refuses the hello is left: the process reconnects with
  exponential back-off and keeps its configuration.

Only a refusal of the very first hello (the process never joined: duplicate
client id, second primary) ends the process, with the controller's reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
from collections.abc import Callable
from typing import Any

from spp import wire
from spp.errors import Conflict, InternalError, Refused, SppError, UsageError

log = logging.getLogger(__name__)

RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 5.0
MAX_CMD = 64


class Rejected(Conflict):
    """The controller refused this process (duplicate client id, second primary)."""


class ProtocolError(InternalError):
    """The controller broke the protocol (bad welcome, wrong version)."""


Handler = Callable[[str, dict[str, Any]], Any]


def parse_addr(text: str, default_port: int) -> tuple[str, int]:
    """`IP[:PORT]` -> (host, port)."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    if port and not (port.isascii() and port.isdigit() and len(port) <= 5
                     and 0 < int(port) < 65536):
        raise UsageError(f"'{text}' is not IP:PORT")
    return (host or "127.0.0.1"), int(port) if port else default_port


class ControllerLink:
    """Keeps one connection to the controller alive and serves its requests."""

    def __init__(self, host: str, port: int, hello: dict[str, Any], handler: Handler) -> None:
        self.host = host
        self.port = port
        self.hello = {**hello, "pid": os.getpid(), "version": wire.VERSION}
        self.handler = handler
        self.connected = asyncio.Event()
        self.joined = False  # welcomed at least once
        self.stats = {"malformed": 0, "oversized": 0, "errors": 0, "sessions": 0}
        self._last_warning = ""

    # ---- connection life cycle -------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set; raises Rejected only if the first hello is refused."""
        backoff = RECONNECT_MIN_S
        while not stop.is_set():
            try:
                await self._session(stop)
            except Rejected as exc:
                if not self.joined:
                    raise
                self._warn(f"controller refused this process ({exc}); keeping configuration "
                           "and retrying")
            except (OSError, ConnectionError, TimeoutError, ProtocolError) as exc:
                self._warn(f"controller {self.host}:{self.port}: {exc or type(exc).__name__}; "
                           "forwarding goes on, reconnecting with back-off")
            if self.connected.is_set():
                backoff = RECONNECT_MIN_S  # we had a working session: retry soon
            self.connected.clear()
            delay = backoff * (0.75 + random.random() / 2)
            backoff = min(backoff * 2, RECONNECT_MAX_S)
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass

    def _warn(self, text: str) -> None:
        if text != self._last_warning:  # one line per change, not one per retry
            log.warning("%s", text)
            self._last_warning = text

    async def _session(self, stop: asyncio.Event) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, limit=wire.MAX_REQUEST),
            wire.HELLO_TIMEOUT_S)
        wire.keepalive(writer)
        try:
            silent_after = await self._handshake(reader, writer)
            self.stats["sessions"] += 1
            log.info("connected to controller %s:%d", self.host, self.port)
            self._last_warning = ""
            self.joined = True
            self.connected.set()
            while not stop.is_set():
                try:
                    line = await asyncio.wait_for(wire.read_line(reader), silent_after)
                except TimeoutError:
                    raise ConnectionError(
                        f"controller silent for {silent_after:g} s") from None
                except wire.LineTooLong:
                    self._count("oversized", f"dropped a line longer than {wire.MAX_REQUEST} "
                                             "bytes from the controller")
                    continue
                if not line:
                    raise ConnectionError("controller closed the connection")
                reply = self.answer(line)
                if reply is None:
                    continue
                writer.write(reply)
                await asyncio.wait_for(writer.drain(), silent_after)
        finally:
            writer.close()

    async def _handshake(self, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> float:
        """Send hello, read welcome; returns how long the controller may stay silent."""
        writer.write(wire.encode({"hello": self.hello}))
        await writer.drain()
        try:
            line = await asyncio.wait_for(wire.read_line(reader), wire.HELLO_TIMEOUT_S)
            first = json.loads(line) if line else None
        except wire.LineTooLong:
            raise ProtocolError("controller answered hello with an oversized line") from None
        except (ValueError, RecursionError):
            raise ProtocolError("controller answered hello with a non-JSON line") from None
        except TimeoutError:
            raise ProtocolError(f"no welcome within {wire.HELLO_TIMEOUT_S:g} s") from None
        if not line:
            raise ConnectionError("controller closed the connection during hello")
        if not isinstance(first, dict):
            raise ProtocolError("controller did not answer hello")
        if "reject" in first:
            raise Rejected(str(first["reject"])[:300])
        welcome = first.get("welcome")
        if not isinstance(welcome, dict):
            raise ProtocolError("controller did not answer hello")
        version = welcome.get("version")
        if version != wire.VERSION:
            raise ProtocolError(f"controller speaks protocol version {str(version)[:20]}, "
                                f"this process {wire.VERSION}")
        period = welcome.get("heartbeat", wire.HEARTBEAT_S)
        if isinstance(period, bool) or not isinstance(period, int | float) \
                or not 0.05 <= period <= 60:
            period = wire.HEARTBEAT_S
        return float(period) * wire.SILENT_AFTER

    # ---- one message ------------------------------------------------------
    def _count(self, what: str, text: str) -> None:
        self.stats[what] += 1
        n = self.stats[what]
        if n <= 3 or n % 100 == 0:
            log.warning("%s (%s #%d)", text, what, n)

    def answer(self, line: bytes) -> bytes | None:
        """The encoded reply to one line from the controller, or None (nothing to answer)."""
        try:
            msg = json.loads(line)
        except (ValueError, RecursionError):
            self._count("malformed", f"ignoring a non-JSON line {line[:80]!r}")
            return None
        if not isinstance(msg, dict):
            self._count("malformed", f"ignoring a message that is not an object {line[:80]!r}")
            return None
        if "hb" in msg:
            beat = msg["hb"]
            return wire.encode({"hb": beat if isinstance(beat, int) else None})
        rid = msg.get("id")
        if isinstance(rid, bool) or not isinstance(rid, int):
            self._count("malformed", f"ignoring a message without a request id {line[:80]!r}")
            return None
        cmd, args = msg.get("cmd"), msg.get("args", {})
        if args is None:
            args = {}
        if not isinstance(cmd, str) or not cmd or len(cmd) > MAX_CMD:
            return self._error(rid, Refused("malformed request: cmd must be a command name"))
        if not isinstance(args, dict):
            return self._error(rid, Refused(f"malformed request: args of '{cmd}' must be an "
                                            "object"))
        try:
            result = self.handler(cmd, args)
        except SppError as exc:
            return self._error(rid, exc)
        except Exception as exc:  # noqa: BLE001 - a bug must not end the process or its forwarding
            log.exception("command %s failed", cmd)
            return self._error(rid, InternalError(f"internal error in '{cmd}': {exc}"))
        try:
            out = wire.encode({"id": rid, "ok": True, "result": result})
        except (TypeError, ValueError) as exc:
            return self._error(rid, InternalError(f"internal error: reply to '{cmd}' is not "
                                                  f"JSON ({exc})"))
        if len(out) > wire.MAX_REPLY:
            return self._error(rid, InternalError(f"reply to '{cmd}' is too large "
                                                  f"({len(out)} bytes)"))
        return out

    def _error(self, rid: int, exc: SppError) -> bytes:
        """The one place where an error becomes a reply: its class gives the code."""
        self.stats["errors"] += 1
        return wire.encode({"id": rid, "ok": False, "error": exc.reason[:1000],
                            "code": exc.code})


async def serve_controller(ctl: str, default_port: int, hello: dict[str, Any],
                           handler: Handler, stop: asyncio.Event) -> None:
    """Serve the controller until `stop` (set by SIGINT/SIGTERM or an `exit` command).

    Raises Rejected if the controller refuses this process's first hello.
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
    if link_task in done and not link_task.cancelled():
        failure = link_task.exception()
        if failure is not None:
            raise failure
