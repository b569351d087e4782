"""spp_mirror end to end on the default topology.

remote r-eth0 -> phy:0 -> mr1 -> phy:1 -> remote r-eth1           (the original)
                              -> ring:0 -> primary patch -> phy:0 -> remote r-eth0 (the copy)

The copy comes back out of phy:0, so the remote sees every frame it sent
once on r-eth1 and once more, received, on r-eth0 (the monitor side).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from classify_icmp import REMOTE0

from spp.client import SppError
from spp.native.limits import SPP_RING_SIZE
from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.stack import SPP, Stack, component, port
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

DST = "02:00:00:00:10:01"  # r-eth1's MAC: nothing in the path rewrites it


def mirror_cmds(stack: Stack, *cmds: tuple[str, str, Any]) -> None:
    for method, path, body in cmds:
        stack.client.request(method, f"/mirrors/1{path}", body)


@pytest.fixture
def mirror_stack(stack: Stack) -> Iterator[Stack]:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_mirror(1, "2,3")
    mirror_cmds(stack, component("mr1", 3, "mirror"),
                port("add", "phy:0", "rx", "mr1"), port("add", "phy:1", "tx", "mr1"),
                port("add", "ring:0", "tx", "mr1"))
    yield stack


def echo(seq: int) -> bytes:
    return frames.icmp_echo_frame(DST, REMOTE0, "198.18.0.1", "198.18.0.11", seq=seq)


def ours(caps: list[Any]) -> list[int]:
    """The sequence numbers of our echo requests among what was captured."""
    return sorted(f.icmp_seq for f in caps if f.icmp_type == 8 and f.dst == DST)


def mirror_status(stack: Stack) -> dict[str, Any]:
    return stack.client.mirror_status(1)


def test_every_frame_leaves_both_tx_ports_and_counters_match(mirror_stack: Stack) -> None:
    stack = mirror_stack
    stack.patch_and_forward("ring:0", "phy:0")
    n = 50
    with Capture("spp-remote", "r-eth1") as orig, Capture("spp-remote", "r-eth0") as mon:
        send_frames("spp-remote", "r-eth0", [echo(i) for i in range(n)])
        wait_for(lambda: len(ours([f.parse() for f in mon.frames(received_only=True)])) >= n,
                 5, "the copies back on r-eth0")
        time.sleep(0.3)
    got_orig = ours([f.parse() for f in orig.frames(received_only=True)])
    got_mon = ours([f.parse() for f in mon.frames(received_only=True)])
    assert got_orig == list(range(n)), "every original reaches r-eth1 once"
    assert got_mon == list(range(n)), "every copy reaches the monitor side once"

    st = mirror_status(stack)
    comp = next(c for c in st["components"] if c.get("name") == "mr1")
    assert comp["tx_port"] == [{"port": "phy:1"}, {"port": "ring:0"}]
    c = comp["counters"]
    # the remote's own frames (IPv6 ND and the like) are mirrored too: at least ours
    assert c["rx"] >= n and c["tx"] == 2 * c["rx"]
    assert c["drop_tx_full"] == c["drop_nomem"] == c["drop_bad_frame"] == 0
    pc = st["port_counters"]
    assert pc["phy:0"]["rx"] == c["rx"]
    assert pc["phy:1"]["tx"] == pc["ring:0"]["tx"] == c["rx"]
    assert pc["phy:1"]["tx_drop"] == pc["ring:0"]["tx_drop"] == 0

    text = subprocess.run([*SPP, "mirror", "1", "status"], capture_output=True, text=True,
                          env={"SPP_CTL": f"127.0.0.1:{stack.api}", "PATH": "/usr/bin"})
    assert text.returncode == 0, text.stderr
    assert "  - core:3 'mr1' (type: mirror)\n    - rx: phy:0\n    - tx: [phy:1, ring:0]" \
        in text.stdout
    print(f"\nmirror: sent {n}; r-eth1 got {len(got_orig)}, monitor got {len(got_mon)}; "
          f"counters {c}; ports {pc}")


def test_a_full_copy_side_drops_only_copies_and_counts_them_on_its_port(
        mirror_stack: Stack) -> None:
    """Nobody reads ring:0 (1024 slots, 1023 usable: a DPDK ring keeps one free): the copies
    beyond it are dropped and counted on ring:0, while every original still leaves on phy:1."""
    stack = mirror_stack
    n = 1500
    with Capture("spp-remote", "r-eth1") as orig:
        for start in range(0, n, 100):
            send_frames("spp-remote", "r-eth0", [echo(i) for i in range(start, start + 100)])
            time.sleep(0.02)
        wait_for(lambda: len(ours([f.parse() for f in orig.frames(received_only=True)])) >= n,
                 10, "the originals on r-eth1")
    assert ours([f.parse() for f in orig.frames(received_only=True)]) == list(range(n))
    st = mirror_status(stack)
    c = next(x for x in st["components"] if x.get("name") == "mr1")["counters"]
    pc = st["port_counters"]
    held = SPP_RING_SIZE - 1
    assert pc["ring:0"]["tx"] == held and pc["ring:0"]["tx_drop"] == c["rx"] - held
    assert pc["phy:1"]["tx"] == c["rx"] and pc["phy:1"]["tx_drop"] == 0
    assert c["drop_tx_full"] == pc["ring:0"]["tx_drop"]
    assert c["tx"] == pc["phy:1"]["tx"] + pc["ring:0"]["tx"]
    print(f"\nfull side: rx {c['rx']}; phy:1 tx {pc['phy:1']['tx']}; ring:0 tx "
          f"{pc['ring:0']['tx']} tx_drop {pc['ring:0']['tx_drop']}")


@pytest.mark.parametrize("method, path, body, status, reason", [
    ("POST", "/components", {"name": "f", "core": 3, "type": "forward"}, 400,
     "invalid key(type): forward."),
    ("POST", "/components", {"name": "m2", "core": 2, "type": "mirror"}, 400,
     "core 2 is the master lcore of this process, not a worker (workers: 3)"),
    ("PUT", "/components/mr1/ports", {"action": "attach", "port": "ring:1", "dir": "tx"}, 400,
     "component 'mr1' (mirror) takes 2 tx port(s) and already has phy:1, "
     "ring:0"),
    ("PUT", "/components/mr1/ports", {"action": "attach", "port": "ring:1", "dir": "rx"}, 400,
     "component 'mr1' (mirror) takes 1 rx port(s) and already has phy:0"),
    ("DELETE", "/components/nope", None, 404, "component 'nope' not found."),
])
def test_bad_commands_get_one_line_reasons(mirror_stack: Stack, method: str, path: str,
                                           body: Any, status: int, reason: str) -> None:
    with pytest.raises(SppError) as err:
        mirror_stack.client.request(method, f"/mirrors/1{path}", body)
    assert (err.value.status, err.value.reason) == (status, reason)
    cli = subprocess.run([*SPP, "mirror", "1", "component", "start", "x", "3", "forward"],
                         capture_output=True, text=True,
                         env={"SPP_CTL": f"127.0.0.1:{mirror_stack.api}", "PATH": "/usr/bin"})
    assert cli.returncode == 1 and cli.stderr.count("\n") == 1, cli.stderr


def test_a_mirror_with_one_tx_port_says_why_it_forwards_nothing_and_harms_nothing(
        stack: Stack) -> None:
    """mr1 with phy:0 rx and only phy:1 tx: the process stays up, sends nothing, and its
    status (JSON and text) says in one line what it waits for; the nfv next to it keeps
    patching; with the second tx port it mirrors."""
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_nfv(2, "7,8")
    for ring in ("ring:1", "ring:2"):
        stack.client.put("/nfvs/2/ports", {"action": "add", "port": ring})
    stack.client.put("/nfvs/2/patches", {"src": "ring:1", "dst": "ring:2"})
    stack.start_mirror(1, "2,3")
    mirror_cmds(stack, component("mr1", 3, "mirror"),
                port("add", "phy:0", "rx", "mr1"), port("add", "phy:1", "tx", "mr1"))
    reason = "forwards nothing until it has 1 rx and 2 tx ports (has 1 rx, 1 tx)"
    comp = next(c for c in mirror_status(stack)["components"] if c.get("name") == "mr1")
    assert comp["waiting"] == reason
    text = subprocess.run([*SPP, "mirror", "1", "status"], capture_output=True, text=True,
                          env={"SPP_CTL": f"127.0.0.1:{stack.api}", "PATH": "/usr/bin"})
    assert text.returncode == 0 and f"    - waiting: {reason}\n" in text.stdout + "\n"
    with Capture("spp-remote", "r-eth1") as out:
        send_frames("spp-remote", "r-eth0", [echo(i) for i in range(20)])
        time.sleep(1.0)
    assert ours([f.parse() for f in out.frames(received_only=True)]) == [], \
        "a mirror with one tx port sent frames"
    assert stack.procs["mirror1"].poll() is None
    assert stack.nfv_status(2)["patches"] == [{"src": "ring:1", "dst": "ring:2"}]
    procs = stack.client.processes()
    assert {"type": "mirror", "client-id": 1} in procs and {"type": "nfv", "client-id": 2} in procs
    # the second tx port completes it: what arrives now leaves on phy:1 (and ring:0)
    mirror_cmds(stack, port("add", "ring:0", "tx", "mr1"))
    assert "waiting" not in next(c for c in mirror_status(stack)["components"]
                                 if c.get("name") == "mr1")
    with Capture("spp-remote", "r-eth1") as out:
        send_frames("spp-remote", "r-eth0", [echo(i) for i in range(100, 120)])
        wait_for(lambda: set(range(100, 120)) <= set(
            ours([f.parse() for f in out.frames(received_only=True)])), 5,
                 "the frames sent after the second tx port on r-eth1")


def test_processes_list_the_mirror_and_exit_ends_it(mirror_stack: Stack) -> None:
    stack = mirror_stack
    assert {"type": "mirror", "client-id": 1} in stack.client.processes()
    stack.client.delete("/mirrors/1")
    assert stack.procs["mirror1"].wait(15) == 0
    wait_for(lambda: all(p["type"] != "mirror" for p in stack.client.processes()), 2,
             "mirror gone")
