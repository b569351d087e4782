"""The real controller, primary and spp_vf, started through the `spp` CLI on free ports."""

from __future__ import annotations

import socket
import sys
from typing import Any

from bench.procs import Procs, wait_for
from spp.client import Client, SppError

SPP = [sys.executable, "-m", "spp.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SppStack:
    """ctl + primary + vf; their processes live in (and are stopped by) `procs`."""

    def __init__(self, procs: Procs) -> None:
        self.procs = procs
        self.api, self.pri_port, self.sec_port = free_port(), free_port(), free_port()
        self.client = Client(f"127.0.0.1:{self.api}", timeout=30)

    def start_ctl(self) -> None:
        self.procs.spawn("ctl", [*SPP, "ctl", "-p", str(self.pri_port), "-s",
                                 str(self.sec_port), "-a", str(self.api)])
        self._wait("ctl", lambda: self.client.processes() is not None, "controller REST API")

    def start_primary(self, *phys: str) -> None:
        argv = [*SPP, "primary", "start", "-l", "0,1", "--no-pci"]
        for iface in phys:
            argv += ["--phy", iface]
        self.procs.spawn("primary", [*argv, "--ctl", f"127.0.0.1:{self.pri_port}"])
        self._wait("primary", lambda: self._has({"type": "primary"}), "primary to register")

    def start_vf(self, lcores: str, client_id: int = 1, extra: tuple[str, ...] = ()) -> None:
        name = f"vf{client_id}"
        self.procs.spawn(name, [*SPP, "vf", "-l", lcores, "--no-pci", "--proc-type=secondary",
                                "--", "--client-id", str(client_id),
                                "-s", f"127.0.0.1:{self.sec_port}", *extra])
        self._wait(name, lambda: self._has({"type": "vf", "client-id": client_id}),
                   f"vf {client_id} to register")

    def stop(self) -> None:
        for name in ("vf1", "primary", "ctl"):
            self.procs.stop(name)

    def _wait(self, name: str, pred: Any, what: str) -> None:
        def ok() -> bool:
            try:
                return bool(pred())
            except SppError:
                return False
        wait_for(ok, 60, what, lambda: self.procs.check_alive(name))

    def _has(self, want: dict[str, Any]) -> bool:
        return any(all(p.get(k) == v for k, v in want.items()) for p in self.client.processes())

    # ---- REST -------------------------------------------------------
    def patch_and_forward(self, src: str, dst: str) -> None:
        self.client.put("/primary/patches", {"src": src, "dst": dst})
        self.client.put("/primary/forward", {"action": "start"})

    def component(self, name: str, core: int, role: str, cid: int = 1) -> None:
        self.client.post(f"/vfs/{cid}/components", {"name": name, "core": core, "type": role})

    def port(self, comp: str, uid: str, direction: str, cid: int = 1) -> None:
        self.client.put(f"/vfs/{cid}/components/{comp}/ports",
                        {"action": "attach", "port": uid, "dir": direction})

    def mac_entry(self, mac: str, uid: str, cid: int = 1) -> None:
        self.client.put(f"/vfs/{cid}/classifier_table", {
            "action": "add", "type": "mac", "vlan": None, "mac_address": mac, "port": uid})
