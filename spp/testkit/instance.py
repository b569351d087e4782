"""A small SPP instance of a test's own, brought up and down by `spp up|down --topology`.

Its own file prefix, run directory, namespace, veths (one per phy port) and
controller and exporter ports, so it runs beside any other instance; what it
leaves behind is listed by `leftovers` and `clean` ends what still runs of it.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from spp import rundir
from spp.host import netdev
from spp.testkit.stack import SPP
from spp.testkit.wait import free_port


class TopoInstance:
    """The topology file, run directory and environment of one instance.

    `veths` are (namespace end, root end) names, phy:0, phy:1, ... at the root
    end; `write` adds the rest of the topology (processes, VMs) after the
    common head (name, prefixes, controller ports, namespace, veths).
    """

    def __init__(self, tmp: Path, prefix: str, ns: str, veths: tuple[tuple[str, str], ...],
                 file_name: str) -> None:
        self.prefix, self.ns, self.veths = prefix, ns, veths
        self.links = tuple(root for _, root in veths)
        self.run = tmp / "run"
        self.api, self.pri, self.sec, self.metrics = (free_port() for _ in range(4))
        self.env = {**os.environ, rundir.ROOT_ENV: str(self.run),
                    "SPP_CTL": f"127.0.0.1:{self.api}"}
        self.topology = tmp / file_name

    def write(self, rest: str) -> None:
        """The topology file: the common head, then `rest`."""
        ends = "".join(f"  - ends:\n      - {{name: {far}, netns: {self.ns}}}\n"
                       f"      - {{name: {root}, phy: {i}}}\n"
                       for i, (far, root) in enumerate(self.veths))
        self.topology.write_text(
            f"name: {self.prefix}\nfile_prefix: {self.prefix}\n"
            f"bpf_pin_prefix: {self.prefix}_\n"
            f"ctl: {{bind: 127.0.0.1, api_port: {self.api}, pri_port: {self.pri}, "
            f"sec_port: {self.sec}, metrics_port: {self.metrics}}}\n"
            f"namespaces: [{self.ns}]\nveths:\n{ends}{rest}")

    def spp(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Run the `spp` CLI against this instance."""
        return subprocess.run([*SPP, *args], capture_output=True, text=True, timeout=timeout,
                              env=self.env)

    def pid_file(self, name: str) -> Path:
        return rundir.pid_path(name, self.prefix)

    def pid(self, name: str) -> int | None:
        """The live SPP process the pid file of `name` names, else None."""
        pid = rundir.read_pid(self.pid_file(name))
        return pid if pid is not None and rundir.is_ours(pid) else None

    def mine(self, pid: int) -> bool:
        """`pid` is alive and its command line names this instance (prefix, run directory
        or topology): a pid the kernel gave to some other process since is not."""
        marks = (f"--file-prefix={self.prefix}", f"--file-prefix {self.prefix} ",
                 str(self.run), str(self.topology))
        cmd = rundir.cmdline(pid)
        return any(m in cmd for m in marks) and rundir.pid_alive(pid)

    def processes(self) -> list[int]:
        """Live processes of this instance."""
        return [int(d.name) for d in Path("/proc").iterdir()
                if d.name.isdigit() and int(d.name) != os.getpid() and self.mine(int(d.name))]

    def clean(self) -> None:
        """`spp down`; what still runs of the instance after it is killed (by pid) and
        `spp down` runs again."""
        self.spp("down", "--topology", str(self.topology))
        stray = self.processes()
        for pid in stray:
            os.kill(pid, signal.SIGKILL)
        if stray:
            self.spp("down", "--topology", str(self.topology))

    def leftovers(self) -> list[str]:
        """What of the instance is still there: hugepage files, DPDK runtime directory,
        pinned maps, pid files, namespace, veths, processes."""
        p = self.prefix
        out = [str(f) for f in Path("/dev/hugepages").glob(f"{p}map_*")]
        out += [str(d) for d in [Path("/var/run/dpdk", p)] if d.exists()]
        out += [str(f) for f in Path("/sys/fs/bpf/spp", p).rglob("*")]
        out += [str(f) for f in (self.run / p).glob("*.pid")]
        out += [f"netns {ns}" for ns in netdev.list_namespaces() if ns == self.ns]
        out += [f"link {n}" for n in self.links if Path("/sys/class/net", n).exists()]
        out += [f"pid {pid} ({rundir.cmdline(pid)[:100]})" for pid in self.processes()]
        return out
