"""A command of the real spp_vf that fails at any step changes nothing.

spp_vf runs with SPP_FAULT_FILE (spp/proc/faults.py): writing a step's name
into that file makes that step of the next command fail once inside the real
process. After each failure the status, the XDP steering map and forwarding
are exactly as before; the same command then succeeds and is undone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from classify_icmp import MAC1, MAC2, REMOTE0

from spp.client import SppError
from spp.testkit.stack import Stack, component, port, table
from spp.testkit.stream import Stream

pytestmark = pytest.mark.e2e



@pytest.fixture(scope="module")
def faulty(default_topology: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logdir = tmp_path_factory.mktemp("txn")
    fault = logdir / "fault"
    fault.write_text("")
    with Stack(logdir) as s:
        s.start_ctl()
        s.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "4",
                        "--xdp-mode", "registered")
        s.start_vf(1, "2-4", env={"SPP_FAULT_FILE": str(fault)})
        s.vf(1, component("cls", 3, "classifier"), component("fwd1", 4, "forward"),
             component("spare", 4, "forward"),
             port("add", "phy:0", "rx", "cls"), port("add", "ring:0", "tx", "cls"),
             port("add", "ring:0", "rx", "fwd1"), port("add", "phy:1", "tx", "fwd1"),
             table("add", MAC1, "ring:0"))
        s.fault = fault  # type: ignore[attr-defined]
        yield s


def config(st: dict[str, Any]) -> dict[str, Any]:
    return {"components": [{k: v for k, v in c.items() if k not in ("counters", "cycles")}
                           for c in st["components"]],
            "classifier_table": st["classifier_table"], "ports": st["ports"]}


def steered() -> set[tuple[int, str]]:
    from spp.xdp import XdpSteering

    with XdpSteering() as x:
        return {(e.vlan, e.mac) for e in x.macs("spp-p0")}


def delivered(dst: str, n: int = 50) -> int:
    with Stream(dst, REMOTE0, rate=1000, count=n) as s:
        s.wait_sent()
    return len(s.received())


CASES = [
    # (step that fails, the command, the command that undoes it)
    ("open_port", port("add", "ring:3", "tx", "cls"), port("del", "ring:3", "tx", "cls")),
    ("update_table", table("add", MAC2, "ring:0"), table("del", MAC2, "ring:0")),
    ("steer", table("add", MAC2, "ring:0"), table("del", MAC2, "ring:0")),
    ("set_lcore", component("new", 4, "merge"), ("DELETE", "/components/new", None)),
    ("clear_component", ("DELETE", "/components/spare", None), component("spare", 4, "forward")),
    ("steer", ("DELETE", "/components/cls", None), None),
]


@pytest.mark.parametrize("step, command, undo", CASES,
                         ids=[f"{s}-{c[0]}{c[1]}" for s, c, _ in CASES])
def test_failure_at_a_step_of_the_real_vf_leaves_status_map_and_forwarding_as_they_were(
        faulty: Stack, step: str, command: tuple[str, str, Any], undo: Any) -> None:
    fault: Path = faulty.fault  # type: ignore[attr-defined]
    before, map_before = config(faulty.vf_status()), steered()
    assert (0, MAC1) in map_before and delivered(MAC1) == 50
    fault.write_text(step)
    with pytest.raises(SppError) as err:
        faulty.vf(1, command)
    assert err.value.status == 400 and f"injected fault in {step}" in err.value.reason
    assert fault.read_text() == ""  # the fault fired inside the real process
    assert config(faulty.vf_status()) == before
    assert steered() == map_before
    assert delivered(MAC1) == 50  # forwarding as before
    assert delivered(MAC2) == 0   # and nothing new
    assert faulty.procs["vf1"].poll() is None
    if undo is None:
        return
    faulty.vf(1, command)  # without the fault the same command goes through
    assert config(faulty.vf_status()) != before
    if command[1] == "/classifier_table":
        assert (0, MAC2) in steered() and delivered(MAC2) == 50
    faulty.vf(1, undo)
    assert config(faulty.vf_status())["classifier_table"] == before["classifier_table"]
    assert steered() == map_before
