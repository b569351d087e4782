"""`spp up` / `spp down`: host topology, controller, primary and vf 1 in the background.

Uses spp.host.updown.host_up/host_down and the process mains through
`spp primary start` / `spp vf start`. A topology is one SPP instance: its
`file_prefix` names the DPDK file prefix, the run directory (spp.rundir:
<run dir>/<file prefix>/ holds ctl.pid/.log, primary.pid/.log, vf1.pid/.log and
metrics.pid/.log of the Prometheus exporter) and the XDP pin directory; its
`ctl` section the controller's address and ports and the exporter's port
(default spp.defaults.METRICS_PORT on 127.0.0.1). So several instances run side
by side, each brought up and down on its own (`spp up --topology A.yaml`,
`spp down --topology A.yaml`).

A topology's `processes` section replaces the primary's and spp_vf's command
lines (e.g. `spp vf -l 0,2-13 ... --vhost-client` for VMs that listen); `spp host up`
boots its VMs before the controller starts. `spp down` without `--topology`
takes down the topologies recorded for the default instance (the one `spp up`
brought up), or the default topology when none is.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from spp import rundir, safefile
from spp.client import Client, SppError
from spp.metrics.server import DEFAULT_ADDR as METRICS_ADDR
from spp.safefile import UnsafeFile


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


def _with_prefix(args: tuple[str, ...], file_prefix: str) -> list[str]:
    """A topology command line as written, given the instance's file prefix when that is
    not the default and the line names none."""
    head = args[:args.index("--")] if "--" in args else args
    if file_prefix == rundir.DEFAULT_INSTANCE or any(a.startswith("--file-prefix") for a in head):
        return list(args)
    return [f"--file-prefix={file_prefix}", *args]


def _process_argvs(topo: Any, phys: list[str], bind: str) -> tuple[list[str], list[str]]:
    """Command lines of the primary and spp_vf: the topology's `processes`, else ours."""
    ctl, prefix = topo.ctl, f"--file-prefix={topo.file_prefix}"
    phy_args = [arg for phy in phys for arg in ("--phy", phy)]
    procs = topo.processes
    if procs.primary is not None:
        pri = ["primary", *phy_args, *_with_prefix(procs.primary, topo.file_prefix)]
    else:
        pri = ["primary", "start", prefix, *phy_args, "--rings", "10",
               "--ctl", f"{bind}:{ctl.pri_port}"]
    if procs.vf is not None:
        vf = ["vf", *_with_prefix(procs.vf, topo.file_prefix)]
    else:
        vf = ["vf", "start", prefix, "--client-id", "1", "--ctl", f"{bind}:{ctl.sec_port}",
              "-l", "2-6"]
    return pri, vf


def _spawn(name: str, argv: list[str], instance: str) -> subprocess.Popen[bytes]:
    with rundir.open_log(rundir.log_path(name, instance)) as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "spp.cli.main", *argv],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    rundir.write_pid(rundir.pid_path(name, instance), proc.pid)
    return proc


def _log_tail(name: str, instance: str, lines: int = 3) -> str:
    try:
        raw = safefile.read_private(rundir.log_path(name, instance), tail=16384)
        text = raw.decode(errors="replace")
    except (OSError, UnsafeFile):
        return ""
    return " | ".join(text.strip().splitlines()[-lines:])


def _wait(name: str, proc: subprocess.Popen[bytes], ready: Any, timeout: float,
          instance: str) -> None:
    deadline = time.monotonic() + timeout
    log_file = rundir.log_path(name, instance)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise UpError(f"{name} exited with code {proc.returncode} "
                          f"(log {log_file}: {_log_tail(name, instance)})")
        with contextlib.suppress(SppError):
            if ready():
                return
        time.sleep(0.2)
    raise UpError(f"{name} did not come up within {timeout:g} s "
                  f"(log {log_file}: {_log_tail(name, instance)})")


def _metrics_ready(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as res:
            return bool(res.status == 200)
    except OSError:
        return False


def up(topology: str, ctl_bind: str | None = None, timeout: float = 30.0,
       echo: Any = print, host: bool = True, metrics: bool = True, auth: str = "none") -> None:
    """Bring an instance up; on failure clean up what was started and raise UpError."""
    try:
        topo = _load_topology(topology)
    except ValueError as exc:
        raise UpError(str(exc)) from None
    phys = topo.phy_interfaces() or ["spp-p0", "spp-p1"]
    ctl, inst = topo.ctl, topo.file_prefix
    bind = ctl_bind or ctl.bind
    pri_args, vf_args = _process_argvs(topo, phys, bind)
    cid = _client_id(vf_args)
    if host:
        from spp.host.updown import HostError, host_up

        try:
            host_up(topo, echo=echo)
        except (HostError, ValueError, UnsafeFile) as exc:
            raise UpError(str(exc)) from None
        echo(f"host topology {topo.name} up")
    cl = Client(f"{bind}:{ctl.api_port}", timeout=2.0)
    try:
        proc = _spawn("ctl", ["ctl", "-b", bind, "-p", str(ctl.pri_port), "-s",
                              str(ctl.sec_port), "-a", str(ctl.api_port), "--auth", auth,
                              "--pid-file", str(rundir.pid_path("ctl", inst))], inst)
        _wait("ctl", proc, lambda: cl.processes() is not None, timeout, inst)
        echo(f"spp ctl up on {bind}:{ctl.api_port} (pid {proc.pid})")
        proc = _spawn("primary", pri_args, inst)
        _wait("primary", proc, lambda: any(p["type"] == "primary" for p in cl.processes()),
              timeout, inst)
        echo(f"primary up (pid {proc.pid}): spp {' '.join(pri_args)}")
        name = f"vf{cid}"
        proc = _spawn(name, vf_args, inst)
        _wait(name, proc, lambda: cid in cl.vf_ids(), timeout, inst)
        echo(f"vf {cid} up (pid {proc.pid}): spp {' '.join(vf_args)}")
        if metrics:
            url = f"http://{METRICS_ADDR}:{ctl.metrics_port}/metrics"
            proc = _spawn("metrics", ["metrics", "serve", "--addr", METRICS_ADDR,
                                      "--port", str(ctl.metrics_port),
                                      "--ctl-url", f"http://{bind}:{ctl.api_port}",
                                      "--pid-file", str(rundir.pid_path("metrics", inst))],
                          inst)
            _wait("metrics", proc, lambda: _metrics_ready(url), timeout, inst)
            echo(f"metrics exporter on {url} (pid {proc.pid}); "
                 f"point Prometheus at {METRICS_ADDR}:{ctl.metrics_port}")
    except (UpError, OSError, UnsafeFile) as exc:
        down(bind, topology, host=False, echo=lambda _m: None)
        raise UpError(str(exc)) from None


def _down_targets(topology: str | None) -> tuple[Any, list[Any]]:
    """The topology whose instance `down` stops, and the host topologies to take down.

    Without a name: the topologies recorded for the default instance (what `spp up`
    brought up), the first of them giving the controller's ports when its file is
    still there; else the default topology.
    """
    from spp.host.state import list_states, load_state

    if topology is not None:
        topo = _load_topology(topology)
        return topo, [load_state(topo.name) or topo]
    states = [s for s in list_states() if s.file_prefix == rundir.DEFAULT_INSTANCE]
    topo = None
    for state in states:
        if state.source and state.topology != "default" and Path(state.source).is_file():
            topo = _load_topology(state.source)
            break
    topo = topo or _load_topology("default")
    return topo, states or [load_state(topo.name) or topo]


def down(ctl_bind: str | None = None, topology: str | None = None, host: bool = True,
         echo: Any = print) -> list[str]:
    """Stop what `up` started for this instance, even after a crash; returns problems seen.

    Other instances (other file prefixes) are not touched.
    """
    problems: list[str] = []
    try:
        topo, targets = _down_targets(topology)
    except (ValueError, UnsafeFile) as exc:
        return [str(exc)]
    inst = topo.file_prefix
    cl = Client(f"{ctl_bind or topo.ctl.bind}:{topo.ctl.api_port}", timeout=3.0)
    with contextlib.suppress(SppError):
        for sec_id in cl.vf_ids():
            with contextlib.suppress(SppError):
                cl.delete(f"vfs/{sec_id}")
                echo(f"Exit vf {sec_id}.")
        if any(p["type"] == "primary" for p in cl.processes()):
            cl.delete("primary")
            echo("Exit primary.")
    for path in rundir.pid_files(inst):
        try:
            pid = rundir.stop_pidfile(path)
        except UnsafeFile as exc:
            problems.append(str(exc))
            continue
        if pid is not None:
            echo(f"stopped {path.stem} (pid {pid})")
    if host:
        try:
            from spp.host.updown import HostError, host_down

            for target in targets:
                host_down(target)
                echo(f"host topology {getattr(target, 'topology', None) or target.name} down")
        except (ImportError, HostError, ValueError, UnsafeFile) as exc:
            problems.append(f"host down: {exc}")
    return problems
