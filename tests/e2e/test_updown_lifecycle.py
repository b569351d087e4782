"""`spp up` / `spp down` as a property: any sequence of up, down and kill -9 of the
controller, the primary, spp_vf or the metrics exporter, run through the real CLI on a
small topology of its own (no VM; its own file prefix, run directory and ports).

After every step `spp status` tells the truth (what runs is listed, what died is not),
`spp up` says for each process whether it was already running or started (exit 0), and
after the final `spp down` nothing of the instance remains: no process, namespace, pin,
hugepage file, pid file or socket.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from stack import SPP, free_port

from spp import rundir
from spp.host import netdev

pytestmark = pytest.mark.e2e

PREFIX = "spplc"
NS = "spp-lc"
PARTS = ("ctl", "primary", "vf1", "metrics")


class Instance:
    """The topology, its environment and what is true of it right now."""

    def __init__(self, tmp: Path) -> None:
        self.run = tmp / "run"
        self.api = free_port()
        self.env = {**os.environ, "SPP_RUN_DIR": str(self.run),
                    "SPP_CTL": f"127.0.0.1:{self.api}"}
        self.topology = tmp / "lc.yaml"
        self.topology.write_text(f"""\
name: {PREFIX}
file_prefix: {PREFIX}
bpf_pin_prefix: {PREFIX}_
ctl: {{bind: 127.0.0.1, api_port: {self.api}, pri_port: {free_port()},
      sec_port: {free_port()}, metrics_port: {free_port()}}}
namespaces: [{NS}]
veths:
  - ends:
      - {{name: lc-r0, netns: {NS}}}
      - {{name: lc-p0, phy: 0}}
  - ends:
      - {{name: lc-r1, netns: {NS}}}
      - {{name: lc-p1, phy: 1}}
""")

    def spp(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*SPP, *args], capture_output=True, text=True, timeout=timeout,
                              env=self.env)

    def pid(self, name: str) -> int | None:
        old = os.environ.get(rundir.ROOT_ENV)
        os.environ[rundir.ROOT_ENV] = str(self.run)
        try:
            pid = rundir.read_pid(rundir.pid_path(name, PREFIX))
        finally:
            if old is None:
                os.environ.pop(rundir.ROOT_ENV, None)
            else:
                os.environ[rundir.ROOT_ENV] = old
        return pid if pid is not None and rundir.is_ours(pid) else None

    def listed(self) -> set[str] | None:
        """What `spp status --json` lists (None: the controller does not answer)."""
        res = self.spp("status", "--json", timeout=30)
        if res.returncode != 0:
            assert res.stderr.count("\n") == 1, res.stderr  # one line, no traceback
            return None
        procs = json.loads(res.stdout)["processes"]
        return {"primary" if p["type"] == "primary" else f"vf{p['client-id']}" for p in procs}

    def leftovers(self) -> list[str]:
        out = [str(p) for p in Path("/dev/hugepages").glob(f"{PREFIX}map_*")]
        out += [str(p) for p in Path("/sys/fs/bpf/spp", PREFIX).glob("*")]
        out += [str(p) for p in (self.run / PREFIX).glob("*.pid")]
        out += [ns for ns in netdev.list_namespaces() if ns == NS]
        out += [f"pid {pid} ({rundir.cmdline(pid)[:80]})" for pid in _our_pids(self.topology)]
        return out


def _our_pids(topology: Path) -> list[int]:
    """Processes whose command line names this instance (its topology or prefix)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            cmd = rundir.cmdline(int(d.name))
            if "spp.cli.main" in cmd and (str(topology) in cmd or PREFIX in cmd):
                out.append(int(d.name))
    return out


def truthful(inst: Instance, timeout: float = 20.0) -> None:
    """`spp status` lists exactly the live primary and vf (once they have reconnected)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = {n for n in ("primary", "vf1") if inst.pid(n) is not None}
        listed = inst.listed()
        ctl_up = inst.pid("ctl") is not None
        if (listed is None) == (not ctl_up) and (listed is None or listed == alive):
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"spp status says {listed}, running: ctl {ctl_up}, {alive}")
        time.sleep(0.5)


class Lifecycle(RuleBasedStateMachine):
    inst: Instance

    @rule()
    def up(self) -> None:
        before = {n: self.inst.pid(n) for n in PARTS}
        res = self.inst.spp("up", "--topology", str(self.inst.topology))
        assert res.returncode == 0, res.stdout + res.stderr
        for name, label in (("ctl", "spp ctl"), ("primary", "primary"), ("vf1", "vf 1"),
                            ("metrics", "metrics exporter")):
            pid = self.inst.pid(name)
            assert pid is not None, f"{name} not running after up: {res.stdout}"
            said = "already running" if before[name] == pid else "started"
            assert re.search(rf"^{label}.* {said} \(pid {pid}\)", res.stdout, re.M), res.stdout

    @rule()
    def down(self) -> None:
        res = self.inst.spp("down", "--topology", str(self.inst.topology))
        assert res.returncode == 0, res.stdout + res.stderr
        assert self.inst.leftovers() == []

    @rule(name=st.sampled_from(PARTS))
    def kill(self, name: str) -> None:
        pid = self.inst.pid(name)
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while rundir.pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    @invariant()
    def status_tells_the_truth(self) -> None:
        truthful(self.inst)

    def teardown(self) -> None:
        res = self.inst.spp("down", "--topology", str(self.inst.topology))
        assert res.returncode == 0, res.stdout + res.stderr
        assert self.inst.leftovers() == []


@pytest.fixture
def instance(e2e_lock: Any, tmp_path: Path) -> Any:
    inst = Instance(tmp_path)
    yield inst
    inst.spp("down", "--topology", str(inst.topology))


def test_any_sequence_of_up_down_and_kills_keeps_status_true_and_down_leaves_nothing(
        instance: Instance) -> None:
    Lifecycle.inst = instance
    run = settings(max_examples=2, stateful_step_count=6, deadline=None, derandomize=True,
                   database=None, suppress_health_check=list(HealthCheck))(Lifecycle).TestCase
    run().runTest()
