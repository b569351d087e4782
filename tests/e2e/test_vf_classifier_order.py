"""Every branch of the classifier's order (docs/classifier.md), checked by what arrives where.

One classifier reads phy:0 (cls-in) and sends to five phy ports, each a veth
whose peer sits in netns spp-cls, so where a frame went is where it is captured:

    tx phy:1  vlan 10 MAC_A          tx phy:4  mac MAC_A (untagged)
    tx phy:2  vlan 10 default        tx phy:5  vlan 20 MAC_B (VLAN 20 has no default)
    tx phy:3  mac default (the general default)

Each frame carries its own ICMP sequence number; the test maps every captured
frame back to what was sent and compares the sets of ports per frame, and the
classifier's outcome counters, with the order: exact MAC in the frame's VLAN;
broadcast/multicast to the VLAN's ports plus the general default; the VLAN's
default; the general default; drop.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from spp.host.topology import loads_topology
from spp.host.updown import host_down, host_up
from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.stack import Stack, component, port, table
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

NS = "spp-cls"
MAC_A, MAC_B, MAC_X = "52:54:00:00:0a:0a", "52:54:00:00:0b:0b", "52:54:00:00:99:99"
BCAST, MCAST = frames.BROADCAST, "01:00:5e:00:00:fb"
SRC = "02:00:00:00:c1:00"
OUTS = 5


def _topology_yaml() -> str:
    lines = ["name: clsorder", "file_prefix: clsorder", f"namespaces: [{NS}]", "veths:"]
    names = ["cls-in"] + [f"cls-o{i}" for i in range(1, OUTS + 1)]
    for i, name in enumerate(names):
        lines += ["  - ends:",
                  f"      - {{name: {name}-r, netns: {NS}, mac: \"02:00:00:00:c1:0{i}\"}}",
                  f"      - {{name: {name}, mac: \"02:00:00:00:c0:0{i}\", phy: {i}}}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def cls_topology(e2e_lock) -> Iterator[None]:
    topo = loads_topology(_topology_yaml(), "clsorder")
    try:
        host_up(topo, prepare=False)
        yield
    finally:
        host_down(topo)


@pytest.fixture
def cls_stack(cls_topology: None, stack: Stack) -> Stack:
    args = ["--phy", "cls-in"]
    for i in range(1, OUTS + 1):
        args += ["--phy", f"cls-o{i}"]
    stack.start_primary(*args, "--rings", "1")
    stack.start_vf(1, "2-3")
    stack.vf(1, component("cls", 3, "classifier"), port("attach", "phy:0", "rx", "cls"),
             *[port("attach", f"phy:{i}", "tx", "cls") for i in range(1, OUTS + 1)],
             table("add", MAC_A, "phy:1", vlan=10),
             table("add", "default", "phy:2", vlan=10),
             table("add", "default", "phy:3"),
             table("add", MAC_A, "phy:4"),
             table("add", MAC_B, "phy:5", vlan=20))
    return stack


def _frame(seq: int, vid: int | None, dst: str, pcp: int = 0) -> bytes:
    vlan = None if vid is None else (vid, pcp)
    return frames.icmp_echo_frame(dst, SRC, "198.18.7.1", "198.18.7.2", vlan=vlan, seq=seq)


def _counters(stack: Stack) -> dict[str, int]:
    comps = stack.vf_status(1)["components"]
    return next(c["counters"] for c in comps if c.get("name") == "cls")


def _classify(stack: Stack, cases: dict[int, tuple[int | None, str, int]]
              ) -> dict[int, set[int]]:
    """Send one frame per case; return, per sequence number, the phy ports it reached."""
    sent = {seq: _frame(seq, vid, dst, pcp) for seq, (vid, dst, pcp) in cases.items()}
    before = _counters(stack)["rx"]
    caps = {i: Capture(NS, f"cls-o{i}-r").start() for i in range(1, OUTS + 1)}
    try:
        send_frames(NS, "cls-in-r", list(sent.values()))
        wait_for(lambda: _counters(stack)["rx"] >= before + len(sent), 5,
                 f"the classifier to take {len(sent)} frames")
        time.sleep(0.5)  # copies on their way out, and any stray duplicate
    finally:
        got = {i: cap.stop() for i, cap in caps.items()}
    where: dict[int, set[int]] = {seq: set() for seq in sent}
    for i, caught in got.items():
        for f in caught:
            p = f.parse()
            if f.outgoing or p.src != SRC or p.icmp_seq not in sent:
                continue
            assert p.icmp_seq not in where or i not in where[p.icmp_seq], \
                f"frame {p.icmp_seq} reached phy:{i} twice"
            assert f.data == sent[p.icmp_seq], f"frame {p.icmp_seq} changed on phy:{i}"
            where[p.icmp_seq].add(i)
    return where


def test_every_branch_of_the_order_with_tagged_and_untagged_frames(cls_stack: Stack) -> None:
    stack = cls_stack
    cases = {                       # seq: (VID or None, dst, PCP) -> expected phy ports
        1: ((10, MAC_A, 0), {1}),        # exact MAC in the frame's VLAN
        2: ((None, MAC_A, 0), {4}),      # same MAC untagged: the untagged entry
        3: ((20, MAC_B, 0), {5}),
        4: ((0, MAC_A, 3), {4}),         # priority tag (VID 0) is untagged
        5: ((10, MAC_X, 0), {2}),        # unknown unicast: the VLAN's own default
        6: ((20, MAC_A, 0), {3}),        # VLAN without a default: the general default
        7: ((None, MAC_X, 0), {3}),      # untagged unknown: the general default
        8: ((42, MAC_X, 0), {3}),        # VLAN without entries: the general default
        9: ((10, BCAST, 0), {1, 2, 3}),  # flood: the VLAN's ports, its default, general
        10: ((10, MCAST, 0), {1, 2, 3}),
        11: ((None, BCAST, 0), {3, 4}),  # untagged flood: untagged entries incl. general
        12: ((20, BCAST, 0), {3, 5}),
        13: ((42, BCAST, 0), {3}),       # VLAN without entries: general default only
    }
    where = _classify(stack, {s: c for s, (c, _w) in cases.items()})
    assert where == {s: want for s, (_c, want) in cases.items()}
    ctr = _counters(stack)
    assert (ctr["rx"], ctr["hit"], ctr["flood"], ctr["default"], ctr["drop_no_entry"]) == \
        (13, 4, 4, 5, 0)
    assert ctr["tx"] == sum(len(w) for _c, w in cases.values()) == 19
    assert ctr["drop_tx_full"] == ctr["drop_nomem"] == ctr["drop_bad_frame"] == 0

    # without the general default: what only it caught is dropped and counted, and
    # VLAN 10's default still serves VLAN 10 only (never untagged or VID 42 frames)
    stack.vf(1, table("del", "default", "phy:3"))
    cases = {
        21: ((20, MAC_A, 0), set()),
        22: ((None, MAC_X, 0), set()),
        23: ((42, MAC_X, 0), set()),
        24: ((42, BCAST, 0), set()),
        25: ((10, MAC_X, 0), {2}),
        26: ((10, BCAST, 0), {1, 2}),
        27: ((None, BCAST, 0), {4}),
        28: ((10, MAC_A, 0), {1}),
    }
    where = _classify(stack, {s: c for s, (c, _w) in cases.items()})
    assert where == {s: want for s, (_c, want) in cases.items()}
    ctr2 = _counters(stack)
    delta = {k: ctr2[k] - ctr[k] for k in ("rx", "hit", "flood", "default", "drop_no_entry")}
    assert delta == {"rx": 8, "hit": 1, "flood": 2, "default": 1, "drop_no_entry": 4}


def test_a_vlan_default_alone_serves_only_its_vlan(cls_stack: Stack) -> None:
    """The reported case: `vlan 100 default` must not catch untagged or VID-42 frames."""
    stack = cls_stack
    for args in (("del", MAC_A, "phy:1", 10), ("del", "default", "phy:2", 10),
                 ("del", "default", "phy:3", None), ("del", MAC_A, "phy:4", None),
                 ("del", MAC_B, "phy:5", 20)):
        stack.vf(1, table(*args[:3], vlan=args[3]))
    stack.vf(1, table("add", "default", "phy:1", vlan=100))
    cases = {
        31: ((100, MAC_X, 0), {1}),
        32: ((None, MAC_X, 0), set()),
        33: ((42, MAC_X, 0), set()),
        34: ((100, BCAST, 0), {1}),
        35: ((None, BCAST, 0), set()),
    }
    where = _classify(stack, {s: c for s, (c, _w) in cases.items()})
    assert where == {s: want for s, (_c, want) in cases.items()}
    ctr = _counters(stack)
    assert (ctr["default"], ctr["flood"], ctr["drop_no_entry"]) == (1, 1, 3)
