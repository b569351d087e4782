"""The topology graph from recorded controller status (spp/topo/model.py).

topo_seed21_status.json: two snapshots of the real stack running seed 2.1
(classify ICMP) taken 50 frames apart; topo_seed22_status.json: seed 2.2 (SSH
login to two VMs) in the same shapes, with the host state of the ssh_login topology.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from spp.topo.model import format_rate, graph_from_status, parse_port, with_rates

DATA = Path(__file__).parent / "data"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


@pytest.fixture
def seed21() -> dict[str, Any]:
    return load("topo_seed21_status.json")


def edges(graph) -> set[tuple[str, str]]:
    return {(e.src, e.dst) for e in graph.edges}


def test_seed_21_has_every_process_component_port_netdev_and_link(seed21) -> None:
    g = graph_from_status(seed21["after"])
    assert {"proc_primary", "proc_vf_1", "vf_1_cls", "vf_1_fwd1", "vf_1_fwd2", "vf_1_mgr",
            "phy_0", "phy_1", "ring_0", "ring_3", "netdev_spp_p0",
            "netdev_spp_p1"} <= set(g.nodes)
    assert {("phy_0", "vf_1_cls"), ("vf_1_cls", "ring_0"), ("vf_1_cls", "ring_1"),
            ("ring_0", "vf_1_fwd1"), ("vf_1_fwd1", "ring_2"), ("ring_1", "vf_1_fwd2"),
            ("vf_1_fwd2", "ring_3"), ("ring_2", "vf_1_mgr"), ("ring_3", "vf_1_mgr"),
            ("vf_1_mgr", "phy_1"), ("netdev_spp_p0", "phy_0"),
            ("netdev_spp_p1", "phy_1")} == edges(g)
    assert g.nodes["phy_0"].detail == "spp-p0"
    assert g.nodes["vf_1_cls"].group == "vf_1" and g.nodes["vf_1_cls"].detail == \
        "classifier core 3"
    assert {gid: grp.kind for gid, grp in g.groups.items()} == \
        {"primary": "primary", "kernel": "kernel", "vf_1": "vf"}
    assert "unuse" not in json.dumps(g.to_dict())


def test_two_snapshots_give_per_link_and_per_port_rates(seed21) -> None:
    before, after = graph_from_status(seed21["before"]), graph_from_status(seed21["after"])
    g = with_rates(after, before, 2.0)
    rate = {(e.src, e.dst): e.rate for e in g.edges}
    # 30 frames to MAC1 (ring:0 path), 20 to MAC2 (ring:1 path), over 2 s
    assert rate[("phy_0", "vf_1_cls")] == 25.0
    assert (rate[("vf_1_cls", "ring_0")], rate[("vf_1_cls", "ring_1")]) == (15.0, 10.0)
    assert rate[("vf_1_mgr", "phy_1")] == 25.0
    assert g.nodes["phy_0"].rates["rx"] == 25.0 and g.nodes["phy_1"].rates["tx"] == 25.0
    assert g.interval == 2.0


def test_counters_that_went_back_give_zero_not_negative_rates(seed21) -> None:
    g = with_rates(graph_from_status(seed21["before"]), graph_from_status(seed21["after"]), 1)
    assert all(e.rate in (None, 0.0) for e in g.edges)
    assert all(v == 0.0 for n in g.nodes.values() for v in n.rates.values())


def test_seed_22_draws_both_vms_their_four_vhost_ports_and_the_paths() -> None:
    g = graph_from_status(load("topo_seed22_status.json"))
    vms = {n.id for n in g.nodes.values() if n.kind == "vm"}
    assert vms == {"vm_spp_vm1_ens4", "vm_spp_vm1_ens5", "vm_spp_vm2_ens4", "vm_spp_vm2_ens5"}
    assert {g.nodes[v].group for v in vms} == {"vm_spp_vm1", "vm_spp_vm2"}
    assert {n.id for n in g.nodes.values() if n.kind == "vhost"} == \
        {"vhost_0", "vhost_1", "vhost_2", "vhost_3"}
    e = edges(g)
    assert {("vhost_0", "vm_spp_vm1_ens4"), ("vhost_1", "vm_spp_vm1_ens5"),
            ("vhost_2", "vm_spp_vm2_ens4"), ("vhost_3", "vm_spp_vm2_ens5")} <= e
    assert {("phy_0", "vf_1_cls1"), ("vf_1_cls1", "ring_0"), ("ring_0", "vf_1_fwd1"),
            ("vf_1_fwd1", "vhost_0"), ("vhost_0", "vf_1_fwd3"), ("vf_1_fwd3", "ring_2"),
            ("ring_2", "vf_1_mgr1"), ("vf_1_mgr1", "phy_0"), ("phy_1", "vf_1_cls2"),
            ("vf_1_fwd6", "vhost_3"), ("vf_1_mgr2", "phy_1")} <= e
    assert len([n for n in g.nodes.values() if n.kind == "component"]) == 12



def test_vm_groups_carry_their_state_and_vhost_vm_links_the_ports_frames() -> None:
    before = load("topo_seed22_status.json")
    after = copy.deepcopy(before)
    after["hosts"][0]["vms"][0]["state"] = "ready"
    vhost0 = after["primary"]["vhost_ports"][0]
    vhost0["rx"], vhost0["tx"] = 40, 60  # from and to spp-vm1's ens4
    g = with_rates(graph_from_status(after), graph_from_status(before), 2.0)
    assert g.groups["vm_spp_vm1"].label == "VM spp-vm1 (ready)"
    assert g.groups["vm_spp_vm2"].label == "VM spp-vm2"  # no state recorded
    assert g.nodes["vhost_0"].detail == "/tmp/sock0"
    rate = {(e.src, e.dst): e.rate for e in g.edges}
    assert rate[("vhost_0", "vm_spp_vm1_ens4")] == 50.0
    assert rate[("vhost_1", "vm_spp_vm1_ens5")] == 0.0


UPSTREAM_SECONDARIES: dict[str, Any] = {
    "processes": [{"type": "primary"}, {"type": "nfv", "client-id": 1},
                  {"type": "mirror", "client-id": 2}, {"type": "pcap", "client-id": 3}],
    "primary": {"lcores": [0], "phy_ports": [{"id": 0, "iface": "spp-p0", "rx": 10, "tx": 0}],
                "ring_ports": [{"id": 0}], "vhost_ports": [],
                "patches": [{"src": "ring:0", "dst": "phy:0"}],
                "forwarder": {"status": "idling"}},
    "secondaries": {
        "nfv:1": {"client-id": 1, "status": "running", "ports": ["phy:0", "ring:0"],
                  "patches": [{"src": "phy:0", "dst": "ring:0"}]},
        "mirror:2": {"client-id": 2, "ports": ["phy:0", "ring:1", "ring:2"], "components": [
            {"core": 3, "name": "mr1", "type": "mirror", "rx_port": [{"port": "ring:0"}],
             "tx_port": [{"port": "ring:1"}, {"port": "ring:2"}]}]},
        "pcap:3": {"client-id": 3, "status": "idling", "core": [
            {"core": 5, "role": "receive", "rx_port": [{"port": "phy:0"}]},
            {"core": 6, "role": "write", "filename": ""}]},
    },
}


def test_nfv_patches_mirror_components_and_pcap_captures_are_links() -> None:
    g = graph_from_status(UPSTREAM_SECONDARIES)
    by_pair = {(e.src, e.dst): e for e in g.edges}
    assert by_pair[("phy_0", "ring_0")].owner == "nfv:1"
    assert by_pair[("phy_0", "ring_0")].running
    assert not by_pair[("ring_0", "phy_0")].running  # primary forwarder idling
    assert by_pair[("ring_0", "phy_0")].owner == "primary"
    assert {("ring_0", "mirror_2_mr1"), ("mirror_2_mr1", "ring_1"),
            ("mirror_2_mr1", "ring_2")} <= set(by_pair)
    assert by_pair[("phy_0", "pcap_3_files")].kind == "capture"
    assert not by_pair[("phy_0", "pcap_3_files")].running
    assert {"proc_nfv_1", "proc_mirror_2", "proc_pcap_3"} <= set(g.nodes)


@pytest.mark.parametrize("bad", [
    None, [], {"primary": "x"}, {"secondaries": {"vf:1": {"components": [{"name": 3}]}}},
    {"secondaries": {"vf:1": {"components": [{"name": "a", "rx_port": ["phy:0", {}]}]}}},
    {"secondaries": {"bogus:1": {}}}, {"hosts": [{"vms": [{"name": "v", "nics": [1]}]}]},
    {"primary": {"phy_ports": [{"id": "0"}, 5], "patches": [{"src": "x:1", "dst": 3}]}},
])
def test_malformed_status_parts_are_left_out_without_an_exception(bad) -> None:
    g = graph_from_status(bad)
    assert all(e.src in g.nodes and e.dst in g.nodes for e in g.edges)


def test_a_process_status_with_queues_and_vlans_labels_its_links(seed21) -> None:
    st = copy.deepcopy(seed21["after"])
    cls = st["secondaries"]["vf:1"]["components"][0]
    cls["rx_port"] = [{"port": "phy:0 nq 1", "vlan": {"operation": "del"}}]
    g = graph_from_status(st)
    edge = next(e for e in g.edges if e.dst == "vf_1_cls")
    assert (edge.src, edge.label) == ("phy_0", "nq 1 pop vlan")


@pytest.mark.parametrize(("text", "want"), [
    ("phy:0", ("phy_0", "")), ("phy:2 nq 3", ("phy_2", "nq 3")), ("vhost:31", ("vhost_31", "")),
    ("ring:x", None), ("pcap:1", None), (7, None),
])
def test_parse_port(text, want) -> None:
    assert parse_port(text) == want


@pytest.mark.parametrize(("pps", "text"), [(0, "0 pps"), (999.4, "999 pps"),
                                           (12_345, "12.35 kpps"), (2_500_000, "2.50 Mpps")])
def test_format_rate(pps, text) -> None:
    assert format_rate(pps) == text
