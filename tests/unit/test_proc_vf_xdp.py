"""Compiling spp_vf chains into XDP actions (spp.proc.vf_xdp) and writing them in order."""

from __future__ import annotations

from typing import Any

from test_proc_vf_model import FakeDataPlane

from spp.proc.vf_model import VfModel, Vlan
from spp.proc.vf_xdp import (
    ANY_VLAN,
    OFFLOAD_OFF,
    Path,
    VfFastPath,
    compile_chains,
    compose,
    removals,
)
from spp.resources import parse_mac
from spp.xdp.defs import defs
from spp.xdp.steering import VfAct

MAC1, MAC2 = "52:54:00:12:34:56", "52:54:00:12:34:58"


def model() -> VfModel:
    return VfModel(1, 2, [3, 4, 5, 6], 2, FakeDataPlane())


def start(m: VfModel, name: str, core: int, kind: str) -> None:
    m.component_start({"name": name, "core": core, "type": kind})


def port(m: VfModel, ref: str, d: str, name: str, vlan: dict[str, Any] | None = None) -> None:
    m.port({"action": "add", "port": ref, "dir": d, "name": name,
            **({"vlan": vlan} if vlan else {})})


def entry(m: VfModel, mac: str, ref: str, vlan: int | None = None) -> None:
    m.classifier_table({"action": "add", "type": "vlan" if vlan is not None else "mac",
                        "mac_address": mac, "port": ref, **({"vlan": vlan} if vlan else {})})


def classify_icmp() -> VfModel:
    """Seed use case 2.1: phy:0 -> cls -> ring:0/1 -> fwd1/fwd2 -> ring:2/3 -> mgr -> phy:1."""
    m = model()
    for name, core, kind in (("cls", 3, "classifier"), ("fwd1", 4, "forward"),
                             ("fwd2", 5, "forward"), ("mgr", 6, "merge")):
        start(m, name, core, kind)
    for ref, d, name in (("phy:0", "rx", "cls"), ("ring:0", "tx", "cls"), ("ring:1", "tx", "cls"),
                         ("ring:0", "rx", "fwd1"), ("ring:2", "tx", "fwd1"),
                         ("ring:1", "rx", "fwd2"), ("ring:3", "tx", "fwd2"),
                         ("ring:2", "rx", "mgr"), ("ring:3", "rx", "mgr"),
                         ("phy:1", "tx", "mgr")):
        port(m, ref, d, name)
    entry(m, MAC1, "ring:0")
    entry(m, MAC2, "ring:1")
    return m


def test_the_constants_are_those_of_the_shared_header() -> None:
    assert defs().const("SPP_XDP_VF_ANY_VLAN") == ANY_VLAN


def test_vlan_operations_compose_to_pops_then_one_push() -> None:
    add = Vlan("add", 100, 3)
    assert compose([]) == (0, None)
    assert compose([add]) == (0, 3 << 13 | 100)
    assert compose([add, Vlan("del")]) == (1, None)
    assert compose([Vlan("del"), Vlan("del"), Vlan("add", 7, 0), Vlan("none")]) == (2, 7)
    assert compose([Vlan("add", 1, 0), add]) == (0, 3 << 13 | 100)


def test_the_classify_icmp_use_case_compiles_to_one_action_per_table_entry() -> None:
    plans = compile_chains(classify_icmp())
    assert list(plans) == [0] and plans[0].reason is None
    p1 = plans[0].entries[(0, parse_mac(MAC1))]
    p2 = plans[0].entries[(0, parse_mac(MAC2))]
    assert isinstance(p1, Path) and isinstance(p2, Path)
    assert (p1.tx_phy, p1.pops, p1.push_tci) == (1, 0, None)
    assert p1.comps == (("cls", "hit"), ("fwd1", ""), ("mgr", ""))
    assert p2.comps == (("cls", "hit"), ("fwd2", ""), ("mgr", ""))
    assert p1.rx_ports == ("phy:0", "ring:0", "ring:2")
    assert p1.tx_ports == ("ring:0", "ring:2", "phy:1")


def test_a_forward_chain_takes_every_frame_with_its_port_vlan_operations() -> None:
    m = model()
    start(m, "f", 3, "forward")
    port(m, "phy:0", "rx", "f", {"operation": "del"})
    port(m, "phy:1", "tx", "f", {"operation": "add", "id": 20, "pcp": 1})
    path = compile_chains(m)[0].entries[(ANY_VLAN, None)]
    assert isinstance(path, Path) and (path.pops, path.push_tci) == (1, 1 << 13 | 20)


def test_paths_xdp_cannot_finish_stay_in_userspace_with_a_reason() -> None:
    m = classify_icmp()
    start(m, "cls2", 3, "classifier")
    port(m, "ring:5", "tx", "cls")
    entry(m, "52:54:00:00:00:05", "ring:5")  # ring:5 has no reader here
    port(m, "vhost:0", "tx", "cls")
    entry(m, "default", "vhost:0", vlan=10)  # VLAN 10's default
    entries = compile_chains(m)[0].entries
    assert entries[(0, parse_mac("52:54:00:00:00:05"))] == \
        "ring:5 is read by no component of this spp_vf"
    assert entries[(10, None)] == "vhost:0 is not a phy port"
    assert isinstance(entries[(0, parse_mac(MAC1))], Path)  # the others stay in XDP


class FakeMaps:
    """Records the map writes in order."""

    def __init__(self) -> None:
        self.defs = defs()
        self.log: list[tuple[Any, ...]] = []
        self.offload = True
        self.counts: dict[int, tuple[int, int]] = {}

    def set_tx_port(self, iface: str, phy: int, ifindex: int) -> None:
        self.log.append(("devmap+", iface, phy))

    def del_tx_port(self, iface: str, phy: int) -> bool:
        self.log.append(("devmap-", iface, phy))
        return True

    def set_vf_act(self, iface: str, vlan: int, mac: bytes | None, act: VfAct) -> None:
        self.log.append(("act", iface, vlan, mac, act.tx_port))

    def del_vf_act(self, iface: str, vlan: int, mac: bytes | None) -> bool:
        self.log.append(("del", iface, vlan, mac))
        return True

    def vf_offload(self, iface: str) -> bool:
        return self.offload

    def vf_stats(self, iface: str, slots: list[int]) -> dict[int, tuple[int, int]]:
        return {s: self.counts[s] for s in slots if s in self.counts}


def fast(maps: FakeMaps) -> VfFastPath:
    ifaces = {0: "p0", 1: "p1"}
    return VfFastPath(ifaces.get, lambda: maps, lambda i, e: None, ifindex=lambda n: 7)


def test_devmap_entries_go_in_before_actions_and_out_after_them() -> None:
    maps, m = FakeMaps(), classify_icmp()
    f = fast(maps)
    f.sync(m)
    assert maps.log[0] == ("devmap+", "p0", 1)
    assert {e[0] for e in maps.log[1:]} == {"act"} and len(maps.log) == 3
    maps.log.clear()
    f.sync(m)
    assert maps.log == []  # nothing changed, nothing written
    m.component_stop({"name": "cls"})
    f.sync(m)
    assert [e[0] for e in maps.log] == ["del", "del", "devmap-"]


def test_counters_of_xdp_paths_are_added_to_each_component_and_port_on_them() -> None:
    maps, m = FakeMaps(), classify_icmp()
    f = fast(maps)
    f.sync(m)
    slots = f.slots["p0"]
    for path, slot in slots.items():
        maps.counts[slot] = (5 if path.comps[1][0] == "fwd1" else 7, 0)
    comp, ports, datapath, summary = f.report()
    assert comp["cls"] == {"rx": 12, "tx": 12, "hit": 12}
    assert comp["fwd1"] == {"rx": 5, "tx": 5} and comp["mgr"] == {"rx": 12, "tx": 12}
    assert ports["phy:0"] == {"rx": 12} and ports["phy:1"] == {"tx": 12}
    assert ports["ring:2"] == {"rx": 5, "tx": 5}
    assert datapath == {"cls": "xdp", "fwd1": "xdp", "fwd2": "xdp", "mgr": "xdp"}
    assert summary["p0"]["xdp_actions"] == 2 and summary["p0"]["xdp_pkts"] == 12
    maps.offload = False
    assert f.report()[2] == {}  # offload off: every component says dpdk


def test_a_phy_that_is_not_af_xdp_keeps_its_chain_in_userspace_and_says_why() -> None:
    maps, m = FakeMaps(), classify_icmp()
    f = VfFastPath({1: "p1"}.get, lambda: maps, lambda i, e: None, ifindex=lambda n: 7)
    f.sync(m)
    assert maps.log == []
    assert f.report()[3] == {"phy:0": {"userspace_reasons": [
        "not an af_xdp port: its chain stays in userspace"]}}


def test_maps_that_cannot_be_opened_leave_a_one_line_error_and_no_datapath() -> None:
    def missing() -> FakeMaps:
        raise OSError("XDP steering maps not found under /x: is the primary running?")

    f = VfFastPath({0: "p0", 1: "p1"}.get, missing, lambda i, e: None)
    f.sync(classify_icmp())
    _, _, datapath, summary = f.report()
    assert datapath == {} and summary == {
        "error": "XDP steering maps not found under /x: is the primary running?"}


def test_a_deleted_entry_leaves_xdp_before_the_command_and_its_new_place_enters_after() -> None:
    maps, m = FakeMaps(), classify_icmp()
    f = fast(maps)
    f.sync(m)
    maps.log.clear()
    batch = {"entries": [
        {"action": "del", "type": "mac", "mac_address": MAC1, "port": "ring:0"},
        {"action": "add", "type": "mac", "mac_address": MAC1, "port": "ring:1"}]}
    touches = removals("classifier_table_batch", batch)
    assert touches is not None
    f.retire(touches)
    assert maps.log == [("act", "p0", 0, parse_mac(MAC1), None)]  # to the socket first
    m.classifier_table_batch(batch)
    f.sync(m)
    assert maps.log[1:] == [("act", "p0", 0, parse_mac(MAC1), 1)]
    assert f.paths["p0"][(0, parse_mac(MAC1))].comps[1] == ("fwd2", "")


def test_stopping_a_component_retires_only_the_paths_through_it() -> None:
    maps, m = FakeMaps(), classify_icmp()
    f = fast(maps)
    f.sync(m)
    maps.log.clear()
    touches = removals("port", {"action": "detach", "name": "fwd2"})
    assert touches is not None
    f.retire(touches)
    assert maps.log == [("act", "p0", 0, parse_mac(MAC2), None)]
    assert removals("port", {"action": "attach", "name": "fwd2"}) is None
    assert removals("classifier_table", {"action": "add"}) is None


def test_offload_off_writes_socket_actions_and_prepares_no_peer_until_turned_on() -> None:
    maps, m = FakeMaps(), classify_icmp()
    prepared: list[tuple[str, str]] = []
    f = VfFastPath({0: "p0", 1: "p1"}.get, lambda: maps,
                   lambda i, e: prepared.append((i, e)), ifindex=lambda n: 7)
    maps.offload = False
    f.sync(m)
    assert prepared == [] and {e[0] for e in maps.log} == {"act"}
    assert {e[4] for e in maps.log} == {None}  # every action is the socket
    assert f.report()[3]["p0"]["userspace_reasons"] == [OFFLOAD_OFF]
    maps.log.clear()
    f.refresh(m)
    assert maps.log == []  # the flag did not change: nothing written
    maps.offload = True
    f.refresh(m)
    assert prepared == [("p0", "p1")]
    assert maps.log[0] == ("devmap+", "p0", 1)  # before the actions that use it
    assert {e[4] for e in maps.log[1:]} == {1}
    maps.log.clear()
    maps.offload = False
    f.refresh(m)
    assert [e[0] for e in maps.log] == ["act", "act", "devmap-"]
    assert {e[4] for e in maps.log[:2]} == {None}


def test_a_paths_counter_slot_lies_in_its_destinations_range_and_is_never_reused() -> None:
    maps, m = FakeMaps(), classify_icmp()
    per_tx = maps.defs.const("SPP_XDP_VF_SLOTS_PER_TX")
    f = fast(maps)
    f.sync(m)
    first = dict(f.slots["p0"])
    assert sorted(first.values()) == [per_tx, per_tx + 1]  # both paths go to phy:1
    m.component_stop({"name": "fwd2"})
    f.sync(m)
    assert f.slots["p0"] == first  # the gone path keeps its slot (and its count)
