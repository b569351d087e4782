"""Configuration that comes back (spp/ctl/saved.py): a real controller, fake processes."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import FakeMirror, FakeNfv, FakePrimary, FakeVf, Stack  # noqa: E402

from spp.ctl.saved import ProcModel, Saved  # noqa: E402

COMPONENTS = [
    {"name": "cls", "core": 3, "type": "classifier"},
    {"name": "fwd1", "core": 4, "type": "forward"},
]
PORTS = [
    ("cls", {"action": "attach", "port": "phy:0", "dir": "rx"}),
    ("cls", {"action": "attach", "port": "ring:0", "dir": "tx"}),
    ("fwd1", {"action": "attach", "port": "ring:0", "dir": "rx"}),
    ("fwd1", {"action": "attach", "port": "phy:1", "dir": "tx",
              "vlan": {"operation": "add", "id": 10, "pcp": 3}}),
]
ENTRY = {"action": "add", "type": "mac", "mac_address": "52:54:00:12:34:56", "port": "ring:0"}


class Vf(FakeVf):
    """A fake spp_vf with a pid of its own (a restarted process has another pid)."""

    def __init__(self, client_id: int = 1, pid: int = 5001) -> None:
        super().__init__(client_id)
        self.pid = pid

    def hello(self) -> dict[str, Any]:
        return {**super().hello(), "pid": self.pid}


class Pri(FakePrimary):
    def __init__(self, pid: int = 4001) -> None:
        super().__init__()
        self.pid = pid

    def hello(self) -> dict[str, Any]:
        return {**super().hello(), "pid": self.pid}


def make_stack(restore: str = "on", state_file: Path | None = None) -> Stack:
    s = Stack.__new__(Stack)
    import asyncio
    import threading

    from spp.ctl.server import Controller

    s.loop = asyncio.new_event_loop()
    s.thread = threading.Thread(target=s.loop.run_forever, daemon=True)
    s.thread.start()
    s.ctl = Controller("127.0.0.1", 0, 0, 0, timeout=2.0, restore=restore,
                       state_file=state_file)
    s.run(s.ctl.start())
    s.url = f"http://127.0.0.1:{s.ctl.api_port}/v1"
    s.base = f"http://127.0.0.1:{s.ctl.api_port}"
    return s


@pytest.fixture
def stacks():
    made: list[Stack] = []

    def make(restore: str = "on", state_file: Path | None = None) -> Stack:
        made.append(make_stack(restore, state_file))
        return made[-1]

    yield make
    for s in made:
        s.close()


def call(s: Stack, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{s.url}/{path}", json=body, timeout=5)


def configure(s: Stack) -> None:
    for comp in COMPONENTS:
        res = call(s, "POST", "vfs/1/components", comp)
        assert res.status_code == 204, res.text
    for name, body in PORTS:
        assert call(s, "PUT", f"vfs/1/components/{name}/ports", body).status_code == 204
    assert call(s, "PUT", "vfs/1/classifier_table", ENTRY).status_code == 204


def config_of(status: dict[str, Any]) -> dict[str, Any]:
    return {k: status[k] for k in ("components", "classifier_table", "ports")}


def wait_for(pred: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def restart_vf(s: Stack, old: Vf, pid: int) -> Vf:
    s.drop(old)
    wait_for(lambda: call(s, "GET", "processes").json() == [])
    new = Vf(1, pid)
    s.add(new)
    return new


def test_vf_that_died_gets_its_configuration_back_and_status_says_restored(stacks):
    s = stacks()
    vf = s.add(Vf(1, 5001))
    configure(s)
    before = config_of(call(s, "GET", "vfs/1").json())
    new = restart_vf(s, vf, 5002)
    after = wait_for(lambda: (st := call(s, "GET", "vfs/1").json()).get("restored") and st)
    assert config_of(after) == before
    assert after["restored"]["pid"] == 5002
    assert after["restored"]["components"] == 2 and after["restored"]["ports"] == 4
    assert after["restored"]["classifier_table"] == 1 and after["restored"]["failed"] == []
    assert [c for c, _ in new.log if c != "status"] == (
        ["component_start"] * 2 + ["port"] * 4 + ["classifier_table_batch"])


def test_a_table_set_by_a_batch_comes_back_as_one_batch(stacks):
    s = stacks()
    vf = s.add(Vf(1, 5001))
    configure(s)
    batch = [{**ENTRY, "mac_address": f"52:54:00:00:00:{i:02x}"} for i in range(1, 4)]
    res = requests.put(f"{s.url}/vfs/1/classifier_table", json=batch, timeout=5)
    assert res.status_code == 204, res.text
    before = config_of(call(s, "GET", "vfs/1").json())
    new = restart_vf(s, vf, 5002)
    after = wait_for(lambda: (st := call(s, "GET", "vfs/1").json()).get("restored") and st)
    assert config_of(after) == before
    assert after["restored"]["classifier_table"] == 4 and after["restored"]["failed"] == []
    assert [c for c, _ in new.log if c != "status"][-1] == "classifier_table_batch"


def test_a_table_batch_the_new_process_refuses_is_restored_entry_by_entry(stacks):
    s = stacks()
    vf = s.add(Vf(1, 5001))
    configure(s)
    s.drop(vf)
    wait_for(lambda: call(s, "GET", "processes").json() == [])
    new = Vf(1, 5002)
    mac = ENTRY["mac_address"]
    new.table = {(mac, None): {"type": "mac", "vlan": None, "mac": mac, "port": "ring:0"}}
    s.add(new)
    after = wait_for(lambda: (st := call(s, "GET", "vfs/1").json()).get("restored") and st)
    cmds = [c for c, _ in new.log if c != "status"]
    assert cmds[-2:] == ["classifier_table_batch", "classifier_table"]
    assert len(after["restored"]["failed"]) == 1
    assert after["restored"]["failed"][0].startswith("classifier_table ")


def test_restored_vf_accepts_a_resent_equal_command_and_refuses_a_different_one(stacks):
    s = stacks()
    vf = s.add(Vf(1, 5001))
    configure(s)
    new = restart_vf(s, vf, 5002)
    wait_for(lambda: call(s, "GET", "vfs/1").json().get("restored"))
    sent = len(new.log)
    assert call(s, "POST", "vfs/1/components", COMPONENTS[0]).status_code == 204
    assert call(s, "PUT", "vfs/1/classifier_table", ENTRY).status_code == 204
    name, body = PORTS[3]
    assert call(s, "PUT", f"vfs/1/components/{name}/ports", body).status_code == 204
    assert len(new.log) == sent  # nothing relayed: it is all there
    other = {**COMPONENTS[0], "core": 5}
    res = call(s, "POST", "vfs/1/components", other)
    assert res.status_code == 400 and res.text == "command error: component 'cls' already exists."


def test_not_restored_vf_still_refuses_a_duplicate_as_upstream_does(stacks):
    s = stacks()
    vf = s.add(Vf(1, 5001))  # noqa: F841 - held: a fake that is collected disconnects
    configure(s)
    res = call(s, "POST", "vfs/1/components", COMPONENTS[0])
    assert res.status_code == 400


def test_vf_that_left_by_exit_starts_empty(stacks):
    s = stacks()
    vf = s.add(Vf(1, 5001))
    configure(s)
    assert call(s, "DELETE", "vfs/1").status_code == 204
    restart_vf(s, vf, 5002)
    time.sleep(0.2)
    st = call(s, "GET", "vfs/1").json()
    assert st["classifier_table"] == [] and "restored" not in st
    assert all(c["type"] == "unuse" for c in st["components"])


def test_restore_off_keeps_upstreams_empty_vf(stacks):
    s = stacks(restore="off")
    vf = s.add(Vf(1, 5001))
    configure(s)
    restart_vf(s, vf, 5002)
    time.sleep(0.2)
    st = call(s, "GET", "vfs/1").json()
    assert st["classifier_table"] == [] and "restored" not in st


def test_vf_back_with_the_same_pid_is_adopted_not_replayed(stacks):
    s = stacks()
    vf = s.add(Vf(1, 5001))
    configure(s)
    s.drop(vf)
    wait_for(lambda: call(s, "GET", "processes").json() == [])
    vf.log.clear()
    s.add(vf)  # the same process reconnects (a lost link)
    time.sleep(0.2)
    assert [c for c, _ in vf.log] == ["status"]
    assert "restored" not in call(s, "GET", "vfs/1").json()


def test_primary_gets_its_patches_and_forwarding_back(stacks):
    s = stacks()
    pri = s.add(Pri(4001))
    assert call(s, "PUT", "primary/patches", {"src": "phy:0", "dst": "ring:0"}).status_code == 204
    assert call(s, "PUT", "primary/patches", {"src": "ring:1", "dst": "phy:1"}).status_code == 204
    assert call(s, "PUT", "primary/forward", {"action": "start"}).status_code == 204
    s.drop(pri)
    wait_for(lambda: call(s, "GET", "processes").json() == [])
    new = s.add(Pri(4002))
    st = wait_for(lambda: (st := call(s, "GET", "primary/status").json()).get("restored") and st)
    assert new.patches == [{"src": "phy:0", "dst": "ring:0"}, {"src": "ring:1", "dst": "phy:1"}]
    assert new.forwarding and st["restored"]["patches"] == 2


def test_state_file_brings_the_configuration_back_after_a_controller_restart(stacks, tmp_path):
    state = tmp_path / "ctl-state.json"
    s = stacks(state_file=state)
    vf = s.add(Vf(1, 5001))  # noqa: F841 - held: a fake that is collected disconnects
    configure(s)
    s.close()  # the controller goes; its file stays
    s2 = stacks(state_file=state)
    new = s2.add(Vf(1, 5002))
    st = wait_for(lambda: (st := call(s2, "GET", "vfs/1").json()).get("restored") and st)
    assert len(new.table) == 1 and set(new.comps) == {"cls", "fwd1"}
    assert st["restored"]["ports"] == 4


def test_state_file_after_exit_is_restored_only_with_restore_all(stacks, tmp_path):
    state = tmp_path / "ctl-state.json"
    s = stacks(state_file=state)
    vf = s.add(Vf(1, 5001))  # noqa: F841 - held: a fake that is collected disconnects
    configure(s)
    assert call(s, "DELETE", "vfs/1").status_code == 204
    s.close()
    s2 = stacks(restore="all", state_file=state)
    new = s2.add(Vf(1, 5002))
    wait_for(lambda: call(s2, "GET", "vfs/1").json().get("restored"))
    assert set(new.comps) == {"cls", "fwd1"}


def test_journal_holds_every_acknowledged_command_without_a_clean_stop(tmp_path):
    state = tmp_path / "ctl-state.json"
    saved = Saved("on", state)
    for i in range(50):
        saved.acknowledged("vf:1", "vf", "classifier_table",
                           {**ENTRY, "mac_address": f"52:54:00:00:00:{i:02X}"})
    # no close(): a kill -9 leaves the journal as written
    again = Saved("on", state)
    assert len(again.models["vf:1"].table) == 50


@pytest.mark.parametrize("content,reason", [
    (b"{not json", "it is not JSON"),
    (b'{"format": "something-else"}', "it is not an spp-ctl-state file"),
    (b'{"format": "spp-ctl-state", "version": 9, "seq": 1, "procs": {}}', "version 9 is not 1"),
    (b'{"format": "spp-ctl-state", "version": 1, "seq": 1, "procs": {"vf:1": '
     b'{"kind": "vf", "components": [{"name": "a b", "core": 3, "type": "forward"}]}}}',
     "vf:1:"),
])
def test_bad_state_file_is_kept_aside_with_one_line_and_the_controller_starts_empty(
        tmp_path, caplog, content, reason):
    state = tmp_path / "ctl-state.json"
    state.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="spp.ctl"):
        saved = Saved("on", state)
    assert saved.models == {}
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and reason in lines[0] and "\n" not in lines[0]
    aside = list(tmp_path.glob("ctl-state.json.bad-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == content
    assert json.loads(state.read_text())["procs"] == {}


def test_model_rebuilds_the_configuration_it_recorded():
    m = ProcModel("vf")
    for comp in COMPONENTS:
        m.apply("component_start", comp)
    for name, body in PORTS:
        m.apply("port", {**body, "name": name, "vlan": body.get("vlan") or
                         {"operation": "none", "id": 0, "pcp": 0}})
    m.apply("classifier_table", {**ENTRY, "vlan": None})
    m.apply("component_stop", {"name": "fwd1"})
    assert [c for c, _ in m.commands()] == ["component_start", "port", "port",
                                            "classifier_table_batch"]


def test_primary_model_restores_the_xdp_offload_setting_first_and_keeps_it_in_the_file():
    m = ProcModel("primary")
    assert m.commands() == [] and m.empty()  # never set: the process keeps its own default
    m.apply("patch", {"src": "phy:0", "dst": "phy:1"})
    m.apply("xdp_offload", {"action": "off"})
    assert m.holds("xdp_offload", {"action": "off"})
    assert not m.holds("xdp_offload", {"action": "on"})
    assert m.commands()[0] == ("xdp_offload", {"action": "off"})
    again = ProcModel.from_json(json.loads(json.dumps(m.to_json())))
    assert again.commands() == m.commands()


def test_primary_model_refuses_a_file_with_a_bad_xdp_offload_value():
    data = {**ProcModel("primary").to_json(), "xdp_offload": "maybe"}
    with pytest.raises(ValueError, match="xdp_offload"):
        ProcModel.from_json(data)


# ---- spp_mirror and spp_nfv (spp.kinds: the components model and the patches model) ----

class Mirror(FakeMirror):
    def __init__(self, client_id: int = 3, pid: int = 6001) -> None:
        super().__init__(client_id)
        self.pid = pid

    def hello(self) -> dict[str, Any]:
        return {**super().hello(), "pid": self.pid}


class Nfv(FakeNfv):
    def __init__(self, client_id: int = 2, pid: int = 7001) -> None:
        super().__init__(client_id)
        self.pid = pid

    def hello(self) -> dict[str, Any]:
        return {**super().hello(), "pid": self.pid}


def _restart(s: Stack, old: Any, new: Any, kind: str) -> Any:
    s.drop(old)
    wait_for(lambda: not any(p.get("type") == kind for p in call(s, "GET", "processes").json()))
    s.add(new)
    return new


def test_mirror_that_died_gets_its_components_and_ports_back(stacks):
    s = stacks()
    mr = s.add(Mirror(3, 6001))
    assert call(s, "POST", "mirrors/3/components",
                {"name": "mr1", "core": 3, "type": "mirror"}).status_code == 204
    for port, direction in (("phy:0", "rx"), ("phy:1", "tx"), ("ring:0", "tx")):
        res = call(s, "PUT", "mirrors/3/components/mr1/ports",
                   {"action": "attach", "port": port, "dir": direction})
        assert res.status_code == 204, res.text
    before = call(s, "GET", "mirrors/3").json()["components"]
    new = _restart(s, mr, Mirror(3, 6002), "mirror")
    after = wait_for(lambda: (st := call(s, "GET", "mirrors/3").json()).get("restored") and st)
    assert after["components"] == before
    assert after["restored"]["components"] == 1 and after["restored"]["ports"] == 3
    assert after["restored"]["failed"] == []
    assert [c for c, _ in new.log if c != "status"] == ["component_start"] + ["port"] * 3


def test_nfv_that_died_gets_its_ports_patches_and_forwarding_back(stacks):
    s = stacks()
    nfv = s.add(Nfv(2, 7001))
    for body in ({"action": "add", "port": "ring:0"}, {"action": "del", "port": "phy:1"}):
        assert call(s, "PUT", "nfvs/2/ports", body).status_code == 204
    assert call(s, "PUT", "nfvs/2/patches", {"src": "phy:0", "dst": "ring:0"}).status_code == 204
    assert call(s, "PUT", "nfvs/2/forward", {"action": "start"}).status_code == 204
    before = call(s, "GET", "nfvs/2").json()
    new = _restart(s, nfv, Nfv(2, 7002), "nfv")
    after = wait_for(lambda: (st := call(s, "GET", "nfvs/2").json()).get("restored") and st)
    for key in ("ports", "patches", "status"):
        assert after[key] == before[key]
    assert after["status"] == "running"
    assert after["restored"] == {**after["restored"], "ports": 1, "ports_deleted": 1,
                                 "patches": 1, "forwarding": 1, "failed": []}
    assert [c for c, _ in new.log if c != "status"] == ["del", "add", "patch", "forward"]
    # a re-sent `add` equal to what came back is answered 204, as for spp_vf
    assert call(s, "PUT", "nfvs/2/ports", {"action": "add", "port": "ring:0"}).status_code == 204


def test_nfv_that_left_by_exit_starts_empty(stacks):
    s = stacks()
    nfv = s.add(Nfv(2, 7001))
    assert call(s, "PUT", "nfvs/2/ports", {"action": "add", "port": "ring:0"}).status_code == 204
    assert call(s, "DELETE", "nfvs/2").status_code == 204
    new = _restart(s, nfv, Nfv(2, 7002), "nfv")
    time.sleep(0.3)
    assert "restored" not in call(s, "GET", "nfvs/2").json()
    assert [c for c, _ in new.log if c != "status"] == []


def test_nfv_model_readds_a_deleted_phy_port_as_it_was():
    m = ProcModel("nfv")
    m.apply("del", {"port": "phy:0"})
    m.apply("add", {"port": "ring:1"})
    m.apply("add", {"port": "phy:0"})   # back to what the nfv starts with
    m.apply("del", {"port": "ring:1"})  # added then deleted: nothing to do
    assert m.empty()
    m.apply("add", {"port": "vhost:0"})
    m.apply("patch", {"src": "phy:0 nq 1", "dst": "vhost:0"})
    m.apply("forward", {})
    assert m.commands() == [("add", {"port": "vhost:0"}),
                            ("patch", {"src": "phy:0 nq 1", "dst": "vhost:0"}),
                            ("forward", {})]
    again = ProcModel.from_json(json.loads(json.dumps(m.to_json())))
    assert again.commands() == m.commands() and again.kind == "nfv"


def test_state_file_keeps_mirror_and_nfv_models_across_a_controller_restart(tmp_path):
    state = tmp_path / "ctl-state.json"
    saved = Saved("on", state)
    saved.acknowledged("mirror:3", "mirror", "component_start",
                       {"name": "mr1", "core": 3, "type": "mirror"})
    saved.acknowledged("nfv:2", "nfv", "add", {"port": "ring:0"})
    saved.acknowledged("nfv:2", "nfv", "patch", {"src": "phy:0", "dst": "ring:0"})
    # no close(): the journal alone carries them
    again = Saved("on", state)
    assert again.models["mirror:3"].components == {
        "mr1": {"name": "mr1", "core": 3, "type": "mirror"}}
    assert again.models["nfv:2"].added == ["ring:0"]
    assert again.models["nfv:2"].patches == {"phy:0": "ring:0"}
    again._snapshot()
    third = Saved("on", state)
    assert third.models["nfv:2"].kind == "nfv" and third.models["mirror:3"].kind == "mirror"
