"""spp_nfv end to end: the real controller, primary and spp_nfv on the default topology.

remote r-eth0 -> spp-p0 = phy:0 -> (nfv 1: patch phy:0 phy:1) -> phy:1 = spp-p1 -> remote r-eth1
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

import pytest

from spp.client import SppError
from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.stack import SPP, Stack
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

REMOTE0 = "02:00:00:00:10:00"  # r-eth0 (spp.host.default_topology)
DST = "52:54:00:12:34:56"


def echo(seq: int) -> bytes:
    return frames.icmp_echo_frame(DST, REMOTE0, "198.18.0.1", "198.18.0.11", seq=seq)


def send(seqs: range, settle: float = 0.7) -> tuple[list[int], list[int]]:
    """Send echoes `seqs` from r-eth0; the sequence numbers seen on r-eth1 and on r-eth0."""
    with Capture("spp-remote", "r-eth1") as out, Capture("spp-remote", "r-eth0") as back:
        send_frames("spp-remote", "r-eth0", [echo(s) for s in seqs])
        time.sleep(settle)
    def ours(cap: Capture) -> list[int]:
        parsed = [f.parse() for f in cap.frames(received_only=True)]
        return sorted(f.icmp_seq for f in parsed
                      if f.dst == DST and f.icmp_type == 8 and f.icmp_seq is not None)
    return ours(out), ours(back)


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPP_CTL": f"127.0.0.1:{stack.api}"}
    return subprocess.run([*SPP, "nfv", *args], capture_output=True, text=True, env=env,
                          timeout=30)


def counters(stack: Stack) -> dict[str, Any]:
    return stack.nfv_status(1)["port_counters"]


def phy(stack: Stack, n: int) -> dict[str, Any]:
    return next(p for p in stack.primary_status()["phy_ports"] if p["id"] == n)


def test_nfv_patch_forward_stop_reset_and_exit(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_nfv(1, "7,8")
    assert {"type": "nfv", "client-id": 1} in stack.client.processes()
    st = stack.nfv_status(1)
    assert (st["client-id"], st["status"], st["ports"], st["patches"]) == \
        (1, "idling", ["phy:0", "phy:1"], [])
    assert (st["master-lcore"], st["lcores"]) == (7, [7, 8])

    # ring and vhost-free ports come and go (ring:0 exists in the primary)
    assert cli(stack, "1", "add", "ring:0").stdout == "Add ring:0.\n"
    assert stack.nfv_status(1)["ports"] == ["phy:0", "phy:1", "ring:0"]
    assert cli(stack, "1", "del", "ring:0").stdout == "Delete ring:0.\n"
    assert stack.nfv_status(1)["ports"] == ["phy:0", "phy:1"]

    # patch + forward move real frames from r-eth0 to r-eth1, and nothing back
    res = cli(stack, "1", "patch", "phy:0", "phy:1")
    assert (res.returncode, res.stdout) == (0, "Patch ports (phy:0 -> phy:1).\n"), res.stderr
    assert cli(stack, "1", "forward").stdout == "Start forwarding.\n"
    st = stack.nfv_status(1)
    assert st["status"] == "running" and st["patches"] == [{"src": "phy:0", "dst": "phy:1"}]
    tx1_before = phy(stack, 1)["tx"]
    got, back = send(range(20))
    assert got == list(range(20)) and back == []
    c = counters(stack)
    assert c["phy:0"]["rx"] >= 20 and c["phy:1"]["tx"] == c["phy:0"]["rx"]
    assert c["phy:1"]["tx_drop"] == 0 and c["phy:0"]["tx"] == 0 and c["phy:1"]["rx"] == 0
    assert phy(stack, 1)["tx"] - tx1_before >= 20
    text = cli(stack, "1", "status").stdout
    assert "- status: running\n" in text and "  - phy:0 -> phy:1\n" in text
    assert "  - master: 7\n  - slave: 8\n" in text

    # stop: nothing moves any more
    assert cli(stack, "1", "stop").stdout == "Stop forwarding.\n"
    assert stack.nfv_status(1)["status"] == "idling"
    before = counters(stack)
    got, _ = send(range(100, 110))
    assert got == [] and counters(stack) == before

    # patch reset removes the patches; forwarding again moves nothing
    assert cli(stack, "1", "patch", "reset").stdout == "Clear all of patches.\n"
    assert stack.nfv_status(1)["patches"] == []
    stack.client.put("/nfvs/1/forward", {"action": "start"})
    got, _ = send(range(200, 205))
    assert got == [] and counters(stack)["phy:1"]["tx"] == before["phy:1"]["tx"]

    # exit: the process leaves with code 0 and the controller forgets it
    assert cli(stack, "1", "exit").stdout == "Exit nfv 1\n"
    assert stack.procs["nfv1"].wait(15) == 0
    wait_for(lambda: all(p["type"] != "nfv" for p in stack.client.processes()), 3, "nfv gone")


BAD = [
    ("PUT", "/nfvs/1/patches", {"src": "ring:0", "dst": "phy:1"},
     "ring:0 not added (`add` it first)"),
    ("PUT", "/nfvs/1/patches", {"src": "phy:0", "dst": "ring:99"},
     "invalid key(dst): ring:99. ring:99 is out of range (ring:0-ring:63)."),
    ("PUT", "/nfvs/1/ports", {"action": "add", "port": "phy:0"},
     "phy:0 is already added"),
    ("PUT", "/nfvs/1/ports", {"action": "add", "port": "ring:40"},
     "ring:40 does not exist (the primary has"),
    ("PUT", "/nfvs/1/ports", {"action": "del", "port": "phy:0"},
     "phy:0 is patched (phy:0 -> phy:1); `patch reset` first"),
    ("PUT", "/nfvs/1/forward", {"action": "go"}, "invalid key(action): go."),
]


def test_bad_nfv_commands_get_a_one_line_reason_and_change_nothing(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_nfv(1, "7,8")
    stack.client.put("/nfvs/1/patches", {"src": "phy:0", "dst": "phy:1"})
    for method, path, body, reason in BAD:
        with pytest.raises(SppError) as err:
            stack.client.request(method, path, body)
        assert err.value.status == 400, (body, err.value.reason)
        assert err.value.reason.startswith(reason) and "\n" not in err.value.reason, \
            (body, err.value.reason)
        assert stack.nfv_status(1)["patches"] == [{"src": "phy:0", "dst": "phy:1"}]
    res = cli(stack, "1", "patch", "phy:0")
    assert res.returncode != 0 and res.stderr.strip().count("\n") == 0
    assert "Invalid syntax" in res.stderr
    res = cli(stack, "1", "patch", "phy:0", "vhost:3")
    assert res.returncode == 1
    assert res.stderr == "Error: vhost:3 not added (`add` it first)\n"
    # a second nfv 1 is refused at start, in one line (its pid file names the first)
    bad = subprocess.run([*SPP, "nfv", "-l", "9,10", "--proc-type=secondary", "--", "-n", "1",
                          "-s", f"127.0.0.1:{stack.sec_port}"], capture_output=True, text=True,
                         timeout=60)
    last = bad.stderr.strip().splitlines()[-1]
    assert bad.returncode == 1 and last.startswith("spp nfv: ") and "nfv1.pid" in last, last
    assert stack.nfv_status(1)["patches"] == [{"src": "phy:0", "dst": "phy:1"}]


def test_two_patches_through_a_ring(stack: Stack) -> None:
    """phy:0 -> ring:0 -> phy:1: two patches on the one worker, the ring's counters."""
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_nfv(1, "7,8")
    stack.client.put("/nfvs/1/ports", {"action": "add", "port": "ring:0"})
    stack.client.put("/nfvs/1/patches", {"src": "phy:0", "dst": "ring:0"})
    stack.client.put("/nfvs/1/patches", {"src": "ring:0", "dst": "phy:1"})
    stack.client.put("/nfvs/1/forward", {"action": "start"})
    got, back = send(range(30))
    assert got == list(range(30)) and back == []
    c = counters(stack)
    assert c["ring:0"]["tx"] == c["ring:0"]["rx"] == c["phy:0"]["rx"] >= 30
    assert c["phy:1"]["tx"] == c["phy:0"]["rx"]
    ring0 = next(r for r in stack.primary_status()["ring_ports"] if r["id"] == 0)
    assert ring0["tx"] == ring0["rx"] == c["ring:0"]["tx"]
    text = cli(stack, "1", "status").stdout
    assert "  - phy:0 -> ring:0\n" in text and "  - ring:0 -> phy:1\n" in text


def test_a_patch_to_a_port_another_nfv_owns_is_refused_and_both_keep_working(
        stack: Stack) -> None:
    """ring:3 is nfv 2's (added there), not nfv 1's: nfv 1's `patch phy:0 ring:3` gets one
    line, over REST and the CLI; nfv 1 still carries phy:0 -> phy:1, nfv 2 keeps its port,
    patch and forwarding, and both stay up."""
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_nfv(1, "7,8")
    stack.start_nfv(2, "9,10")
    for port in ("ring:3", "ring:4"):
        stack.client.put("/nfvs/2/ports", {"action": "add", "port": port})
    stack.client.put("/nfvs/2/patches", {"src": "ring:3", "dst": "ring:4"})
    stack.client.put("/nfvs/2/forward", {"action": "start"})
    stack.client.put("/nfvs/1/patches", {"src": "phy:0", "dst": "phy:1"})
    stack.client.put("/nfvs/1/forward", {"action": "start"})
    nfv2 = {k: stack.nfv_status(2)[k] for k in ("ports", "patches", "status")}
    with pytest.raises(SppError) as err:
        stack.client.put("/nfvs/1/patches", {"src": "phy:0", "dst": "ring:3"})
    assert (err.value.status, err.value.reason) == (400, "ring:3 not added (`add` it first)")
    res = cli(stack, "1", "patch", "phy:0", "ring:3")
    assert res.returncode == 1 and res.stderr == "Error: ring:3 not added (`add` it first)\n"
    assert stack.nfv_status(1)["patches"] == [{"src": "phy:0", "dst": "phy:1"}]
    got, _ = send(range(300, 310))
    assert got == list(range(300, 310)), "nfv 1 stopped carrying phy:0 -> phy:1"
    assert {k: stack.nfv_status(2)[k] for k in ("ports", "patches", "status")} == nfv2
    assert stack.procs["nfv1"].poll() is None and stack.procs["nfv2"].poll() is None
