"""REST API v1 contract of `spp ctl`, against fake processes over real TCP."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import FakePrimary, FakeVf, Stack  # noqa: E402


@pytest.fixture
def stack():
    s = Stack(timeout=0.5)
    yield s
    s.close()


@pytest.fixture
def full(stack):
    stack.pri = stack.add(FakePrimary())
    stack.vf = stack.add(FakeVf(1))
    return stack


def call(s, method, path, body=None, raw=None):
    url = f"{s.url}/{path}"
    if raw is not None:
        return requests.request(method, url, data=raw, timeout=5,
                                headers={"Content-Type": "application/json"})
    return requests.request(method, url, json=body, timeout=5)


def assert_error(res, status, text):
    assert res.status_code == status
    assert res.text == text
    assert res.headers["Content-Type"].startswith("text/plain")


# ---- processes / cpu -------------------------------------------------------

def test_processes_empty_without_any_process(stack):
    res = call(stack, "GET", "processes")
    assert res.status_code == 200 and res.json() == []


def test_processes_lists_primary_and_vf_in_upstream_shape(full):
    assert call(full, "GET", "processes").json() == [
        {"type": "primary"}, {"type": "vf", "client-id": 1}]


def test_process_leaving_by_eof_is_dropped_at_once(full):
    full.drop(full.vf)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if call(full, "GET", "processes").json() == [{"type": "primary"}]:
            return
        time.sleep(0.02)
    pytest.fail("vf still listed 1 s after its socket closed")


def test_second_vf_with_same_client_id_is_rejected_with_reason(full):
    dup = full.add(FakeVf(1))
    assert dup.rejected == "client-id 1 is already connected."


def test_second_primary_is_rejected(full):
    assert full.add(FakePrimary()).rejected == "primary is already connected."


def test_cpu_layout_lists_every_online_lcore_once(stack):
    res = call(stack, "GET", "cpu_layout")
    assert res.status_code == 200
    lcores = [lc for s in res.json() for c in s["cores"] for lc in c["lcores"]]
    assert {"socket_id", "cores"} <= set(res.json()[0])
    online = len(list(Path("/sys/devices/system/cpu").glob("cpu[0-9]*/topology")))
    assert sorted(lcores) == sorted(set(lcores)) and len(lcores) == online


def test_cpu_usage_reports_master_and_lcores_per_process(full):
    res = call(full, "GET", "cpu_usage")
    assert res.status_code == 200
    assert res.json() == [
        {"proc-type": "primary", "master-lcore": 1, "lcores": [1]},
        {"proc-type": "vf", "client-id": 1, "master-lcore": 2, "lcores": [2, 3, 4, 5, 6]},
    ]


# ---- primary ---------------------------------------------------------------

def test_primary_status_relayed_as_json(full):
    res = call(full, "GET", "primary/status")
    assert res.status_code == 200
    assert [p["id"] for p in res.json()["phy_ports"]] == [0, 1]
    assert len(res.json()["ring_ports"]) == 10


def test_primary_endpoints_404_without_primary(stack):
    for method, path in [("GET", "primary/status"), ("DELETE", "primary/status"),
                         ("DELETE", "primary"), ("DELETE", "primary/patches")]:
        assert_error(call(stack, method, path), 404, "primary not found.")


def test_clear_primary_status_is_204_and_relayed_as_clear(full):
    res = call(full, "DELETE", "primary/status")
    assert res.status_code == 204 and res.content == b""
    assert full.pri.log[-1] == ("clear", {})


def test_primary_ports_add_relayed(full):
    res = call(full, "PUT", "primary/ports", {"action": "add", "port": "ring:0"})
    assert res.status_code == 204
    assert full.pri.log[-1] == ("ports", {"action": "add", "port": "ring:0"})


@pytest.mark.parametrize("body,text", [
    ({"action": "add"}, "key(port) required."),
    ({"port": "ring:0"}, "key(action) required."),
    ({"action": "attach", "port": "ring:0"}, "invalid key(action): attach."),
    ({"action": "add", "port": "eth:0"}, "invalid key(port): eth:0. port type 'eth' is "
     "not supported (phy, ring, vhost)."),
])
def test_primary_ports_bad_body_is_400(full, body, text):
    assert_error(call(full, "PUT", "primary/ports", body), 400, text)


def test_primary_refusal_is_400_with_process_reason(full):
    res = call(full, "PUT", "primary/ports", {"action": "add", "port": "ring:19"})
    assert_error(res, 400, "command error: no such port ring:19.")


def test_launch_relayed_unchanged(full):
    body = {"proc_name": "spp_vf", "client_id": "2",
            "eal": {"-m": "512", "-l": "1,4-7", "--proc-type": "secondary"},
            "app": {"-s": "127.0.0.1:6666", "--client-id": "2"}}
    assert call(full, "PUT", "primary/launch", body).status_code == 204
    assert full.pri.launched == [{**body, "client_id": 2}]


def test_launch_without_eal_is_400(full):
    body = {"proc_name": "spp_vf", "client_id": "2", "app": {}}
    assert_error(call(full, "PUT", "primary/launch", body), 400, "key(eal) required.")


def test_patch_reset_and_forward_relayed(full):
    assert call(full, "PUT", "primary/patches", {"src": "phy:0", "dst": "phy:1"}).status_code == 204
    assert full.pri.patches == [{"src": "phy:0", "dst": "phy:1"}]
    assert call(full, "PUT", "primary/forward", {"action": "start"}).status_code == 204
    assert call(full, "GET", "primary/status").json()["forwarding"] is True
    assert call(full, "PUT", "primary/forward", {"action": "stop"}).status_code == 204
    assert full.pri.forwarding is False
    assert call(full, "DELETE", "primary/patches").status_code == 204
    assert full.pri.patches == []
    assert [c for c, _ in full.pri.log if c != "status"] == ["patch", "forward", "stop",
                                                             "patch_reset"]


@pytest.mark.parametrize("path,body,text", [
    ("primary/patches", {"src": "phy:0"}, "key(dst) required."),
    ("primary/patches", {"src": "phy:0", "dst": "phy"},
     "invalid key(dst): phy. 'phy' is not a resource UID (TYPE:ID, e.g. ring:0)."),
    ("primary/forward", {"action": "go"}, "invalid key(action): go."),
    ("primary/forward", {}, "key(action) required."),
])
def test_patch_and_forward_bad_body_is_400(full, path, body, text):
    assert_error(call(full, "PUT", path, body), 400, text)


def test_delete_primary_terminates_it(full):
    assert call(full, "DELETE", "primary").status_code == 204
    time.sleep(0.2)
    assert call(full, "GET", "processes").json() == [{"type": "vf", "client-id": 1}]


# ---- vf ----------------------------------------------------------------------

def test_vf_status_relayed_with_master_and_workers(full):
    res = call(full, "GET", "vfs/1")
    assert res.status_code == 200
    st = res.json()
    assert st["client-id"] == 1 and st["master-lcore"] == 2
    assert st["components"][0] == {"core": 3, "type": "unuse"}


def test_unknown_vf_is_404(full):
    assert_error(call(full, "GET", "vfs/3"), 404, "sec_id 3 not found.")
    assert_error(call(full, "GET", "vfs/abc"), 404, "Not found: '/v1/vfs/abc'")


def test_delete_vf_terminates_it(full):
    assert call(full, "DELETE", "vfs/1").status_code == 204
    time.sleep(0.2)
    assert call(full, "GET", "processes").json() == [{"type": "primary"}]


def test_component_start_204_and_visible_in_status(full):
    res = call(full, "POST", "vfs/1/components", {"name": "fw1", "core": 5, "type": "forward"})
    assert res.status_code == 204 and res.content == b""
    comps = call(full, "GET", "vfs/1").json()["components"]
    assert {"core": 5, "name": "fw1", "type": "forward", "rx_port": [], "tx_port": []} in comps


@pytest.mark.parametrize("body,text", [
    ({"core": 3, "type": "forward"}, "key(name) required."),
    ({"name": "a", "type": "forward"}, "key(core) required."),
    ({"name": "a", "core": 3}, "key(type) required."),
    ({"name": "a", "core": -1, "type": "forward"},
     "invalid key(core): -1. core -1 is out of range (0-127)."),
    ({"name": "a", "core": "3", "type": "forward"}, "invalid key(core): 3."),
    ({"name": "a", "core": True, "type": "forward"}, "invalid key(core): true."),
    ({"name": "a", "core": 3, "type": "mirror"}, "invalid key(type): mirror."),
    ({"name": "", "core": 3, "type": "forward"},
     "invalid key(name): . invalid component name '' (letters, digits, _ . -; up to 32)."),
])
def test_component_start_bad_body_is_400(full, body, text):
    assert_error(call(full, "POST", "vfs/1/components", body), 400, text)


def test_component_start_refused_by_process_is_400_with_reason(full):
    res = call(full, "POST", "vfs/1/components", {"name": "a", "core": 9, "type": "forward"})
    assert_error(res, 400, "command error: core 9 is not a worker lcore of this process.")


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"", b"[1, 2]"])
def test_non_json_body_is_400(full, raw):
    res = call(full, "POST", "vfs/1/components", raw=raw)
    assert_error(res, 400, "Not in json format.")


def test_component_stop_204_then_unknown_is_404(full):
    call(full, "POST", "vfs/1/components", {"name": "fw1", "core": 5, "type": "forward"})
    assert call(full, "DELETE", "vfs/1/components/fw1").status_code == 204
    assert_error(call(full, "DELETE", "vfs/1/components/fw1"), 404,
                 "component 'fw1' not found.")


def _with_forwarder(s):
    call(s, "POST", "vfs/1/components", {"name": "fw1", "core": 3, "type": "forward"})


def test_port_attach_with_vlan_relayed(full):
    _with_forwarder(full)
    body = {"action": "attach", "port": "ring:0", "dir": "tx",
            "vlan": {"operation": "add", "id": 677, "pcp": 0}}
    assert call(full, "PUT", "vfs/1/components/fw1/ports", body).status_code == 204
    assert full.vf.log[-1] == ("port", {**body, "name": "fw1"})
    assert [c for c, _ in full.vf.log].count("status") == 0  # no extra round trip


def test_port_attach_without_vlan_defaults_to_none(full):
    _with_forwarder(full)
    body = {"action": "attach", "port": "phy:0", "dir": "rx", "nq": 1}
    assert call(full, "PUT", "vfs/1/components/fw1/ports", body).status_code == 204
    assert full.vf.log[-1][1]["vlan"] == {"operation": "none", "id": 0, "pcp": 0}
    assert full.vf.log[-1][1]["nq"] == 1


@pytest.mark.parametrize("body,text", [
    ({"action": "attach", "dir": "rx"}, "key(port) required."),
    ({"action": "attach", "port": "ring:0"}, "key(dir) required."),
    ({"action": "plug", "port": "ring:0", "dir": "rx"}, "invalid key(action): plug."),
    ({"action": "attach", "port": "tap:0", "dir": "rx"},
     "invalid key(port): tap:0. port type 'tap' is not supported (phy, ring, vhost)."),
    ({"action": "attach", "port": "ring:0", "dir": "in"}, "invalid key(dir): in."),
    ({"action": "attach", "port": "phy:0", "dir": "rx", "nq": -1},
     "invalid key(nq): -1. queue -1 is out of range (0-1023)."),
    ({"action": "attach", "port": "ring:0", "dir": "rx", "vlan": {"operation": "push"}},
     'invalid key(vlan): {"operation": "push"}.'),
    ({"action": "attach", "port": "ring:0", "dir": "rx", "vlan": {"operation": "add", "pcp": 0}},
     'invalid key(vlan): {"operation": "add", "pcp": 0}.'),
    ({"action": "attach", "port": "ring:0", "dir": "rx",
      "vlan": {"operation": "add", "id": 4095, "pcp": 0}},
     "invalid key(vlan): 4095. VLAN id 4095 is out of range (0-4094)."),
    ({"action": "attach", "port": "ring:0", "dir": "rx",
      "vlan": {"operation": "add", "id": 1, "pcp": 8}},
     "invalid key(vlan): 8. VLAN PCP 8 is out of range (0-7)."),
])
def test_port_bad_body_is_400(full, body, text):
    _with_forwarder(full)
    assert_error(call(full, "PUT", "vfs/1/components/fw1/ports", body), 400, text)


def test_port_on_unknown_component_is_404(full):
    body = {"action": "attach", "port": "ring:0", "dir": "rx"}
    assert_error(call(full, "PUT", "vfs/1/components/nope/ports", body), 404,
                 "component 'nope' not found.")
    assert [c for c, _ in full.vf.log] == ["port"]  # the process's 404, no status round trip


def test_port_refused_by_process_is_400_with_reason(full):
    _with_forwarder(full)
    for port in ("ring:0", "ring:1"):
        res = call(full, "PUT", "vfs/1/components/fw1/ports",
                   {"action": "attach", "port": port, "dir": "rx"})
    assert_error(res, 400, "command error: forward 'fw1' takes 1 rx port.")


def test_classifier_table_mac_and_vlan_relayed(full):
    mac = {"action": "add", "type": "mac", "mac_address": "FA:16:3E:7D:CC:35", "port": "ring:0"}
    vlan = {"action": "add", "type": "vlan", "vlan": 475, "mac_address": "FA:16:3E:7D:CC:35",
            "port": "ring:1"}
    assert call(full, "PUT", "vfs/1/classifier_table", mac).status_code == 204
    assert call(full, "PUT", "vfs/1/classifier_table", vlan).status_code == 204
    assert call(full, "GET", "vfs/1").json()["classifier_table"] == [
        {"type": "mac", "value": "FA:16:3E:7D:CC:35", "port": "ring:0"},
        {"type": "vlan", "value": "475/FA:16:3E:7D:CC:35", "port": "ring:1"}]


@pytest.mark.parametrize("body,text", [
    ({"action": "add", "type": "mac", "port": "ring:0"}, "key(mac_address) required."),
    ({"action": "add", "type": "mac", "mac_address": "52:54:00:12:34", "port": "ring:0"},
     "invalid key(mac_address): 52:54:00:12:34. '52:54:00:12:34' is not a MAC address: "
     "expected six hex pairs like 52:54:00:12:34:56."),
    ({"action": "add", "type": "mac", "mac_address": "52:54:00:12:34:zz", "port": "ring:0"},
     "invalid key(mac_address): 52:54:00:12:34:zz. '52:54:00:12:34:zz' is not a MAC "
     "address: expected six hex pairs like 52:54:00:12:34:56."),
    ({"action": "add", "type": "ip", "mac_address": "52:54:00:12:34:56", "port": "ring:0"},
     "invalid key(type): ip."),
    ({"action": "add", "type": "vlan", "mac_address": "52:54:00:12:34:56", "port": "ring:0"},
     "invalid key(vlan): null."),
    ({"action": "add", "type": "vlan", "vlan": -3, "mac_address": "52:54:00:12:34:56",
      "port": "ring:0"}, "invalid key(vlan): -3. VLAN id -3 is out of range (0-4094)."),
    ({"action": "add", "type": "mac", "mac_address": "52:54:00:12:34:56", "port": "ring"},
     "invalid key(port): ring. 'ring' is not a resource UID (TYPE:ID, e.g. ring:0)."),
])
def test_classifier_table_bad_body_is_400(full, body, text):
    assert_error(call(full, "PUT", "vfs/1/classifier_table", body), 400, text)


def test_classifier_table_duplicate_refused_with_reason(full):
    body = {"action": "add", "type": "mac", "mac_address": "default", "port": "ring:0"}
    call(full, "PUT", "vfs/1/classifier_table", body)
    assert_error(call(full, "PUT", "vfs/1/classifier_table", body), 400,
                 "command error: entry default already exists.")


def _entry(i, **extra):
    return {"action": "add", "type": "mac", "vlan": None,
            "mac_address": "52:54:" + ":".join(f"{b:02x}" for b in i.to_bytes(4, "big")),
            "port": "ring:0", **extra}


def test_classifier_table_list_is_relayed_as_one_batch_of_checked_entries(full):
    body = [_entry(1), _entry(2, type="vlan", vlan=10, port="ring:1", extra="dropped")]
    assert call(full, "PUT", "vfs/1/classifier_table", body).status_code == 204
    batches = [a for c, a in full.vf.log if c == "classifier_table_batch"]
    assert batches == [{"entries": [
        _entry(1), {**_entry(2), "type": "vlan", "vlan": 10, "port": "ring:1"}]}]
    assert [e["value"] for e in call(full, "GET", "vfs/1").json()["classifier_table"]] == \
        ["52:54:00:00:00:01", "10/52:54:00:00:00:02"]


@pytest.mark.parametrize("bad,text", [
    ({"action": "add", "type": "mac", "port": "ring:0"}, "entry 1: key(mac_address) required."),
    (_entry(3, mac_address="52:54:00:12:34"), "entry 1: invalid key(mac_address): "
     "52:54:00:12:34. '52:54:00:12:34' is not a MAC address: expected six hex pairs like "
     "52:54:00:12:34:56."),
    ("add", "entry 1: Not in json format."),
])
def test_classifier_table_batch_with_one_bad_entry_is_400_naming_it_and_relays_nothing(
        full, bad, text):
    assert_error(call(full, "PUT", "vfs/1/classifier_table", [_entry(1), bad, _entry(2)]),
                 400, text)
    assert not [c for c, _ in full.vf.log if c.startswith("classifier_table")]


def test_classifier_table_batch_refused_by_the_process_changes_nothing(full):
    call(full, "PUT", "vfs/1/classifier_table", _entry(2))
    assert_error(call(full, "PUT", "vfs/1/classifier_table", [_entry(1), _entry(2)]), 400,
                 "command error: entry 1: entry 52:54:00:00:00:02 already exists.")
    assert len(call(full, "GET", "vfs/1").json()["classifier_table"]) == 1


def test_classifier_table_takes_a_65536_entry_batch_and_other_routes_keep_64_kib():
    full = Stack(timeout=30)
    full.vf = full.add(FakeVf(1))
    try:
        _big_bodies(full)
    finally:
        full.close()


def _big_bodies(full):
    body = [_entry(i) for i in range(65536)]
    raw = json.dumps(body).encode()
    assert len(raw) > 6_000_000
    res = requests.put(f"{full.url}/vfs/1/classifier_table", data=raw, timeout=60,
                       headers={"Content-Type": "application/json"})
    assert res.status_code == 204, res.text
    big = {"name": "a", "core": 3, "type": "forward", "pad": "x" * 70000}
    assert_error(call(full, "POST", "vfs/1/components", big), 413,
                 "request body too large (at most 65536 bytes).")
    huge = b"[" + b" " * (16 * 1024 * 1024) + b"]"
    assert_error(call(full, "PUT", "vfs/1/classifier_table", raw=huge), 413,
                 "request body too large (at most 16777216 bytes).")


def test_process_not_answering_is_504_then_its_state_is_read_back(full):
    full.vf.silent.add("component_start")
    t0 = time.monotonic()
    res = call(full, "POST", "vfs/1/components", {"name": "a", "core": 3, "type": "forward"})
    assert res.status_code == 504
    assert res.text == ("vf 1 did not answer 'component_start' within 0.5 s; the command may "
                        "still take effect: the controller reads its state back, GET its status.")
    assert time.monotonic() - t0 < 2
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and [c for c, _ in full.vf.log] != ["component_start",
                                                                           "status"]:
        time.sleep(0.02)
    assert [c for c, _ in full.vf.log] == ["component_start", "status"]


def test_command_that_could_not_be_sent_is_503_and_never_reaches_the_process(full):
    full.vf.silent.update({"component_start", "status"})  # a process that stopped answering
    body = {"name": "a", "core": 3, "type": "forward"}
    assert call(full, "POST", "vfs/1/components", body).status_code == 504
    # the controller now waits for the read-back status; a new command cannot be sent
    res = call(full, "PUT", "vfs/1/classifier_table",
               {"action": "add", "type": "mac", "mac_address": "default", "port": "ring:0"})
    assert res.status_code == 503
    assert res.text == ("vf 1 is busy: 'classifier_table' was not sent within 0.5 s and has no "
                        "effect.")
    assert "classifier_table" not in [c for c, _ in full.vf.log]


BAD_SWEEP = [
    ("POST", "vfs/1/components"), ("PUT", "vfs/1/components/x/ports"),
    ("PUT", "vfs/1/classifier_table"), ("PUT", "primary/ports"), ("PUT", "primary/launch"),
    ("PUT", "primary/patches"), ("PUT", "primary/forward"),
]
BAD_BODIES = [None, {}, {"action": None, "port": None, "name": None, "core": None, "type": None,
                         "dir": None, "src": None, "dst": None, "mac_address": None,
                         "proc_name": None, "client_id": None, "eal": None, "app": None},
              {"action": [], "port": {}, "dir": 1.5, "vlan": "x", "core": 1e9, "name": ["a"]}]


@pytest.mark.parametrize("method,path", BAD_SWEEP)
def test_client_mistakes_never_give_500(full, method, path):
    for body in BAD_BODIES:
        res = call(full, method, path, body)
        assert res.status_code in (400, 404), (body, res.status_code, res.text)
        assert res.text
