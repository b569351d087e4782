"""`spp ctl --auth token`: calls without the token are refused, and our own tools (the
`spp` subcommands and shell, `spp top`, the metrics exporter) find the token and work.

Real controller and tools as processes; no DPDK process, namespace or fixed port is
needed, so this runs without the e2e lock.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from spp import rundir
from spp.testkit.stack import SPP, Stack
from spp.testkit.wait import free_port, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def token_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv(rundir.ROOT_ENV, str(tmp_path / "run"))
    with Stack(tmp_path) as s:
        s.start_ctl("--auth", "token")
        yield s


def _spp(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SPP, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SPP_CTL": f"127.0.0.1:{stack.api}"})


def test_calls_without_the_token_are_refused_and_our_tools_work_with_it(
        token_stack: Stack, tmp_path: Path) -> None:
    path = rundir.token_path(token_stack.api)
    st = path.stat()
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    base = f"http://127.0.0.1:{token_stack.api}/v1"
    for method, route in [("GET", "/processes"), ("POST", "/vfs/1/components"),
                          ("DELETE", "/primary")]:
        res = requests.request(method, base + route, json={}, timeout=10)
        assert res.status_code == 401, (route, res.text)
        assert str(path) in res.text
    token = path.read_text().strip()
    ok = requests.get(base + "/processes", timeout=10,
                      headers={"Authorization": f"Bearer {token}"})
    assert (ok.status_code, ok.json()) == (200, [])

    status = _spp(token_stack, "status")
    assert status.returncode == 0, status.stderr
    assert "  - auth: token" in status.stdout
    assert f"primary 127.0.0.1:{token_stack.pri_port}" in status.stdout
    assert "(loopback only)" in status.stdout and "warning" not in status.stdout

    top = _spp(token_stack, "top", "--once")
    assert top.returncode == 0, top.stderr

    shell = subprocess.run([*SPP, "shell", "-b", f"127.0.0.1:{token_stack.api}"],
                           input="status\nbye\n", capture_output=True, text=True, timeout=60)
    out = shell.stdout + shell.stderr
    assert "- spp-ctl:" in shell.stdout and "authentication required" not in out, out

    port = free_port()
    exporter = subprocess.Popen(
        [*SPP, "metrics", "serve", "--port", str(port), "--ctl-url", base],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        text = wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/metrics",
                                             timeout=5).text, 20, "the exporter")
        assert 'spp_up{process="ctl"} 1.0' in text
        assert 'spp_ctl_audited_requests_total{result="refused_auth"} 3.0' in text
    finally:
        exporter.terminate()
        exporter.wait(10)

    token_stack.stop("ctl")
    assert not path.exists()
