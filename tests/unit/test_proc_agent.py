"""The process side of the controller link: nothing a controller sends ends the process.

A scripted controller (asyncio server on a free port) talks to a real
ControllerLink; each connection runs the next script.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from spp import wire
from spp.errors import NotFound, Refused
from spp.proc.agent import ControllerLink, Rejected

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class ScriptedController:
    def __init__(self, scripts: list[Script]) -> None:
        self.scripts = scripts
        self.connections = 0
        self.hellos: list[dict[str, Any]] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedController:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        self.connections += 1
        script = self.scripts[min(self.connections, len(self.scripts)) - 1]
        try:
            self.hellos.append(json.loads(await r.readline())["hello"])
            await script(r, w)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            w.close()


async def _finished(task: asyncio.Task[None]) -> None:
    try:
        await task
    except asyncio.CancelledError:
        pass


async def welcome(w: asyncio.StreamWriter, version: int = wire.VERSION, hb: float = 0.05) -> None:
    w.write(wire.encode({"welcome": {"controller": "test", "version": version,
                                     "heartbeat": hb}}))
    await w.drain()


async def ask(r: asyncio.StreamReader, w: asyncio.StreamWriter, line: bytes) -> Any:
    w.write(line)
    await w.drain()
    return json.loads(await asyncio.wait_for(r.readline(), 2))


def handler(cmd: str, args: dict[str, Any]) -> Any:
    if cmd == "status":
        return {"ok": 1}
    if cmd == "boom":
        raise ZeroDivisionError("division by zero")
    if cmd == "nope":
        raise NotFound("component 'x' not found.")
    raise Refused(f"unknown command '{cmd}'")


async def run_link(ctl: ScriptedController, until: Callable[[], bool],
                   timeout: float = 5.0) -> tuple[ControllerLink, asyncio.Task[None]]:
    link = ControllerLink("127.0.0.1", ctl.port, {"type": "vf", "client_id": 1}, handler)
    stop = asyncio.Event()
    task = asyncio.create_task(link.run(stop))
    deadline = asyncio.get_running_loop().time() + timeout
    while not until() and asyncio.get_running_loop().time() < deadline and not task.done():
        await asyncio.sleep(0.01)
    stop.set()
    if not task.done():
        task.cancel()  # as serve_controller does on stop
    return link, task


def test_bad_messages_are_dropped_or_answered_and_the_link_stays_up() -> None:
    answers: list[Any] = []

    async def script(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await welcome(w, hb=1.0)
        for junk in (b"not json\n", b"[1, 2]\n", b'{"cmd": "status"}\n', b'"x"\n',
                     b"[" * 30000 + b"\n", b"x" * (wire.MAX_REQUEST * 3) + b"\n",
                     b"x" * (wire.MAX_REQUEST * 3) + b'{"id": 66, "cmd": "exit"}\n'):
            w.write(junk)
        for line in (b'{"id": 1, "cmd": "frobnicate"}\n', b'{"id": 2, "cmd": 7}\n',
                     b'{"id": 3, "cmd": "status", "args": [1]}\n',
                     b'{"id": 4, "cmd": "boom"}\n', b'{"id": 5, "cmd": "nope"}\n',
                     b'{"hb": 9}\n', b'{"id": 6, "cmd": "status"}\n'):
            answers.append(await ask(r, w, line))
        await asyncio.sleep(10)

    async def main() -> ControllerLink:
        async with ScriptedController([script]) as ctl:
            link, task = await run_link(ctl, lambda: len(answers) == 7)
            await _finished(task)
            assert ctl.connections == 1
            return link

    link = asyncio.run(main())
    assert answers[0] == {"id": 1, "ok": False, "error": "unknown command 'frobnicate'",
                          "code": 400}
    assert answers[1]["code"] == 400 and "cmd must be a command name" in answers[1]["error"]
    assert answers[2]["code"] == 400 and "must be an object" in answers[2]["error"]
    assert answers[3]["code"] == 500 and "division by zero" in answers[3]["error"]
    assert answers[4] == {"id": 5, "ok": False, "error": "component 'x' not found.",
                          "code": 404}
    assert answers[5] == {"hb": 9}
    assert answers[6] == {"id": 6, "ok": True, "result": {"ok": 1}}
    # the oversized line hiding an `exit` at its end was dropped whole, never parsed
    assert link.stats["oversized"] == 2 and link.stats["malformed"] == 5  # incl. the deep one


def test_silent_controller_is_left_and_the_link_reconnects() -> None:
    async def silent(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await welcome(w, hb=0.05)  # then never a heartbeat: half-open
        await asyncio.sleep(30)

    async def main() -> int:
        async with ScriptedController([silent]) as ctl:
            _link, task = await run_link(ctl, lambda: ctl.connections >= 2)
            await _finished(task)
            return ctl.connections

    assert asyncio.run(main()) >= 2


@pytest.mark.parametrize("first", [
    lambda w: welcome(w, version=1),
    lambda w: welcome(w, version="2"),
    lambda w: _raw(w, b"garbage\n"),
    lambda w: _raw(w, b'{"welcome": 1}\n'),
])
def test_bad_welcome_never_ends_the_process_it_retries_with_back_off(first) -> None:
    async def bad(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await first(w)
        await asyncio.sleep(5)

    async def main() -> tuple[int, bool]:
        async with ScriptedController([bad]) as ctl:
            link, task = await run_link(ctl, lambda: ctl.connections >= 2)
            await _finished(task)
            return ctl.connections, link.joined

    connections, joined = asyncio.run(main())
    assert connections >= 2 and not joined


async def _raw(w: asyncio.StreamWriter, data: bytes) -> None:
    w.write(data)
    await w.drain()


def test_refused_first_hello_ends_with_the_controllers_reason() -> None:
    async def reject(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await _raw(w, wire.encode({"reject": "client-id 1 is already connected."}))

    async def main() -> None:
        async with ScriptedController([reject]) as ctl:
            _link, task = await run_link(ctl, lambda: False, timeout=0.5)
            await _finished(task)

    with pytest.raises(Rejected, match="client-id 1 is already connected"):
        asyncio.run(main())


def test_refusal_after_joining_keeps_the_process_and_its_retries() -> None:
    async def ok_then_close(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await welcome(w, hb=1.0)

    async def reject(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await _raw(w, wire.encode({"reject": "client-id 1 is already connected."}))

    async def main() -> int:
        async with ScriptedController([ok_then_close, reject, reject, ok_then_close]) as ctl:
            link, task = await run_link(ctl, lambda: ctl.connections >= 4, timeout=8)
            await task  # returns normally: never raised Rejected
            assert link.joined
            return ctl.connections

    assert asyncio.run(main()) >= 4


def test_hello_carries_the_protocol_version_and_pid() -> None:
    async def ok(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await welcome(w)

    async def main() -> dict[str, Any]:
        async with ScriptedController([ok]) as ctl:
            _link, task = await run_link(ctl, lambda: bool(ctl.hellos))
            await _finished(task)
            return ctl.hellos[0]

    hello = asyncio.run(main())
    assert hello["version"] == wire.VERSION and hello["client_id"] == 1 and hello["pid"] > 1
