"""Secondaries that come, go, die and ask at once: the primary serves them one at a time.

- Several spp_vf ask for vhost ports at once while the primary's patches and
  forwarding change: every request is answered, nothing crashes or leaks.
- An spp_vf killed with SIGKILL under load: the primary keeps bridging, the
  other spp_vf keeps forwarding, and a new spp_vf with the same client id
  attaches and forwards.
- A process killed between moving a ring side's head and its tail (made
  deterministic by stall_probe.py): the primary rolls the head back, so the
  next reader and writer of those rings do not wait forever.
- A port side has one owner process: a second reader is refused with a reason.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from classify_icmp import REMOTE0, REMOTE1
from dataplane import counters, phy, pool, rx_packets, settle

from spp.client import SppError
from spp.testkit.stack import Stack, component, port
from spp.testkit.traffic import Flow, Traffic
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

NOBODY = "02:00:00:00:ee:01"  # no interface owns it: the receiving kernel counts and drops
HERE = Path(__file__).parent


def _vf_gone(stack: Stack, cid: int) -> bool:
    return not any(p.get("type") == "vf" and p.get("client-id") == cid
                   for p in stack.client.processes())


@pytest.fixture
def vhost_sockets() -> Iterator[None]:
    for i in range(8):
        Path(f"/tmp/sock{i}").unlink(missing_ok=True)
    yield
    for i in range(8):
        Path(f"/tmp/sock{i}").unlink(missing_ok=True)


def test_concurrent_vhost_requests_are_all_answered_while_patches_change(
        stack: Stack, vhost_sockets: None) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "4",
                        "--vhost-ports", "6", "--bridge-ring-size", "1024")
    vfs = {1: (2, 3), 2: (4, 5), 3: (6, 7)}
    for cid, (main, worker) in vfs.items():
        stack.start_vf(cid, f"{main},{worker}")
        stack.vf(cid, component(f"c{cid}", worker, "forward"))
    base = pool(stack)["in_use"]
    answers: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def ask(what: str, fn: Any, *args: Any) -> bool:
        try:
            fn(*args)
            result: Any = "ok"
        except SppError as exc:
            result = exc
        with lock:
            answers.append((what, result))
        return result == "ok"

    def vf_worker(cid: int) -> None:
        comp = f"c{cid}"
        for rnd in range(12):
            # every vf asks for the same vhost port at once (the first round creates it) ...
            shared = f"vhost:{rnd % 6}"
            if ask(f"vf{cid} attach {shared} rx", stack.vf, cid,
                   port("attach", shared, "rx", comp)):
                ask(f"vf{cid} detach {shared} rx", stack.vf, cid,
                    port("detach", shared, "rx", comp))
            # ... and for one of its own
            own = f"vhost:{(rnd + 2 * cid) % 6}"
            if ask(f"vf{cid} attach {own} tx", stack.vf, cid, port("attach", own, "tx", comp)):
                ask(f"vf{cid} detach {own} tx", stack.vf, cid, port("detach", own, "tx", comp))

    def primary_worker(stop: threading.Event) -> None:
        c = stack.client
        steps = [lambda: c.put("/primary/patches", {"src": "phy:0", "dst": "ring:0"}),
                 lambda: c.put("/primary/forward", {"action": "start"}),
                 lambda: c.put("/primary/patches", {"src": "ring:1", "dst": "phy:1"}),
                 lambda: c.put("/primary/forward", {"action": "stop"}),
                 lambda: c.delete("/primary/patches")]
        i = 0
        while not stop.is_set():
            ask(f"primary step {i % len(steps)}", steps[i % len(steps)])
            i += 1

    stop = threading.Event()
    flows = [Flow("spp-remote", "r-eth0", dst=NOBODY, src=REMOTE0)]
    threads = [threading.Thread(target=vf_worker, args=(cid,), daemon=True) for cid in vfs]
    pthread = threading.Thread(target=primary_worker, args=(stop,), daemon=True)
    with Traffic(flows, rate=2000):
        pthread.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        stop.set()
        pthread.join(30)
    assert not any(t.is_alive() for t in [*threads, pthread]), "a request never came back"

    failed = [(w, r) for w, r in answers if r != "ok"]
    # every refusal is an answer with a reason, never a server error or a lost request
    for what, exc in failed:
        assert exc.status is not None and 400 <= exc.status < 500, (what, exc.status, exc)
        assert re.search(r"already (read|written) by spp_vf \d", exc.reason), (what, exc.reason)
    attached = sum(1 for w, r in answers if r == "ok" and "attach" in w)
    assert attached >= 12 and len(answers) >= 3 * 12 + 20, (attached, len(answers), failed)
    for name in ["primary", "vf1", "vf2", "vf3"]:
        assert stack.procs[name].poll() is None, stack.log(name)
    status = stack.primary_status()
    vhosts = status["vhost_ports"]
    assert sorted(v["id"] for v in vhosts) == list(range(6)), vhosts
    assert all(v["reader"] is None and v["writer"] is None for v in vhosts), vhosts
    assert settle(lambda: pool(stack)["in_use"]) - base < 2048


def test_sigkilled_vf_under_load_others_keep_forwarding_and_a_new_one_takes_over(
        stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "2")
    stack.start_vf(1, "2,3")
    stack.start_vf(2, "4,5")
    fwd_a = (component("a", 3, "forward"),
             port("attach", "phy:0", "rx", "a"), port("attach", "phy:1", "tx", "a"))
    stack.vf(1, *fwd_a)
    stack.vf(2, component("b", 5, "forward"),
             port("attach", "phy:1", "rx", "b"), port("attach", "phy:0", "tx", "b"))
    base = pool(stack)["in_use"]
    flows = [Flow("spp-remote", "r-eth0", dst=NOBODY, src=REMOTE0, tag=1),
             Flow("spp-remote", "r-eth1", dst=NOBODY, src=REMOTE1, tag=2)]
    with Traffic(flows, rate=10000):
        time.sleep(1.0)
        assert counters(stack, 1)["a"]["tx"] > 1000 and counters(stack, 2)["b"]["tx"] > 1000
        stack.stop("vf1", signal.SIGKILL)
        wait_for(lambda: phy(stack, 0)["reader"] is None, 5, "the primary to free phy:0")
        # vf2 keeps forwarding phy:1 -> phy:0, and the primary keeps bridging both ports
        b0, r0, p0 = counters(stack, 2)["b"]["tx"], rx_packets("spp-remote", "r-eth0"), \
            phy(stack, 0)["rx"]
        time.sleep(1.0)
        assert counters(stack, 2)["b"]["tx"] - b0 > 5000
        assert rx_packets("spp-remote", "r-eth0") - r0 > 5000
        p0_now = phy(stack, 0)
        assert p0_now["rx"] - p0 > 5000 and p0_now["rx_no_reader"] > 0, p0_now

        # the same client id again: it gets its lcores and phy:0 back and forwards
        wait_for(lambda: _vf_gone(stack, 1), 10, "the controller to drop the dead vf 1")
        stack.start_vf(1, "2,3")
        stack.vf(1, *fwd_a)
        r1 = rx_packets("spp-remote", "r-eth1")
        time.sleep(1.0)
        assert rx_packets("spp-remote", "r-eth1") - r1 > 5000
        assert counters(stack, 1)["a"]["tx"] > 5000
    assert stack.procs["primary"].poll() is None and stack.procs["vf2"].poll() is None
    p = pool(stack)
    # what the dead process held in its caches and bursts is gone, and only that
    assert settle(lambda: pool(stack)["in_use"]) - base <= p["lost"] + 4 * 32 + 1024, p


def test_process_killed_inside_ring_operations_does_not_wedge_the_next_owner(
        stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "2")
    probe = subprocess.Popen([sys.executable, str(HERE / "stall_probe.py"), "0", "1", "16"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
    try:
        wait_for(lambda: phy(stack, 0)["reader"] is not None, 20, "the probe to read phy:0")
        flow = Flow("spp-remote", "r-eth0", dst=NOBODY, src=REMOTE0, tag=1)
        Traffic([flow], rate=1000, seconds=0.05).start().wait(30)
        assert probe.stdout is not None
        line = probe.stdout.readline().strip()
        assert line == "stalled 16 16", line
        queued = phy(stack, 0)["rx_queued"]
        assert queued >= 16
    finally:
        os.kill(probe.pid, signal.SIGKILL)
        probe.wait(10)
    # the primary notices, rolls both heads back and frees what was queued
    wait_for(lambda: phy(stack, 0)["reader"] is None and phy(stack, 1)["writer"] is None, 5,
             "the primary to reap the probe")
    log = stack.log("primary")
    assert "phy:0 rx: process" in log and "inside a dequeue; rolled back 16 slot(s)" in log, log
    assert "phy:1 tx: process" in log and "inside an enqueue; rolled back 16 slot(s)" in log, log
    assert phy(stack, 0)["drained"] == queued and phy(stack, 0)["rx_queued"] == 0

    # a reader of phy:0 and a writer of phy:1 now: without the rollback both would spin forever
    stack.start_vf(1, "2,3")
    stack.vf(1, component("a", 3, "forward"),
             port("attach", "phy:0", "rx", "a"), port("attach", "phy:1", "tx", "a"))
    r1 = rx_packets("spp-remote", "r-eth1")
    sent = Traffic([Flow("spp-remote", "r-eth0", dst=NOBODY, src=REMOTE0, tag=2)], rate=1000,
                   seconds=0.5).start().wait(30)["r-eth0/2"]
    wait_for(lambda: rx_packets("spp-remote", "r-eth1") - r1 >= sent, 10,
             f"{sent} frames through the rings the probe had wedged")
    assert counters(stack)["a"]["tx"] == sent


def test_a_second_reader_process_is_refused_with_the_owner_named(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "2")
    stack.start_vf(1, "2,3")
    stack.start_vf(2, "4,5")
    stack.vf(1, component("a", 3, "forward"), port("attach", "phy:0", "rx", "a"),
             port("attach", "ring:0", "tx", "a"))
    stack.vf(2, component("b", 5, "forward"))
    with pytest.raises(SppError) as err:
        stack.vf(2, port("attach", "phy:0", "rx", "b"))
    assert err.value.status == 400
    assert "phy:0 rx is already read by spp_vf 1 (pid" in err.value.reason, err.value.reason
    with pytest.raises(SppError, match="ring:0 tx is already written by spp_vf 1"):
        stack.vf(2, port("attach", "ring:0", "tx", "b"))
    # other sides are free: vf 2 reads ring:0 and writes phy:0
    stack.vf(2, port("attach", "ring:0", "rx", "b"), port("attach", "phy:0", "tx", "b"))
    comps = {c.get("name"): c for c in stack.vf_status(2)["components"]}
    assert [p["port"] for p in comps["b"]["rx_port"]] == ["ring:0"]
    st = stack.primary_status()
    assert st["phy_ports"][0]["reader"]["client_id"] == 1
    assert st["phy_ports"][0]["writer"]["client_id"] == 2
    # once vf 1 lets go, vf 2 may read phy:0
    stack.vf(1, port("detach", "phy:0", "rx", "a"))
    stack.vf(2, port("detach", "ring:0", "rx", "b"), port("detach", "phy:0", "tx", "b"),
             port("attach", "phy:0", "rx", "b"))
    assert stack.primary_status()["phy_ports"][0]["reader"]["client_id"] == 2
