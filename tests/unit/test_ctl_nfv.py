"""REST API v1 /nfvs routes of `spp ctl`, against a fake spp_nfv over real TCP."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import FakeNfv, FakePrimary, FakeVf, running  # noqa: E402
from fakes import rest as call  # noqa: E402


@pytest.fixture
def stack():
    with running(pri=FakePrimary(), vf=FakeVf(1), nfv=FakeNfv(2)) as s:
        yield s


def test_processes_list_nfv_in_upstream_shape(stack):
    assert call(stack, "GET", "processes").json() == [
        {"type": "primary"}, {"type": "nfv", "client-id": 2}, {"type": "vf", "client-id": 1}]


def test_nfv_status_relayed_as_upstream_json(stack):
    res = call(stack, "GET", "nfvs/2")
    assert res.status_code == 200
    assert res.json() == {"client-id": 2, "status": "idling", "master-lcore": 7,
                          "lcores": [7, 8], "ports": ["phy:0", "phy:1"], "patches": []}


@pytest.mark.parametrize("method, path, body, relayed", [
    ("PUT", "nfvs/2/forward", {"action": "start"}, ("forward", {})),
    ("PUT", "nfvs/2/forward", {"action": "stop"}, ("stop", {})),
    ("PUT", "nfvs/2/ports", {"action": "add", "port": "ring:0"}, ("add", {"port": "ring:0"})),
    ("PUT", "nfvs/2/ports", {"action": "add", "port": "phy:0nq1"},
     ("add", {"port": "phy:0 nq 1"})),
    ("PUT", "nfvs/2/patches", {"src": "phy:0", "dst": "phy:1"},
     ("patch", {"src": "phy:0", "dst": "phy:1"})),
    ("DELETE", "nfvs/2/patches", None, ("patch_reset", {})),
])
def test_nfv_commands_are_relayed_by_name(stack, method, path, body, relayed):
    res = call(stack, method, path, body)
    assert res.status_code == 204, res.text
    assert stack.nfv.log[-1] == relayed


def test_patch_shows_in_status_and_reset_removes_it(stack):
    assert call(stack, "PUT", "nfvs/2/patches", {"src": "phy:0", "dst": "phy:1"}).status_code == 204
    assert call(stack, "PUT", "nfvs/2/forward", {"action": "start"}).status_code == 204
    st = call(stack, "GET", "nfvs/2").json()
    assert st["status"] == "running" and st["patches"] == [{"src": "phy:0", "dst": "phy:1"}]
    assert call(stack, "DELETE", "nfvs/2/patches").status_code == 204
    assert call(stack, "GET", "nfvs/2").json()["patches"] == []


@pytest.mark.parametrize("path, body, text", [
    ("nfvs/2/forward", {}, "key(action) required."),
    ("nfvs/2/forward", {"action": "go"}, "invalid key(action): go."),
    ("nfvs/2/ports", {"port": "ring:0"}, "key(action) required."),
    ("nfvs/2/ports", {"action": "attach", "port": "ring:0"}, "invalid key(action): attach."),
    ("nfvs/2/ports", {"action": "add", "port": "pcap:0"},
     "invalid key(port): pcap:0. port type 'pcap' is not supported (phy, ring, vhost)."),
    ("nfvs/2/patches", {"src": "phy:0"}, "key(dst) required."),
    ("nfvs/2/patches", {"src": "phy:0", "dst": "ring:99"},
     "invalid key(dst): ring:99. ring:99 is out of range (ring:0-ring:63)."),
])
def test_bad_bodies_are_400_and_not_relayed(stack, path, body, text):
    before = len(stack.nfv.log)
    res = call(stack, "PUT", path, body)
    assert (res.status_code, res.text) == (400, text)
    assert len(stack.nfv.log) == before


def test_non_json_body_is_400(stack):
    res = call(stack, "PUT", "nfvs/2/patches", raw=b"patch phy:0 phy:1")
    assert (res.status_code, res.text) == (400, "Not in json format.")


def test_process_refusal_is_400_with_its_reason(stack):
    res = call(stack, "PUT", "nfvs/2/patches", {"src": "ring:0", "dst": "phy:1"})
    assert (res.status_code, res.text) == (400,
                                           "command error: ring:0 not added (`add` it first)")


def test_unknown_nfv_is_404_and_vf_ids_are_not_nfvs(stack):
    for path in ("nfvs/3", "nfvs/1"):
        res = call(stack, "GET", path)
        assert (res.status_code, res.text) == (404, f"sec_id {path[5:]} not found.")
    assert call(stack, "GET", "vfs/2").status_code == 404
    assert call(stack, "GET", "nfvs/x").status_code == 404


def test_secondary_ids_are_one_space(stack):
    dup = stack.add(FakeVf(2))
    assert dup.rejected == "client-id 2 is already connected."
    dup = stack.add(FakeNfv(1))
    assert dup.rejected == "client-id 1 is already connected."


def test_delete_nfv_sends_exit_and_it_leaves(stack):
    assert call(stack, "DELETE", "nfvs/2").status_code == 204
    assert stack.nfv.log[-1] == ("exit", {})
    stack.run(stack.nfv.done.wait())
    for _ in range(100):
        if call(stack, "GET", "nfvs/2").status_code == 404:
            break
    assert {"type": "nfv", "client-id": 2} not in call(stack, "GET", "processes").json()


def test_cpu_usage_lists_nfv(stack):
    got = [e for e in call(stack, "GET", "cpu_usage").json() if e["proc-type"] == "nfv"]
    assert got == [{"proc-type": "nfv", "client-id": 2, "master-lcore": 7, "lcores": [7, 8]}]


def test_secondary_port_takes_only_the_secondaries_it_knows(stack):
    import asyncio
    import json

    async def hello(kind):
        r, w = await asyncio.open_connection("127.0.0.1", stack.ctl.sec_port)
        w.write(json.dumps({"hello": {"type": kind, "client_id": 9, "version": 2}}).encode()
                + b"\n")
        await w.drain()
        line = json.loads(await r.readline())
        w.close()
        return line

    assert stack.run(hello("bogus")) == {
        "reject": "this port accepts secondary (vf, nfv, mirror, pcap) processes only."}
    assert stack.run(hello("primary"))["reject"].startswith("this port accepts secondary")
