"""`spp up` / `spp down`: host topology, controller, primary and vf 1 in the background.

Uses spp.host.updown.host_up/host_down (host helper) and the lead's process
mains through `spp primary start` / `spp vf start`. Pid and log files live in
the run dir (SPP_RUN_DIR, default /run/spp): ctl.pid/.log, primary.pid/.log,
vf1.pid/.log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from spp.client import Client, SppError
from spp.host.leftovers import pid_alive


class UpError(Exception):
    pass


def run_dir() -> Path:
    return Path(os.environ.get("SPP_RUN_DIR") or "/run/spp")


def _load_topology(name: str) -> Any:
    from spp.host.topology import load_topology

    return load_topology(None if name == "default" else Path(name))


def _spawn(name: str, argv: list[str]) -> subprocess.Popen[bytes]:
    rd = run_dir()
    rd.mkdir(parents=True, exist_ok=True)
    with (rd / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "spp.cli.main", *argv],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (rd / f"{name}.pid").write_text(f"{proc.pid}\n")
    return proc


def _log_tail(name: str, lines: int = 3) -> str:
    try:
        tail = (run_dir() / f"{name}.log").read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(tail[-lines:])


def _wait(name: str, proc: subprocess.Popen[bytes], ready: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise UpError(f"{name} exited with code {proc.returncode} "
                          f"(log {run_dir() / (name + '.log')}: {_log_tail(name)})")
        with contextlib.suppress(SppError):
            if ready():
                return
        time.sleep(0.2)
    raise UpError(f"{name} did not come up within {timeout:g} s "
                  f"(log {run_dir() / (name + '.log')}: {_log_tail(name)})")


def up(topology: str, ctl_bind: str, timeout: float = 30.0,
       echo: Any = print, host: bool = True) -> None:
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
        ctl = _spawn("ctl", ["ctl", "-b", ctl_bind, "--pid-file", str(run_dir() / "ctl.pid")])
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
    except (UpError, OSError) as exc:
        down(ctl_bind, host=False, echo=lambda _m: None)
        raise UpError(str(exc)) from None


def _is_ours(pid: int) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return pid != os.getpid() and b"spp" in cmd


def stop_pidfile(path: Path, grace: float = 3.0) -> str | None:
    """SIGTERM, then SIGKILL after `grace`, the spp process named by a pid file."""
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        path.unlink(missing_ok=True)
        return None
    msg = None
    if pid > 1 and pid_alive(pid) and _is_ours(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        msg = f"stopped {path.stem} (pid {pid})"
    path.unlink(missing_ok=True)
    return msg


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
    rd = run_dir()
    names = sorted(p.name for p in rd.glob("vf*.pid")) + ["primary.pid", "ctl.pid"]
    for name in names:
        if (rd / name).exists():
            msg = stop_pidfile(rd / name)
            if msg:
                echo(msg)
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
