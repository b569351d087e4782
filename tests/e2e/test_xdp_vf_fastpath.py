"""The XDP fast path of spp_vf chains, with the real controller, primary and spp_vf.

Seed use case 2.1 played from the recipes (phy:0 -> cls -> ring:0/1 ->
fwd1/fwd2 -> ring:2/3 -> mgr -> phy:1): frames injected on spp-remote r-eth0
reach spp-p0, whose XDP program takes the chain's action and redirects them
to spp-p1; they arrive on r-eth1 without reaching the vf's lcores. With
`spp xdp offload off` the same frames take the userspace chain, and what
arrives is byte for byte the same. Switching under a stream loses and
duplicates nothing. Run under the e2e lock, e.g.
``.venv/bin/pytest -q -p no:cacheprovider tests/e2e/test_xdp_vf_fastpath.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from classify_icmp import MAC1, MAC2, NOBODY, REMOTE0

from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.seqstream import SeqGen, SeqSink
from spp.testkit.stack import SPP, Stack, component, port, table
from spp.testkit.stream import Stream

pytestmark = pytest.mark.e2e

RCP = Path(__file__).resolve().parents[2] / "recipes/usecases/spp_vf/classify_icmp"
OTHER = "52:54:00:12:34:77"  # an entry to a port XDP cannot reach


def _spp(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SPP, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SPP_CTL": f"127.0.0.1:{stack.api}"})


def _offload(stack: Stack, state: str) -> None:
    res = _spp(stack, "xdp", "offload", state)
    assert res.returncode == 0, res.stderr


def _recipes(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_vf(1, "2-6")
    for rcp in ("1-start_components", "2-add_ports", "3-add_cls_table"):
        res = _spp(stack, "playback", str(RCP / f"{rcp}.rcp"))
        assert res.returncode == 0, res.stderr


def _components(stack: Stack) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in stack.vf_status()["components"] if "name" in c}


def _fast(stack: Stack) -> dict[str, Any]:
    return dict(stack.vf_status()["xdp_fastpath"]["spp-p0"])


def _echo(dst: str, seq: int, vlan: tuple[int, int] | None = None) -> bytes:
    return frames.icmp_echo_frame(dst, REMOTE0, "198.18.0.1", "198.18.0.11", vlan=vlan, seq=seq)


def _send(sent: list[bytes], settle: float = 0.5) -> list[bytes]:
    """What of `sent` (by source MAC) arrived on r-eth1, as wire bytes."""
    with Capture("spp-remote", "r-eth1") as cap:
        send_frames("spp-remote", "r-eth0", sent)
        time.sleep(settle)
    return [f.data for f in cap.frames(received_only=True) if f.parse().src == REMOTE0]


def test_classify_icmp_from_the_recipes_goes_through_xdp_and_counters_match(
        stack: Stack) -> None:
    _recipes(stack)
    comps = _components(stack)
    assert {n: c["datapath"] for n, c in comps.items()} == dict.fromkeys(
        ("cls", "fwd1", "fwd2", "mgr"), "xdp")
    p0_in = stack.primary_status()["phy_ports"][0]["stats"]["ipackets"]
    got = _send([_echo(MAC1, i) for i in range(5)] + [_echo(MAC2, 100 + i) for i in range(7)])
    echoes = [frames.parse_frame(d) for d in got]
    print(f"\nxdp: sent 12, captured {len(echoes)} on r-eth1")
    assert sorted(f.icmp_seq for f in echoes if f.dst == MAC1) == list(range(5))
    assert sorted(f.icmp_seq for f in echoes if f.dst == MAC2) == list(range(100, 107))
    st = stack.vf_status()
    c = {x["name"]: x["counters"] for x in st["components"] if "name" in x}
    # counters hold what XDP did: they match the capture
    assert (c["cls"]["rx"], c["cls"]["tx"], c["cls"]["hit"]) == (12, 12, 12)
    assert (c["fwd1"]["tx"], c["fwd2"]["tx"], c["mgr"]["tx"]) == (5, 7, len(echoes))
    assert st["port_counters"]["phy:0"]["rx"] == 12
    assert st["port_counters"]["phy:1"]["tx"] == len(echoes) == 12
    # ... and all of it was XDP: neither the af_xdp socket nor the vf's lcores saw a frame
    assert st["xdp_fastpath"]["spp-p0"]["xdp_pkts"] == 12
    assert st["xdp_fastpath"]["spp-p0"]["xdp_attach"] == "native"
    assert stack.primary_status()["phy_ports"][0]["stats"]["ipackets"] == p0_in

    _offload(stack, "off")
    assert {c["datapath"] for c in _components(stack).values()} == {"dpdk"}
    again = _send([_echo(MAC1, i) for i in range(5)] + [_echo(MAC2, 100 + i) for i in range(7)])
    print(f"userspace: sent 12, captured {len(again)} on r-eth1")
    assert sorted(again) == sorted(got)  # the same frames, byte for byte
    st = stack.vf_status()
    c = {x["name"]: x["counters"] for x in st["components"] if "name" in x}
    assert (c["cls"]["rx"], c["fwd1"]["tx"], c["fwd2"]["tx"], c["mgr"]["tx"]) == (24, 10, 14, 24)
    assert st["xdp_fastpath"]["spp-p0"]["xdp_pkts"] == 12  # none of the second batch
    assert stack.primary_status()["phy_ports"][0]["stats"]["ipackets"] >= p0_in + 12


def _xdp_tx(stack: Stack, phy: int) -> int:
    ports = {p["id"]: p for p in stack.primary_status()["phy_ports"]}
    return int(ports[phy]["xdp_fwd"]["tx"])


def test_the_primary_counts_frames_of_an_entry_that_came_and_went_between_two_reads(
        stack: Stack) -> None:
    """A default entry (a path of its own: cls counts it as default) that lives only
    between two `pri; status` reads: the frames XDP sent through it still show in phy:1's
    counters (a counter slot names its destination)."""
    _recipes(stack)
    before = _xdp_tx(stack, 1)
    stack.vf(1, table("add", "default", "ring:0"))
    got = _send([_echo(NOBODY, i) for i in range(5)])
    stack.vf(1, table("del", "default", "ring:0"))
    assert len(got) == 5
    assert _xdp_tx(stack, 1) - before == 5


def _peer_program(ns: str, ifname: str) -> bool:
    out = subprocess.run(["ip", "-n", ns, "-d", "link", "show", "dev", ifname],
                         capture_output=True, text=True, check=True).stdout
    return "prog/xdp" in out


def test_offload_off_leaves_the_receivers_peer_without_xdp_until_turned_on(
        stack: Stack) -> None:
    """With offload off nothing is redirected, so the veth peer of phy:1 (r-eth1, the
    receiver) gets no XDP_PASS program: frames sent to it take the plain veth path.
    `spp xdp offload on` puts it there before the chain's actions redirect."""
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--xdp-offload", "off")
    stack.start_vf(1, "2-6")
    for rcp in ("1-start_components", "2-add_ports", "3-add_cls_table"):
        assert _spp(stack, "playback", str(RCP / f"{rcp}.rcp")).returncode == 0
    assert {c["datapath"] for c in _components(stack).values()} == {"dpdk"}
    assert _fast(stack)["userspace_reasons"] == ["XDP offload is off (spp xdp offload on)"]
    assert not _peer_program("spp-remote", "r-eth1")
    got = _send([_echo(MAC1, i) for i in range(4)])
    assert len(got) == 4 and _fast(stack)["xdp_pkts"] == 0
    _offload(stack, "on")
    deadline = time.monotonic() + 3
    while {c["datapath"] for c in _components(stack).values()} != {"xdp"}:
        assert time.monotonic() < deadline, _fast(stack)
        time.sleep(0.1)
    assert _peer_program("spp-remote", "r-eth1")
    again = _send([_echo(MAC1, i) for i in range(4)])
    print(f"\noffload off: 4 of 4 via userspace; on: {len(again)} of 4, "
          f"{_fast(stack)['xdp_pkts']} via XDP")
    assert sorted(again) == sorted(got) and _fast(stack)["xdp_pkts"] == 4


def _vlan_config(stack: Stack) -> None:
    """cls: MAC1 -> ring:0 -> fwd1 -> phy:1 tagged VLAN 10 PCP 3; default (and broadcast,
    VLAN 7's frames) -> ring:1 -> fwd2 -> phy:1 with its tag stripped."""
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "4")
    stack.start_vf(1, "2-5")
    stack.vf(1,
             component("cls", 3, "classifier"), component("fwd1", 4, "forward"),
             component("fwd2", 5, "forward"),
             port("add", "phy:0", "rx", "cls"), port("add", "ring:0", "tx", "cls"),
             port("add", "ring:1", "tx", "cls"),
             port("add", "ring:0", "rx", "fwd1"),
             port("add", "phy:1", "tx", "fwd1", {"operation": "add", "id": 10, "pcp": 3}),
             port("add", "ring:1", "rx", "fwd2", {"operation": "del"}),
             port("add", "phy:1", "tx", "fwd2"),
             table("add", MAC1, "ring:0"), table("add", "default", "ring:1"))


def _vlan_frames() -> list[bytes]:
    return ([_echo(MAC1, i) for i in range(3)]              # hit: tagged 10/3
            + [_echo(MAC1, 10 + i, vlan=(20, 1)) for i in range(2)]  # VLAN 20: default
            + [_echo(NOBODY, 20 + i, vlan=(7, 0)) for i in range(2)]  # default: untagged
            + [_echo(MAC2, 30)]                                # default
            + [frames.arp_request_frame(REMOTE0, "198.18.0.1", "198.18.0.11")])  # flood


def test_vlan_ops_default_entry_and_broadcast_give_the_same_bytes_on_both_paths(
        stack: Stack) -> None:
    _vlan_config(stack)
    assert {c["datapath"] for c in _components(stack).values()} == {"xdp"}
    via_xdp = _send(_vlan_frames())
    fast = _fast(stack)
    assert fast["xdp_pkts"] == 8  # everything but the broadcast, which userspace floods
    _offload(stack, "off")
    via_dpdk = _send(_vlan_frames())
    print(f"\nxdp path: {len(via_xdp)} frames, userspace path: {len(via_dpdk)} frames, "
          f"identical: {sorted(via_xdp) == sorted(via_dpdk)}")
    assert _fast(stack)["xdp_pkts"] == 8
    assert len(via_dpdk) == 10  # 8 unicast + the broadcast on both tx ports
    assert sorted(via_xdp) == sorted(via_dpdk)
    tagged = [frames.parse_frame(d) for d in via_xdp if frames.parse_frame(d).vid == 10]
    assert len(tagged) == 4 and {f.pcp for f in tagged} == {3}  # 3 hits + the flood copy


def test_offload_and_table_changes_under_a_stream_lose_and_duplicate_nothing(
        stack: Stack) -> None:
    _recipes(stack)
    with Stream(dst=MAC1, src=REMOTE0, rate=2000) as s:
        time.sleep(0.7)
        _offload(stack, "off")
        time.sleep(0.7)
        _offload(stack, "on")
        time.sleep(0.5)
        # MAC1 moves from fwd1 to fwd2 and back: both reach phy:1
        stack.vf(1, ("PUT", "/classifier_table", [
            {"action": "del", "type": "mac", "mac_address": MAC1, "port": "ring:0"},
            {"action": "add", "type": "mac", "mac_address": MAC1, "port": "ring:1"}]))
        time.sleep(0.5)
        # a port no component of this vf reads: its entry goes to the socket, MAC1 stays
        stack.vf(1, port("add", "ring:5", "tx", "cls"), table("add", OTHER, "ring:5"))
        assert "ring:5 is read by no component of this spp_vf" in \
            _fast(stack)["userspace_reasons"]
        time.sleep(0.5)
        stack.vf(1, table("del", OTHER, "ring:5"), port("del", "ring:5", "tx", "cls"))
        time.sleep(0.5)
        _offload(stack, "off")
        time.sleep(0.3)
        _offload(stack, "on")
        time.sleep(0.5)
        s.stop(settle=1.0)
    lost, dups, summary = s.report()
    xdp = _fast(stack)["xdp_pkts"]
    print(f"\n{summary}, via XDP {xdp}")
    assert lost == [] and dups == 0
    assert 0 < xdp < s.sent  # both paths carried part of it
    c = {n: x["counters"] for n, x in _components(stack).items()}
    assert c["cls"]["rx"] == c["mgr"]["tx"] == s.sent, c


def test_a_chain_xdp_cannot_finish_says_why_and_keeps_the_userspace_path(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "4")
    stack.start_vf(1, "2-3")
    stack.vf(1, component("fwd", 3, "forward"), port("add", "phy:0", "rx", "fwd"),
             port("add", "ring:0", "tx", "fwd"))
    fast = _fast(stack)
    assert fast["xdp_actions"] == 0
    assert fast["userspace_reasons"] == ["ring:0 is read by no component of this spp_vf"]
    assert _components(stack)["fwd"]["datapath"] == "dpdk"


def test_without_our_xdp_program_offload_is_refused_in_one_line_and_userspace_forwards(
        stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--no-xdp-prog")
    stack.start_vf(1, "2-3")
    stack.vf(1, component("fwd", 3, "forward"), port("add", "phy:0", "rx", "fwd"),
             port("add", "phy:1", "tx", "fwd"))
    res = _spp(stack, "xdp", "offload", "on")
    reason = res.stderr.strip()
    print(f"\nspp xdp offload on: rc {res.returncode}: {reason}")
    assert res.returncode != 0 and "\n" not in reason and "Traceback" not in reason
    assert "no af_xdp phy port with XDP steering maps" in reason
    fast = stack.vf_status()["xdp_fastpath"]
    assert list(fast) == ["error"] and "XDP steering maps not found" in fast["error"]
    assert "\n" not in fast["error"]
    assert _components(stack)["fwd"]["datapath"] == "dpdk"
    got = _send([_echo(MAC1, i) for i in range(4)])
    assert len(got) == 4  # the userspace chain carries them


def test_a_path_through_a_ring_another_vf_reads_goes_to_userspace_with_the_same_bytes(
        stack: Stack) -> None:
    """vf 1: cls -> MAC1 -> ring:0 (read by vf 2's fwd2 -> ring:2), MAC2 -> ring:1; mgr
    merges ring:1 and ring:2 onto phy:1 tagged VLAN 5. MAC1's path leaves the vf, so XDP
    cannot do it; MAC2's stays inside it."""
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "4")
    stack.start_vf(1, "2-4")
    stack.start_vf(2, "5-6")
    stack.vf(1, component("cls", 3, "classifier"), component("mgr", 4, "merge"),
             port("add", "phy:0", "rx", "cls"), port("add", "ring:0", "tx", "cls"),
             port("add", "ring:1", "tx", "cls"), port("add", "ring:1", "rx", "mgr"),
             port("add", "ring:2", "rx", "mgr"),
             port("add", "phy:1", "tx", "mgr", {"operation": "add", "id": 5, "pcp": 0}),
             table("add", MAC1, "ring:0"), table("add", MAC2, "ring:1"))
    stack.vf(2, component("fwd2", 6, "forward"), port("add", "ring:0", "rx", "fwd2"),
             port("add", "ring:2", "tx", "fwd2"))
    fast = _fast(stack)
    assert fast["xdp_actions"] == 1 and fast["socket_actions"] == 1
    assert fast["userspace_reasons"] == ["ring:0 is read by no component of this spp_vf"]
    sent = [_echo(MAC1, i) for i in range(3)] + [_echo(MAC2, 10 + i) for i in range(3)]
    via_xdp = _send(sent)
    assert _fast(stack)["xdp_pkts"] == 3  # MAC2's only
    f2 = stack.vf_status(2)["components"]
    assert next(c for c in f2 if c.get("name") == "fwd2")["counters"]["tx"] == 3
    _offload(stack, "off")
    via_dpdk = _send(sent)
    print(f"\nxdp: {len(via_xdp)} frames, userspace: {len(via_dpdk)} frames, "
          f"identical: {sorted(via_xdp) == sorted(via_dpdk)}")
    assert len(via_xdp) == 6 and sorted(via_xdp) == sorted(via_dpdk)
    assert {frames.parse_frame(d).vid for d in via_xdp} == {5}
    assert _fast(stack)["xdp_pkts"] == 3


def test_the_xdp_actions_of_a_killed_vf_go_and_its_frames_go_to_the_socket(
        stack: Stack) -> None:
    from spp.xdp import XdpSteering, instance_dir

    _recipes(stack)
    assert len(_send([_echo(MAC1, 1)])) == 1
    with XdpSteering(instance_dir("spp")) as x:
        assert len(x.vf_acts("spp-p0")) == 2
        stack.stop("vf1", signal.SIGKILL)
        deadline = time.monotonic() + 10
        while x.vf_acts("spp-p0") and time.monotonic() < deadline:
            time.sleep(0.2)
        left = x.vf_acts("spp-p0")
        to_spp = x.counters("spp-p0")["to_spp_pkts"]
    print(f"\nactions left {time.monotonic() - deadline + 10:.1f} s after the kill: {len(left)}")
    assert left == {}
    assert _send([_echo(MAC1, i) for i in range(3)]) == []  # nobody forwards them now
    with XdpSteering(instance_dir("spp")) as x:
        assert x.counters("spp-p0")["to_spp_pkts"] == to_spp + 3  # the socket took them


SEQ_COUNT, SEQ_PPS = 1_000_000, 100_000  # 10 s of stream


def test_switching_under_a_100kpps_stream_loses_and_duplicates_no_numbered_frame(
        stack: Stack, tmp_path: Path) -> None:
    """1,000,000 numbered frames at 100 kpps from the in-kernel generator (seq_gen on
    r-eth0) while offload goes off and on, MAC1's entry moves to fwd2 and back, and MAC1
    is sent for 1.5 s through ring:4, a port added to cls that vf 2's fwd3 reads (so
    XDP cannot finish the path: userspace carries it), then removed again. The sink
    (seq_sink on r-eth1) sees every number exactly once."""
    with SeqSink("spp-remote", "r-eth1", SEQ_COUNT) as sink:
        _recipes(stack)
        stack.start_vf(2, "7-8")
        stack.vf(2, component("fwd3", 8, "forward"), port("add", "ring:4", "rx", "fwd3"),
                 port("add", "ring:5", "tx", "fwd3"))
        entry = "ring:0"

        def move(to: str) -> None:
            nonlocal entry
            stack.vf(1, ("PUT", "/classifier_table", [
                {"action": "del", "type": "mac", "mac_address": MAC1, "port": entry},
                {"action": "add", "type": "mac", "mac_address": MAC1, "port": to}]))
            entry = to

        def detour_on() -> None:  # mgr reads fwd3's ring first, then cls may send there
            stack.vf(1, port("add", "ring:5", "rx", "mgr"), port("add", "ring:4", "tx", "cls"))
            move("ring:4")
            detour_xdp.append(_fast(stack)["xdp_pkts"])

        detour_xdp: list[int] = []  # xdp_pkts when MAC1 went to ring:4 and when it left

        def detour_off() -> None:  # MAC1 leaves ring:4; what is in flight there drains
            detour_xdp.append(_fast(stack)["xdp_pkts"])
            move("ring:0")
            time.sleep(0.2)
            stack.vf(1, port("del", "ring:4", "tx", "cls"), port("del", "ring:5", "rx", "mgr"))

        steps: list[tuple[float, str, Callable[[], None]]] = [
            (1.0, "offload off", lambda: _offload(stack, "off")),
            (2.0, "offload on", lambda: _offload(stack, "on")),
            (3.0, "MAC1 -> ring:1", lambda: move("ring:1")),
            (4.0, "MAC1 -> ring:4 (vf 2, userspace)", detour_on),
            (5.5, "MAC1 -> ring:0, ring:4 removed", detour_off),
            (7.0, "offload off", lambda: _offload(stack, "off")),
            (8.0, "offload on", lambda: _offload(stack, "on")),
        ]
        xdp_at: list[int] = []
        reasons: list[str] = []
        with SeqGen("spp-remote", "r-eth0", MAC1, REMOTE0, SEQ_COUNT, SEQ_PPS,
                    tmp_path) as gen:
            for at, what, step in steps:
                time.sleep(max(0.0, at - gen.elapsed()))
                step()
                fast = _fast(stack)
                xdp_at.append(fast["xdp_pkts"])
                reasons += fast["userspace_reasons"]
                print(f"\n{gen.elapsed():5.2f} s: {what}: xdp_pkts {xdp_at[-1]}", end="")
            sent = gen.wait(sink)
        got = sink.stats()
        missing = sink.missing() if got["unique"] != SEQ_COUNT else []
    c = {n: x["counters"] for n, x in _components(stack).items()}
    f3 = next(x for x in stack.vf_status(2)["components"] if x.get("name") == "fwd3")
    xdp = _fast(stack)["xdp_pkts"]
    pp = stack.primary_status()["phy_ports"]
    print(f"\nprimary phy_ports: phy:0 rx {pp[0]['rx']} (XDP {pp[0]['xdp_fwd']['rx']}), "
          f"phy:1 tx {pp[1]['tx']} (XDP {pp[1]['xdp_fwd']['tx']})", end="")
    print(f"\nsent {sent} numbered frames; sink: {got}: lost {SEQ_COUNT - got['unique']} "
          f"(first runs: {missing}), duplicated {got['dup']}; via XDP {xdp}, via userspace "
          f"{c['cls']['rx'] - xdp} (of which vf 2's fwd3 {f3['counters']['tx']}); xdp_pkts "
          f"while MAC1 went through ring:4: {detour_xdp}")
    assert sent == SEQ_COUNT
    assert got == {"unique": SEQ_COUNT, "dup": 0, "range": 0}, missing
    assert 0 < xdp < SEQ_COUNT  # both paths carried part of it
    assert "ring:4 is read by no component of this spp_vf" in reasons
    assert detour_xdp[0] == detour_xdp[1]  # MAC1 through ring:4: none of it in XDP
    assert f3["counters"]["tx"] > 0
    assert c["cls"]["rx"] == c["mgr"]["tx"] == SEQ_COUNT, c
    # the primary's port counters hold what the chain forwarded in XDP too
    assert pp[0]["xdp_fwd"]["rx"] == pp[1]["xdp_fwd"]["tx"] == xdp
    assert pp[0]["rx"] == pp[1]["tx"] == SEQ_COUNT, pp
