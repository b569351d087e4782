"""The default topology's addresses and the configuration of the classify-ICMP use case,
shared by the end-to-end tests that build on them.

remote r-eth0 -> phy:0 -> cls -> ring:0 -> fwd1 -> ring:2 -> mgr -> phy:1 -> remote r-eth1
                              -> ring:1 -> fwd2 -> ring:3 ->
"""

from __future__ import annotations

from spp.testkit.stack import Stack, component, port, table

# spp.host.default_topology: the remote host's two NICs and the two VM stand-ins
REMOTE0, REMOTE1 = "02:00:00:00:10:00", "02:00:00:00:10:01"
MAC1, MAC2 = "52:54:00:12:34:56", "52:54:00:12:34:58"
NOBODY = "52:54:00:12:34:99"  # in no classifier table and on no interface


def classify_icmp_config(stack: Stack) -> None:
    """vf 1: classifier, two forwarders and a merger on lcores 3-6, MAC1 -> ring:0,
    MAC2 -> ring:1, both paths merged onto phy:1."""
    stack.vf(1,
             component("cls", 3, "classifier"), component("fwd1", 4, "forward"),
             component("fwd2", 5, "forward"), component("mgr", 6, "merge"),
             port("add", "phy:0", "rx", "cls"), port("add", "ring:0", "tx", "cls"),
             port("add", "ring:1", "tx", "cls"),
             port("add", "ring:0", "rx", "fwd1"), port("add", "ring:2", "tx", "fwd1"),
             port("add", "ring:1", "rx", "fwd2"), port("add", "ring:3", "tx", "fwd2"),
             port("add", "ring:2", "rx", "mgr"), port("add", "ring:3", "rx", "mgr"),
             port("add", "phy:1", "tx", "mgr"),
             table("add", MAC1, "ring:0"), table("add", MAC2, "ring:1"))
