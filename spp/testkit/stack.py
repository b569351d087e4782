"""The real controller, primary, spp_vf and spp_nfv, started through the `spp` CLI on free ports.

Every process is started exactly as an operator would start it and is stopped
(SIGTERM, then SIGKILL) when the stack is closed, even after a failure. Logs
stay in the children's log directory and are attached to failure messages.
Tests use it through the `stack` fixture, the benchmark with its own
`Children` (which also run dpdk-testpmd).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from spp.client import Client
from spp.testkit.procs import Children
from spp.testkit.wait import free_port, wait_for

SPP = [sys.executable, "-m", "spp.cli.main"]

Cmd = tuple[str, str, Any]  # (method, path under /vfs/N, body)


class Stack:
    """ctl + primary + vfs on free ports; use as a context manager."""

    def __init__(self, logdir: Path | None = None, *, children: Children | None = None,
                 client_timeout: float = 10.0, start_timeout: float = 30.0) -> None:
        if children is None:
            if logdir is None:
                raise ValueError("Stack needs a log directory or Children")
            children = Children(logdir)
        self.children = children
        self.logdir = children.logdir
        self.start_timeout = start_timeout
        self.api, self.pri_port, self.sec_port = free_port(), free_port(), free_port()
        self.client = Client(f"127.0.0.1:{self.api}", timeout=client_timeout)
        self._names: list[str] = []

    @property
    def procs(self) -> dict[str, subprocess.Popen[bytes]]:
        return {n: p for n, p in self.children.procs.items() if n in self._names}

    # ---- processes --------------------------------------------------
    def _spawn(self, name: str, argv: list[str],
               env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        if name not in self._names:
            self._names.append(name)
        return self.children.spawn(name, [*SPP, *argv], env=env)

    def log(self, name: str) -> str:
        return self.children.log(name)

    def _await(self, name: str, want: dict[str, Any], what: str) -> None:
        wait_for(lambda: self._has(want), self.start_timeout, what,
                 check=lambda: self.children.check_alive(name))

    def start_ctl(self, *extra: str) -> None:
        self._spawn("ctl", ["ctl", "-p", str(self.pri_port), "-s", str(self.sec_port),
                            "-a", str(self.api), *extra])
        wait_for(lambda: self.client.processes() is not None, self.start_timeout,
                 "controller REST API", check=lambda: self.children.check_alive("ctl"))

    def start_primary(self, *args: str, env: dict[str, str] | None = None) -> None:
        self._spawn("primary", ["primary", "start", *args, "--ctl",
                                f"127.0.0.1:{self.pri_port}"], env)
        self._await("primary", {"type": "primary"}, "primary to register")

    def start_vf(self, client_id: int = 1, lcores: str = "2-6", *extra: str,
                 eal: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        """spp_vf `client_id` on `lcores`; `extra` app options, `eal` more EAL options."""
        name = f"vf{client_id}"
        self._spawn(name, ["vf", "-l", lcores, *eal, "--proc-type=secondary", "--",
                           "--client-id", str(client_id), "-s",
                           f"127.0.0.1:{self.sec_port}", *extra], env)
        self._await(name, {"type": "vf", "client-id": client_id},
                    f"vf {client_id} to register")

    def start_nfv(self, client_id: int = 1, lcores: str = "7,8", *extra: str,
                  env: dict[str, str] | None = None) -> None:
        """spp_nfv `client_id` in upstream's form (`-- -n ID -s HOST:PORT`) on `lcores`."""
        name = f"nfv{client_id}"
        self._spawn(name, ["nfv", "-l", lcores, "--proc-type=secondary", "--",
                           "-n", str(client_id), "-s", f"127.0.0.1:{self.sec_port}", *extra],
                    env)
        self._await(name, {"type": "nfv", "client-id": client_id},
                    f"nfv {client_id} to register")

    def start_mirror(self, client_id: int = 1, lcores: str = "2,3", *extra: str,
                     env: dict[str, str] | None = None) -> None:
        """spp_mirror `client_id` in upstream's form (`-- --client-id ID -s HOST:PORT`)."""
        name = f"mirror{client_id}"
        self._spawn(name, ["mirror", "-l", lcores, "--proc-type=secondary", "--",
                           "--client-id", str(client_id), "-s", f"127.0.0.1:{self.sec_port}",
                           *extra], env)
        self._await(name, {"type": "mirror", "client-id": client_id},
                    f"mirror {client_id} to register")

    def start_pcap(self, client_id: int = 1, lcores: str = "2,3,4", *extra: str,
                   env: dict[str, str] | None = None) -> None:
        """spp_pcap `client_id` in upstream's form (`-- --client-id ID -s HOST:PORT -c ...`);
        `extra` holds -c RES_UID and the other app options."""
        name = f"pcap{client_id}"
        self._spawn(name, ["pcap", "-l", lcores, "--proc-type=secondary", "--",
                           "--client-id", str(client_id), "-s", f"127.0.0.1:{self.sec_port}",
                           *extra], env)
        self._await(name, {"type": "pcap", "client-id": client_id},
                    f"pcap {client_id} to register")

    def nfv_status(self, cid: int = 1) -> dict[str, Any]:
        return self.client.nfv_status(cid)

    def _has(self, want: dict[str, Any]) -> bool:
        return any(all(p.get(k) == v for k, v in want.items()) for p in self.client.processes())

    def stop(self, name: str, sig: int | None = None, timeout: float = 15) -> int | None:
        """Stop one process of the stack (SIGTERM unless `sig`); its exit code."""
        if sig is None:
            return self.children.stop(name, timeout=timeout)
        return self.children.stop(name, sig, timeout)

    def close(self) -> None:
        """Stop the secondaries, then the primary, then the controller."""
        for name in sorted(self._names, key=lambda n: (n == "ctl", n == "primary")):
            self.stop(name)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- REST shortcuts ---------------------------------------------
    def vf(self, cid: int, *cmds: Cmd) -> None:
        for method, path, body in cmds:
            self.client.request(method, f"/vfs/{cid}{path}", body)

    def primary_status(self) -> dict[str, Any]:
        return self.client.primary_status()

    def vf_status(self, cid: int = 1) -> dict[str, Any]:
        return self.client.vf_status(cid)

    def patch_and_forward(self, src: str, dst: str) -> None:
        self.client.put("/primary/patches", {"src": src, "dst": dst})
        self.client.put("/primary/forward", {"action": "start"})

    def component(self, name: str, core: int, role: str, cid: int = 1) -> None:
        self.vf(cid, component(name, core, role))

    def port(self, comp: str, uid: str, direction: str, cid: int = 1) -> None:
        self.vf(cid, port("add", uid, direction, comp))

    def mac_entry(self, mac: str, uid: str, cid: int = 1) -> None:
        self.vf(cid, table("add", mac, uid))


def component(name: str, core: int, role: str) -> Cmd:
    return ("POST", "/components", {"name": name, "core": core, "type": role})


def port(action: str, uid: str, direction: str, comp: str,
         vlan: dict[str, Any] | None = None) -> Cmd:
    rest_action = {"add": "attach", "del": "detach"}.get(action, action)
    body: dict[str, Any] = {"action": rest_action, "port": uid, "dir": direction}
    if vlan is not None:
        body["vlan"] = vlan
    return ("PUT", f"/components/{comp}/ports", body)


def table(action: str, mac: str, uid: str, vlan: int | None = None) -> Cmd:
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
