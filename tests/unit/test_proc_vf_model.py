"""The spp_vf control model: validation, role limits, table and what reaches the C core."""

from __future__ import annotations

from typing import Any

import pytest

from spp.errors import Refused, SppError
from spp.proc.vf_model import Component, TableEntry, VfModel
from spp.resources import Uid


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

    def update_table(self, slot: int, comp: Component, add: list[TableEntry],
                     remove: list[TableEntry]) -> None:
        """In place, as the C core does; a component it never configured has no table."""
        if slot not in self.pushed:
            return
        shown = self.pushed[slot][2]
        for e in remove:
            shown.remove(e.shown)
        shown.extend(e.shown for e in add)

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
    ({"name": "x", "core": "three", "type": "forward"}, "is not a number"),
    ({"name": "x", "core": "\u0663", "type": "forward"}, "is not a number"),
    ({"name": "x", "core": 3, "type": "router"}, "unknown component type"),
    ({"name": "bad name", "core": 3, "type": "forward"}, "invalid component name"),
])
def test_component_start_refusals_name_the_cause(model, args, reason) -> None:
    m, _ = model
    with pytest.raises(SppError, match=reason):
        m.component_start(args)
    assert m.components == {}


def test_role_limits_and_refused_port_leave_state_unchanged(model) -> None:
    m, dp = model
    cmd(m, "component_start", name="f", core=3, type="forward")
    cmd(m, "port", action="attach", port="ring:0", dir="rx", name="f")
    with pytest.raises(SppError, match="takes 1 rx port"):
        cmd(m, "port", action="attach", port="ring:1", dir="rx", name="f")
    with pytest.raises(SppError, match="ring:12 does not exist"):
        cmd(m, "port", action="attach", port="ring:12", dir="tx", name="f")
    with pytest.raises(SppError, match="'pcap' is not supported"):
        cmd(m, "port", action="attach", port="pcap:0", dir="tx", name="f")
    with pytest.raises(SppError, match="not found") as err:
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
    with pytest.raises(SppError, match="already has"):
        cmd(m, "classifier_table", action="add", type="mac",
            mac_address="52:54:00:12:34:56", port="ring:0")
    with pytest.raises(SppError, match="multicast"):
        cmd(m, "classifier_table", action="add", type="mac",
            mac_address="01:00:5e:00:00:01", port="ring:0")
    with pytest.raises(SppError, match="no entry"):
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


# ---- transactions: a failure at any step leaves model and data plane as they were ----

class FailingDataPlane(FakeDataPlane):
    """Counts data-plane steps; the step numbered `fail_at` raises instead of running."""

    STEPS = ("open_port", "close_port", "update_component", "update_table", "clear_component",
             "set_lcore", "steer")

    def __init__(self) -> None:
        super().__init__()
        self.fail_at: int | None = None
        self.calls: list[str] = []

    def __getattribute__(self, name: str) -> Any:
        attr = super().__getattribute__(name)
        if name not in FailingDataPlane.STEPS:
            return attr

        def step(*args: Any) -> Any:
            self.calls.append(name)
            if self.fail_at is not None and len(self.calls) - 1 == self.fail_at:
                raise RuntimeError(f"injected fault in {name}")
            return attr(*args)
        return step

    def state(self) -> Any:
        return (dict(self.open), {k: tuple(map(list, v)) for k, v in self.pushed.items()},
                {k: list(v) for k, v in self.lcores.items()}, set(self.steered))


SETUP = [
    ("component_start", {"name": "cls", "core": 3, "type": "classifier"}),
    ("component_start", {"name": "fwd", "core": 3, "type": "forward"}),
    ("port", {"action": "attach", "port": "phy:0", "dir": "rx", "name": "cls"}),
    ("port", {"action": "attach", "port": "ring:0", "dir": "tx", "name": "cls"}),
    ("port", {"action": "attach", "port": "ring:0", "dir": "rx", "name": "fwd"}),
    ("classifier_table", {"action": "add", "type": "mac", "mac_address": "52:54:00:12:34:56",
                          "port": "ring:0"}),
]
COMMANDS = [
    ("component_start", {"name": "new", "core": 3, "type": "merge"}),
    ("component_stop", {"name": "cls"}),
    ("component_stop", {"name": "fwd"}),
    ("port", {"action": "attach", "port": "ring:1", "dir": "tx", "name": "cls"}),
    ("port", {"action": "attach", "port": "ring:1", "dir": "tx", "name": "fwd",
              "vlan": {"operation": "add", "id": 10, "pcp": 1}}),
    ("port", {"action": "detach", "port": "phy:0", "dir": "rx", "name": "cls"}),
    ("port", {"action": "detach", "port": "ring:0", "dir": "tx", "name": "cls"}),
    ("classifier_table", {"action": "add", "type": "vlan", "vlan": 5,
                          "mac_address": "52:54:00:12:34:58", "port": "ring:0"}),
    ("classifier_table", {"action": "del", "type": "mac", "mac_address": "52:54:00:12:34:56",
                          "port": "ring:0"}),
    ("classifier_table_batch", {"entries": [
        {"action": "add", "type": "vlan", "vlan": 5, "mac_address": "52:54:00:12:34:58",
         "port": "ring:0"},
        {"action": "del", "type": "mac", "mac_address": "52:54:00:12:34:56", "port": "ring:0"},
        {"action": "add", "type": "mac", "mac_address": "default", "port": "ring:0"}]}),
]


def _fresh() -> tuple[VfModel, FailingDataPlane]:
    dp = FailingDataPlane()
    m = VfModel(1, 2, [3, 4, 5, 6], 2, dp)
    for cmd_name, args in SETUP:
        getattr(m, cmd_name)(dict(args))
    dp.calls.clear()
    return m, dp


@pytest.mark.parametrize("command", COMMANDS, ids=[f"{c}-{i}" for i, (c, _) in
                                                   enumerate(COMMANDS)])
def test_failure_at_every_step_leaves_model_status_and_data_plane_as_they_were(command) -> None:
    cmd_name, args = command
    m, dp = _fresh()
    getattr(m, cmd_name)(dict(args))  # succeeds: learn its steps
    steps = [c for c in dp.calls if c != "close_port"]  # closing follows the commit
    assert steps, "the command reached the data plane"
    for i, step in enumerate(steps):
        m, dp = _fresh()
        status, dp_state = m.status(), dp.state()
        dp.fail_at = i
        with pytest.raises(SppError, match=f"injected fault in {step}"):
            getattr(m, cmd_name)(dict(args))
        assert m.status() == status, f"model changed after a fault in step {i} ({step})"
        assert dp.state() == dp_state, f"data plane changed after a fault in step {i} ({step})"


def test_a_failed_command_can_be_retried_and_then_succeeds() -> None:
    m, dp = _fresh()
    dp.fail_at = 1
    args = {"action": "attach", "port": "ring:1", "dir": "tx", "name": "cls"}
    with pytest.raises(SppError):
        m.port(dict(args))
    dp.fail_at = None
    m.port(dict(args))
    assert [p["port"] for p in m.status()["components"][0]["tx_port"]] == ["ring:0", "ring:1"]


# ---- classifier_table batches: one transaction, the bad entry named ----

def _classifier(m: VfModel) -> None:
    cmd(m, "component_start", name="cls", core=3, type="classifier")
    cmd(m, "port", action="attach", port="phy:0", dir="rx", name="cls")
    cmd(m, "port", action="attach", port="ring:0", dir="tx", name="cls")
    cmd(m, "port", action="attach", port="ring:1", dir="tx", name="cls")


def _add(mac: str, port: str = "ring:0", **extra: Any) -> dict[str, Any]:
    return {"action": "add", "type": "mac", "mac_address": mac, "port": port, **extra}


def _mac(i: int) -> str:
    return "52:54:" + ":".join(f"{b:02x}" for b in i.to_bytes(4, "big"))


def test_a_batch_reaches_the_classifier_as_one_in_place_change(model) -> None:
    m, dp = model
    _classifier(m)
    calls: list[tuple[int, int]] = []
    update = dp.update_table
    dp.update_table = lambda slot, comp, add, rem: (calls.append((len(add), len(rem))),
                                                    update(slot, comp, add, rem))
    m.classifier_table_batch({"entries": [_add(_mac(i), f"ring:{i % 2}")
                                          for i in range(1000)]})
    assert calls == [(1000, 0)]
    assert len(dp.pushed[0][2]) == 1000 and len(dp.steered) == 1000
    assert [e["value"] for e in m.status()["classifier_table"]] == \
        [_mac(i) for i in range(1000)]


def test_a_batch_with_one_bad_entry_changes_nothing_and_names_it(model) -> None:
    m, dp = model
    _classifier(m)
    m.classifier_table({**_add(_mac(7))})
    before, pushed = m.status(), dp.pushed[0][2][:]
    bad = [
        (_add(_mac(7)), "entry 2: classifier_table already has 52:54:00:00:00:07"),
        (_add("01:00:5e:00:00:01"), "entry 2: .*multicast"),
        ({"action": "del", "type": "mac", "mac_address": _mac(8), "port": "ring:0"},
         "entry 2: classifier_table has no entry 52:54:00:00:00:08 -> ring:0"),
        ({**_add(_mac(9)), "type": "vlan", "vlan": 4095}, "entry 2: .*VLAN id"),
        ("add mac", "entry 2: an entry must be an object"),
        (_add(_mac(1)), "entry 2: classifier_table already has"),  # repeats entry 0
    ]
    for entry, reason in bad:
        with pytest.raises(Refused, match=reason):
            m.classifier_table_batch({"entries": [_add(_mac(1)), _add(_mac(2)), entry]})
        assert m.status() == before and dp.pushed[0][2] == pushed
    with pytest.raises(Refused, match="entries must be a list"):
        m.classifier_table_batch({"entries": {"0": _add(_mac(1))}})


def test_a_batch_applies_in_order_and_may_move_an_entry_to_another_port(model) -> None:
    m, dp = model
    _classifier(m)
    m.classifier_table(_add(_mac(1)))
    m.classifier_table_batch({"entries": [
        {"action": "del", "type": "mac", "mac_address": _mac(1), "port": "ring:0"},
        _add(_mac(1), "ring:1"),
        _add(_mac(2)),
        {"action": "del", "type": "mac", "mac_address": _mac(2), "port": "ring:0"}]})
    assert m.status()["classifier_table"] == [
        {"type": "mac", "value": _mac(1), "port": "ring:1"}]
    assert dp.pushed[0][2] == [_mac(1)]
    m.classifier_table(_add(_mac(3)))
    m.classifier_table_batch({"entries": [  # deleted and added back: now the last one
        {"action": "del", "type": "mac", "mac_address": _mac(1), "port": "ring:1"},
        _add(_mac(1), "ring:1")]})
    assert [e["value"] for e in m.status()["classifier_table"]] == [_mac(3), _mac(1)]
    m.classifier_table_batch({"entries": [
        {"action": "del", "type": "mac", "mac_address": _mac(3), "port": "ring:0"},
        _add(_mac(4)), _add(_mac(3))]})
    assert [e["value"] for e in m.status()["classifier_table"]] == [_mac(1), _mac(4), _mac(3)]


def test_the_table_holds_65536_entries_and_refuses_one_more(model) -> None:
    m, _dp = model
    _classifier(m)
    m.classifier_table_batch({"entries": [_add(_mac(i)) for i in range(65536)]})
    with pytest.raises(Refused, match=r"entry 0: classifier_table is full \(65536 MAC"):
        m.classifier_table_batch({"entries": [_add(_mac(70000))]})
    m.classifier_table(_add("default"))  # defaults come on top of the MAC entries
    m.classifier_table_batch({"entries": [
        {"action": "del", "type": "mac", "mac_address": _mac(0), "port": "ring:0"},
        _add(_mac(70000))]})
    assert len(m.status()["classifier_table"]) == 65537


def test_single_entry_reasons_keep_upstreams_shape(model) -> None:
    m, _dp = model
    _classifier(m)
    m.classifier_table(_add(_mac(1)))
    with pytest.raises(Refused) as exc:
        m.classifier_table(_add(_mac(1)))
    assert exc.value.reason == "classifier_table already has 52:54:00:00:00:01 (-> ring:0)"
