"""REST API v1 /pcaps routes of `spp ctl`, against a fake spp_pcap (its real model on a
fake data plane) over real TCP."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import FakePcap, FakePrimary, FakeVf, running  # noqa: E402
from fakes import rest as call  # noqa: E402


@pytest.fixture
def stack():
    with running(pri=FakePrimary(), pcap=FakePcap(5)) as s:
        yield s


def test_processes_list_the_pcap(stack):
    assert {"type": "pcap", "client-id": 5} in call(stack, "GET", "processes").json()


def test_a_second_process_with_the_pcaps_client_id_is_refused(stack):
    assert stack.add(FakeVf(5)).rejected == "client-id 5 is already connected."


def test_status_start_stop_as_upstream(stack):
    st = call(stack, "GET", "pcaps/5").json()
    assert (st["client-id"], st["status"], st["master-lcore"]) == (5, "idle", 2)
    assert st["core"] == [
        {"core": 3, "role": "receive", "rx_port": [{"port": "phy:0"}]},
        {"core": 4, "role": "write", "filename": "", "files": [], "written": 4, "bytes": 100},
        {"core": 5, "role": "write", "filename": "", "files": [], "written": 5, "bytes": 100},
    ]
    assert st["counters"] == {"received": 10, "written": 9, "dropped": 1}
    assert call(stack, "PUT", "pcaps/5/capture", {"action": "start"}).status_code == 204
    st = call(stack, "GET", "pcaps/5").json()
    assert st["status"] == "running"
    assert [c.get("filename") for c in st["core"][1:]] == [
        "/tmp/cap/spp_pcap.20260102030405.phy0.1.1.pcap.lz4",
        "/tmp/cap/spp_pcap.20260102030405.phy0.2.1.pcap.lz4"]
    assert call(stack, "PUT", "pcaps/5/capture", {"action": "stop"}).status_code == 204
    st = call(stack, "GET", "pcaps/5").json()
    assert st["status"] == "idle" and st["core"][1]["filename"] == ""
    assert st["core"][1]["files"] == ["/tmp/cap/spp_pcap.20260102030405.phy0.1.1.pcap.lz4"]
    assert stack.pcap.dp.calls == ["start spp_pcap.20260102030405.phy0", "stop"]


@pytest.mark.parametrize("method, path, body, status, text", [
    ("PUT", "pcaps/5/capture", {}, 400, "key(action) required."),
    ("PUT", "pcaps/5/capture", {"action": "pause"}, 400, "invalid key(action): pause."),
    ("PUT", "pcaps/5/capture", {"action": 1}, 400, "invalid key(action): 1."),
    ("PUT", "pcaps/5/capture", {"action": "stop"}, 400, "command error: capture is not running"),
    ("GET", "pcaps/6", None, 404, "sec_id 6 not found."),
    ("GET", "pcaps/x", None, 404, None),
])
def test_bad_requests_get_upstreams_codes_and_one_line_reasons(stack, method, path, body,
                                                               status, text):
    res = call(stack, method, path, body)
    assert res.status_code == status, res.text
    if text is not None:
        assert res.text == text


def test_a_refused_start_is_a_400_with_the_cores_reason(stack):
    stack.pcap.dp.fail = "cannot write /tmp/cap/x.tmp: Permission denied"
    res = call(stack, "PUT", "pcaps/5/capture", {"action": "start"})
    assert res.status_code == 400 and "Permission denied" in res.text
    assert call(stack, "GET", "pcaps/5").json()["status"] == "idle"


def test_delete_sends_exit(stack):
    assert call(stack, "DELETE", "pcaps/5").status_code == 204
    assert ("exit", {}) in stack.pcap.log


def test_cpu_usage_lists_the_pcaps_lcores(stack):
    got = [e for e in call(stack, "GET", "cpu_usage").json() if e["proc-type"] == "pcap"]
    assert got == [{"proc-type": "pcap", "client-id": 5, "master-lcore": 2,
                    "lcores": [2, 3, 4, 5]}]
