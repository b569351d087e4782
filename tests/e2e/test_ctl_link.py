"""The controller link cannot stop forwarding: bad controllers, restarts, commands in flight.

Real primary and spp_vf, frames streaming r-eth0 -> phy:0 -> SPP -> phy:1 -> r-eth1
the whole time; each test ends by checking that every frame arrived.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from classify_icmp import MAC1, REMOTE0

from spp import wire
from spp.testkit.stack import Stack, component, port, table
from spp.testkit.stream import Stream
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e



def config_keys(st: dict[str, Any]) -> dict[str, Any]:
    """Status without counters: what must survive anything the controller does."""
    comps = [{k: v for k, v in c.items() if k not in ("counters", "cycles")}
             for c in st["components"]]
    return {"components": comps, "classifier_table": st["classifier_table"],
            "ports": st["ports"]}


@pytest.fixture
def classify(stack: Stack) -> Iterator[Stack]:
    """phy:0 -> cls -> ring:0 -> fwd1 -> phy:1, MAC1 -> ring:0."""
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "4")
    stack.start_vf(1, "2-4")
    stack.vf(1, component("cls", 3, "classifier"), component("fwd1", 4, "forward"),
             port("add", "phy:0", "rx", "cls"), port("add", "ring:0", "tx", "cls"),
             port("add", "ring:0", "rx", "fwd1"), port("add", "phy:1", "tx", "fwd1"),
             table("add", MAC1, "ring:0"))
    yield stack


# ---------------------------------------------------------------------------
# a controller that says every wrong thing


class EvilController:
    """Listens on the primary and secondary ports; connection N runs SCRIPTS[N]."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.count: Counter[int] = Counter()
        self.replies: dict[int, list[Any]] = {p: [] for p in ports}
        self.hellos: dict[int, list[dict[str, Any]]] = {p: [] for p in ports}
        self.servers: list[asyncio.Server] = []
        self.writers: list[asyncio.StreamWriter] = []

    def start(self) -> EvilController:
        self.thread.start()
        for p in self.ports:
            self.servers.append(asyncio.run_coroutine_threadsafe(
                asyncio.start_server(lambda r, w, p=p: self._serve(p, r, w), "127.0.0.1", p),
                self.loop).result(5))
        return self

    def stop(self) -> None:
        async def _close() -> None:
            for s in self.servers:
                s.close()
            for w in self.writers:
                w.close()
        asyncio.run_coroutine_threadsafe(_close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    async def _serve(self, port: int, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        self.writers.append(w)
        self.count[port] += 1
        n = self.count[port]
        try:
            self.hellos[port].append(json.loads(await r.readline())["hello"])
            await SCRIPTS[min(n, len(SCRIPTS)) - 1](self, port, r, w)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            w.close()

    async def collect(self, port: int, r: asyncio.StreamReader, seconds: float) -> None:
        end = asyncio.get_running_loop().time() + seconds
        while (left := end - asyncio.get_running_loop().time()) > 0:
            try:
                line = await asyncio.wait_for(r.readline(), left)
            except TimeoutError:
                return
            if not line:
                return
            self.replies[port].append(json.loads(line))


def _welcome(version: int = wire.VERSION, hb: float = 0.2) -> bytes:
    return wire.encode({"welcome": {"controller": "evil", "version": version, "heartbeat": hb}})


BAD_LINES = [
    b"this is not json\n",
    b"\x00\xff\xfe\x01 binary\n",
    b"[1, 2, 3]\n", b'"a string"\n', b"42\n", b"null\n",
    b'{"cmd": "exit"}\n',                      # no id: nothing to answer, never run
    b'{"id": "7", "cmd": "exit"}\n',           # id of the wrong type: the same
    b'{"id": 1, "cmd": "exit", "args": [1]}\n',  # args of the wrong type: refused
    b'{"id": 2, "cmd": "no_such_command"}\n',
    b'{"id": 3, "cmd": "' + b"x" * 200 + b'"}\n',
    b'{"id": 4, "cmd": "component_stop", "args": {"name": {"deep": [[[[1]]]]}}}\n',
    b"[" * 30000 + b"\n",                      # deeper than the JSON decoder goes
    b"A" * (3 * 1024 * 1024) + b'{"id": 5, "cmd": "exit"}\n',  # oversized, exit at its end
    b'{"id": 6, "cmd": "status"}\n',           # still serving
]


async def bad_messages(ctl: EvilController, port: int, r: asyncio.StreamReader,
                       w: asyncio.StreamWriter) -> None:
    w.write(_welcome())
    for line in BAD_LINES:
        w.write(line)
        await w.drain()
    for beat in range(5):
        w.write(wire.encode({"hb": beat}))
    await ctl.collect(port, r, 1.0)
    # then silence: no heartbeat, no request (a half-open controller); the process leaves
    await ctl.collect(port, r, 10.0)


async def reject(ctl: EvilController, port: int, r: asyncio.StreamReader,
                 w: asyncio.StreamWriter) -> None:
    w.write(wire.encode({"reject": "you are not welcome here."}))
    await w.drain()


async def wrong_version(ctl: EvilController, port: int, r: asyncio.StreamReader,
                        w: asyncio.StreamWriter) -> None:
    w.write(_welcome(version=99))
    await ctl.collect(port, r, 2.0)


async def garbage_welcome(ctl: EvilController, port: int, r: asyncio.StreamReader,
                          w: asyncio.StreamWriter) -> None:
    w.write(b"\xde\xad\xbe\xef\n")
    await ctl.collect(port, r, 2.0)


async def hang_up(ctl: EvilController, port: int, r: asyncio.StreamReader,
                  w: asyncio.StreamWriter) -> None:
    return


async def quiet_but_alive(ctl: EvilController, port: int, r: asyncio.StreamReader,
                          w: asyncio.StreamWriter) -> None:
    w.write(_welcome(hb=1.0))
    for beat in range(120):
        w.write(wire.encode({"hb": beat}))
        await w.drain()
        await ctl.collect(port, r, 1.0)


SCRIPTS = [bad_messages, reject, wrong_version, garbage_welcome, hang_up, quiet_but_alive]


def test_bad_controller_messages_never_stop_primary_or_vf_under_traffic(classify: Stack) -> None:
    stack = classify
    before = config_keys(stack.vf_status())
    pri_before = stack.primary_status()
    pids = {n: p.pid for n, p in stack.procs.items()}
    ports = [stack.pri_port, stack.sec_port]
    with Stream(MAC1, REMOTE0, rate=500) as stream:
        time.sleep(1)
        stack.stop("ctl")
        evil = EvilController(ports).start()
        try:
            wait_for(lambda: all(evil.count[p] >= len(SCRIPTS) for p in ports), 40,
                     "primary and vf to go through every bad controller")
            assert all(stack.procs[n].poll() is None for n in ("primary", "vf1"))
        finally:
            evil.stop()
        stack.start_ctl()
        wait_for(lambda: {p["type"] for p in stack.client.processes()} == {"primary", "vf"},
                 15, "primary and vf to come back to the real controller")
        time.sleep(1)
    for p in ports:
        answers = evil.replies[p]
        by_id = {a.get("id"): a for a in answers if "id" in a}
        assert set(by_id) == {1, 2, 3, 4, 6}, answers  # ids 5 and "7" never ran
        assert all(not by_id[i]["ok"] and by_id[i]["code"] in (400, 404) for i in (1, 2, 3, 4))
        assert by_id[6]["ok"] is True
        assert [a["hb"] for a in answers if "hb" in a][:5] == [0, 1, 2, 3, 4]
        assert all(h["version"] == wire.VERSION for h in evil.hellos[p])
    assert {n: p.pid for n, p in stack.procs.items() if n != "ctl"} == \
        {n: pid for n, pid in pids.items() if n != "ctl"}
    assert config_keys(stack.vf_status()) == before
    assert stack.primary_status()["forwarder"] == pri_before["forwarder"]
    assert stream.sent > 5000
    assert stream.lost() == [], f"{len(stream.lost())} of {stream.sent} frames lost"
    log = stack.log("vf1")
    assert "controller silent for 1 s" in log and "you are not welcome here" in log
    assert "protocol version 99" in log


# ---------------------------------------------------------------------------
# a controller restarted while 200 commands are in flight


def _mac(i: int) -> str:
    return f"52:54:01:00:{i >> 8:02x}:{i & 0xFF:02x}"


def test_controller_restart_with_200_commands_in_flight_loses_no_frame_or_outcome(
        classify: Stack) -> None:
    stack = classify
    pids = {n: p.pid for n, p in stack.procs.items() if n != "ctl"}
    url = f"http://127.0.0.1:{stack.api}/v1/vfs/1/classifier_table"
    outcome: dict[int, str] = {}
    after_restart: set[int] = set()
    restarted = threading.Event()
    lock = threading.Lock()

    def send(indexes: list[int]) -> None:
        for i in indexes:
            body = {"action": "add", "type": "mac", "mac_address": _mac(i), "port": "ring:0"}
            try:
                res = requests.put(url, json=body, timeout=15)
                result = str(res.status_code)
            except requests.ConnectionError as exc:
                # refused at connect: never sent (no effect); else cut off on the way
                result = "refused" if "NewConnectionError" in repr(exc) else "cut"
            except requests.RequestException as exc:
                result = type(exc).__name__
            with lock:
                outcome[i] = result
                if restarted.is_set():
                    after_restart.add(i)
            time.sleep(0.15)

    threads = [threading.Thread(target=send, args=(list(range(k, 200, 10)),))
               for k in range(10)]
    with Stream(MAC1, REMOTE0, rate=500) as stream:
        time.sleep(0.5)
        for t in threads:
            t.start()
        wait_for(lambda: len(outcome) >= 60, 30, "60 commands to complete")
        stack.stop("ctl", sig=signal.SIGKILL)   # mid-command: some are on the wire
        stack.start_ctl()
        restarted.set()
        for t in threads:
            t.join(60)
        wait_for(lambda: {p["type"] for p in stack.client.processes()} == {"primary", "vf"},
                 15, "primary and vf to reconnect")
        time.sleep(1)
    assert len(outcome) == 200
    table_now = {e["value"]: e["port"] for e in stack.vf_status()["classifier_table"]}
    assert table_now.pop(MAC1) == "ring:0"
    assert set(table_now.values()) <= {"ring:0"}
    present = {i for i in range(200) if _mac(i) in table_now}
    assert len(table_now) == len(present)  # nothing but our entries, each whole
    done = {i for i, r in outcome.items() if r == "204"}
    refused = {i for i, r in outcome.items() if r.startswith("4") or r == "refused"}
    unknown = set(outcome) - done - refused
    assert done <= present, "a command answered 204 is missing"
    assert not refused & present, "a refused (or never sent) command took effect"
    print(f"\n200 commands: {len(done)} done (204; {len(done & after_restart)} after the "
          f"restart), {len(refused)} never reached spp ctl, {len(unknown)} cut off "
          f"({dict(Counter(outcome[i] for i in unknown))}) of which the state read back shows "
          f"{len(unknown & present)} took effect and {len(unknown - present)} did not")
    assert len(done) >= 60 and done & after_restart  # commands ran on both controllers
    assert {n: p.pid for n, p in stack.procs.items() if n != "ctl"} == pids
    assert stream.lost() == [], f"{len(stream.lost())} of {stream.sent} frames lost"
