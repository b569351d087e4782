"""Helpers for the data-plane tests: veth topologies of N phy ports, pool and port status.

`veth_topology("t6", 6)` is namespace spp-t6 holding t6-eth0..5, whose root-side
peers spp-t6p0..5 become phy:0..5 of the primary:

    spp-t6: t6-ethK (02:00:00:00:<n>:K) <-> root: spp-t6pK (02:00:00:01:<n>:K) = phy:K
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from spp.host.topology import Topology, Veth, VethEnd
from spp.host.updown import host_down, host_up
from spp.testkit.stack import Stack
from spp.testkit.traffic import iface_counter
from spp.testkit.wait import wait_for


def veth_topology(tag: str, n: int, index: int = 6) -> Topology:
    ns = f"spp-{tag}"
    veths = tuple(
        Veth(VethEnd(f"{tag}-eth{k}", ns, mac=ns_mac(index, k)),
             VethEnd(f"spp-{tag}p{k}", mac=f"02:00:00:01:{index:02x}:{k:02x}", phy=k))
        for k in range(n))
    return Topology(name=tag, namespaces=(ns,), veths=veths)


def ns_mac(index: int, k: int) -> str:
    return f"02:00:00:00:{index:02x}:{k:02x}"


@contextmanager
def topology_up(topo: Topology) -> Iterator[Topology]:
    """host_up for the test, host_down afterwards even on failure."""
    try:
        host_up(topo)
        yield topo
    finally:
        host_down(topo)


def phy_args(topo: Topology) -> list[str]:
    return [a for iface in topo.phy_interfaces() for a in ("--phy", iface)]


def pool(stack: Stack) -> dict[str, Any]:
    return stack.primary_status()["mbuf_pool"]


def phy(stack: Stack, k: int) -> dict[str, Any]:
    return {p["id"]: p for p in stack.primary_status()["phy_ports"]}[k]


def ring(stack: Stack, k: int) -> dict[str, Any]:
    return {r["id"]: r for r in stack.primary_status()["ring_ports"]}[k]


def rx_packets(ns: str, ifname: str) -> int:
    return iface_counter(ns, ifname, "rx_packets")


def counters(stack: Stack, cid: int = 1) -> dict[str, dict[str, int]]:
    return {c["name"]: c["counters"] for c in stack.vf_status(cid)["components"] if "name" in c}


def drops(ctr: dict[str, int]) -> int:
    """Every counted drop reason of one component."""
    return sum(v for k, v in ctr.items() if k.startswith("drop_"))


def settle(read: Callable[[], Any], quiet: float = 0.5, timeout: float = 15) -> Any:
    """Poll `read()` until its value stops changing for `quiet` seconds; return it."""
    deadline = time.monotonic() + timeout
    last, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = read()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise AssertionError(f"still changing after {timeout}s: {last!r}")


__all__ = ["veth_topology", "topology_up", "phy_args", "pool", "phy", "ring", "rx_packets",
           "counters", "drops", "settle", "ns_mac", "wait_for"]
