"""The spp_vf control model: validation, role limits, table and what reaches the C core."""

from __future__ import annotations

from typing import Any

import pytest

from spp.proc.agent import CommandError
from spp.proc.resources import Uid
from spp.proc.vf_model import Component, TableEntry, VfModel


class FakeDataPlane:
    def __init__(self) -> None:
        self.open: dict[int, tuple[Uid, int]] = {}
        self.pushed: dict[int, tuple[list[str], list[str], list[str]]] = {}
        self.lcores: dict[int, list[int]] = {}
        self.steered: set[tuple[str, str]] = set()
        self.next_handle = 0

    def open_port(self, uid: Uid, queue: int) -> int:
        if uid.kind == "ring" and uid.id >= 10:
            from spp.native import NativeError

            raise NativeError(f"{uid} does not exist (the primary has 10 ring(s))")
        self.next_handle += 1
        self.open[self.next_handle] = (uid, queue)
        return self.next_handle

    def close_port(self, handle: int) -> None:
        del self.open[handle]

    def update_component(self, slot: int, comp: Component, entries: list[TableEntry]) -> None:
        self.pushed[slot] = ([str(a.uid) for a in comp.rx], [str(a.uid) for a in comp.tx],
                             [e.shown for e in entries])

    def clear_component(self, slot: int) -> None:
        self.pushed.pop(slot, None)

    def set_lcore(self, lcore: int, slots: list[int]) -> None:
        self.lcores[lcore] = slots

    def steer(self, rx: Uid, add: list[TableEntry], remove: list[TableEntry]) -> None:
        for e in add:
            self.steered.add((str(rx), e.shown))
        for e in remove:
            self.steered.discard((str(rx), e.shown))


@pytest.fixture
def model() -> tuple[VfModel, FakeDataPlane]:
    dp = FakeDataPlane()
    return VfModel(1, 2, [3, 4, 5, 6], 2, dp), dp


def cmd(m: VfModel, method: str, **args: Any) -> None:
    getattr(m, method)(args)


def test_components_share_an_lcore_and_land_in_its_plan(model) -> None:
    m, dp = model
    cmd(m, "component_start", name="a", core=3, type="forward")
    cmd(m, "component_start", name="b", core=3, type="classifier_mac")
    assert dp.lcores[3] == [0, 1]
    assert m.components["b"].role == "classifier"


@pytest.mark.parametrize("args, reason", [
    ({"name": "x", "core": 2, "type": "forward"}, "master lcore"),
    ({"name": "x", "core": 7, "type": "forward"}, "not a worker lcore"),
    ({"name": "x", "core": "three", "type": "forward"}, "must be an integer"),
    ({"name": "x", "core": 3, "type": "router"}, "unknown component type"),
    ({"name": "bad name", "core": 3, "type": "forward"}, "invalid component name"),
])
def test_component_start_refusals_name_the_cause(model, args, reason) -> None:
    m, _ = model
    with pytest.raises(CommandError, match=reason):
        m.component_start(args)
    assert m.components == {}


def test_role_limits_and_refused_port_leave_state_unchanged(model) -> None:
    m, dp = model
    cmd(m, "component_start", name="f", core=3, type="forward")
    cmd(m, "port", action="attach", port="ring:0", dir="rx", name="f")
    with pytest.raises(CommandError, match="takes 1 rx port"):
        cmd(m, "port", action="attach", port="ring:1", dir="rx", name="f")
    with pytest.raises(CommandError, match="ring:12 does not exist"):
        cmd(m, "port", action="attach", port="ring:12", dir="tx", name="f")
    with pytest.raises(CommandError, match="not supported by spp_vf"):
        cmd(m, "port", action="attach", port="pcap:0", dir="tx", name="f")
    with pytest.raises(CommandError, match="not found") as err:
        cmd(m, "port", action="attach", port="ring:1", dir="tx", name="nope")
    assert err.value.code == 404
    assert dp.pushed[m.components["f"].slot] == (["ring:0"], [], [])
    assert list(dp.open.values()) == [(Uid("ring", 0), 0)]


def test_shared_port_is_opened_once_and_closed_with_its_last_user(model) -> None:
    m, dp = model
    cmd(m, "component_start", name="a", core=3, type="forward")
    cmd(m, "component_start", name="b", core=4, type="forward")
    cmd(m, "port", action="attach", port="ring:0", dir="tx", name="a")
    cmd(m, "port", action="attach", port="ring:0", dir="rx", name="b")
    assert len(dp.open) == 1
    cmd(m, "component_stop", name="a")
    assert len(dp.open) == 1
    cmd(m, "port", action="detach", port="ring:0", dir="rx", name="b")
    assert dp.open == {}


def test_table_entries_reach_the_classifier_owning_the_port_and_xdp(model) -> None:
    m, dp = model
    cmd(m, "component_start", name="cls", core=3, type="classifier")
    cmd(m, "port", action="attach", port="phy:0", dir="rx", name="cls")
    cmd(m, "port", action="attach", port="ring:0", dir="tx", name="cls")
    cmd(m, "classifier_table", action="add", type="mac", mac_address="52:54:00:12:34:56",
        port="ring:0")
    cmd(m, "classifier_table", action="add", type="vlan", vlan=10,
        mac_address="52:54:00:12:34:56", port="ring:0")
    assert dp.pushed[0][2] == ["52:54:00:12:34:56", "52:54:00:12:34:56"]
    assert ("phy:0", "52:54:00:12:34:56") in dp.steered
    st = m.status()["classifier_table"]
    assert st[1] == {"type": "vlan", "value": "10/52:54:00:12:34:56", "port": "ring:0"}
    with pytest.raises(CommandError, match="already has"):
        cmd(m, "classifier_table", action="add", type="mac",
            mac_address="52:54:00:12:34:56", port="ring:0")
    with pytest.raises(CommandError, match="multicast"):
        cmd(m, "classifier_table", action="add", type="mac",
            mac_address="01:00:5e:00:00:01", port="ring:0")
    with pytest.raises(CommandError, match="no entry"):
        cmd(m, "classifier_table", action="del", type="mac",
            mac_address="52:54:00:12:34:57", port="ring:0")


def test_status_lists_free_cores_as_unuse_in_lcore_order(model) -> None:
    m, _ = model
    cmd(m, "component_start", name="fwd", core=5, type="forward")
    st = m.status()
    assert [c.get("name", c["type"]) for c in st["components"]] == \
        ["unuse", "unuse", "fwd", "unuse"]
    assert st["master-lcore"] == 2 and st["worker-lcores"] == [3, 4, 5, 6]
    assert st["ports"] == ["phy:0", "phy:1"]
