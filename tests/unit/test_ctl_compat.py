"""What upstream SPP 20.x clients send and read, and input the controller cannot be hurt by.

Runs the real controller over TCP against fake processes (tests/fakes.py):
the fakes log what the controller relayed, so each test also proves what a
bad request did NOT relay.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import FakePrimary, FakeVf, Stack  # noqa: E402

from spp import wire  # noqa: E402


@pytest.fixture
def full():
    s = Stack(timeout=0.5, heartbeat=0.1)
    s.pri = s.add(FakePrimary())
    s.vf = s.add(FakeVf(1))
    yield s
    s.close()


def call(s, method, path, body=None, raw=None, headers=None):
    url = f"{s.url}/{path}" if not path.startswith("/") else f"{s.base}{path}"
    if raw is not None:
        headers = {"Content-Type": "application/json", **(headers or {})}
        return requests.request(method, url, data=raw, timeout=5, headers=headers)
    return requests.request(method, url, json=body, timeout=5)


def relayed(proc, cmd=None):
    return [(c, a) for c, a in proc.log if cmd is None or c == cmd]


def fw1(s):
    assert call(s, "POST", "vfs/1/components",
                {"name": "fw1", "core": 3, "type": "forward"}).status_code == 204


# ---- upstream clients' requests ---------------------------------------

@pytest.mark.parametrize("vlan", [{}, None])
def test_attach_with_empty_or_missing_vlan_is_no_vlan_operation(full, vlan):
    fw1(full)
    body = {"action": "attach", "port": "ring:0", "dir": "rx"}
    if vlan is not None:
        body["vlan"] = vlan
    assert call(full, "PUT", "vfs/1/components/fw1/ports", body).status_code == 204
    assert relayed(full.vf, "port")[-1][1]["vlan"] == {"operation": "none", "id": 0, "pcp": 0}


def test_vlan_del_needs_no_id_or_pcp(full):
    fw1(full)
    body = {"action": "attach", "port": "ring:0", "dir": "tx", "vlan": {"operation": "del"}}
    assert call(full, "PUT", "vfs/1/components/fw1/ports", body).status_code == 204
    assert relayed(full.vf, "port")[-1][1]["vlan"] == {"operation": "del", "id": 0, "pcp": 0}


def test_detach_as_upstream_cli_sends_it_with_empty_vlan(full):
    fw1(full)
    call(full, "PUT", "vfs/1/components/fw1/ports",
         {"action": "attach", "port": "ring:0", "dir": "rx", "vlan": {}})
    res = call(full, "PUT", "vfs/1/components/fw1/ports",
               {"action": "detach", "port": "ring:0", "dir": "rx", "vlan": {}})
    assert res.status_code == 204
    assert relayed(full.vf, "port")[-1][1] == {"action": "detach", "port": "ring:0",
                                              "dir": "rx", "name": "fw1"}


def test_add_vlantag_with_string_numbers_as_upstream_accepts(full):
    fw1(full)
    body = {"action": "attach", "port": "ring:0", "dir": "tx",
            "vlan": {"operation": "add", "id": "677", "pcp": "3"}}
    assert call(full, "PUT", "vfs/1/components/fw1/ports", body).status_code == 204
    assert relayed(full.vf, "port")[-1][1]["vlan"] == {"operation": "add", "id": 677, "pcp": 3}


def test_queue_form_in_body_is_relayed_as_port_and_nq(full):
    fw1(full)
    body = {"action": "attach", "port": "phy:0nq1", "dir": "rx", "vlan": {}}
    assert call(full, "PUT", "vfs/1/components/fw1/ports", body).status_code == 204
    args = relayed(full.vf, "port")[-1][1]
    assert (args["port"], args["nq"]) == ("phy:0", 1)


def test_classifier_mac_is_an_alias_of_classifier(full):
    res = call(full, "POST", "vfs/1/components",
               {"name": "cls", "core": 3, "type": "classifier_mac"})
    assert res.status_code == 204


@pytest.mark.parametrize("kind, extra", [("mac", {}), ("vlan", {"vlan": "475"})])
def test_default_mac_in_mac_and_vlan_entries(full, kind, extra):
    body = {"action": "add", "type": kind, "mac_address": "default", "port": "ring:0", **extra}
    assert call(full, "PUT", "vfs/1/classifier_table", body).status_code == 204
    args = relayed(full.vf, "classifier_table")[-1][1]
    assert args["mac_address"] == "default"
    assert args["vlan"] == (475 if kind == "vlan" else None)


def test_unknown_path_and_wrong_method_answer_as_upstream(full):
    res = call(full, "GET", "/v1/nope")
    assert (res.status_code, res.text) == (404, "Not found: '/v1/nope'")
    assert res.headers["Content-Type"].startswith("text/plain")
    res = call(full, "POST", "processes", {})
    assert (res.status_code, res.text) == (405, "Method not allowed.")
    assert "GET" in res.headers["Allow"]


def test_invalid_value_is_the_400_upstream_meant(full):
    res = call(full, "POST", "vfs/1/components", {"name": "a", "core": 3, "type": "mirror"})
    assert (res.status_code, res.text) == (400, "invalid key(type): mirror.")


# ---- input the controller cannot be hurt by -----------------------------

@pytest.mark.parametrize("raw_id", ["%C2%B2", "%D9%A1", "%EF%BC%91", "1.0", "-1", "0x1", " 1"])
def test_ids_that_are_not_ascii_digits_name_no_process(full, raw_id):
    for method in ("GET", "DELETE"):
        res = requests.request(method, f"{full.url}/vfs/{raw_id}", timeout=5)
        assert res.status_code == 404 and res.text.startswith("Not found: '/v1/vfs/"), res.text
    assert relayed(full.vf) == []  # vf 1 got nothing, in particular no exit
    assert call(full, "GET", "processes").json()[1] == {"type": "vf", "client-id": 1}


def test_five_thousand_digit_id_is_404_quickly(full):
    t0 = time.monotonic()
    res = call(full, "GET", "vfs/" + "1" * 5000)
    assert res.status_code == 404 and len(res.text) < 300
    assert time.monotonic() - t0 < 1


def test_ten_digit_id_out_of_any_range_is_sec_id_not_found(full):
    assert call(full, "GET", "vfs/9999999999").text == "sec_id 9999999999 not found."


@pytest.mark.parametrize("raw", [b"[" * 30000 + b"]" * 30000,
                                 b'{"a":' * 10000 + b"1" + b"}" * 10000])
def test_deeply_nested_json_is_400(full, raw):
    res = call(full, "POST", "vfs/1/components", raw=raw)
    assert (res.status_code, res.text) == (400, "Not in json format.")


def test_body_over_the_limit_is_413_and_never_relayed(full):
    body = {"name": "x" * 600_000, "core": 3, "type": "forward"}
    res = call(full, "POST", "vfs/1/components", body)
    assert res.status_code == 413 and "too large" in res.text
    assert relayed(full.vf) == []


def test_long_name_inside_the_body_limit_is_400_and_never_relayed(full):
    body = {"name": "\u00e9" * 10_000, "core": 3, "type": "forward"}  # 6x when \\u-escaped
    res = call(full, "POST", "vfs/1/components", body)
    assert res.status_code == 400
    assert res.text.startswith("invalid key(name): ") and "up to 32" in res.text
    assert len(res.text) < 300
    assert relayed(full.vf) == []


def test_ring_id_beyond_the_core_is_refused_by_the_controller(full):
    body = {"action": "add", "type": "mac", "mac_address": "52:54:00:12:34:56",
            "port": "ring:4294967296"}
    res = call(full, "PUT", "vfs/1/classifier_table", body)
    assert res.text == ("invalid key(port): ring:4294967296. ring:4294967296 is out of range "
                        "(ring:0-ring:63).")
    assert relayed(full.vf) == []


def test_vlan_4095_is_refused_everywhere_alike(full):
    body = {"action": "add", "type": "vlan", "vlan": 4095, "mac_address": "default",
            "port": "ring:0"}
    assert call(full, "PUT", "vfs/1/classifier_table", body).status_code == 400
    assert relayed(full.vf) == []


@pytest.mark.parametrize("eal, app, reason", [
    ({"-l": "x" * 600_000}, {}, "too large"),
    ({"-l": "2 3"}, {}, "printable word"),
    ({"-l": "2,3\n{}"}, {}, "printable word"),
    ({"--evil": "1"}, {}, "is not one spp_vf takes"),
    ({"-l": "2,3"}, {"--client-id": "3"}, "differs from client_id 2"),
    ({f"-{i}": "1" for i in range(40)}, {}, "too many"),
])
def test_launch_options_are_bounded_and_known(full, eal, app, reason):
    body = {"proc_name": "spp_vf", "client_id": "2", "eal": eal, "app": app}
    res = call(full, "PUT", "primary/launch", body)
    assert res.status_code in (400, 413) and reason.lower() in res.text.lower(), res.text
    assert relayed(full.pri, "launch") == []


WRONG_TYPES = [None, True, 1.5, -1, "", "x" * 100, [], {}, [1], {"a": 1}]
BODIES = {
    ("POST", "vfs/1/components"): {"name": "a", "core": 3, "type": "forward"},
    ("PUT", "vfs/1/components/fw1/ports"): {"action": "attach", "port": "ring:0", "dir": "rx",
                                           "vlan": {"operation": "add", "id": 1, "pcp": 0}},
    ("PUT", "vfs/1/classifier_table"): {"action": "add", "type": "vlan", "vlan": 1,
                                        "mac_address": "52:54:00:12:34:56", "port": "ring:0"},
    ("PUT", "primary/ports"): {"action": "add", "port": "ring:0"},
    ("PUT", "primary/patches"): {"src": "phy:0", "dst": "phy:1"},
    ("PUT", "primary/forward"): {"action": "start"},
    ("PUT", "primary/launch"): {"proc_name": "spp_vf", "client_id": "2",
                                "eal": {"-l": "2,3"}, "app": {}},
}


@pytest.mark.parametrize("method, path", list(BODIES))
def test_wrong_json_type_for_every_key_is_a_4xx_with_a_reason(full, method, path):
    fw1(full)
    good = BODIES[(method, path)]
    keys = [(k, None) for k in good] + [("vlan", k) for k in
                                         (good.get("vlan") if isinstance(good.get("vlan"), dict)
                                          else {})]
    for key, sub in keys:
        for bad in WRONG_TYPES:
            body = json.loads(json.dumps(good))
            if sub is None:
                body[key] = bad
            else:
                body[key][sub] = bad
            res = call(full, method, path, body)
            if res.status_code == 204:  # only values upstream also treats as valid
                assert (key, sub) in {("vlan", None), ("eal", None), ("app", None)} and \
                    bad in (None, {}, "", [], -1) or (key, bad) == ("app", {}), (key, sub, bad)
                continue
            assert res.status_code in (400, 404, 413), (key, sub, bad, res.status_code, res.text)
            assert res.text and len(res.text) < 400 and "\n" not in res.text


def test_relayed_line_is_bounded_by_the_controller(full):
    conn = full.ctl.registry.vfs[1]
    from spp.errors import TooLarge

    with pytest.raises(TooLarge, match="too large to relay"):
        full.run(conn.request("status", {"x": "y" * (wire.MAX_REQUEST + 1)}))
    assert relayed(full.vf) == []


# ---- the OpenAPI description is served ------------------------------------

def test_openapi_is_served_and_equals_the_file_in_the_repo(full):
    doc = call(full, "GET", "openapi.json").json()
    src = Path(__file__).resolve().parents[2] / "spp" / "ctl" / "openapi.yaml"
    assert doc == yaml.safe_load(src.read_text())
    assert doc["openapi"].startswith("3.")
    routes = {(r.method, r.resource.canonical) for r in full.ctl._runner.app.router.routes()
              if r.method != "HEAD" and r.resource is not None}
    documented = {(m.upper(), "/v1" + p) for p, ops in doc["paths"].items()
                  for m in ops if m != "parameters"}
    api = {r for r in routes if r[1].startswith("/v1/") and "openapi.yaml" not in r[1]}
    assert api == documented


# ---- the controller's side of the link ----------------------------------------

def test_hello_with_another_protocol_version_is_rejected_with_the_reason(full):
    old = FakeVf(2)
    old.version = 1
    assert full.add(old).rejected == \
        "protocol version 1 is not supported (this controller speaks 2)."


def test_process_that_stops_answering_heartbeats_is_dropped(full):
    full.vf.deaf = True
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and 1 in full.ctl.registry.vfs:
        time.sleep(0.05)
    assert 1 not in full.ctl.registry.vfs
    assert full.ctl.registry.primary is not None  # the answering primary stays


def test_garbage_and_oversized_lines_from_a_process_do_not_cost_its_link(full):
    async def garbage():
        w = full.vf.writer
        w.write(b"not json\n[1,2]\n" + b"x" * (wire.MAX_REPLY + 10) + b"\n{}\n")
        await w.drain()

    full.run(garbage())
    time.sleep(0.3)
    assert call(full, "GET", "vfs/1").status_code == 200
    assert full.ctl.registry.vfs[1].stats["oversized"] == 1


def test_non_hello_first_line_is_rejected(full):
    with socket.create_connection(("127.0.0.1", full.ctl.sec_port), timeout=5) as sock:
        sock.sendall(b'{"id": 1, "cmd": "exit"}\n')
        answer = sock.makefile().readline()
    assert json.loads(answer) == {"reject": "expected a hello message."}
