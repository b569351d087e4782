"""`spp up` / `spp down`: host topology, controller, primary and vf 1 in the background.

Uses spp.host.updown.host_up/host_down and the process mains through
`spp primary start` / `spp vf start`. A topology is one SPP instance: its
`file_prefix` names the DPDK file prefix, the run directory (spp.rundir:
<run dir>/<file prefix>/ holds ctl.pid/.log, primary.pid/.log, vf1.pid/.log (nfv2,
mirror3, ... for the topology's other secondaries) and metrics.pid/.log of the
Prometheus exporter) and the XDP pin directory; its
`ctl` section the controller's address and ports and the exporter's port
(default spp.defaults.METRICS_PORT on 127.0.0.1). So several instances run side
by side, each brought up and down on its own (`spp up --topology A.yaml`,
`spp down --topology A.yaml`).

A topology's `processes` section replaces the primary's and spp_vf's command
lines (e.g. `spp vf -l 0,2-13 ... --vhost-client` for VMs that listen) and adds
spp_nfv and spp_mirror processes (`nfv:`, `mirror:`, one line or a list), started
after spp_vf and, like it, stopped and started again when the primary is gone; `spp host up`
boots its VMs before the controller starts. `spp down` without `--topology`
takes down the topologies recorded for the default instance (the one `spp up`
brought up), or the default topology when none is.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spp import rundir, safefile
from spp.client import Client, SppError
from spp.ctl.saved import STATE_NAME
from spp.kinds import SECONDARY_KINDS, app_client_id
from spp.metrics.server import DEFAULT_ADDR as METRICS_ADDR
from spp.safefile import UnsafeFile

EXIT_GRACE_S = 10.0  # `down`: how long a process told to exit may take to be gone


class UpError(Exception):
    pass


def _load_topology(name: str) -> Any:
    from spp.host.topology import load_topology

    return load_topology(None if name == "default" else Path(name))


def _client_id(args: list[str], kind: str = "vf") -> int:
    """The client id of a secondary's command line (`spp KIND ARGS`): `--client-id N`,
    or `-n N` after `--` for spp_nfv (the process parser has the final word)."""
    sec = SECONDARY_KINDS[kind]
    value = app_client_id(sec, args)
    if value is None:
        raise UpError(f"topology processes.{kind}: {' or '.join(sec.id_opts)} is missing")
    try:
        return int(value)
    except ValueError:
        raise UpError(f"topology processes.{kind}: client id '{value}' is not a "
                      "number") from None


def _with_prefix(args: tuple[str, ...], file_prefix: str) -> list[str]:
    """A topology command line as written, given the instance's file prefix when that is
    not the default and the line names none."""
    head = args[:args.index("--")] if "--" in args else args
    if file_prefix == rundir.DEFAULT_INSTANCE or any(a.startswith("--file-prefix") for a in head):
        return list(args)
    return [f"--file-prefix={file_prefix}", *args]


def _process_argvs(topo: Any, phys: list[str], bind: str) -> tuple[list[str], list[str]]:
    """Command lines of the primary and spp_vf: the topology's `processes`, else ours
    (the other secondaries run only when the topology names them: `_other_parts`)."""
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


@dataclass
class Part:
    """One background process of an instance, as `spp up` runs and checks it."""

    name: str                      # its pid and log file name: ctl, primary, vf1, metrics
    label: str                     # how `up` names it
    argv: list[str]                # `spp` arguments
    registered: Callable[[], bool]  # up and known to the controller (or serving)
    note: str = ""                 # appended to the line `up` prints
    free: tuple[str, ...] = ()     # options whose value may differ in a running process
    secondary: bool = False        # a DPDK secondary: lives on the memory of its primary

    @property
    def command(self) -> list[str]:
        """What /proc/PID/cmdline holds after the interpreter: `-m spp.cli.main ARGV`."""
        return ["-m", "spp.cli.main", *self.argv]

    def runs(self, cmdline: list[str]) -> bool:
        """True when a process's command line (interpreter first) is this part's."""
        def fixed(argv: list[str]) -> list[str]:
            return [w for i, w in enumerate(argv)
                    if w not in self.free and (i == 0 or argv[i - 1] not in self.free)]
        return fixed(cmdline[1:]) == fixed(self.command)


def _spawn(part: Part, instance: str) -> subprocess.Popen[bytes]:
    """Start `part`; the process writes its own pid file once it runs (never over a live one)."""
    with rundir.open_log(rundir.log_path(part.name, instance)) as log:
        return subprocess.Popen(
            [sys.executable, *part.command],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _running(part: Part, instance: str) -> int | None:
    """The pid of `part` when its pid file names a live process running its command.

    UpError when that file names a live SPP process with another command line: `up`
    neither adopts nor replaces it.
    """
    path = rundir.pid_path(part.name, instance)
    pid = rundir.read_pid(path)
    if pid is None or not rundir.pid_alive(pid):
        return None
    argv = rundir.argv(pid)
    if part.runs(argv):
        return pid
    if rundir.is_ours(pid):
        raise UpError(f"{part.label}: {path} names pid {pid} running "
                      f"'{' '.join(argv)[:200]}', not 'spp {' '.join(part.argv)}'; "
                      "stop it (`spp down`) first")
    return None


def _log_tail(name: str, instance: str, lines: int = 3) -> str:
    try:
        raw = safefile.read_private(rundir.log_path(name, instance), tail=16384)
        text = raw.decode(errors="replace")
    except (OSError, UnsafeFile):
        return ""
    return " | ".join(text.strip().splitlines()[-lines:])


def _wait(part: Part, proc: subprocess.Popen[bytes] | None, pid: int, timeout: float,
          instance: str) -> None:
    """Until `part` is registered; UpError with its own last log lines if it exits first
    or is not registered by the deadline."""
    deadline = time.monotonic() + timeout
    log_file = rundir.log_path(part.name, instance)
    while time.monotonic() < deadline:
        code = proc.poll() if proc is not None else (None if rundir.pid_alive(pid) else -1)
        if code is not None:
            how = f"exited with code {code}" if proc is not None else "exited"
            raise UpError(f"{part.name} {how} "
                          f"(log {log_file}: {_log_tail(part.name, instance)})")
        with contextlib.suppress(SppError):
            if part.registered():
                return
        time.sleep(0.2)
    raise UpError(f"{part.name} (pid {pid}) is not registered with the controller within "
                  f"{timeout:g} s (log {log_file}: {_log_tail(part.name, instance)})")


def _listed(cl: Client, kind: str, cid: int) -> bool:
    """Secondary `kind` `cid` is in the controller's GET /v1/processes."""
    return any(p.get("type") == kind and p.get("client-id") == cid for p in cl.processes())


def _secondary_part(cl: Client, kind: str, args: list[str], cid: int) -> Part:
    return Part(SECONDARY_KINDS[kind].pid_name(cid), f"{kind} {cid}", args,
                lambda: _listed(cl, kind, cid), f": spp {' '.join(args)}", secondary=True)


def _other_parts(topo: Any, cl: Client, used: dict[int, str]) -> list[Part]:
    """The topology's other secondaries (nfv, mirror, ...), in file order; a client id is
    one space for all secondaries (`used`: id -> the process that has it)."""
    parts = []
    for kind, line in topo.processes.others:
        args = [kind, *_with_prefix(line, topo.file_prefix)]
        cid = _client_id(args[1:], kind)
        if cid in used:
            raise UpError(f"topology processes.{kind}: client id {cid} is also {used[cid]}'s")
        used[cid] = f"{kind} {cid}"
        parts.append(_secondary_part(cl, kind, args, cid))
    return parts


def _metrics_ready(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as res:
            return bool(res.status == 200)
    except OSError:
        return False


def _parts(topo: Any, bind: str, restore: bool, metrics: bool, auth: str) -> list[Part]:
    """The processes of an instance, in start order."""
    ctl, inst = topo.ctl, topo.file_prefix
    phys = topo.phy_interfaces() or ["spp-p0", "spp-p1"]
    pri_args, vf_args = _process_argvs(topo, phys, bind)
    cid = _client_id(vf_args)
    cl = Client(f"{bind}:{ctl.api_port}", timeout=2.0)
    parts = [
        Part("ctl", "spp ctl",
             ["ctl", "-b", bind, "-p", str(ctl.pri_port), "-s", str(ctl.sec_port),
              "-a", str(ctl.api_port), "--auth", auth,
              "--pid-file", str(rundir.pid_path("ctl", inst)),
              "--state-file", str(rundir.instance_dir(inst) / STATE_NAME),
              "--restore", "all" if restore else "on"],
             lambda: cl.processes() is not None, f" on {bind}:{ctl.api_port}",
             free=("--restore",)),
        Part("primary", "primary", pri_args,
             lambda: any(p["type"] == "primary" for p in cl.processes()),
             f": spp {' '.join(pri_args)}"),
        Part(f"vf{cid}", f"vf {cid}", vf_args, lambda: cid in cl.vf_ids(),
             f": spp {' '.join(vf_args)}", secondary=True),
        *_other_parts(topo, cl, {cid: f"vf {cid}"}),
    ]
    if metrics:
        url = f"http://{METRICS_ADDR}:{ctl.metrics_port}/metrics"
        parts.append(Part(
            "metrics", f"metrics exporter on {url}",
            ["metrics", "serve", "--addr", METRICS_ADDR, "--port", str(ctl.metrics_port),
             "--ctl-url", f"http://{bind}:{ctl.api_port}",
             "--pid-file", str(rundir.pid_path("metrics", inst))],
            lambda: _metrics_ready(url),
            f"; point Prometheus at {METRICS_ADDR}:{ctl.metrics_port}"))
    return parts


def up(topology: str, ctl_bind: str | None = None, timeout: float = 30.0,
       echo: Any = print, host: bool = True, metrics: bool = True, auth: str = "none",
       restore: bool = False,
       wait: bool = False, wait_timeout: float | None = None) -> None:
    """Bring an instance up, starting only what is not running; UpError otherwise.

    Each process is `already running (pid N)` (its pid file names a live process with
    its command line) or `started (pid N)`; either way it must be registered with the
    controller. A primary that is started finds no secondary of the one before it:
    those still running are stopped first and started again after it. On a failure,
    what this call started is stopped again (what was running stays) and UpError
    carries the failing process's own last log lines.
    `restore` makes a new controller bring back the configurations of its state file
    even of processes that left by exit; `wait` returns once every VM is ready.
    """
    try:
        topo = _load_topology(topology)
    except ValueError as exc:
        raise UpError(str(exc)) from None
    inst = topo.file_prefix
    parts = _parts(topo, ctl_bind or topo.ctl.bind, restore, metrics, auth)
    if host:
        from spp.host.updown import HostError, host_up

        try:
            host_up(topo, echo=echo)
        except (HostError, ValueError, UnsafeFile) as exc:
            raise UpError(str(exc)) from None
        echo(f"host topology {topo.name} up")
    started: list[tuple[Part, subprocess.Popen[bytes]]] = []
    try:
        for part in parts:
            pid = _running(part, inst)
            if pid is not None:
                _wait(part, None, pid, timeout, inst)
                echo(f"{part.label} already running (pid {pid}){part.note}")
                continue
            if part.name == "primary":
                _stop_secondaries(parts, inst, echo)
            proc = _spawn(part, inst)
            started.append((part, proc))
            _wait(part, proc, proc.pid, timeout, inst)
            echo(f"{part.label} started (pid {proc.pid}){part.note}")
        if wait:
            from spp.host.updown import HostError, host_wait
            from spp.host.vm import READY_TIMEOUT_S

            try:
                names = host_wait(topo, wait_timeout or READY_TIMEOUT_S)
            except HostError as exc:
                raise UpError(str(exc)) from None
            if names:
                echo(f"VMs ready: {' '.join(names)}")
    except (UpError, OSError, UnsafeFile) as exc:
        for part, proc in reversed(started):
            _stop_started(part, proc, inst)
        raise UpError(str(exc)) from None


def _stop_secondaries(parts: list[Part], inst: str, echo: Any) -> None:
    """Stop the secondaries that still run while their primary is gone.

    They hold the memory of the primary that died, so a new primary cannot
    initialise its own until they exit; `up` starts them again after it.
    """
    for part in parts:
        pid = _running(part, inst) if part.secondary else None
        if pid is not None:
            rundir.stop_pidfile(rundir.pid_path(part.name, inst))
            echo(f"{part.label} stopped (pid {pid}): its primary is gone")


def _stop_started(part: Part, proc: subprocess.Popen[bytes], inst: str) -> None:
    """Stop a process this `up` started (by its Popen pid) and remove its pid file."""
    if proc.poll() is None:
        rundir.stop_pid(proc.pid)
    proc.wait()
    rundir.remove_pid(rundir.pid_path(part.name, inst), proc.pid)


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


def _live_pids(inst: str, problems: list[str]) -> dict[str, int]:
    """Pid file name -> the live SPP process it names, for every pid file of `inst`; a
    pid file that is refused (it is set aside, naming nothing) is one line in `problems`."""
    out = {}
    for path in rundir.pid_files(inst):
        try:
            pid = rundir.read_pid(path)
        except UnsafeFile as exc:
            problems.append(str(exc))
            continue
        if pid is not None and rundir.is_ours(pid):
            out[path.stem] = pid
    return out


def _wait_gone(pids: dict[str, int], echo: Any, grace: float = EXIT_GRACE_S) -> None:
    """Until the processes `pids` are gone: a process told to exit removes its pid file
    before its EAL clean-up ends, so the pid file sweep may not have seen it. What still
    runs after `grace` seconds is stopped by its pid."""
    deadline = time.monotonic() + grace
    left = dict(pids)
    while left and time.monotonic() < deadline:
        left = {n: p for n, p in left.items() if rundir.pid_alive(p) and rundir.is_ours(p)}
        time.sleep(0.05 if left else 0)
    for name, pid in left.items():
        if rundir.pid_alive(pid) and rundir.is_ours(pid):
            rundir.stop_pid(pid)
            echo(f"stopped {name} (pid {pid})")


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
    running = _live_pids(inst, problems)
    with contextlib.suppress(SppError):
        procs = cl.processes()
        for p in procs:
            kind, sec_id = SECONDARY_KINDS.get(str(p.get("type"))), p.get("client-id")
            if kind is None or not isinstance(sec_id, int):
                continue
            with contextlib.suppress(SppError):
                cl.delete(f"{kind.rest}/{sec_id}")
                echo(f"Exit {kind.name} {sec_id}.")
        if any(p["type"] == "primary" for p in procs):
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
    _wait_gone(running, echo)
    if host:
        try:
            from spp.host.updown import HostError, host_down

            for target in targets:
                host_down(target)
                echo(f"host topology {getattr(target, 'topology', None) or target.name} down")
        except (ImportError, HostError, ValueError, UnsafeFile) as exc:
            problems.append(f"host down: {exc}")
    return problems
