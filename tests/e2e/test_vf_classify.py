"""spp_vf end to end: the classify-ICMP use case on the default topology.

remote r-eth0 -> phy:0 -> cls -> ring:0 -> fwd1 -> ring:2 -> mgr -> phy:1 -> remote r-eth1
                              -> ring:1 -> fwd2 -> ring:3 ->
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from classify_icmp import MAC1, MAC2, NOBODY, REMOTE0, classify_icmp_config

from spp.client import SppError
from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.stack import SPP, Stack, component, port, table
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def vf_stack(stack: Stack) -> Iterator[Stack]:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_vf(1, "2-6")
    classify_icmp_config(stack)
    yield stack


def counters(stack: Stack) -> dict[str, dict[str, int]]:
    return {c["name"]: c["counters"] for c in stack.vf_status()["components"] if "name" in c}


def echo(dst: str, seq: int) -> bytes:
    return frames.icmp_echo_frame(dst, REMOTE0, "198.18.0.1", "198.18.0.11", seq=seq)


def send_and_capture(stack: Stack, sent: list[bytes], settle: float = 0.5) -> list[Any]:
    with Capture("spp-remote", "r-eth1") as cap:
        send_frames("spp-remote", "r-eth0", sent)
        time.sleep(settle)
    return [f.parse() for f in cap.frames(received_only=True)]


def test_classify_icmp_use_case_classifies_by_destination_mac(vf_stack: Stack) -> None:
    stack = vf_stack
    got = send_and_capture(stack, [echo(MAC1, i) for i in range(5)] +
                           [echo(MAC2, 100 + i) for i in range(7)])
    echoes = [f for f in got if f.icmp_type == 8]
    assert sorted(f.icmp_seq for f in echoes if f.dst == MAC1) == list(range(5))
    assert sorted(f.icmp_seq for f in echoes if f.dst == MAC2) == list(range(100, 107))
    c = counters(stack)
    assert c["cls"]["rx"] == 12 and c["cls"]["tx"] == 12
    assert (c["fwd1"]["tx"], c["fwd2"]["tx"]) == (5, 7)  # each MAC took its own forwarder
    assert c["mgr"]["rx"] == 12 and c["mgr"]["tx"] == 12


def test_unregistered_mac_is_dropped_and_counted(vf_stack: Stack) -> None:
    got = send_and_capture(vf_stack, [echo(NOBODY, i) for i in range(4)])
    assert not [f for f in got if f.dst == NOBODY]
    c = counters(vf_stack)
    assert c["cls"]["drop_no_entry"] == 4 and c["fwd1"]["rx"] == c["fwd2"]["rx"] == 0


def test_arp_broadcast_reaches_both_paths(vf_stack: Stack) -> None:
    arp = frames.arp_request_frame(REMOTE0, "198.18.0.1", "198.18.0.11")
    got = send_and_capture(vf_stack, [arp])
    assert len([f for f in got if f.dst == "ff:ff:ff:ff:ff:ff"]) == 2
    c = counters(vf_stack)
    assert c["fwd1"]["rx"] == 1 and c["fwd2"]["rx"] == 1


def test_default_entry_catches_unmatched_unicast(vf_stack: Stack) -> None:
    vf_stack.vf(1, table("add", "default", "ring:1"))
    got = send_and_capture(vf_stack, [echo(NOBODY, 1)])
    assert [f.dst for f in got if f.icmp_type == 8] == [NOBODY]
    assert counters(vf_stack)["fwd2"]["rx"] == 1


def test_table_del_stops_the_frames(vf_stack: Stack) -> None:
    vf_stack.vf(1, table("del", MAC1, "ring:0"))
    got = send_and_capture(vf_stack, [echo(MAC1, i) for i in range(3)] + [echo(MAC2, 9)])
    assert [f.dst for f in got if f.icmp_type == 8] == [MAC2]
    assert counters(vf_stack)["cls"]["drop_no_entry"] == 3


def test_registered_macs_are_mirrored_into_xdp_steering_map(vf_stack: Stack) -> None:
    def listed() -> str:
        return subprocess.run([*SPP, "xdp", "list", "spp-p0"], capture_output=True,
                              text=True).stdout.lower()

    assert MAC1 in listed() and MAC2 in listed()
    vf_stack.vf(1, table("del", MAC1, "ring:0"))
    assert MAC1 not in listed() and MAC2 in listed()


def test_graceful_shutdown_of_classify_icmp_leaves_all_cores_unuse(vf_stack: Stack) -> None:
    stack = vf_stack
    stack.vf(1, table("del", MAC1, "ring:0"), table("del", MAC2, "ring:1"),
             port("del", "phy:0", "rx", "cls"), port("del", "ring:0", "tx", "cls"),
             port("del", "ring:1", "tx", "cls"),
             port("del", "ring:0", "rx", "fwd1"), port("del", "ring:2", "tx", "fwd1"),
             port("del", "ring:1", "rx", "fwd2"), port("del", "ring:3", "tx", "fwd2"),
             port("del", "ring:2", "rx", "mgr"), port("del", "ring:3", "rx", "mgr"),
             port("del", "phy:1", "tx", "mgr"))
    for name in ("cls", "fwd1", "fwd2", "mgr"):
        stack.client.delete(f"/vfs/1/components/{name}")
    st = stack.vf_status()
    assert st["components"] == [{"core": c, "type": "unuse"} for c in (3, 4, 5, 6)]
    assert st["classifier_table"] == [] and st["ports"] == ["phy:0", "phy:1"]
    text = subprocess.run([*SPP, "vf", "1", "status"], capture_output=True, text=True,
                          env={"SPP_CTL": f"127.0.0.1:{stack.api}", "PATH": "/usr/bin"})
    assert text.returncode == 0, text.stderr
    for core in (3, 4, 5, 6):
        assert f"  - core:{core} '' (type: unuse)" in text.stdout
    assert "  - master: 2" in text.stdout and "  - slaves: [3, 4, 5, 6]" in text.stdout
    stack.client.delete("/vfs/1")
    assert stack.procs["vf1"].wait(15) == 0
    wait_for(lambda: all(p["type"] != "vf" for p in stack.client.processes()), 2, "vf gone")


def test_table_updates_under_traffic_lose_nothing(vf_stack: Stack) -> None:
    stack = vf_stack
    stop = threading.Event()
    sent = [0]

    def stream() -> None:
        seq = 0
        while not stop.is_set():
            send_frames("spp-remote", "r-eth0", [echo(MAC1, (seq + i) & 0xFFFF)
                                                 for i in range(10)])
            seq += 10
            time.sleep(0.005)
        sent[0] = seq

    with Capture("spp-remote", "r-eth1") as cap:
        sender = threading.Thread(target=stream)
        sender.start()
        try:
            for i in range(1000):
                mac = f"52:54:01:00:{i >> 8:02x}:{i & 0xFF:02x}"
                stack.vf(1, table("add", mac, "ring:1"))
            for i in range(1000):
                mac = f"52:54:01:00:{i >> 8:02x}:{i & 0xFF:02x}"
                stack.vf(1, table("del", mac, "ring:1"))
        finally:
            stop.set()
            sender.join()
        time.sleep(0.5)
    got = [f.parse() for f in cap.frames(received_only=True)]
    echoes = [f for f in got if f.icmp_type == 8]
    assert sent[0] >= 1000
    assert len(echoes) == sent[0], f"sent {sent[0]}, arrived {len(echoes)}"
    assert all(f.dst == MAC1 for f in echoes)
    c = counters(stack)
    assert c["fwd1"]["rx"] == sent[0] and c["fwd2"]["rx"] == 0  # nothing misdelivered
    assert c["cls"]["drop_no_entry"] == 0


@pytest.mark.parametrize("request_, reason", [
    (component("x", 9, "forward"), "core 9 is not a worker lcore"),
    (component("x", 2, "forward"), "core 2 is the master lcore"),
    (component("fwd1", 4, "forward"), "component 'fwd1' already exists"),
    (component("x", 4, "router"), "invalid key(type): router."),
    (port("add", "ring:5", "rx", "fwd1"), "takes 1 rx port(s) and already has ring:0"),
    (port("add", "ring:5", "tx", "mgr"), "takes 1 tx port(s)"),
    (port("add", "ring:20", "tx", "cls"), "ring:20 does not exist"),
    (port("add", "ring:99", "tx", "cls"), "ring:99 is out of range"),
    (("PUT", "/components/cls/ports",
      {"action": "attach", "port": "phy:1", "dir": "tx", "nq": 3}), "nq 3 does not exist"),
    (table("add", "52:54:00:12:34:5g", "ring:0"), "52:54:00:12:34:5g"),
    (table("add", MAC1, "ring:0"), "already has"),
])
def test_bad_commands_are_refused_and_forwarding_goes_on(vf_stack: Stack, request_: Any,
                                                         reason: str) -> None:
    before = vf_stack.vf_status()
    with pytest.raises(SppError) as err:
        vf_stack.vf(1, request_)
    assert reason in str(err.value)
    after = vf_stack.vf_status()
    assert after["classifier_table"] == before["classifier_table"]
    assert [c.get("name") for c in after["components"]] == \
        [c.get("name") for c in before["components"]]
    got = send_and_capture(vf_stack, [echo(MAC1, 1), echo(MAC2, 2)])
    assert sorted(f.dst for f in got if f.icmp_type == 8) == [MAC1, MAC2]


def test_unknown_component_is_404(vf_stack: Stack) -> None:
    with pytest.raises(SppError) as err:
        vf_stack.client.delete("/vfs/1/components/nosuch")
    assert err.value.status == 404
