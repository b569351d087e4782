"""REST API v1 /mirrors routes of `spp ctl`, against a fake spp_mirror (its real model on a
recording data plane) over real TCP."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import FakeMirror, FakePrimary, FakeVf, running  # noqa: E402
from fakes import rest as call  # noqa: E402


@pytest.fixture
def stack():
    with running(pri=FakePrimary(), vf=FakeVf(1), mirror=FakeMirror(3)) as s:
        yield s


def test_processes_list_the_mirror(stack):
    assert {"type": "mirror", "client-id": 3} in call(stack, "GET", "processes").json()


def test_a_second_process_with_the_mirrors_client_id_is_refused(stack):
    other = stack.add(FakeVf(3))
    assert other.rejected == "client-id 3 is already connected."


def test_upstreams_calls_build_a_mirror_and_status_shows_it(stack):
    assert call(stack, "POST", "mirrors/3/components",
                {"name": "mr1", "core": 3, "type": "mirror"}).status_code == 204
    for port, direction in (("ring:0", "rx"), ("ring:1", "tx"), ("ring:2", "tx")):
        res = call(stack, "PUT", "mirrors/3/components/mr1/ports",
                   {"action": "attach", "port": port, "dir": direction})
        assert res.status_code == 204, res.text
    st = call(stack, "GET", "mirrors/3").json()
    assert st["components"][0] == {"core": 3, "name": "mr1", "type": "mirror",
                                   "rx_port": [{"port": "ring:0"}],
                                   "tx_port": [{"port": "ring:1"}, {"port": "ring:2"}]}
    assert st["ports"] == ["phy:0", "phy:1", "ring:0", "ring:1", "ring:2"]
    assert stack.mirror.dp.comps[0] == ("mirror", ["ring:0"], ["ring:1", "ring:2"])
    res = call(stack, "PUT", "mirrors/3/components/mr1/ports",
               {"action": "detach", "port": "ring:2", "dir": "tx"})
    assert res.status_code == 204
    assert call(stack, "DELETE", "mirrors/3/components/mr1").status_code == 204
    assert stack.mirror.dp.comps == {}


@pytest.mark.parametrize("method, path, body, status, text", [
    ("POST", "mirrors/3/components", {"name": "a", "core": 3, "type": "forward"}, 400,
     "invalid key(type): forward."),
    ("POST", "mirrors/3/components", {"name": "a", "type": "mirror"}, 400,
     "key(core) required."),
    ("POST", "mirrors/3/components", {"name": "a", "core": 9, "type": "mirror"}, 400,
     "command error: core 9 is not a worker lcore of this process (workers: 3,4)"),
    ("PUT", "mirrors/3/components/zz/ports", {"action": "attach", "port": "ring:0", "dir": "rx"},
     404, "component 'zz' not found."),
    ("PUT", "mirrors/3/components/zz/ports", {"action": "plug", "port": "ring:0", "dir": "rx"},
     400, "invalid key(action): plug."),
    ("DELETE", "mirrors/3/components/zz", None, 404, "component 'zz' not found."),
    ("GET", "mirrors/9", None, 404, "sec_id 9 not found."),
    ("GET", "mirrors/1", None, 404, "sec_id 1 not found."),  # vf 1 is not a mirror
])
def test_bad_calls_get_one_line_reasons(stack, method, path, body, status, text):
    res = call(stack, method, path, body)
    assert (res.status_code, res.text) == (status, text)


def test_a_third_tx_port_is_refused_with_the_models_reason(stack):
    call(stack, "POST", "mirrors/3/components", {"name": "mr1", "core": 3, "type": "mirror"})
    for port in ("ring:1", "ring:2"):
        call(stack, "PUT", "mirrors/3/components/mr1/ports",
             {"action": "attach", "port": port, "dir": "tx"})
    res = call(stack, "PUT", "mirrors/3/components/mr1/ports",
               {"action": "attach", "port": "ring:3", "dir": "tx"})
    assert (res.status_code, res.text) == (
        400, "command error: component 'mr1' (mirror) takes 2 tx port(s) and already has "
             "ring:1, ring:2")


def test_delete_makes_the_mirror_exit(stack):
    assert call(stack, "DELETE", "mirrors/3").status_code == 204
    assert stack.mirror.log[-1] == ("exit", {})
