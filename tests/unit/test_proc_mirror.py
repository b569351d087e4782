"""spp_mirror: option table, the model (type mirror, 1 rx + 2 tx, status JSON) on a
recording data plane, and the shell's `mirror N; ...` words and status text."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from spp.cli import commands as C
from spp.cli import statusfmt
from spp.cli.complete import candidates
from spp.errors import NotFound, Refused, UsageError
from spp.native import limits
from spp.proc import mirror
from spp.proc.vf_dataplane import COMP_TYPES

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import FakeMirrorDataPlane  # noqa: E402

# ---- option table -----------------------------------------------------------


# the upstream and friendly forms: tests/unit/test_proc_skeleton.py (with spp_nfv's)


@pytest.mark.parametrize("argv, reason", [
    (["-l", "2-4", "--", "-s", "127.0.0.1:6666"], "--client-id is required"),
    (["-l", "2-4", "--", "--client-id", "x"], "--client-id: "),
    (["-l", "2-4", "--", "--client-id", "1", "-n", "1"], "unknown spp_mirror option '-n'"),
])
def test_bad_command_lines_are_one_line_usage_errors(argv, reason):
    with pytest.raises(UsageError) as err:
        mirror.parse_args(argv)
    assert reason in err.value.reason and "\n" not in err.value.reason


def test_main_prints_one_line_and_exits_2_on_a_bad_command_line(capsys):
    assert mirror.main(["-l", "2-4", "--", "-s", "127.0.0.1:6666"]) == 2
    assert capsys.readouterr().err == "spp mirror: --client-id is required\n"


def test_the_mirror_type_is_the_c_cores_own():
    assert COMP_TYPES["mirror"] == limits.SPP_COMP_MIRROR
    assert len(set(COMP_TYPES.values())) == len(COMP_TYPES)


# ---- the model --------------------------------------------------------------


@pytest.fixture
def model() -> tuple[mirror.MirrorModel, FakeMirrorDataPlane]:
    dp = FakeMirrorDataPlane()
    return mirror.MirrorModel(1, 2, [3, 4], 2, dp), dp


def cmd(m: mirror.MirrorModel, method: str, **args: Any) -> None:
    getattr(m, method)(args)


def _mirror(m: mirror.MirrorModel, name: str = "mr1", core: int = 3) -> None:
    cmd(m, "component_start", name=name, core=core, type="mirror")
    cmd(m, "port", action="attach", port="phy:0", dir="rx", name=name)
    cmd(m, "port", action="attach", port="phy:1", dir="tx", name=name)
    cmd(m, "port", action="attach", port="ring:0", dir="tx", name=name)


def test_a_mirror_takes_one_rx_and_two_tx_and_reaches_the_data_plane(model):
    m, dp = model
    _mirror(m)
    assert dp.comps[0] == ("mirror", ["phy:0"], ["phy:1", "ring:0"])
    assert dp.lcores[3] == [0]
    assert sorted(dp.open.values()) == ["phy:0", "phy:1", "ring:0"]


def test_status_is_upstreams_json(model):
    m, _dp = model
    _mirror(m)
    assert m.status() == {
        "client-id": 1, "ports": ["phy:0", "phy:1", "ring:0"],
        "components": [
            {"core": 3, "name": "mr1", "type": "mirror", "rx_port": [{"port": "phy:0"}],
             "tx_port": [{"port": "phy:1"}, {"port": "ring:0"}]},
            {"core": 4, "type": "unuse"}],
        "master-lcore": 2, "worker-lcores": [3, 4]}


def test_a_mirror_with_one_tx_port_says_in_status_why_it_forwards_nothing(model):
    m, _dp = model
    cmd(m, "component_start", name="mr1", core=3, type="mirror")
    cmd(m, "port", action="attach", port="phy:0", dir="rx", name="mr1")
    cmd(m, "port", action="attach", port="phy:1", dir="tx", name="mr1")
    comp = m.status()["components"][0]
    assert comp["waiting"] == ("forwards nothing until it has 1 rx and 2 tx ports "
                               "(has 1 rx, 1 tx)")
    text = statusfmt.mirror_status(m.status())
    assert "    - waiting: forwards nothing until it has 1 rx and 2 tx ports (has 1 rx, 1 tx)" \
        in text.splitlines()
    cmd(m, "port", action="attach", port="ring:0", dir="tx", name="mr1")
    assert "waiting" not in m.status()["components"][0]


@pytest.mark.parametrize("args, reason", [
    ({"name": "f", "core": 3, "type": "forward"}, "unknown component type 'forward' (mirror)"),
    ({"name": "m", "core": 2, "type": "mirror"}, "core 2 is the master lcore"),
    ({"name": "m", "core": 9, "type": "mirror"}, "core 9 is not a worker lcore"),
])
def test_component_start_refusals_are_one_line(model, args, reason):
    m, dp = model
    with pytest.raises(Refused) as err:
        m.component_start(args)
    assert reason in err.value.reason and "\n" not in err.value.reason
    assert m.components == {} and dp.comps == {}


def test_a_second_rx_or_a_third_tx_is_refused_and_changes_nothing(model):
    m, dp = model
    _mirror(m)
    before = (m.status(), dict(dp.comps), dict(dp.open))
    with pytest.raises(Refused, match=r"takes 1 rx port\(s\) and already has phy:0"):
        cmd(m, "port", action="attach", port="ring:1", dir="rx", name="mr1")
    with pytest.raises(Refused, match=r"takes 2 tx port\(s\) and already has phy:1, ring:0"):
        cmd(m, "port", action="attach", port="ring:1", dir="tx", name="mr1")
    assert (m.status(), dp.comps, dp.open) == before


def test_detach_and_stop_close_ports_nobody_uses(model):
    m, dp = model
    _mirror(m)
    cmd(m, "port", action="detach", port="ring:0", dir="tx", name="mr1")
    assert dp.comps[0] == ("mirror", ["phy:0"], ["phy:1"])
    assert "ring:0" not in dp.open.values()
    cmd(m, "component_stop", name="mr1")
    assert dp.comps == {} and dp.open == {} and dp.lcores[3] == []
    with pytest.raises(NotFound, match="component 'mr1' not found."):
        cmd(m, "component_stop", name="mr1")


def test_a_tx_vlan_operation_shows_in_status(model):
    m, _dp = model
    cmd(m, "component_start", name="mr1", core=3, type="mirror")
    cmd(m, "port", action="attach", port="ring:1", dir="tx", name="mr1",
        vlan={"operation": "add", "id": 10, "pcp": 0})
    comp = m.status()["components"][0]
    assert comp["tx_port"] == [{"port": "ring:1",
                                "vlan": {"operation": "add", "id": 10, "pcp": 0}}]


# ---- shell words and text ---------------------------------------------------


@pytest.mark.parametrize("words, method, path, body", [
    (["status"], "GET", "mirrors/1", None),
    (["exit"], "DELETE", "mirrors/1", None),
    (["component", "start", "mr1", "3", "mirror"], "POST", "mirrors/1/components",
     {"name": "mr1", "core": 3, "type": "mirror"}),
    (["component", "stop", "mr1"], "DELETE", "mirrors/1/components/mr1", None),
    (["port", "add", "ring:0", "tx", "mr1"], "PUT", "mirrors/1/components/mr1/ports",
     {"action": "attach", "port": "ring:0", "dir": "tx",
      "vlan": {"operation": "none", "id": 0, "pcp": 0}}),
    (["port", "del", "phy:0", "rx", "mr1"], "PUT", "mirrors/1/components/mr1/ports",
     {"action": "detach", "port": "phy:0", "dir": "rx",
      "vlan": {"operation": "none", "id": 0, "pcp": 0}}),
])
def test_mirror_words_build_upstreams_requests(words, method, path, body):
    a = C.mirror_action(1, words)
    assert (a.method, a.path, a.body) == (method, path, body)


@pytest.mark.parametrize("words, text", [
    (["compa"], 'Invalid command "compa".'),
    (["component", "start", "mr1", "3", "forward"], "Invalid role 'forward', choose from mirror."),
    (["port", "add", "ring:0"], "Invalid syntax, usage: port add|del"),
])
def test_bad_mirror_words_are_one_line(words, text):
    with pytest.raises(C.CommandError) as err:
        C.mirror_action(1, words)
    assert err.value.text.startswith(text) and "\n" not in err.value.text


def test_status_text_is_upstreams(model):
    m, _dp = model
    _mirror(m)
    cmd(m, "component_start", name="mr2", core=4, type="mirror")
    assert statusfmt.mirror_status(m.status()) == "\n".join([
        "Basic Information:",
        "  - client-id: 1",
        "  - ports: [phy:0, phy:1, ring:0]",
        "  - lcore_ids:",
        "    - master: 2",
        "    - slaves: [3, 4]",
        "Components:",
        "  - core:3 'mr1' (type: mirror)",
        "    - rx: phy:0",
        "    - tx: [phy:1, ring:0]",
        "  - core:4 'mr2' (type: mirror)",
        "    - rx: ",
        "    - tx: ",
        # an addition over upstream's shape, only for a mirror short of ports
        "    - waiting: forwards nothing until it has 1 rx and 2 tx ports (has 0 rx, 0 tx)",
    ])


class Src:
    def mirror_ids(self) -> list[int]:
        return [1, 4]

    def mirror_status(self, sec_id: int) -> dict[str, Any]:
        return {"ports": ["phy:0", "phy:1"], "components": [
            {"core": 3, "name": "mr1", "type": "mirror", "rx_port": [{"port": "phy:0"}],
             "tx_port": []}, {"core": 4, "type": "unuse"}]}

    def primary_status(self) -> dict[str, Any]:
        return {"phy_ports": [{"id": 0}, {"id": 1}], "ring_ports": [{"id": 0}]}


@pytest.mark.parametrize("line, expected", [
    ("mi", ["mirror"]),
    ("mirror ", ["1;", "4;"]),
    ("mirror 1; ", ["status", "component", "port", "exit"]),
    ("mirror 1; component start mr2 ", ["4"]),
    ("mirror 1; component start mr2 4 ", ["mirror"]),
    ("mirror 1; component stop ", ["mr1"]),
    ("mirror 1; port add ring:0 tx ", ["mr1"]),
])
def test_mirror_completion(line, expected):
    assert candidates(line, Src()) == expected
