"""`spp ctl` as a real process: options, pid file, SIGTERM, busy port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import requests

from spp.testkit.wait import free_port


def test_spp_ctl_serves_rest_on_given_ports_writes_and_removes_pid_file(tmp_path):
    p, s, a = free_port(), free_port(), free_port()
    pid_file = tmp_path / "ctl.pid"
    proc = subprocess.Popen([sys.executable, "-m", "spp.cli.main", "ctl", "-b", "127.0.0.1",
                             "-p", str(p), "-s", str(s), "-a", str(a), "--pid-file",
                             str(pid_file)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                res = requests.get(f"http://127.0.0.1:{a}/v1/processes", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert res.json() == []
        assert pid_file.read_text().strip() == str(proc.pid)
        with socket.create_connection(("127.0.0.1", s)) as sock:
            sock.sendall(b'{"hello": {"type": "vf", "client_id": 3, "pid": 1, "version": 2}}\n')
            assert b'"welcome"' in sock.makefile("rb").readline()
            assert requests.get(f"http://127.0.0.1:{a}/v1/processes", timeout=2).json() == [
                {"type": "vf", "client-id": 3}]
        with socket.create_connection(("127.0.0.1", p)) as sock:
            sock.sendall(b'{"hello": {"type": "vf", "client_id": 4, "version": 2}}\n')
            assert b"accepts primary processes only" in sock.makefile("rb").readline()
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(10) == 0
        assert not pid_file.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_spp_ctl_on_busy_port_fails_with_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = subprocess.run([sys.executable, "-m", "spp.cli.main", "ctl", "-p", str(port),
                              "-s", str(free_port()), "-a", str(free_port())],
                             capture_output=True, text=True, timeout=20)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1].startswith("spp ctl: cannot listen on 127.0.0.1")
    assert "Traceback" not in res.stderr
