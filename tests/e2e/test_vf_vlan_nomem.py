"""A flooded broadcast under a deliberately tiny mbuf pool: never a wrong tag, every drop counted.

The classifier floods every broadcast to two ports: phy:1 as it came (path A,
captured on spp-remote r-eth1) and ring:0 with `add_vlantag 100 5` (path B).
Path B needs a private copy of each shared frame before it may tag it. Nobody
reads ring:0 at first, so its tagged copies pile up and take the pool's last
mbufs; from then on copies fail. Those frames must be dropped and counted
(`drop_nomem`), not sent with the wrong tag (untagged, or VID 10 left as is)
and not rewritten in place, which would retag path A's frame too. Then a
forwarder drains ring:0 to phy:2 (spp-vm1 -> vm1-eth0), and every frame that
arrives there must carry VID 100.

Half the broadcasts are untagged (push a tag), half VID 10 (rewrite the tag).
"""

from __future__ import annotations

import struct
import time

import pytest
from classify_icmp import MAC1, MAC2

from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.stack import Stack, component, port, table
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

SRC = "02:00:00:00:10:00"
TINY_MBUFS = 6400   # the three af_xdp ports take 3 x 2048 for their fill rings
BURSTS, PER_BURST = 40, 100
TAG = (100, 5)


def _bcast(seq: int) -> bytes:
    vlan = None if seq % 2 else (10, 0)
    return frames.icmp_echo_frame(frames.BROADCAST, SRC, "198.18.0.1", "198.18.0.255",
                                  vlan=vlan, seq=seq)


def _untag(data: bytes) -> bytes:
    while len(data) >= 18 and struct.unpack_from("!H", data, 12)[0] in (
            frames.ETH_P_8021Q, frames.ETH_P_8021AD):
        data = data[:12] + data[16:]
    return data


def _ours(cap: Capture) -> list[bytes]:
    return [f.data for f in cap.frames(received_only=True) if f.parse().src == SRC]


def _settle(value, quiet: float = 0.5, timeout: float = 15.0) -> None:
    """Wait until value() stops changing for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last, since = value(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = value()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return


def _counters(stack: Stack) -> dict[str, dict[str, int]]:
    return {c["name"]: c["counters"] for c in stack.vf_status(1)["components"] if "name" in c}


def test_flood_under_a_tiny_pool_never_leaves_with_a_wrong_tag(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--phy", "spp-vm1",
                        "--rings", "1", "--mbufs", str(TINY_MBUFS))
    stack.start_vf(1, "2-4")
    stack.vf(1, component("cls", 3, "classifier"), component("fwd", 4, "forward"),
             port("attach", "phy:0", "rx", "cls"),
             port("attach", "phy:1", "tx", "cls"),
             port("attach", "ring:0", "tx", "cls",
                  {"operation": "add", "id": TAG[0], "pcp": TAG[1]}),
             table("add", MAC1, "phy:1"), table("add", MAC2, "ring:0"),
             table("add", MAC1, "phy:1", vlan=10), table("add", MAC2, "ring:0", vlan=10))
    sent = {seq: _bcast(seq) for seq in range(BURSTS * PER_BURST)}

    with Capture("spp-remote", "r-eth1") as cap_a, Capture("spp-vm1", "vm1-eth0") as cap_b:
        for b in range(BURSTS):
            send_frames("spp-remote", "r-eth0",
                        [sent[s] for s in range(b * PER_BURST, (b + 1) * PER_BURST)])
            time.sleep(0.01)
        _settle(lambda: _counters(stack)["cls"]["rx"])  # the classifier took what came
        # now drain the parked tagged copies to phy:2
        stack.vf(1, port("attach", "ring:0", "rx", "fwd"), port("attach", "phy:2", "tx", "fwd"))
        wait_for(lambda: stack.vf_status(1)["port_counters"]["ring:0"]["rx"] > 0, 5,
                 "the forwarder to drain ring:0")
        time.sleep(1.0)
    a, b = _ours(cap_a), _ours(cap_b)
    ctr = _counters(stack)
    cls = ctr["cls"]

    # path A: exactly what was sent, each frame at most once
    seqs_a = [frames.parse_frame(d).icmp_seq for d in a]
    assert len(seqs_a) == len(set(seqs_a)), "a frame left phy:1 twice"
    wrong_a = [s for s, d in zip(seqs_a, a, strict=True) if d != sent[s]]
    assert not wrong_a, f"{len(wrong_a)} frames changed on path A, e.g. {wrong_a[:5]}"
    # path B: every frame tagged VID 100 PCP 5, the rest of it as sent
    parsed_b = [frames.parse_frame(d) for d in b]
    wrong_b = [p.icmp_seq for p in parsed_b if (p.vid, p.pcp, len(p.vlans)) != (*TAG, 1)]
    assert not wrong_b, f"{len(wrong_b)} frames left path B with a wrong tag: {wrong_b[:5]}"
    assert all(_untag(d) == _untag(sent[p.icmp_seq])
               for p, d in zip(parsed_b, b, strict=True))
    assert len({p.icmp_seq for p in parsed_b}) == len(parsed_b), "a frame left phy:2 twice"

    # the pool really ran dry, and every copy is accounted for
    assert cls["drop_nomem"] > 0 and cls["drop_bad_frame"] == 0
    assert cls["flood"] == cls["rx"] > 0
    assert cls["tx"] + cls["drop_nomem"] + cls["drop_tx_full"] == 2 * cls["rx"], cls
    assert len(b) > 0 and len(b) <= stack.vf_status(1)["port_counters"]["ring:0"]["tx"]
    # what the forwarder sent reached vm1-eth0, less what the primary's af_xdp tx may
    # still lose under pool exhaustion (accounted by the primary)
    assert ctr["fwd"]["tx"] - 32 <= len(b) <= ctr["fwd"]["tx"], (len(b), ctr["fwd"])
    print(f"\ntiny pool {TINY_MBUFS}: cls rx {cls['rx']} tx {cls['tx']} "
          f"drop_nomem {cls['drop_nomem']} drop_tx_full {cls['drop_tx_full']}; "
          f"path A {len(a)} frames, path B {len(b)} frames, all tags right")
