"""`spp up` / `spp down` as a property over random sequences of up, down and kill -9.

One small instance of its own (its own file prefix, run directory, namespace, veths,
ports and one QEMU VM) is driven through the real CLI. The VM's vhost-user NIC is a
client of spp_vf (which adds no vhost port here), so its QEMU runs and waits without
booting the guest. Hypothesis draws each sequence: `up`, then the kill -9 of each of
the controller, the primary, spp_vf 1, the metrics exporter and the VM's QEMU, mixed
with two more `up`s and 2-5 further random kills and ups,
a `down`, then another `up` mixed with 3-6 random steps of every kind (down
included), and a final `down`: 15 to 21 steps. After every step:

- `up` exits 0 and says, for each process, `already running (pid N)` when that
  process was running before (its pid file names it, live, with its command line)
  or `started (pid N)` when it was not; spp_vf also starts anew when its primary
  was gone; the VM's QEMU is `started` when it was not running and left alone when it
  was. Each pid file then names the live process `up` reported, and as soon
  as `up` returns `spp status` lists the primary and vf 1 and the exporter answers.
- `spp status --json` lists exactly the live primary and vf, or fails in one line
  when the controller is not running; the exporter answers exactly while it runs.
- `down` exits 0 and leaves nothing of the instance: no process (none of those
  `up` started, no QEMU), namespace, veth, pinned map, hugepage file, DPDK runtime
  directory, vhost-user socket or pid file.

A failing sequence is printed by Hypothesis with every step's output; set
SPP_LIFECYCLE_STEPS to that sequence (steps separated by commas) to run only it.
SPP_LIFECYCLE_EXAMPLES sets how many sequences are drawn (default 6).
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, example, given, note, settings
from hypothesis import strategies as st

from spp import rundir
from spp.host import vm
from spp.testkit.instance import TopoInstance
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

PREFIX = "spplc"
NS = "spp-lc"
LINKS = ("lc-p0", "lc-p1")          # the root-namespace ends of the veths
PARTS = {"ctl": "spp ctl", "primary": "primary", "vf1": "vf 1",
         "metrics": "metrics exporter"}   # pid file name -> how `up` names it
SECONDARIES = ("vf1",)
VM = "lc-vm"
VM_PID = vm.proc_name(VM)           # its pid file name
VHOST = 31                          # the VM's NIC: vhost:31, /tmp/sock31
KILLS = (*(f"kill {name}" for name in PARTS), "kill vm")
STEPS = ("up", *KILLS, "down")
EXAMPLES = int(os.environ.get("SPP_LIFECYCLE_EXAMPLES", "6"))
REPLAY = os.environ.get("SPP_LIFECYCLE_STEPS", "")
T = TypeVar("T", bound=Callable[..., Any])


@st.composite
def sequences(draw: st.DrawFn) -> list[str]:
    """up, [every kill, two ups and 2-5 random ups/kills, shuffled], down,
    [an up and 3-6 random steps of any kind, shuffled], down."""
    more = draw(st.lists(st.sampled_from(("up", *KILLS)), min_size=2, max_size=5))
    first = draw(st.permutations([*KILLS, "up", "up", *more]))
    more = draw(st.lists(st.sampled_from(STEPS), min_size=3, max_size=6))
    then = draw(st.permutations(["up", *more]))
    return ["up", *first, "down", *then, "down"]


class Instance(TopoInstance):
    """The topology, its run directory and environment, and what is true of it now."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp, PREFIX, NS, (("lc-r0", LINKS[0]), ("lc-r1", LINKS[1])), "lc.yaml")
        self.write(f"""\
vms:
  - name: {VM}
    memory: 128
    nics:
      - {{vhost: {VHOST}, mac: "52:54:00:00:31:01", ipv4: 198.18.31.11/24, ifname: ens4}}
""")

    def listed(self) -> set[str] | None:
        """What `spp status --json` lists (None: the controller does not answer)."""
        res = self.spp("status", "--json", timeout=30)
        if res.returncode != 0:
            assert res.stderr.count("\n") == 1, res.stderr  # one line, no traceback
            return None
        procs = json.loads(res.stdout)["processes"]
        return {"primary" if p["type"] == "primary" else f"vf{p['client-id']}" for p in procs}

    def exporting(self) -> bool:
        url = f"http://127.0.0.1:{self.metrics}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=2) as res:
                return bool(res.status == 200)
        except OSError:
            return False

    def leftovers(self) -> list[str]:
        out = super().leftovers()
        out += [str(p) for p in Path("/sys/fs/bpf").glob(f"{PREFIX}_*")]
        out += [str(p) for p in [vm.vhost_socket(VHOST)] if p.exists()]
        return out


class Run:
    """One sequence: performs a step, then checks what must hold after it."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.started: set[int] = set()   # every pid `up` reported as started

    def step(self, what: str) -> None:
        if what == "up":
            self.up()
        elif what == "down":
            self.down()
        elif what == "kill vm":
            self.kill_vm()
        else:
            self.kill(what.split()[1])
        self.status_tells_the_truth()

    def up(self) -> None:
        inst = self.inst
        before = {name: inst.pid(name) for name in PARTS}
        vm_before = vm.vm_pid(VM, PREFIX)
        res = inst.spp("up", "--topology", str(inst.topology))
        note(f"$ spp up  (running before: {before})\n{res.stdout}{res.stderr}")
        assert res.returncode == 0, f"spp up failed:\n{res.stdout}{res.stderr}"
        for name, label in PARTS.items():
            pid = inst.pid(name)
            assert pid is not None, f"{name} is not running after up:\n{res.stdout}"
            anew = before[name] is None or (name in SECONDARIES and before["primary"] is None)
            if anew:
                said = "started"
                assert pid != before[name], f"{name} (pid {pid}) was not started anew"
                self.started.add(pid)
            else:
                said = "already running"
                assert pid == before[name], f"{name}: pid {before[name]} then {pid}"
            line = rf"^{re.escape(label)}.* {said} \(pid {pid}\)"
            assert re.search(line, res.stdout, re.M), f"no '{label} ... {said} (pid {pid})' " \
                                                      f"in:\n{res.stdout}"
            assert rundir.read_pid(inst.pid_file(name)) == pid
        listed = inst.listed()  # at once: up returns only once each one is registered
        assert listed == {"primary", "vf1"}, f"after up, spp status lists {listed}"
        assert inst.exporting(), "after up, the exporter does not answer"
        gone = [p for p in before.values() if p is not None and p not in
                {inst.pid(n) for n in PARTS} and inst.mine(p)]
        assert gone == [], f"up replaced but did not stop {gone}"
        vm_now = vm.vm_pid(VM, PREFIX)
        assert vm_now is not None, f"the VM's QEMU is not running after up:\n{res.stdout}"
        if vm_before is None:
            assert re.search(rf"^VM {VM} started \(pid {vm_now}", res.stdout, re.M), res.stdout
            self.started.add(vm_now)
        else:
            assert vm_now == vm_before and f"VM {VM} started" not in res.stdout, res.stdout
        pid_files = sorted(p.name for p in (inst.run / PREFIX).glob("*.pid"))
        assert pid_files == sorted(f"{n}.pid" for n in (*PARTS, VM_PID)), pid_files

    def down(self) -> None:
        inst = self.inst
        res = inst.spp("down", "--topology", str(inst.topology))
        note(f"$ spp down\n{res.stdout}{res.stderr}")
        assert res.returncode == 0, f"spp down failed:\n{res.stdout}{res.stderr}"
        alive = [p for p in self.started if inst.mine(p)]
        assert alive == [], f"spp down left processes that up started: {alive}"
        assert inst.leftovers() == []

    def kill(self, name: str) -> None:
        pid = self.inst.pid(name)
        note(f"$ kill -9 {name} (pid {pid})")
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not rundir.pid_alive(pid), 10, f"pid {pid} to go")

    def kill_vm(self) -> None:
        pid = vm.vm_pid(VM, PREFIX)
        note(f"$ kill -9 QEMU of {VM} (pid {pid})")
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not rundir.pid_alive(pid), 10, f"QEMU pid {pid} to go")

    def status_tells_the_truth(self, timeout: float = 20.0) -> None:
        """`spp status` lists exactly the live primary and vf; the exporter answers iff alive."""
        inst = self.inst
        deadline = time.monotonic() + timeout
        while True:
            alive = {n for n in ("primary", "vf1") if inst.pid(n) is not None}
            ctl_up = inst.pid("ctl") is not None
            listed = inst.listed()
            metrics_up = inst.pid("metrics") is not None
            exporting = inst.exporting()
            if ((listed is None) == (not ctl_up) and (listed is None or listed == alive)
                    and exporting == metrics_up):
                return
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"spp status lists {listed} while running: ctl {ctl_up}, {alive}; "
                    f"exporter answers {exporting}, running {metrics_up}")
            time.sleep(0.5)


@pytest.fixture
def instance(e2e_lock: object, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Instance]:
    monkeypatch.setenv(rundir.ROOT_ENV, str(tmp_path / "run"))  # rundir.pid_path here
    inst = Instance(tmp_path)
    try:
        yield inst
    finally:
        inst.clean()


def _replay(test: T) -> T:
    """With SPP_LIFECYCLE_STEPS: that sequence as the one example to run."""
    if not REPLAY:
        return test
    steps = [s.strip() for s in REPLAY.split(",") if s.strip()]
    assert all(s in STEPS for s in steps), f"steps are {STEPS}, not {steps}"
    return example(steps=steps)(test)


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          phases=(Phase.explicit,) if REPLAY else (Phase.explicit, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@_replay
@given(steps=sequences())
def test_up_down_and_kills_in_any_order_keep_up_honest_and_down_leaves_nothing(
        instance: Instance, steps: list[str]) -> None:
    note(f"sequence: {','.join(steps)}")
    try:
        assert instance.leftovers() == [], "the instance is not clean before the sequence"
        run = Run(instance)
        for i, what in enumerate(steps):
            note(f"step {i + 1}/{len(steps)}: {what}")
            run.step(what)
    finally:
        instance.clean()  # each sequence, also a failed one replayed, starts from nothing
