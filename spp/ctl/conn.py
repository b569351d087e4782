"""One connected process (primary or vf) as seen by the controller.

Framing, version and heartbeats follow docs/protocol.md (constants in
spp.wire): one JSON object per line, requests `{"id", "cmd", "args"}`,
replies `{"id", "ok", "result"|"error", "code"}`, heartbeats `{"hb": N}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from typing import Any

from spp import wire
from spp.errors import ProcessGone, SppError, Timeout, TooLarge, Unavailable, from_code

log = logging.getLogger("spp.ctl")

DEFAULT_TIMEOUT = 5.0


class ProcConn:
    """A handshaken connection; requests are sent one at a time, in order."""

    def __init__(
        self,
        kind: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        client_id: int | None = None,
        pid: int | None = None,
        heartbeat: float = wire.HEARTBEAT_S,
    ) -> None:
        self.kind = kind
        self.client_id = client_id
        self.pid = pid
        self.reader = reader
        self.writer = writer
        self.heartbeat = heartbeat
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._late: dict[int, str] = {}  # timed-out request id -> command
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.last_seen = time.monotonic()
        self.last_status: Any = None  # read back after a timeout
        self.closed = asyncio.Event()
        self.stats = {"oversized": 0, "malformed": 0, "timeouts": 0, "late": 0}

    @property
    def label(self) -> str:
        return "primary" if self.kind == "primary" else f"{self.kind} {self.client_id}"

    async def send(self, obj: dict[str, Any]) -> None:
        data = wire.encode(obj)
        if len(data) > wire.MAX_REQUEST:
            raise TooLarge(f"request to {self.label} is too large to relay "
                               f"({len(data)} bytes, at most {wire.MAX_REQUEST}).")
        self.writer.write(data)
        await self.writer.drain()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- incoming -----------------------------------------------------------
    async def read_loop(self) -> None:
        """Resolve replies until EOF, then fail what is pending. Bad lines are dropped."""
        self._spawn(self._heartbeats())
        try:
            while True:
                try:
                    line = await wire.read_line(self.reader)
                except wire.LineTooLong:
                    self._count("oversized", "sent a line over the limit; dropped")
                    continue
                if not line:
                    break
                self.last_seen = time.monotonic()
                try:
                    msg = json.loads(line)
                except (ValueError, RecursionError):
                    self._count("malformed", "sent a non-JSON line; dropped")
                    continue
                if isinstance(msg, dict) and "id" in msg:
                    self._reply(msg)
        except (ConnectionError, OSError) as exc:
            log.warning("%s connection error: %s", self.label, exc)
        finally:
            self.close()

    def _count(self, what: str, text: str) -> None:
        self.stats[what] += 1
        if self.stats[what] <= 3 or self.stats[what] % 100 == 0:
            log.warning("%s %s (%s #%d)", self.label, text, what, self.stats[what])

    def _reply(self, msg: dict[str, Any]) -> None:
        rid = msg.get("id")
        if not isinstance(rid, int) or isinstance(rid, bool):
            return
        late = self._late.pop(rid, None)
        if late is not None:
            outcome = "done" if msg.get("ok") else f"refused: {str(msg.get('error'))[:200]}"
            log.warning("%s answered timed-out '%s' (id %d) late: %s", self.label, late, rid,
                        outcome)
            self.stats["late"] += 1
            return
        fut = self._pending.pop(rid, None)
        if fut is None or fut.done():
            return
        if msg.get("ok"):
            fut.set_result(msg.get("result"))
        else:
            reason = str(msg.get("error") or "command failed.")[:1000]
            fut.set_exception(from_code(msg.get("code"), reason, source=self.label))

    async def _heartbeats(self) -> None:
        """Send {"hb": N} every period; close the link when the process stays silent."""
        silent_after = self.heartbeat * wire.SILENT_AFTER
        for beat in itertools.count(1):
            await asyncio.sleep(self.heartbeat)
            if self.closed.is_set():
                return
            quiet = time.monotonic() - self.last_seen
            if quiet > silent_after:
                log.warning("%s silent for %.1f s: closing its link (it reconnects)",
                            self.label, quiet)
                self.close()
                return
            try:
                await asyncio.wait_for(self.send({"hb": beat}), silent_after)
            except (ConnectionError, OSError, TimeoutError):
                self.close()
                return

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ProcessGone(
                    f"{self.label} disconnected before answering; the outcome is unknown, "
                    f"read its status once it is back."))
        self._pending.clear()
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        with contextlib.suppress(Exception):
            self.writer.close()

    # ---- requests -------------------------------------------------------------
    async def request(
        self, cmd: str, args: dict[str, Any] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Any:
        """Send one command and wait for its reply.

        Raises the SppError of the process's answer when it said no (with the
        process as `source`), TooLarge, Unavailable (not sent in time: no
        effect), Timeout (sent, not answered in time: the controller then
        reads the process's state) or ProcessGone.
        """
        if self.closed.is_set():
            raise ProcessGone(f"{self.label} disconnected.")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                await self._lock.acquire()
        except TimeoutError:
            raise Unavailable(f"{self.label} is busy: '{cmd}' was not sent within {timeout:g} s "
                           "and has no effect.") from None
        req_id = next(self._ids)
        try:
            fut: asyncio.Future[Any] = loop.create_future()
            self._pending[req_id] = fut
            await self.send({"id": req_id, "cmd": cmd, "args": args or {}})
            async with asyncio.timeout_at(max(deadline, loop.time() + 0.05)):
                return await fut
        except TimeoutError:
            self._pending.pop(req_id, None)
            self._late[req_id] = cmd
            self.stats["timeouts"] += 1
            self._spawn(self._read_back(cmd))
            raise Timeout(
                f"{self.label} did not answer '{cmd}' within {timeout:g} s; the command may "
                "still take effect: the controller reads its state back, GET its status."
            ) from None
        except (ConnectionError, OSError):
            self.close()
            raise ProcessGone(f"{self.label} disconnected.") from None
        finally:
            self._pending.pop(req_id, None)
            self._lock.release()

    async def _read_back(self, timed_out: str) -> None:
        """After a timeout, read the process's actual state (it answers in order, so the
        status reflects the timed-out command); close the link if it stays silent."""
        try:
            st = await self.request("status", {}, timeout=self.heartbeat * wire.SILENT_AFTER)
        except Unavailable as exc:
            log.warning("%s gave no status after timed-out '%s' (%s): closing its link",
                        self.label, timed_out, exc)
            self.close()
            return
        except SppError as exc:
            log.warning("%s status after timed-out '%s' refused: %s", self.label, timed_out,
                        exc.reason)
            return
        self.last_status = st
        summary = ""
        if isinstance(st, dict):
            comps = [c for c in st.get("components", []) if isinstance(c, dict) and "name" in c]
            summary = (f": {len(comps)} component(s), "
                       f"{len(st.get('classifier_table', []) or [])} table entries"
                       if self.kind == "vf" else "")
        log.warning("%s state read back after timed-out '%s'%s", self.label, timed_out,
                    summary)
