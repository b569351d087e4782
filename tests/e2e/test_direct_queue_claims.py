"""One poller per rx queue of a directly polled device, across components and processes.

A device whose PMD works across processes (a PCI NIC; here DPDK's net_null,
with no-rx=1 so it idles) is not bridged by the primary: every spp_vf polls its
queue itself, and no PMD allows two pollers of one queue. The claim lives in
the shared memzone, so a second component, a second spp_vf or a primary patch
is refused with the owner's name; a detach frees it, and a claim of a process
that died is taken over.
"""

from __future__ import annotations

import signal

import pytest

from spp.client import SppError
from spp.testkit.stack import Stack, component, port

pytestmark = pytest.mark.e2e


def _phys(stack: Stack) -> tuple[str, str]:
    """(the directly polled net_null port, the bridged af_xdp port) as uids."""
    phys = stack.primary_status()["phy_ports"]
    null = [p for p in phys if p["driver"] == "net_null"]
    afxdp = [p for p in phys if p["driver"] == "net_af_xdp"]
    assert len(null) == 1 and null[0]["mode"] == "direct", phys
    assert len(afxdp) == 1 and afxdp[0]["mode"] == "bridged", phys
    return f"phy:{null[0]['id']}", f"phy:{afxdp[0]['id']}"


def _refused(stack: Stack, cid: int, req: tuple) -> str:
    with pytest.raises(SppError) as err:
        stack.vf(cid, req)
    return err.value.reason


def test_a_direct_queue_has_one_poller_across_components_and_processes(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--vdev", "net_null0,no-rx=1")
    stack.start_vf(1, "2-4")
    stack.start_vf(2, "5-6")
    uid, bridged = _phys(stack)
    stack.vf(1, component("c1", 3, "forward"), component("c2", 4, "forward"),
             port("attach", uid, "rx", "c1"), port("attach", "ring:0", "tx", "c1"))
    stack.vf(2, component("c3", 6, "forward"))

    reason = _refused(stack, 1, port("attach", uid, "rx", "c2"))
    assert f"{uid} nq 0 is polled directly by component 'c1' of spp_vf 1" in reason
    reason = _refused(stack, 2, port("attach", uid, "rx", "c3"))
    assert f"{uid} nq 0 is polled directly by component 'c1' of spp_vf 1" in reason
    with pytest.raises(SppError) as err:
        stack.client.put("/primary/patches", {"src": uid, "dst": "ring:1"})
    assert "polled directly by component 'c1' of spp_vf 1" in err.value.reason
    # refused commands changed nothing
    comps = {c.get("name"): c for c in stack.vf_status(1)["components"]}
    assert comps["c2"]["rx_port"] == [] and len(comps["c1"]["rx_port"]) == 1
    assert stack.primary_status()["patches"] == []

    # sending to the device is not polling it; a bridged port is a ring pair whose
    # reading side belongs to one process (a dead reader cannot wedge another)
    stack.vf(1, port("attach", uid, "tx", "c2"), port("attach", bridged, "rx", "c2"))
    reason = _refused(stack, 2, port("attach", bridged, "rx", "c3"))
    assert f"{bridged} rx is already read by spp_vf 1" in reason

    # a detach frees the queue for another process
    stack.vf(1, port("detach", uid, "rx", "c1"))
    stack.vf(2, port("attach", uid, "rx", "c3"))
    reason = _refused(stack, 1, port("attach", uid, "rx", "c1"))
    assert "polled directly by component 'c3' of spp_vf 2" in reason

    # the claim of a process that died is taken over
    stack.stop("vf2", signal.SIGKILL)
    stack.vf(1, port("attach", uid, "rx", "c1"))
    comps = {c.get("name"): c for c in stack.vf_status(1)["components"]}
    assert [p["port"] for p in comps["c1"]["rx_port"]] == [uid]
