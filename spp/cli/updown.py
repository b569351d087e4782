"""`spp up` / `spp down`: host topology, controller, primary and vf 1 in the background.

Uses spp.host.updown.host_up/host_down and the process mains through
`spp primary start` / `spp vf start`. Pid and log files live in the instance's
run directory (spp.rundir: <run dir>/<file prefix>/): ctl.pid/.log,
primary.pid/.log, vf1.pid/.log, and metrics.pid/.log of the Prometheus exporter
(`spp metrics serve` on 127.0.0.1:9877).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from spp import rundir
from spp.client import Client, SppError
from spp.metrics.server import DEFAULT_ADDR as METRICS_ADDR
from spp.metrics.server import DEFAULT_PORT as METRICS_PORT


class UpError(Exception):
    pass


def _load_topology(name: str) -> Any:
    from spp.host.topology import load_topology

    return load_topology(None if name == "default" else Path(name))


INSTANCE = rundir.DEFAULT_INSTANCE


def _spawn(name: str, argv: list[str]) -> subprocess.Popen[bytes]:
    log_file = rundir.log_path(name, INSTANCE)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "spp.cli.main", *argv],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    rundir.write_pid(rundir.pid_path(name, INSTANCE), proc.pid)
    return proc


def _log_tail(name: str, lines: int = 3) -> str:
    try:
        text = rundir.log_path(name, INSTANCE).read_text(errors="replace")
    except OSError:
        return ""
    return " | ".join(text.strip().splitlines()[-lines:])


def _wait(name: str, proc: subprocess.Popen[bytes], ready: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    log_file = rundir.log_path(name, INSTANCE)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise UpError(f"{name} exited with code {proc.returncode} "
                          f"(log {log_file}: {_log_tail(name)})")
        with contextlib.suppress(SppError):
            if ready():
                return
        time.sleep(0.2)
    raise UpError(f"{name} did not come up within {timeout:g} s "
                  f"(log {log_file}: {_log_tail(name)})")


def _metrics_ready(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as res:
            return bool(res.status == 200)
    except OSError:
        return False


def up(topology: str, ctl_bind: str, timeout: float = 30.0,
       echo: Any = print, host: bool = True, metrics: bool = True) -> None:
    """Bring everything up; on failure clean up what was started and raise UpError."""
    phys = ["spp-p0", "spp-p1"]
    if host:
        from spp.host.updown import HostError, host_up

        try:
            topo = _load_topology(topology)
            host_up(topo)
            phys = topo.phy_interfaces() or phys
        except (HostError, ValueError) as exc:
            raise UpError(str(exc)) from None
        echo(f"host topology {topo.name} up")
    cl = Client(f"{ctl_bind}:7777", timeout=2.0)
    try:
        ctl = _spawn("ctl", ["ctl", "-b", ctl_bind,
                            "--pid-file", str(rundir.pid_path("ctl", INSTANCE))])
        _wait("ctl", ctl, lambda: cl.processes() is not None, timeout)
        echo(f"spp ctl up on {ctl_bind}:7777 (pid {ctl.pid})")
        pri_args = ["primary", "start"]
        for phy in phys:
            pri_args += ["--phy", phy]
        pri_args += ["--rings", "10", "--ctl", f"{ctl_bind}:5555"]
        pri = _spawn("primary", pri_args)
        _wait("primary", pri, lambda: any(p["type"] == "primary" for p in cl.processes()),
              timeout)
        echo(f"primary up (pid {pri.pid})")
        vf = _spawn("vf1", ["vf", "start", "--client-id", "1", "--ctl", f"{ctl_bind}:6666",
                            "-l", "2-6"])
        _wait("vf1", vf, lambda: 1 in cl.vf_ids(), timeout)
        echo(f"vf 1 up (pid {vf.pid})")
        if metrics:
            url = f"http://{METRICS_ADDR}:{METRICS_PORT}/metrics"
            exp = _spawn("metrics", ["metrics", "serve", "--addr", METRICS_ADDR,
                                     "--port", str(METRICS_PORT),
                                     "--ctl-url", f"http://{ctl_bind}:7777", "--pid-file",
                                     str(rundir.pid_path("metrics", INSTANCE))])
            _wait("metrics", exp, lambda: _metrics_ready(url), timeout)
            echo(f"metrics exporter on {url} (pid {exp.pid}); "
                 f"point Prometheus at {METRICS_ADDR}:{METRICS_PORT}")
    except (UpError, OSError) as exc:
        down(ctl_bind, host=False, echo=lambda _m: None)
        raise UpError(str(exc)) from None


def down(ctl_bind: str = "127.0.0.1", topology: str = "default", host: bool = True,
         echo: Any = print) -> list[str]:
    """Stop what `up` started, even after a crash of any part; returns problems seen."""
    problems: list[str] = []
    cl = Client(f"{ctl_bind}:7777", timeout=3.0)
    with contextlib.suppress(SppError):
        for sec_id in cl.vf_ids():
            with contextlib.suppress(SppError):
                cl.delete(f"vfs/{sec_id}")
                echo(f"Exit vf {sec_id}.")
        if any(p["type"] == "primary" for p in cl.processes()):
            cl.delete("primary")
            echo("Exit primary.")
    for path in rundir.pid_files(INSTANCE):
        pid = rundir.stop_pidfile(path)
        if pid is not None:
            echo(f"stopped {path.stem} (pid {pid})")
    if host:
        try:
            from spp.host.updown import HostError, host_down

            topo = _load_topology(topology)
            from spp.host.state import load_state

            host_down(load_state(topo.name) or topo)
            echo(f"host topology {topo.name} down")
        except (ImportError, HostError, ValueError) as exc:
            problems.append(f"host down: {exc}")
    return problems
