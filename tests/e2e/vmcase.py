"""The SSH-login use case run as an operator would, for the VM e2e tests.

`UseCase` drives the real `spp` CLI (`spp up --topology`, `spp playback`,
`spp host up`, `spp down`) on SPP's fixed ports and run directory; the
tests take the e2e lock first. `Session` keeps one SSH login open and
answers probes while other things happen.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from spp import rundir
from spp.client import Client
from spp.host import nsexec, vm, vmssh
from spp.host.state import load_state
from spp.host.updown import host_down, host_up

REPO = Path(__file__).resolve().parents[2]
TOPOLOGY = REPO / "recipes" / "topologies" / "ssh_login.yaml"
RECIPES = REPO / "recipes" / "usecases" / "spp_vf" / "ssh"
SPP = [sys.executable, "-m", "spp.cli.main"]
INSTANCE = "spp"
REMOTE = "spp-remote"
VMS = ("spp-vm1", "spp-vm2")
BOOT_TIMEOUT = 180.0

# who answers each login, on which guest interface, reached through which
# remote interface (source address) and spp phy port
LOGIN_TABLE = {
    "198.18.0.11": ("spp-vm1", "ens4", "198.18.0.1", "NIC0"),
    "198.18.1.11": ("spp-vm1", "ens5", "198.18.1.1", "NIC1"),
    "198.18.0.12": ("spp-vm2", "ens4", "198.18.0.1", "NIC0"),
    "198.18.1.12": ("spp-vm2", "ens5", "198.18.1.1", "NIC1"),
}


def spp(*args: str, timeout: float = 120.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*SPP, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"spp {' '.join(args)} -> {proc.returncode}\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def server_mode_topology(path: Path) -> Path:
    """ssh_login.yaml with spp_vf as vhost-user server (its vf command line without
    --vhost-client); everything else as in the file."""
    data = yaml.safe_load(TOPOLOGY.read_text())
    data["processes"]["vf"] = data["processes"]["vf"].replace(" --vhost-client", "")
    assert "--vhost-client" not in data["processes"]["vf"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@contextmanager
def default_topology_down() -> Iterator[None]:
    """ssh_login reuses the default topology's names: take the default down while the
    use case runs and bring it back afterwards if the session had it up."""
    had_default = load_state("default") is not None
    if had_default:
        host_down(load_state("default"))
    try:
        yield
    finally:
        if had_default:
            host_up()


class UseCase:
    """`spp up --topology`, the recipes, readiness; `down()` always leaves the host clean."""

    def __init__(self, topology: Path = TOPOLOGY) -> None:
        self.topology = topology
        self.client = Client("127.0.0.1:7777", timeout=30)
        self.pids: dict[str, int] = {}

    def up(self) -> str:
        out = spp("up", "--topology", str(self.topology), timeout=180).stdout
        self.pids = self.recorded_pids()
        return out

    def recorded_pids(self) -> dict[str, int]:
        pids = {}
        for path in rundir.pid_files(INSTANCE):
            pid = rundir.read_pid(path)
            if pid is not None:
                pids[path.stem] = pid
        return pids

    def playback(self, *names: str) -> None:
        for name in names:
            spp("playback", str(RECIPES / name))

    def configure(self) -> None:
        self.playback("1-start_components.rcp", "2-add_port_path1.rcp", "3-add_port_path2.rcp")

    def wait_ready(self, names: tuple[str, ...] = VMS) -> None:
        try:
            vm.wait_ready(list(names), INSTANCE, BOOT_TIMEOUT)
        except vm.VmError as exc:
            raise AssertionError(f"{exc}\n{self.console_tails()}") from None

    def console_tails(self) -> str:
        out = []
        for name in VMS:
            paths = vm.vm_paths(name, INSTANCE)
            out.append(f"{name}: {vm.last_lines(paths, 8)}")
        return "\n".join(out)

    def vf_status(self) -> dict[str, Any]:
        return self.client.vf_status(1)

    def counters(self) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
        st = self.vf_status()
        comps = {c["name"]: dict(c["counters"]) for c in st["components"] if "name" in c}
        return comps, dict(st["port_counters"])

    def down(self) -> subprocess.CompletedProcess[str]:
        return spp("down", check=False, timeout=180)


class Session:
    """One SSH login kept open: each probe line sent is echoed back by the guest's shell."""

    def __init__(self, address: str) -> None:
        self.address = address
        argv = nsexec.ns_command(REMOTE, vmssh.ssh_argv(
            address, 'while read line; do echo "$(hostname) $line"; done'))
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.seq = 0

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def probe(self, timeout: float = 15.0) -> float:
        """Send one line; seconds until the guest echoed it (AssertionError if it did not)."""
        self.seq += 1
        want = f"probe-{self.seq}"
        t0 = time.monotonic()
        assert self.proc.stdin is not None and self.proc.poll() is None, self._why()
        self.proc.stdin.write(want + "\n")
        self.proc.stdin.flush()
        while time.monotonic() - t0 < timeout:
            try:
                got = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if got.endswith(want):
                return time.monotonic() - t0
        raise AssertionError(f"session to {self.address}: no echo of {want} in {timeout} s"
                             f" ({self._why()})")

    def _why(self) -> str:
        if self.proc.poll() is None:
            return "ssh still running"
        err = self.proc.stderr.read() if self.proc.stderr else ""
        return f"ssh exited {self.proc.returncode}: {err.strip()}"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


class Prober(threading.Thread):
    """Probes a Session every `interval` s until stopped; keeps every latency or failure."""

    def __init__(self, session: Session, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.session = session
        self.interval = interval
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop_evt = threading.Event()

    def run(self) -> None:
        while not self._stop_evt.is_set():
            try:
                self.latencies.append(self.session.probe())
            except AssertionError as exc:
                self.failures.append(str(exc))
                return
            self._stop_evt.wait(self.interval)

    def stop(self) -> None:
        self._stop_evt.set()
        self.join(30)


def leftovers_after_down(pids: dict[str, int]) -> list[str]:
    """What `spp down` must not leave: QEMU, vhost sockets, namespace, hugepage files, pins,
    SPP processes, pid files, the host state."""
    out = [f"{name} pid {pid} alive" for name, pid in pids.items() if rundir.pid_alive(pid)]
    out += [str(p) for p in Path("/tmp").glob("sock[0-9]*")]
    out += [str(p) for p in Path("/dev/hugepages").glob(f"{INSTANCE}map_*")]
    out += [str(p) for p in Path("/sys/fs/bpf").glob("spp_*")]
    out += [str(p) for p in rundir.pid_files(INSTANCE)]
    if REMOTE in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                text=True).stdout.split():
        out.append(f"netns {REMOTE}")
    if load_state("ssh_login") is not None:
        out.append("host state ssh_login")
    for iface in ("spp-p0", "spp-p1"):
        if os.path.exists(f"/sys/class/net/{iface}"):
            out.append(f"link {iface}")
    return out
