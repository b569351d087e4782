"""One connected process (primary or vf) as seen by the controller.

Framing and handshake follow docs/protocol.md: one JSON object per line,
requests `{"id", "cmd", "args"}`, replies `{"id", "ok", "result"|"error"}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from typing import Any

log = logging.getLogger("spp.ctl")

MAX_LINE = 1 << 20  # 1 MiB, see protocol.md
DEFAULT_TIMEOUT = 5.0


class ProcError(Exception):
    """The process refused the command; `reason` is its operator-facing text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProcUnavailable(Exception):
    """The process did not answer in time or left while we waited (REST: 502)."""


class ProcConn:
    """A handshaken connection; requests are sent one at a time."""

    def __init__(
        self,
        kind: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        client_id: int | None = None,
        pid: int | None = None,
    ) -> None:
        self.kind = kind
        self.client_id = client_id
        self.pid = pid
        self.reader = reader
        self.writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._lock = asyncio.Lock()
        self.closed = asyncio.Event()

    @property
    def label(self) -> str:
        return "primary" if self.kind == "primary" else f"vf {self.client_id}"

    async def send(self, obj: dict[str, Any]) -> None:
        self.writer.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")
        await self.writer.drain()

    async def read_loop(self) -> None:
        """Resolve replies until EOF or a protocol error, then fail what is pending."""
        try:
            while True:
                line = await self.reader.readline()
                if not line:
                    break
                try:
                    msg = json.loads(line)
                except ValueError:
                    log.warning("%s sent a non-JSON line, closing", self.label)
                    break
                if not isinstance(msg, dict):
                    continue
                fut = self._pending.pop(msg.get("id"), None)  # type: ignore[arg-type]
                if fut is None or fut.done():
                    continue
                if msg.get("ok"):
                    fut.set_result(msg.get("result"))
                else:
                    fut.set_exception(ProcError(str(msg.get("error") or "command failed.")))
        except (ConnectionError, ValueError, asyncio.LimitOverrunError) as exc:
            log.warning("%s connection error: %s", self.label, exc)
        finally:
            self.close()

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ProcUnavailable(f"{self.label} disconnected."))
        self._pending.clear()
        with contextlib.suppress(Exception):
            self.writer.close()

    async def request(
        self, cmd: str, args: dict[str, Any] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Any:
        """Send one command and wait for its reply.

        Raises ProcError (process said no) or ProcUnavailable (gone / timeout).
        """
        if self.closed.is_set():
            raise ProcUnavailable(f"{self.label} disconnected.")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                async with self._lock:
                    req_id = next(self._ids)
                    fut: asyncio.Future[Any] = loop.create_future()
                    self._pending[req_id] = fut
                    try:
                        await self.send({"id": req_id, "cmd": cmd, "args": args or {}})
                        return await fut
                    finally:
                        self._pending.pop(req_id, None)
        except TimeoutError:
            raise ProcUnavailable(
                f"{self.label} did not answer '{cmd}' within {timeout:g} s."
            ) from None
        except ConnectionError:
            self.close()
            raise ProcUnavailable(f"{self.label} disconnected.") from None
