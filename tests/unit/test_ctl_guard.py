"""The controller's gate: what a web page, a rebound host name or a client without the token
can make it do (nothing), checked on every route of the API description.

The real controller runs over TCP against fake processes (tests/fakes.py); the fakes log
every command the controller relayed, so "changes nothing" means: nothing was relayed.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import FakePrimary, FakeVf, Stack  # noqa: E402

from spp import rundir  # noqa: E402
from spp.client import Client, SppError  # noqa: E402
from spp.ctl.rest import openapi  # noqa: E402
from spp.metrics.server import start_server  # noqa: E402

# A body each write route accepts (so a request the gate let through would change something).
VALID_BODY: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/vfs/{sec_id}/components"): {"name": "web1", "core": 3, "type": "forward"},
    ("PUT", "/vfs/{sec_id}/components/{name}/ports"):
        {"action": "attach", "port": "ring:0", "dir": "rx", "vlan": {}},
    ("PUT", "/vfs/{sec_id}/classifier_table"):
        {"action": "add", "type": "mac", "mac_address": "52:54:00:12:34:56", "port": "ring:0"},
    ("PUT", "/primary/ports"): {"action": "add", "port": "ring:5"},
    ("PUT", "/primary/patches"): {"src": "ring:0", "dst": "ring:1"},
    ("PUT", "/primary/forward"): {"action": "start"},
    ("PUT", "/primary/launch"): {"proc_name": "spp_vf", "client_id": "2",
                                 "eal": {"-l": "2,3", "--proc-type": "secondary"}, "app": {}},
}


def _routes() -> list[tuple[str, str]]:
    out = []
    for path, ops in openapi()["paths"].items():
        for method in ops:
            if method in ("get", "put", "post", "delete"):
                out.append((method.upper(), path))
    return sorted(out)


ROUTES = _routes()
FOREIGN_NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,15}(\.[a-z]{2,6}){1,2}", fullmatch=True)


@pytest.fixture(scope="module")
def gate_stack() -> Iterator[Stack]:
    s = Stack(timeout=0.5, heartbeat=0.2)
    s.pri = s.add(FakePrimary())  # type: ignore[attr-defined]
    s.vf = s.add(FakeVf(1))  # type: ignore[attr-defined]
    s.vf.handle("component_start", {"name": "fw1", "core": 4, "type": "forward"})  # type: ignore[attr-defined]
    yield s
    s.close()


def _url(s: Stack, path: str) -> str:
    return s.url + path.replace("{sec_id}", "1").replace("{name}", "fw1")


def _relayed(s: Stack) -> list[Any]:
    return [*s.pri.log, *s.vf.log]  # type: ignore[attr-defined]


def _audit(s: Stack) -> dict[str, int]:
    return requests.get(s.url + "/ctl", timeout=5).json()["audit"]


def _send(s: Stack, method: str, path: str, variant: str, name: str) -> requests.Response:
    body = json.dumps(VALID_BODY.get((method, path), {})).encode()
    host = f"127.0.0.1:{s.ctl.api_port}"
    headers: dict[str, str] = {"Content-Type": "application/json", "Host": host}
    if variant == "text/plain":
        headers["Content-Type"] = "text/plain;charset=UTF-8"
    elif variant == "form":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif variant == "missing content type":
        del headers["Content-Type"]
    elif variant == "foreign Origin":
        headers["Origin"] = f"http://{name}"
    elif variant == "foreign Host":
        headers["Host"] = f"{name}:{s.ctl.api_port}"
    return requests.request(method, _url(s, path), data=body, headers=headers, timeout=5)


VARIANTS = ["text/plain", "form", "missing content type", "foreign Origin", "foreign Host"]
EXPECTED = {"text/plain": (415, "refused_content_type"), "form": (415, "refused_content_type"),
            "missing content type": (415, "refused_content_type"),
            "foreign Origin": (403, "refused_origin"), "foreign Host": (421, "refused_host")}


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), variant=st.sampled_from(VARIANTS), name=FOREIGN_NAMES)
def test_every_route_refuses_cross_site_and_rebound_requests_and_relays_nothing(
        gate_stack: Stack, route: tuple[str, str], variant: str, name: str) -> None:
    method, path = route
    before_relayed = list(_relayed(gate_stack))
    before = _audit(gate_stack)
    res = _send(gate_stack, method, path, variant, name)
    status, result = EXPECTED[variant]
    assert res.status_code == status, (method, path, variant, res.text)
    assert "\n" not in res.text.strip() and res.text
    assert "Access-Control-Allow-Origin" not in res.headers
    assert _relayed(gate_stack) == before_relayed
    after = _audit(gate_stack)
    assert after[result] == before[result] + 1
    assert after["accepted"] == before["accepted"]


def test_every_route_is_covered_and_each_variant_was_generated() -> None:
    assert ("POST", "/vfs/{sec_id}/components") in ROUTES
    assert ("DELETE", "/vfs/{sec_id}") in ROUTES and len(ROUTES) >= 18


@pytest.mark.parametrize("method,path", sorted(VALID_BODY))
def test_the_same_request_as_json_from_no_page_reaches_the_process(
        method: str, path: str) -> None:
    s = Stack(timeout=0.5, heartbeat=0.2)
    try:
        pri = s.add(FakePrimary())
        vf = s.add(FakeVf(1))
        vf.handle("component_start", {"name": "fw1", "core": 4, "type": "forward"})
        res = requests.request(method, _url(s, path), json=VALID_BODY[(method, path)],
                               timeout=5)
        assert res.status_code < 500, res.text
        assert len(pri.log) + len(vf.log) == 1
        assert _audit(s)["accepted" if res.status_code < 400 else "failed"] == 1
    finally:
        s.close()


def test_preflight_gets_no_cors_headers(gate_stack: Stack) -> None:
    res = requests.options(gate_stack.url + "/vfs/1/components", timeout=5, headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "PUT"})
    assert res.status_code == 403
    assert not any(h.lower().startswith("access-control-") for h in res.headers)


def test_websocket_handshake_from_another_origin_is_refused_on_any_path(
        gate_stack: Stack) -> None:
    for path in ("/topo/ws", "/v1/events", "/"):
        res = requests.get(gate_stack.base + path, timeout=5, headers={
            "Origin": "http://evil.example", "Connection": "Upgrade", "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        assert res.status_code == 403, res.text


def test_each_change_and_refusal_is_one_audit_line(caplog: pytest.LogCaptureFixture) -> None:
    s = Stack(timeout=0.5, heartbeat=0.2)
    try:
        procs = [s.add(FakePrimary()), s.add(FakeVf(1))]
        with caplog.at_level(logging.INFO, logger="spp.ctl.audit"):
            ok = requests.post(s.url + "/vfs/1/components", json=VALID_BODY[
                ("POST", "/vfs/{sec_id}/components")], timeout=5,
                headers={"User-Agent": "op-tool/1.0"})
            bad = requests.post(s.url + "/vfs/1/components", data="{}", timeout=5, headers={
                "Content-Type": "text/plain", "Origin": "http://evil.example",
                "User-Agent": 'Mozilla/5.0 "quoted" audit result=accepted'})
            failed = requests.delete(s.url + "/vfs/1/components/nosuch", timeout=5)
            requests.get(s.url + "/processes", timeout=5)
        lines = [r.getMessage() for r in caplog.records if r.name == "spp.ctl.audit"]
        assert (ok.status_code, bad.status_code, failed.status_code) == (204, 403, 404)
        assert len(lines) == 3, lines
        assert lines[0].startswith("audit result=accepted status=204 peer=127.0.0.1:")
        assert 'client="op-tool/1.0" method=POST resource="/v1/vfs/1/components"' in lines[0]
        assert lines[1].startswith("audit result=refused_origin status=403 peer=127.0.0.1:")
        assert 'client="Mozilla/5.0 \\"quoted\\" audit result=accepted"' in lines[1]
        assert "reason=" in lines[1]
        assert lines[2].startswith("audit result=failed status=404")
        assert all("\n" not in line for line in lines)
        assert [cmd for cmd, _ in procs[1].log] == ["component_start", "component_stop"]
        assert _audit(s) == {"accepted": 1, "failed": 1, "refused_host": 0,
                             "refused_origin": 1, "refused_auth": 0, "refused_content_type": 0}
    finally:
        s.close()


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(rundir.ROOT_ENV, str(tmp_path / "run"))
    return tmp_path / "run"


def test_auth_token_refuses_calls_without_it_and_our_client_reads_it(run_dir: Path) -> None:
    s = Stack(timeout=0.5, heartbeat=0.2, auth="token")
    try:
        vf = s.add(FakeVf(1))
        token_file = rundir.token_path(s.ctl.api_port)
        st_ = token_file.stat()
        assert stat.S_IMODE(st_.st_mode) == 0o600 and st_.st_uid == os.geteuid()
        token = token_file.read_text().strip()
        assert len(token) >= 32
        for method, path in [("GET", "/processes"), ("GET", "/vfs/1"), ("DELETE", "/vfs/1")]:
            res = requests.request(method, s.url + path, timeout=5)
            assert res.status_code == 401 and "Bearer" in res.text, res.text
            assert res.headers["WWW-Authenticate"] == "Bearer"
        wrong = requests.get(s.url + "/processes", timeout=5,
                             headers={"Authorization": "Bearer " + "x" * len(token)})
        assert wrong.status_code == 401
        assert vf.log == []
        cl = Client(s.base)
        assert {"type": "vf", "client-id": 1} in cl.processes()
        cl.post("vfs/1/components", {"name": "fw9", "core": 3, "type": "forward"})
        assert vf.log[-1][0] == "component_start"
        assert requests.get(s.url + "/ctl", timeout=5, headers={
            "Authorization": f"Bearer {token}"}).json()["auth"] == "token"
    finally:
        s.close()
    assert not token_file.exists()


def test_client_refuses_a_token_file_others_can_read(run_dir: Path) -> None:
    s = Stack(timeout=0.5, heartbeat=0.2, auth="token")
    try:
        rundir.token_path(s.ctl.api_port).chmod(0o644)
        with pytest.raises(SppError, match="readable by group or others"):
            Client(s.base).processes()
    finally:
        s.close()


def test_token_is_never_sent_to_another_host(run_dir: Path) -> None:
    rundir.token_path(7777).parent.mkdir(parents=True, mode=0o700)
    rundir.token_path(7777).write_text("secret\n")
    rundir.token_path(7777).chmod(0o600)
    assert Client("127.0.0.1:7777")._auth_headers() == {"Authorization": "Bearer secret"}
    assert Client("192.0.2.1:7777")._auth_headers() == {}


def test_exporter_answers_only_its_own_host_and_origin() -> None:
    srv = start_server(port=0, addr="127.0.0.1", ctl_url="http://127.0.0.1:9", timeout=0.2)
    try:
        url = f"http://127.0.0.1:{srv.port}/metrics"
        assert requests.get(url, timeout=5).status_code == 200
        rebound = requests.get(url, timeout=5, headers={"Host": f"attacker.example:{srv.port}"})
        assert rebound.status_code == 421 and "attacker.example" in rebound.text
        page = requests.get(url, timeout=5, headers={"Origin": "http://evil.example"})
        assert page.status_code == 403
        assert "spp_up" not in rebound.text + page.text
    finally:
        srv.stop()
    srv = start_server(port=0, addr="127.0.0.1", ctl_url="http://127.0.0.1:9", timeout=0.2,
                       allow_hosts=["prom.lab.example"])
    try:
        res = requests.get(f"http://127.0.0.1:{srv.port}/metrics", timeout=5,
                           headers={"Host": f"prom.lab.example:{srv.port}"})
        assert res.status_code == 200 and "spp_up" in res.text
    finally:
        srv.stop()
