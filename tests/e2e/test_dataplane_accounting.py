"""Every frame accounted, real device counters, and bridge lanes spread over several lcores.

The VLAN-copy test is an outside tester's: flooded
frames that get a private copy for a VLAN rewrite used to leave the primary's
tx counter and never reach the wire (the copies that landed in mbufs beyond
the af_xdp UMEM; see native/src/common/pool.c). Now what phy:1 sends is what its
peer receives, and the kernel's socket counters show no refusal.
"""

from __future__ import annotations

import pytest
from classify_icmp import REMOTE0
from dataplane import counters, drops, phy, pool, rx_packets, settle

from spp.host.nsexec import ping
from spp.testkit.stack import Stack, component, port, table
from spp.testkit.traffic import Flow, Traffic, iface_counter
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

VM1_MAC, VM2_MAC = "52:54:00:12:34:56", "52:54:00:12:34:58"
BROADCAST = "ff:ff:ff:ff:ff:ff"
DEV_STATS = {"ipackets", "opackets", "ibytes", "obytes", "imissed", "ierrors", "oerrors",
             "rx_nombuf"}
XSK_STATS = {"rx_dropped", "rx_invalid_descs", "tx_invalid_descs", "rx_ring_full",
             "rx_fill_ring_empty_descs", "tx_ring_empty_descs"}


def test_flooded_frames_with_vlan_copies_all_reach_the_wire_and_are_counted(
        stack: Stack) -> None:
    # a small pool, so the copies cycle through every mbuf in it many times
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "2",
                        "--mbufs", "8192")
    stack.start_vf(1, "2,3")
    stack.vf(1, component("cls", 3, "classifier"), component("fa", 3, "forward"),
             component("fb", 3, "forward"),
             port("attach", "phy:0", "rx", "cls"),
             port("attach", "ring:0", "tx", "cls"), port("attach", "ring:1", "tx", "cls"),
             port("attach", "ring:0", "rx", "fa"), port("attach", "phy:1", "tx", "fa"),
             port("attach", "ring:1", "rx", "fb"),
             port("attach", "phy:1", "tx", "fb", {"operation": "add", "id": 100, "pcp": 0}),
             table("add", VM1_MAC, "ring:0"), table("add", VM2_MAC, "ring:1"))
    p = pool(stack)
    assert p["outside_umem"] >= 1, p
    base, sink = p["in_use"], rx_packets("spp-remote", "r-eth1")
    refused = iface_counter("spp-remote", "r-eth0", "tx_dropped")
    flow = Flow("spp-remote", "r-eth0", dst=BROADCAST, src=REMOTE0)
    sent = Traffic([flow], rate=8000, seconds=3).start().wait(30)["r-eth0/0"]
    sent -= iface_counter("spp-remote", "r-eth0", "tx_dropped") - refused  # veth full

    ctr = settle(lambda: counters(stack))
    p0, p1 = phy(stack, 0), phy(stack, 1)
    delivered = settle(lambda: rx_packets("spp-remote", "r-eth1") - sink)
    # the pool was cycled: more copies were made than it has mbufs
    assert ctr["fb"]["rx"] > 2 * p["size"] // 3, (ctr, p)
    # in = out + counted drops, from the veth to the veth
    xsk = p0["xdp_socket"]
    assert p0["rx"] + xsk["rx_dropped"] + xsk["rx_ring_full"] == sent, p0
    assert ctr["cls"]["rx"] == p0["rx"] - p0["rx_drop"], (ctr, p0)
    lost = sum(drops(c) for c in ctr.values()) + p1["tx_drop"]
    assert delivered == 2 * ctr["cls"]["rx"] - lost, (delivered, ctr, p1)
    assert p1["tx"] == p1["stats"]["opackets"] == delivered, p1
    assert p1["xdp_socket"]["tx_invalid_descs"] == 0, p1
    assert lost <= sent // 100, ctr
    assert settle(lambda: pool(stack)["in_use"]) - base < 1024


def test_port_status_carries_the_device_and_af_xdp_socket_counters(stack: Stack) -> None:
    # the bridge's path: with the XDP fast path on, phy:0 -> fwd -> phy:1 never reaches it
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "1",
                        "--xdp-offload", "off")
    stack.start_vf(1, "2,3")
    stack.vf(1, component("fwd", 3, "forward"),
             port("attach", "phy:0", "rx", "fwd"), port("attach", "phy:1", "tx", "fwd"))
    before = phy(stack, 0)
    assert set(before["stats"]) == DEV_STATS and set(before["xdp_socket"]) == XSK_STATS
    flow = Flow("spp-remote", "r-eth0", dst=VM1_MAC, src=REMOTE0)
    sent = Traffic([flow], rate=2000, seconds=0.5).start().wait(30)["r-eth0/0"]
    wait_for(lambda: phy(stack, 1)["tx"] - before["tx"] >= sent, 5, f"{sent} frames out")
    p0, p1 = phy(stack, 0), phy(stack, 1)
    # what the bridge moved is what the devices counted
    assert p0["stats"]["ipackets"] - before["stats"]["ipackets"] == p0["rx"] - before["rx"] == sent
    assert p0["stats"]["ibytes"] - before["stats"]["ibytes"] == 64 * sent
    assert p1["stats"]["opackets"] == p1["tx"] and p1["stats"]["oerrors"] == 0, p1
    assert p0["stats"]["imissed"] == p0["xdp_socket"]["rx_dropped"] == 0, p0
    assert p0["stats"]["rx_nombuf"] == 0 and p0["reader"]["client_id"] == 1, p0
    assert p1["writer"]["client_id"] == 1 and p1["reader"] is None, p1
    # clear resets what the bridge counts; the device counters run on
    stack.client.delete("/primary/status")
    p0 = phy(stack, 0)
    assert p0["rx"] == 0 and p0["stats"]["ipackets"] >= sent, p0


def test_devices_spread_over_bridge_lcores_and_patches_between_them_forward(
        stack: Stack) -> None:
    stack.start_primary("-l", "0,1,2", "--phy", "spp-vm1", "--phy", "spp-vm2")
    st = stack.primary_status()
    assert st["bridge_lcores"] == [1, 2]
    assert [p["lcore"] for p in st["phy_ports"]] == [1, 2]
    c = stack.client
    c.put("/primary/patches", {"src": "phy:0", "dst": "phy:1"})
    c.put("/primary/patches", {"src": "phy:1", "dst": "phy:0"})
    c.put("/primary/forward", {"action": "start"})
    assert ping("spp-vm1", "198.18.0.12", count=3, timeout=3), stack.log("primary")
    stack.client.delete("/primary/status")
    flows = [Flow("spp-vm1", "vm1-eth0", dst="02:00:00:00:ee:02", src=VM1_MAC, tag=1),
             Flow("spp-vm2", "vm2-eth0", dst="02:00:00:00:ee:01", src=VM2_MAC, tag=2)]
    sent = Traffic(flows, rate=5000, seconds=1).start().wait(30)
    wait_for(lambda: [p["tx"] for p in stack.primary_status()["phy_ports"]]
             == [sent["vm2-eth0/2"], sent["vm1-eth0/1"]], 5, "every frame across lcores")
    phys = stack.primary_status()["phy_ports"]
    assert [p["tx_drop"] for p in phys] == [0, 0] and [p["rx_drop"] for p in phys] == [0, 0]


def test_bridge_lcores_option_keeps_devices_on_fewer_lcores(stack: Stack) -> None:
    stack.start_primary("-l", "0,1,2", "--bridge-lcores", "1", "--phy", "spp-p0",
                        "--phy", "spp-p1")
    st = stack.primary_status()
    assert st["bridge_lcores"] == [1]
    assert [p["lcore"] for p in st["phy_ports"]] == [1, 1]
