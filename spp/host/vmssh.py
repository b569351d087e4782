"""Reach the test VMs as the SSH-login use case's remote host does: SSH logins, bulk TCP.

Used by `make demo USECASE=ssh_login`, the VM e2e tests and the `vm-tcp` bench.
Everything runs from a namespace of the topology (the remote host) with the
key pair of the VM image (`ssh -i build/vm/id_ed25519 root@ADDRESS`).

    python -m spp.host.vmssh --topology recipes/topologies/ssh_login.yaml [--mib 50]

logs in to every VM NIC from the namespace on its subnet, sends a stream
through each (sha256-checked in the guest), runs iperf3 the other way (the
guest sends) and prints one table row per path.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import random
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spp.host import netdev, nsexec, vmimage
from spp.host.topology import Topology, TopologyError, load_topology

SSH_OPTIONS = ("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10")
# what each login runs: who am I, which address did the connection come in on, and
# which interface holds that address
LOGIN_COMMAND = 'hostname; echo "$SSH_CONNECTION"; ip -o -4 addr show'
BULK_PORT = 5001
MIB = 1 << 20


class VmSshError(RuntimeError):
    """A login or transfer failed; the message says which and why."""


@dataclass(frozen=True)
class VmPath:
    """One way from the remote host to a VM NIC (e.g. "spp-vm1 via NIC0")."""

    netns: str  # where the remote host's end of the NIC lives
    remote_if: str
    phy: int | None  # spp's phy:N on the other end of remote_if
    vm: str
    ifname: str
    vhost: str
    address: str  # the VM NIC's IPv4 address

    @property
    def label(self) -> str:
        phy = f"phy:{self.phy}" if self.phy is not None else self.remote_if
        return f"{self.remote_if} -> {phy} -> {self.vhost}"


def vm_paths(topo: Topology) -> list[VmPath]:
    """Every VM NIC with an address, with the namespace interface on the same subnet."""
    out = []
    for vm in topo.vms:
        for nic in vm.nics:
            if nic.ipv4 is None:
                continue
            addr = ipaddress.IPv4Interface(nic.ipv4)
            for veth in topo.veths:
                for end, peer in ((veth.a, veth.b), (veth.b, veth.a)):
                    if end.in_root or end.ipv4 is None:
                        continue
                    if addr.ip in ipaddress.IPv4Interface(end.ipv4).network:
                        out.append(VmPath(end.netns, end.name, peer.phy, vm.name, nic.ifname,
                                         nic.uid, str(addr.ip)))
    return out


def ssh_argv(address: str, command: str, key: Path | None = None) -> list[str]:
    key = key or vmimage.default_image().ssh_key
    return ["ssh", "-i", str(key), *SSH_OPTIONS, f"root@{address}", command]


def ssh(ns: str, address: str, command: str, timeout: float = 30.0,
        key: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `command` on the VM as root from namespace `ns`."""
    try:
        return nsexec.run_in_ns(ns, ssh_argv(address, command, key), timeout=timeout)
    except subprocess.TimeoutExpired:
        raise VmSshError(f"ssh root@{address} '{command}': no answer in {timeout:g} s") from None


def _connect(ns: str, address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection made from inside `ns` (the socket stays in that namespace)."""
    with netdev.entered(ns):
        return socket.create_connection((address, port), timeout=timeout)


def wait_ssh(ns: str, address: str, timeout: float) -> float:
    """Until the VM's SSH server sends its banner; returns the seconds it took."""
    t0 = time.monotonic()
    last = "no attempt"
    while time.monotonic() - t0 < timeout:
        try:
            with _connect(ns, address, 22, 2.0) as s:
                s.settimeout(3.0)
                if s.recv(64).startswith(b"SSH-"):
                    return time.monotonic() - t0
                last = "no SSH banner"
        except OSError as exc:
            last = exc.strerror or str(exc)
        time.sleep(0.3)
    raise VmSshError(f"no SSH server at {address} after {timeout:g} s ({last})")


@dataclass(frozen=True)
class Login:
    address: str
    hostname: str
    client_ip: str  # where the connection came from ($SSH_CONNECTION)
    server_ip: str  # the address it came in on
    ifname: str  # the guest interface holding that address
    seconds: float


def login(ns: str, address: str, timeout: float = 30.0) -> Login:
    """Log in, run LOGIN_COMMAND, and say where the connection landed."""
    t0 = time.monotonic()
    proc = ssh(ns, address, LOGIN_COMMAND, timeout)
    took = time.monotonic() - t0
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise VmSshError(f"ssh root@{address} failed: {why}")
    lines = proc.stdout.splitlines()
    if len(lines) < 2 or len(lines[1].split()) != 4:
        raise VmSshError(f"ssh root@{address}: unexpected output {proc.stdout!r}")
    client_ip, _port, server_ip, _ = lines[1].split()
    ifname = ""
    for line in lines[2:]:
        words = line.split()
        if "inet" in words and words[words.index("inet") + 1].split("/")[0] == server_ip:
            ifname = words[1]
    return Login(address, lines[0].strip(), client_ip, server_ip, ifname, took)


@dataclass(frozen=True)
class Transfer:
    address: str
    size: int
    seconds: float
    sent_sha256: str
    received_sha256: str

    @property
    def intact(self) -> bool:
        return self.sent_sha256 == self.received_sha256

    @property
    def mib_per_s(self) -> float:
        return self.size / MIB / self.seconds if self.seconds else 0.0


def stream(size: int, seed: str) -> bytes:
    """`size` bytes of reproducible noise (nothing on the path can compress or guess it)."""
    return random.Random(seed).randbytes(size)


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    """One line of `proc`'s stdout, or '' when none comes within `timeout` seconds."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


def bulk_transfer(ns: str, address: str, size: int = 50 * MIB, port: int = BULK_PORT,
                  timeout: float = 120.0) -> Transfer:
    """Send `size` bytes over one TCP connection from `ns` to the VM; compare sha256 sums.

    The VM's busybox `nc` stores the stream in /tmp; the time runs from the
    connection to the moment nc has seen the end of it. The guest hashes the
    file afterwards, outside the timed part.
    """
    data = stream(size, f"{address}:{size}")
    sent = hashlib.sha256(data).hexdigest()
    receiver = subprocess.Popen(
        nsexec.ns_command(ns, ssh_argv(address, f"nc -l -p {port} > /tmp/bulk && echo done")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30.0
        while True:
            try:
                conn = _connect(ns, address, port, 5.0)
                break
            except OSError as exc:
                if receiver.poll() is not None or time.monotonic() > deadline:
                    raise VmSshError(f"cannot connect to {address}:{port}: "
                                     f"{exc.strerror or exc}") from None
                time.sleep(0.2)
        t0 = time.monotonic()
        with conn:
            conn.settimeout(timeout)
            conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
            line = _readline(receiver, timeout)
        took = time.monotonic() - t0
        if line.strip() != "done":
            raise VmSshError(f"receiver on {address} did not finish: "
                             f"{(receiver.stderr.read() if receiver.stderr else '').strip()}")
        receiver.wait(timeout=30)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
    proc = ssh(ns, address, "sha256sum /tmp/bulk; rm -f /tmp/bulk", timeout=120)
    got = proc.stdout.split()[0] if proc.returncode == 0 and proc.stdout.split() else "-"
    return Transfer(address, size, took, sent, got)


# iperf3's server takes no new test while it finishes the last one: it refuses the
# connection or says it is busy. Under TCG that window lasts up to a second or two.
IPERF_RETRY = ("Connection refused", "server is busy")
IPERF_ATTEMPTS = 10


def iperf(ns: str, address: str, seconds: int = 3, omit: int = 1,
          reverse: bool = False) -> float:
    """Mbit/s the receiver counted in an iperf3 run from `ns` to the guest's `iperf3 -s`
    (`reverse`: the guest sends)."""
    argv = ["iperf3", "-c", address, "-t", str(seconds), "-O", str(omit), "-J"]
    if reverse:
        argv.append("-R")
    attempt = 0
    while True:
        attempt += 1
        try:
            proc = nsexec.run_in_ns(ns, argv, timeout=seconds + omit + 60)
        except subprocess.TimeoutExpired:
            raise VmSshError(f"iperf3 to {address} did not finish") from None
        try:
            res = json.loads(proc.stdout)
            return float(res["end"]["sum_received"]["bits_per_second"]) / 1e6
        except (ValueError, KeyError, TypeError):
            out = (proc.stdout + proc.stderr).strip()[-300:]
            if attempt < IPERF_ATTEMPTS and any(w in out for w in IPERF_RETRY):
                time.sleep(0.5)
                continue
            raise VmSshError(f"iperf3 to {address} failed: {out}") from None


def check_paths(topo: Topology, mib: int, echo: Callable[[str], Any] = print) -> bool:
    """Log in through every path, send a stream through each, print the table; all ok?"""
    ok = True
    rows = []
    for p in vm_paths(topo):
        try:
            wait_ssh(p.netns, p.address, 120)
            lg = login(p.netns, p.address)
            echo(f"ssh root@{p.address} (via {p.remote_if}): hostname {lg.hostname}, "
                 f"came in on {lg.server_ip} ({lg.ifname}) in {lg.seconds:.2f} s")
            good_login = (lg.hostname, lg.ifname) == (p.vm, p.ifname)
            tr = bulk_transfer(p.netns, p.address, mib * MIB)
            back = iperf(p.netns, p.address, seconds=2, reverse=True) / 8 * 1e6 / MIB
            status = "ok" if tr.intact and good_login else "MISMATCH"
            rows.append((p.label, p.vm, p.ifname, f"{lg.seconds:.2f} s",
                         f"{tr.mib_per_s:.1f}", f"{back:.1f}",
                         f"{tr.received_sha256[:12]} {status}"))
            ok = ok and status == "ok"
        except VmSshError as exc:
            rows.append((p.label, p.vm, p.ifname, "-", "-", "-", f"FAILED: {exc}"))
            ok = False
    head = ("path", "VM", "guest if", "login", "to VM MiB/s (nc)", "back MiB/s (iperf3 -R)",
            f"sha256 of {mib} MiB to the VM")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    echo("")
    for r in [head, *rows]:
        echo("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m spp.host.vmssh", description=__doc__.split(
        "\n")[0])
    ap.add_argument("--topology", required=True, help="topology YAML with `vms:`")
    ap.add_argument("--mib", type=int, default=50, help="MiB per stream (default 50)")
    args = ap.parse_args(argv)
    try:
        topo = load_topology(args.topology)
    except TopologyError as exc:
        print(f"vmssh: {exc}", file=sys.stderr)
        return 2
    return 0 if check_paths(topo, args.mib) else 1


if __name__ == "__main__":
    sys.exit(main())
