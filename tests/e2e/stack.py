"""Start the real controller, primary and spp_vf for end-to-end tests.

Every process is started through the `spp` CLI exactly as an operator would,
on free TCP ports, and is stopped (SIGTERM, then SIGKILL) when the stack is
closed, even after a failed test. Logs stay in a temporary directory and are
attached to assertion messages.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spp.client import Client, SppError

SPP = [sys.executable, "-m", "spp.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except (SppError, OSError):
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Stack:
    """ctl + primary + vfs; use as a context manager."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.api = free_port()
        self.pri_port = free_port()
        self.sec_port = free_port()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.client = Client(f"127.0.0.1:{self.api}", timeout=10)

    # ---- processes --------------------------------------------------
    def _spawn(self, name: str, argv: list[str],
               env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.logdir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen([*SPP, *argv], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env={**os.environ, **env} if env else None)
        log.close()
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        path = self.logdir / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def start_ctl(self, *extra: str) -> None:
        self._spawn("ctl", ["ctl", "-p", str(self.pri_port), "-s", str(self.sec_port),
                            "-a", str(self.api), *extra])
        wait_for(lambda: self.client.processes() is not None, 10, "controller REST API")

    def start_primary(self, *args: str, env: dict[str, str] | None = None) -> None:
        self._spawn("primary", ["primary", "start", *args, "--ctl",
                                f"127.0.0.1:{self.pri_port}"], env)
        wait_for(lambda: self._has({"type": "primary"}) or self._died("primary"), 30,
                 "primary to register")
        assert self.procs["primary"].poll() is None, self.log("primary")

    def start_vf(self, client_id: int = 1, lcores: str = "2-6", *extra: str,
                 env: dict[str, str] | None = None) -> None:
        name = f"vf{client_id}"
        self._spawn(name, ["vf", "-l", lcores, "--proc-type=secondary", "--",
                           "--client-id", str(client_id), "-s",
                           f"127.0.0.1:{self.sec_port}", *extra], env)
        wait_for(lambda: self._has({"type": "vf", "client-id": client_id}) or self._died(name),
                 30, f"vf {client_id} to register")
        assert self.procs[name].poll() is None, self.log(name)

    def _died(self, name: str) -> bool:
        return self.procs[name].poll() is not None

    def _has(self, want: dict[str, Any]) -> bool:
        return any(all(p.get(k) == v for k, v in want.items()) for p in self.client.processes())

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 15) -> int | None:
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else None
        os.kill(proc.pid, sig)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            return proc.wait(5)

    def close(self) -> None:
        for name in sorted(self.procs, key=lambda n: (n == "ctl", n == "primary")):
            self.stop(name)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- REST shortcuts ---------------------------------------------
    def vf(self, cid: int, *cmds: tuple[str, str, Any]) -> None:
        for method, path, body in cmds:
            self.client.request(method, f"/vfs/{cid}{path}", body)

    def primary_status(self) -> dict[str, Any]:
        return self.client.primary_status()

    def vf_status(self, cid: int = 1) -> dict[str, Any]:
        return self.client.vf_status(cid)


def component(name: str, core: int, role: str) -> tuple[str, str, Any]:
    return ("POST", "/components", {"name": name, "core": core, "type": role})


def port(action: str, uid: str, direction: str, comp: str,
         vlan: dict[str, Any] | None = None) -> tuple[str, str, Any]:
    rest_action = {"add": "attach", "del": "detach"}.get(action, action)
    body: dict[str, Any] = {"action": rest_action, "port": uid, "dir": direction}
    if vlan is not None:
        body["vlan"] = vlan
    return ("PUT", f"/components/{comp}/ports", body)


def table(action: str, mac: str, uid: str, vlan: int | None = None) -> tuple[str, str, Any]:
    return ("PUT", "/classifier_table", {
        "action": action, "type": "vlan" if vlan is not None else "mac",
        "vlan": vlan, "mac_address": mac, "port": uid})


def leftovers(prefix: str = "spp") -> list[str]:
    """Hugepage files, DPDK runtime files and pinned maps a stopped stack must not leave."""
    out = [str(p) for p in Path("/dev/hugepages").glob(f"{prefix}map_*")]
    out += [str(p) for p in Path("/sys/fs/bpf").glob("spp_*")]
    out += [str(p) for p in Path("/sys/fs/bpf/spp", prefix).rglob("*")]
    return out


def xdp_attached(ifname: str) -> bool:
    out = subprocess.run(["ip", "-d", "link", "show", "dev", ifname],
                         capture_output=True, text=True).stdout
    return "prog/xdp" in out or " xdp " in out or "xdpgeneric" in out
