"""spp_vf VLAN handling on af_xdp phy ports: add_vlantag/del_vlantag and `vlan` table entries.

Frames are injected on spp-remote r-eth0 (-> spp-p0 = phy:0) and captured on
spp-remote r-eth1 (<- spp-p1 = phy:1). The capture helper puts tags the kernel
moved into skb metadata back into the frame, so captured bytes are wire bytes.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

import pytest
from classify_icmp import REMOTE0

from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.stack import Stack, component, port, table
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

VM1_MAC, VM2_MAC = "52:54:00:12:34:56", "52:54:00:12:34:58"
# a destination no kernel interface owns: the remote namespace only sees it, never answers
DST = VM1_MAC


def _start(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "4")
    stack.start_vf(1, "2-4")


def _untag(data: bytes) -> bytes:
    """The frame with every 802.1Q/802.1ad tag removed."""
    while len(data) >= 18 and struct.unpack_from("!H", data, 12)[0] in (
            frames.ETH_P_8021Q, frames.ETH_P_8021AD):
        data = data[:12] + data[16:]
    return data


def _echo(seq: int, vlan: tuple[int, int] | None, dst: str = DST) -> bytes:
    return frames.icmp_echo_frame(dst, REMOTE0, "198.18.0.1", "198.18.0.11", vlan=vlan, seq=seq)


def _ours(cap: Capture) -> list[frames.ParsedFrame]:
    """Frames from the remote's r-eth0 MAC that arrived on the capture interface."""
    return [f.parse() for f in cap.frames(received_only=True) if f.parse().src == REMOTE0]


def _raw_ours(cap: Capture) -> list[bytes]:
    return [f.data for f in cap.frames(received_only=True) if f.parse().src == REMOTE0]


def _counters(stack: Stack) -> dict[str, dict[str, int]]:
    return {c["name"]: c["counters"] for c in stack.vf_status(1)["components"] if "name" in c}


def _send_and_capture(stack: Stack, sent: list[bytes], expect: int,
                      done: Callable[[], bool] | None = None) -> list[bytes]:
    """Inject `sent` on r-eth0; wait for `expect` of our frames on r-eth1 and return them."""
    with Capture("spp-remote", "r-eth1") as cap:
        send_frames("spp-remote", "r-eth0", sent)
        wait_for(lambda: len(_raw_ours(cap)) >= expect, 5,
                 f"{expect} frames on r-eth1 (vf log: {stack.log('vf1')[-500:]})")
        if done is not None:
            wait_for(done, 5, "counters to settle")
        time.sleep(0.3)  # anything extra (duplicates) would arrive now
    return _raw_ours(cap)


# ---------------------------------------------------------------------------
# add_vlantag / del_vlantag on a forwarder phy:0 -> phy:1


def _forwarder(stack: Stack, rx_vlan: dict | None, tx_vlan: dict | None) -> None:
    stack.vf(1, component("fwd1", 3, "forward"),
             port("attach", "phy:0", "rx", "fwd1", rx_vlan),
             port("attach", "phy:1", "tx", "fwd1", tx_vlan))


def test_del_on_rx_and_add_on_tx_retag_vid10_as_vid100_pcp3_payload_intact(
        stack: Stack) -> None:
    _start(stack)
    _forwarder(stack, {"operation": "del"}, {"operation": "add", "id": 100, "pcp": 3})
    comps = {c.get("name"): c for c in stack.vf_status(1)["components"]}
    assert comps["fwd1"]["rx_port"][0]["vlan"]["operation"] == "del"
    assert comps["fwd1"]["tx_port"][0]["vlan"] == {"operation": "add", "id": 100, "pcp": 3}

    sent = [_echo(i, vlan=(10, 5)) for i in range(20)]
    got = _send_and_capture(stack, sent, 20)
    assert len(got) == 20, f"duplicates or strays: {len(got)}"
    parsed = [frames.parse_frame(d) for d in got]
    assert [(p.vid, p.pcp, len(p.vlans)) for p in parsed] == [(100, 3, 1)] * 20
    assert sorted(p.icmp_seq for p in parsed) == list(range(20))
    # everything but the tag is byte for byte what was sent
    by_seq = {p.icmp_seq: d for p, d in zip(parsed, got, strict=True)}
    for i, frame in enumerate(sent):
        assert _untag(by_seq[i]) == _untag(frame)
    ctr = _counters(stack)["fwd1"]
    assert ctr["rx"] == 20 and ctr["tx"] == 20 and ctr["drop_tx_full"] == 0


def test_add_on_tx_tags_untagged_frames_with_id_and_pcp(stack: Stack) -> None:
    _start(stack)
    _forwarder(stack, {"operation": "del"}, {"operation": "add", "id": 100, "pcp": 3})
    sent = [_echo(i, vlan=None) for i in range(10)]
    got = _send_and_capture(stack, sent, 10)
    parsed = [frames.parse_frame(d) for d in got]
    assert len(parsed) == 10
    assert all(p.vid == 100 and p.pcp == 3 and len(p.vlans) == 1 for p in parsed), parsed
    assert all(p.ethertype == frames.ETH_P_IP and p.is_icmp_echo for p in parsed)
    assert {_untag(d) for d in got} == set(sent)
    # the tag sits right after the MACs: 4 bytes longer than what was sent
    assert {len(d) for d in got} == {len(sent[0]) + 4}


def test_del_on_rx_sends_tagged_frames_out_untagged(stack: Stack) -> None:
    _start(stack)
    _forwarder(stack, {"operation": "del"}, None)
    sent = [_echo(i, vlan=(10, 0)) for i in range(10)]
    got = _send_and_capture(stack, sent, 10)
    parsed = [frames.parse_frame(d) for d in got]
    assert len(parsed) == 10
    assert all(p.vlans == () and p.ethertype == frames.ETH_P_IP for p in parsed), parsed
    assert {d for d in got} == {_untag(f) for f in sent}


def test_del_on_tx_strips_and_add_on_rx_rewrites_existing_tag(stack: Stack) -> None:
    _start(stack)
    _forwarder(stack, {"operation": "add", "id": 42, "pcp": 7}, {"operation": "none"})
    got = _send_and_capture(stack, [_echo(1, vlan=(10, 1)), _echo(2, vlan=None)], 2)
    parsed = sorted((frames.parse_frame(d) for d in got), key=lambda p: p.icmp_seq or 0)
    # add on an already tagged frame rewrites the outer tag instead of stacking a second one
    assert [(p.icmp_seq, p.vid, p.pcp, len(p.vlans)) for p in parsed] == [
        (1, 42, 7, 1), (2, 42, 7, 1)]

    stack.vf(1, port("detach", "phy:1", "tx", "fwd1"),
             port("attach", "phy:1", "tx", "fwd1", {"operation": "del"}))
    got = _send_and_capture(stack, [_echo(3, vlan=(10, 1)), _echo(4, vlan=None)], 2)
    parsed = sorted((frames.parse_frame(d) for d in got), key=lambda p: p.icmp_seq or 0)
    assert [(p.icmp_seq, p.vlans) for p in parsed] == [(3, ()), (4, ())]


# ---------------------------------------------------------------------------
# classifier `vlan VID MAC PORT` entries


def _vlan_classifier(stack: Stack) -> None:
    """cls: phy:0 -> ring:0 (vlan 10), ring:1 (vlan 20), ring:2 (vlan 10, other MAC).

    Each ring has its own forwarder to phy:1 that marks the path in the tag it sends:
    ring:0 keeps the tag, ring:1 rewrites it to 200, ring:2 rewrites it to 300.
    """
    stack.vf(1,
             component("cls", 3, "classifier"),
             component("fwd_a", 4, "forward"),
             component("fwd_b", 4, "forward"),
             component("fwd_c", 4, "forward"),
             port("attach", "phy:0", "rx", "cls"),
             port("attach", "ring:0", "tx", "cls"),
             port("attach", "ring:1", "tx", "cls"),
             port("attach", "ring:2", "tx", "cls"),
             port("attach", "ring:0", "rx", "fwd_a"),
             port("attach", "phy:1", "tx", "fwd_a"),
             port("attach", "ring:1", "rx", "fwd_b"),
             port("attach", "phy:1", "tx", "fwd_b", {"operation": "add", "id": 200, "pcp": 0}),
             port("attach", "ring:2", "rx", "fwd_c"),
             port("attach", "phy:1", "tx", "fwd_c", {"operation": "add", "id": 300, "pcp": 0}),
             table("add", VM1_MAC, "ring:0", vlan=10),
             table("add", VM1_MAC, "ring:1", vlan=20),
             table("add", VM2_MAC, "ring:2", vlan=10))


def test_vlan_entries_with_same_mac_send_vid10_and_vid20_different_ways(stack: Stack) -> None:
    _start(stack)
    _vlan_classifier(stack)
    values = {(e["value"], e["port"]) for e in stack.vf_status(1)["classifier_table"]}
    assert values == {(f"10/{VM1_MAC}", "ring:0"), (f"20/{VM1_MAC}", "ring:1"),
                      (f"10/{VM2_MAC}", "ring:2")}

    sent = ([_echo(i, vlan=(10, 0)) for i in range(6)] +
            [_echo(100 + i, vlan=(20, 0)) for i in range(4)] +
            [_echo(200 + i, vlan=(30, 0)) for i in range(3)] +      # no entry for VID 30
            [_echo(300 + i, vlan=None) for i in range(2)])           # nor for untagged
    got = _send_and_capture(stack, sent, 10,
                            done=lambda: _counters(stack)["cls"]["rx"] >= 15)
    parsed = [frames.parse_frame(d) for d in got]
    path = {p.icmp_seq: p.vid for p in parsed}
    assert len(parsed) == 10, sorted(path)
    assert {s: v for s, v in path.items() if s < 100} == dict.fromkeys(range(6), 10)
    assert {s: v for s, v in path.items() if s >= 100} == dict.fromkeys(range(100, 104), 200)

    ctr = _counters(stack)
    assert ctr["cls"] == {"rx": 15, "tx": 10, "drop_no_entry": 5, "drop_tx_full": 0,
                          "drop_bad_frame": 0, "drop_nomem": 0, "hit": 10, "flood": 0,
                          "default": 0}
    assert (ctr["fwd_a"]["rx"], ctr["fwd_b"]["rx"], ctr["fwd_c"]["rx"]) == (6, 4, 0)
    ports = stack.vf_status(1)["port_counters"]
    assert ports["ring:0"]["tx"] == 6 and ports["ring:1"]["tx"] == 4
    assert ports["ring:2"]["tx"] == 0


def test_broadcast_with_vid10_reaches_only_ports_with_vid10_entries(stack: Stack) -> None:
    _start(stack)
    _vlan_classifier(stack)
    arp = frames.arp_request_frame(REMOTE0, "198.18.0.1", "198.18.0.11", vlan=(10, 0))
    got = _send_and_capture(stack, [arp], 2, done=lambda: _counters(stack)["cls"]["rx"] >= 1)
    parsed = [frames.parse_frame(d) for d in got]
    assert all(p.arp_op == 1 and p.dst == frames.BROADCAST for p in parsed), parsed
    # one copy through ring:0 (tag kept) and one through ring:2 (rewritten to 300);
    # ring:1 has only a VID-20 entry and gets nothing
    assert sorted(p.vid for p in parsed) == [10, 300]
    ctr = _counters(stack)
    assert ctr["cls"]["rx"] == 1 and ctr["cls"]["tx"] == 2
    assert (ctr["fwd_a"]["rx"], ctr["fwd_b"]["rx"], ctr["fwd_c"]["rx"]) == (1, 0, 1)
    # the copies are independent frames: rewriting one tag did not touch the other
    assert {_untag(d) for d in got} == {_untag(arp)}

    arp20 = frames.arp_request_frame(REMOTE0, "198.18.0.1", "198.18.0.12", vlan=(20, 0))
    arp30 = frames.arp_request_frame(REMOTE0, "198.18.0.1", "198.18.0.13", vlan=(30, 0))
    got = _send_and_capture(stack, [arp20, arp30], 1,
                            done=lambda: _counters(stack)["cls"]["rx"] >= 3)
    parsed = [frames.parse_frame(d) for d in got]
    assert [(p.arp_tpa, p.vid) for p in parsed] == [("198.18.0.12", 200)]
    ctr = _counters(stack)
    assert ctr["cls"]["drop_no_entry"] == 1
    assert (ctr["fwd_a"]["rx"], ctr["fwd_b"]["rx"], ctr["fwd_c"]["rx"]) == (1, 1, 1)
