"""`spp up` / `spp down`: host topology, controller, primary and vf 1 in the background.

Uses spp.host.updown.host_up/host_down and the process mains through
`spp primary start` / `spp vf start`. Pid and log files live in the instance's
run directory (spp.rundir: <run dir>/<file prefix>/): ctl.pid/.log,
primary.pid/.log, vf1.pid/.log.
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


class UpError(Exception):
    pass


def _load_topology(name: str) -> Any:
    from spp.host.topology import load_topology

    return load_topology(None if name == "default" else Path(name))


def _client_id(vf_args: list[str]) -> int:
    """`--client-id N` of a spp_vf command line (the process parser has the final word)."""
    for i, tok in enumerate(vf_args):
        if tok.startswith("--client-id="):
            value = tok.split("=", 1)[1]
        elif tok == "--client-id" and i + 1 < len(vf_args):
            value = vf_args[i + 1]
        else:
            continue
        try:
            return int(value)
        except ValueError:
            raise UpError(f"topology processes.vf: --client-id '{value}' is not a number") from None
    raise UpError("topology processes.vf: --client-id is missing")


def _process_argvs(topo: Any, phys: list[str], ctl_bind: str) -> tuple[list[str], list[str]]:
    """Command lines of the primary and spp_vf: the topology's `processes`, else ours."""
    phy_args = [arg for phy in phys for arg in ("--phy", phy)]
    procs = getattr(topo, "processes", None)
    if procs is not None and procs.primary is not None:
        pri = ["primary", *phy_args, *procs.primary]
    else:
        pri = ["primary", "start", *phy_args, "--rings", "10", "--ctl", f"{ctl_bind}:5555"]
    if procs is not None and procs.vf is not None:
        vf = ["vf", *procs.vf]
    else:
        vf = ["vf", "start", "--client-id", "1", "--ctl", f"{ctl_bind}:6666", "-l", "2-6"]
    return pri, vf


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


def up(topology: str, ctl_bind: str, timeout: float = 30.0,
       echo: Any = print, host: bool = True) -> None:
    """Bring everything up; on failure clean up what was started and raise UpError."""
    phys = ["spp-p0", "spp-p1"]
    topo = None
    if host:
        from spp.host.updown import HostError, host_up

        try:
            topo = _load_topology(topology)
            host_up(topo, echo=echo)
            phys = topo.phy_interfaces() or phys
        except (HostError, ValueError) as exc:
            raise UpError(str(exc)) from None
        echo(f"host topology {topo.name} up")
    pri_args, vf_args = _process_argvs(topo, phys, ctl_bind)
    cid = _client_id(vf_args)
    cl = Client(f"{ctl_bind}:7777", timeout=2.0)
    try:
        ctl = _spawn("ctl", ["ctl", "-b", ctl_bind,
                            "--pid-file", str(rundir.pid_path("ctl", INSTANCE))])
        _wait("ctl", ctl, lambda: cl.processes() is not None, timeout)
        echo(f"spp ctl up on {ctl_bind}:7777 (pid {ctl.pid})")
        pri = _spawn("primary", pri_args)
        _wait("primary", pri, lambda: any(p["type"] == "primary" for p in cl.processes()),
              timeout)
        echo(f"primary up (pid {pri.pid}): spp {' '.join(pri_args)}")
        name = f"vf{cid}"
        vf = _spawn(name, vf_args)
        _wait(name, vf, lambda: cid in cl.vf_ids(), timeout)
        echo(f"vf {cid} up (pid {vf.pid}): spp {' '.join(vf_args)}")
    except (UpError, OSError) as exc:
        down(ctl_bind, host=False, echo=lambda _m: None)
        raise UpError(str(exc)) from None


def _recorded_topologies(topology: str | None) -> list[Any]:
    """What `down` takes down: the named topology, else every one this instance has up."""
    from spp.host.state import list_states, load_state

    if topology is not None:
        topo = _load_topology(topology)
        return [load_state(topo.name) or topo]
    states = [s for s in list_states() if s.file_prefix == INSTANCE]
    return states or [_load_topology("default")]


def down(ctl_bind: str = "127.0.0.1", topology: str | None = None, host: bool = True,
         echo: Any = print) -> list[str]:
    """Stop what `up` started, even after a crash of any part; returns problems seen.

    Without `topology`, every topology recorded for this instance (the one `spp up`
    brought up) is taken down, or the default one when none is recorded.
    """
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

            for target in _recorded_topologies(topology):
                host_down(target)
                name = getattr(target, "topology", None) or target.name
                echo(f"host topology {name} down")
        except (ImportError, HostError, ValueError) as exc:
            problems.append(f"host down: {exc}")
    return problems
