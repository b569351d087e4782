"""Buffers that cannot run out: unread ports, stale frames, back-pressure, the pool's count.

Ports nobody reads drop what they receive at once (counted as `rx_no_reader`)
instead of filling their ring pair and pinning mbufs; a reader that arrives gets
only frames sent after it came; a ring's frames are freed when its reader goes;
a device that refuses frames keeps them queued in its ring (back-pressure) and
the writer counts what did not fit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dataplane import (
    counters,
    drops,
    ns_mac,
    phy,
    phy_args,
    pool,
    ring,
    rx_packets,
    settle,
    topology_up,
    veth_topology,
)

from spp.client import SppError
from spp.host.topology import Topology
from spp.testkit.capture import Capture
from spp.testkit.stack import Stack, component, port
from spp.testkit.traffic import Flow, Traffic, frame_mark
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

NS6 = "spp-t6"
SINK6 = "t6-eth1"  # phy:1's peer: where the forwarders send
SOCK = Path("/tmp/sock0")


@pytest.fixture
def six(e2e_lock: object, tmp_path: Path) -> Iterator[tuple[Stack, Topology]]:
    """Six veth pairs as phy:0..5 and a controller; the primary and vf are the test's."""
    with topology_up(veth_topology("t6", 6)) as topo, Stack(tmp_path) as st:
        st.start_ctl()
        yield st, topo


def _flow(k: int, tag: int, rate: float | None = None) -> Flow:
    # to a MAC nobody owns: the sink's kernel counts the frame and drops it
    return Flow(NS6, f"t6-eth{k}", dst="02:00:00:00:ee:01", src=ns_mac(6, k), tag=tag,
                rate=rate)


def test_six_phy_ports_with_one_reader_keep_forwarding_and_the_pool_bounded(six) -> None:
    st, topo = six
    st.start_primary(*phy_args(topo), "--rings", "2")
    st.start_vf(1, "2,3")
    st.vf(1, component("fwd0", 3, "forward"),
          port("attach", "phy:0", "rx", "fwd0"), port("attach", "phy:1", "tx", "fwd0"))
    base = pool(st)
    assert base["size"] > 0 and base["in_use"] > 0, base  # the af_xdp fill rings hold some
    sink0 = rx_packets(NS6, SINK6)

    # 12,000 frames per port, more than a bridge ring holds: every unread ring would fill
    peak = [base["in_use"]]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], pool(st)["in_use"])
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        sent = Traffic([_flow(k, k) for k in range(6)], rate=3000, seconds=4).start().wait(30)
    finally:
        stop.set()
        sampler.join()
    fwd = settle(lambda: counters(st)["fwd0"])
    delivered = rx_packets(NS6, SINK6) - sink0
    p0 = phy(st, 0)
    # phy:0 forwarded all it was offered, and what it did not is counted
    assert sent["t6-eth0/0"] >= 11000, sent
    assert p0["rx"] + p0["xdp_socket"]["rx_dropped"] >= sent["t6-eth0/0"] - 5, p0
    assert delivered == fwd["tx"] and fwd["rx"] == p0["rx"] - p0["rx_drop"], (fwd, p0)
    assert drops(fwd) + p0["rx_drop"] <= sent["t6-eth0/0"] // 100, (fwd, p0)
    # the ports nobody reads dropped at once; their rings stayed empty
    for k in range(2, 6):
        pk = phy(st, k)
        assert pk["rx"] >= sent[f"t6-eth{k}/{k}"] * 9 // 10, pk
        assert pk["rx_no_reader"] == pk["rx_drop"] == pk["rx"] and pk["rx_queued"] == 0, pk
    # the pool never got near a full ring's worth of mbufs above the idle count
    assert peak[0] - base["in_use"] < 4096, (peak[0], base)

    # readers for phy:2..5 now: they deliver what is sent from now on, nothing older
    for k in range(2, 6):
        st.vf(1, component(f"fwd{k}", 3, "forward"),
              port("attach", f"phy:{k}", "rx", f"fwd{k}"), port("attach", "phy:1", "tx", f"fwd{k}"))
    with Capture(NS6, SINK6) as cap:
        fresh = Traffic([_flow(k, 100 + k) for k in range(2, 6)], rate=500, seconds=1)
        fresh_sent = fresh.start().wait(30)
        wait_for(lambda: sum(1 for f in cap.frames(received_only=True) if frame_mark(f.data))
                 >= sum(fresh_sent.values()), 10, "fresh frames at the sink")
        time.sleep(0.3)
    tags = [m[0] for f in cap.frames(received_only=True) if (m := frame_mark(f.data))]
    assert sorted(set(tags)) == [102, 103, 104, 105], sorted(set(tags))
    assert len(tags) == sum(fresh_sent.values())
    assert settle(lambda: pool(st)["in_use"]) - base["in_use"] < 2048


def test_reader_that_goes_away_frees_what_its_ring_held_and_none_of_it_arrives_later(
        stack: Stack) -> None:
    """ring:0 between two forwarders: what is queued when its reader leaves is freed, not sent."""
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "2")
    stack.start_vf(1, "2,3")
    stack.vf(1, component("in", 3, "forward"), component("out", 3, "forward"),
             port("attach", "phy:0", "rx", "in"), port("attach", "ring:0", "tx", "in"),
             port("attach", "ring:0", "rx", "out"), port("attach", "phy:1", "tx", "out"))
    base = pool(stack)["in_use"]
    flow = Flow("spp-remote", "r-eth0", dst="02:00:00:00:ee:01", src="02:00:00:00:10:00")

    # "out" without a tx port idles, still ring:0's reader: frames queue up in ring:0
    stack.vf(1, port("detach", "phy:1", "tx", "out"))
    stale = Traffic([Flow(**{**flow.__dict__, "tag": 1})], rate=2000, seconds=0.25)
    n_stale = stale.start().wait(30)["r-eth0/1"]
    wait_for(lambda: ring(stack, 0)["count"] == n_stale, 5, "stale frames queued in ring:0")
    assert ring(stack, 0)["reader"]["client_id"] == 1
    assert pool(stack)["in_use"] - base >= n_stale - 300  # they pin mbufs while queued

    # the reader goes away: the primary frees what ring:0 held
    stack.vf(1, port("detach", "ring:0", "rx", "out"))
    r0 = ring(stack, 0)
    assert r0["drained"] == n_stale and r0["count"] == 0 and r0["reader"] is None, r0
    assert settle(lambda: pool(stack)["in_use"]) - base < 1024

    with Capture("spp-remote", "r-eth1") as cap:
        stack.vf(1, port("attach", "ring:0", "rx", "out"), port("attach", "phy:1", "tx", "out"))
        fresh = Traffic([Flow(**{**flow.__dict__, "tag": 2})], rate=500, seconds=0.5)
        n_fresh = fresh.start().wait(30)["r-eth0/2"]
        wait_for(lambda: sum(1 for f in cap.frames(received_only=True) if frame_mark(f.data))
                 >= n_fresh, 10, "fresh frames on r-eth1")
        time.sleep(0.3)
    tags = [m[0] for f in cap.frames(received_only=True) if (m := frame_mark(f.data))]
    assert tags.count(1) == 0 and tags.count(2) == n_fresh, (tags.count(1), tags.count(2))
    r0 = ring(stack, 0)
    assert r0["reader"]["client_id"] == 1 and r0["writer"]["client_id"] == 1, r0


def test_device_that_refuses_frames_keeps_them_queued_and_the_writer_counts_the_rest(
        stack: Stack) -> None:
    """vhost:0 with no guest takes nothing: its tx ring fills, nothing is freed behind it."""
    SOCK.unlink(missing_ok=True)
    try:
        stack.start_primary("--phy", "spp-p0", "--rings", "1", "--bridge-ring-size", "64")
        stack.start_vf(1, "2,3")
        stack.vf(1, component("fwd", 3, "forward"),
                 port("attach", "phy:0", "rx", "fwd"), port("attach", "vhost:0", "tx", "fwd"))
        flow = Flow("spp-remote", "r-eth0", dst="02:00:00:00:ee:01", src="02:00:00:00:10:00")
        sent = Traffic([flow], rate=1000, seconds=0.2).start().wait(30)["r-eth0/0"]
        fwd = settle(lambda: counters(stack)["fwd"])
        vhost = stack.primary_status()["vhost_ports"][0]
        assert fwd["rx"] == sent, (fwd, sent)
        # a ring of 64 holds 63; the device refused all, the bridge dropped none
        assert vhost["tx_queued"] == 63 and vhost["tx"] == 0 and vhost["tx_drop"] == 0, vhost
        assert fwd["tx"] == 63 and fwd["drop_tx_full"] == sent - 63, fwd
        assert vhost["writer"]["client_id"] == 1 and vhost["lcore"] == 1, vhost
    finally:
        stack.close()
        SOCK.unlink(missing_ok=True)


def test_ring_size_option_sets_every_ring_and_the_pool_holds_them_full(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "2",
                        "--vhost-ports", "1", "--bridge-ring-size", "1024",
                        "--ring-size", "4096")
    assert [r["size"] for r in stack.primary_status()["ring_ports"]] == [4096, 4096]
    # as in the test below, with two rings of 4096
    held = 2 * (2048 + 1024 + 2048 + 2048) + 2 * 4096 + 32 * (384 + 128)
    assert pool(stack)["reserved"] == held


def test_pool_is_sized_from_the_ports_and_vhost_ports_beyond_it_are_refused(
        stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "2",
                        "--vhost-ports", "1", "--bridge-ring-size", "1024")
    p = pool(stack)
    # 2 af_xdp ports (fill 2048 + tx 1024 + completion 2048, ring pair 2 x 1024), 2 rings,
    # the caches and bursts of 32 lcores, and room for one vhost ring pair
    held = 2 * (2048 + 1024 + 2048 + 2048) + 2 * 1024 + 32 * (384 + 128)
    vhost = 2 * 1024
    assert p["name"] == "spp_mbuf_pool" and p["size"] >= held + vhost, p
    assert p["reserved"] == held and p["in_use"] + p["available"] == p["size"], p
    assert p["outside_umem"] >= 1, p  # the mbufs the af_xdp UMEM does not reach
    c = stack.client
    c.put("/primary/ports", {"action": "add", "port": "vhost:1"})
    try:
        assert pool(stack)["reserved"] == held + vhost
        with pytest.raises(SppError, match="vhost port can hold 2048 mbufs.*--vhost-ports"):
            c.put("/primary/ports", {"action": "add", "port": "vhost:2"})
        assert [v["id"] for v in stack.primary_status()["vhost_ports"]] == [1]
    finally:
        stack.close()
        Path("/tmp/sock1").unlink(missing_ok=True)
        Path("/tmp/sock2").unlink(missing_ok=True)
