"""vhost:N ports of spp_vf against a DPDK virtio-user peer standing in for a VM.

The peer is dpdk-testpmd in io mode between net_virtio_user0 (on /tmp/sock0)
and net_af_packet0 on the root-side veth `spp-vm1`, so its "guest side" is
vm1-eth0 in namespace spp-vm1:

    spp-remote r-eth0 -> phy:0 -> fwd_in -> vhost:0 -> virtio-user -> testpmd -> vm1-eth0
    vm1-eth0 -> testpmd -> virtio-user -> vhost:0 -> fwd_out -> phy:0 -> spp-remote r-eth0

The vhost device itself lives in the primary (it maps the peer's memory); the
vf reaches it through the primary's bridge rings.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from classify_icmp import MAC1 as VM1_MAC
from classify_icmp import REMOTE0

from spp.host.nsexec import ping
from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.stack import Stack, component, port
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

SOCK = Path("/tmp/sock0")
IDENT = 0x7668  # ICMP id of our frames: nothing else on the wire uses it


@pytest.fixture(autouse=True)
def no_vhost_socket() -> Iterator[None]:
    """/tmp/sock0 neither before nor after the test (set up before, torn down after the stack)."""
    SOCK.unlink(missing_ok=True)
    yield
    SOCK.unlink(missing_ok=True)


class Peer:
    """dpdk-testpmd with a virtio-user port on /tmp/sock0, io-forwarding to veth spp-vm1."""

    def __init__(self, logdir: Path, server: bool) -> None:
        self.logdir = logdir
        self.server = server
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        cpus = sorted(os.sched_getaffinity(0))
        vdev = f"net_virtio_user0,path={SOCK}" + (",server=1" if self.server else "")
        argv = ["dpdk-testpmd", "--no-pci", "--in-memory", "--single-file-segments",
                "--file-prefix", "spp-vm-peer", "--lcores", f"0@{cpus[0]},1@{cpus[-1]}",
                "-m", "256", "--log-level", "warning",
                "--vdev", vdev, "--vdev", "net_af_packet0,iface=spp-vm1",
                "--", "--forward-mode=io", "--auto-start", "--no-mlockall"]
        self.starts += 1
        log = open(self.logdir / f"peer{self.starts}.log", "wb")  # noqa: SIM115 - child owns it
        # stdin is a pipe: testpmd runs until it reads "enter" or EOF, so it also ends with us
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.PIPE, start_new_session=True)
        log.close()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        path = self.logdir / f"peer{self.starts}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


@pytest.fixture
def peers(stack: Stack, tmp_path: Path) -> Iterator[list[Peer]]:
    """Every Peer a test appends here is killed before the stack stops."""
    made: list[Peer] = []
    try:
        yield made
    finally:
        for p in made:
            p.kill(signal.SIGINT)


def _vhost_link(stack: Stack) -> str | None:
    ports = {p["id"]: p for p in stack.primary_status()["vhost_ports"]}
    return ports[0]["link"] if 0 in ports else None


def _wire(stack: Stack) -> None:
    stack.vf(1,
             component("fwd_in", 3, "forward"), component("fwd_out", 4, "forward"),
             port("attach", "phy:0", "rx", "fwd_in"), port("attach", "vhost:0", "tx", "fwd_in"),
             port("attach", "vhost:0", "rx", "fwd_out"), port("attach", "phy:0", "tx", "fwd_out"))


def _reply(dst: str, src: str, src_ip: str, dst_ip: str, seq: int) -> bytes:
    # echo *replies*: no kernel answers them, so only what we send is on the wire
    payload = frames.ipv4_icmp_echo(src_ip, dst_ip, ident=IDENT, seq=seq, reply=True)
    return frames.ethernet(dst, src, frames.ETH_P_IP, payload)


def _ours(cap: Capture, src: str) -> list[frames.ParsedFrame]:
    out = []
    for f in cap.frames(received_only=True):
        p = f.parse()
        if p.src == src and p.icmp_id == IDENT:
            out.append(p)
    return out


def _to_vm(stack: Stack, seqs: range, timeout: float = 5) -> list[int]:
    """remote -> vm: seqs of our frames that reached vm1-eth0."""
    sent = [_reply(VM1_MAC, REMOTE0, "198.18.0.1", "198.18.0.11", s) for s in seqs]
    with Capture("spp-vm1", "vm1-eth0") as cap:
        send_frames("spp-remote", "r-eth0", sent)
        try:
            wait_for(lambda: len(_ours(cap, REMOTE0)) >= len(sent), timeout, "frames at vm")
        except AssertionError:
            pass
    return sorted(p.icmp_seq for p in _ours(cap, REMOTE0) if p.icmp_seq is not None)


def _to_remote(stack: Stack, seqs: range, timeout: float = 5) -> list[int]:
    """vm -> remote: seqs of our frames that reached r-eth0."""
    sent = [_reply(REMOTE0, VM1_MAC, "198.18.0.11", "198.18.0.1", s) for s in seqs]
    with Capture("spp-remote", "r-eth0") as cap:
        send_frames("spp-vm1", "vm1-eth0", sent)
        try:
            wait_for(lambda: len(_ours(cap, VM1_MAC)) >= len(sent), timeout, "frames at remote")
        except AssertionError:
            pass
    return sorted(p.icmp_seq for p in _ours(cap, VM1_MAC) if p.icmp_seq is not None)


def _wait_flowing(stack: Stack, peer: Peer) -> None:
    """Link up in the primary, then single probes until testpmd forwards (it starts last)."""
    try:
        wait_for(lambda: _vhost_link(stack) == "up" or not peer.alive(), 15,
                 "vhost:0 link up in the primary")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\npeer: {peer.log()}") from None
    assert peer.alive(), peer.log()
    for probe in range(20):
        if _to_vm(stack, range(60000 + probe, 60001 + probe), timeout=0.5):
            return
    raise AssertionError(f"no frame crossed vhost:0\npeer: {peer.log()}\n"
                         f"primary: {stack.log('primary')}")


def _assert_both_ways(stack: Stack, peer: Peer, first: int, n: int = 32) -> None:
    got = _to_vm(stack, range(first, first + n))
    assert got == list(range(first, first + n)), f"remote->vm: {got}\n{peer.log()}"
    got = _to_remote(stack, range(first, first + n))
    assert got == list(range(first, first + n)), f"vm->remote: {got}\n{peer.log()}"


def _port_ctr(stack: Stack) -> dict[str, int]:
    return stack.vf_status(1)["port_counters"]["vhost:0"]


def test_server_mode_vhost_exchanges_frames_with_virtio_user_client(
        stack: Stack, peers: list[Peer]) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_vf(1, "2-4")
    _wire(stack)
    # our vhost is the server: the socket exists and waits before any peer comes
    assert SOCK.exists() and stat.S_ISSOCK(SOCK.stat().st_mode)
    vhost = stack.primary_status()["vhost_ports"]
    assert [(v["id"], v["driver"], v["iface"], v["link"]) for v in vhost] == [
        (0, "net_vhost", str(SOCK), "down")]
    assert "vhost:0" in stack.vf_status(1)["ports"]

    peer = Peer(stack.logdir, server=False)
    peers.append(peer)
    peer.start()
    _wait_flowing(stack, peer)
    before = _port_ctr(stack)
    _assert_both_ways(stack, peer, 0, 64)
    after = _port_ctr(stack)
    assert after["tx"] - before["tx"] >= 64 and after["rx"] - before["rx"] >= 64
    assert after["tx_drop"] == 0
    # and a real conversation (ARP + ICMP, answered by the vm namespace's kernel)
    assert ping("spp-remote", "198.18.0.11", count=2, timeout=3), peer.log()

    # a clean stop of the primary takes its server socket away
    peer.kill(signal.SIGINT)
    assert stack.stop("vf1") == 0, stack.log("vf1")
    assert stack.stop("primary", signal.SIGINT) == 0, stack.log("primary")
    assert not SOCK.exists()


def test_client_mode_vhost_connects_to_virtio_user_server(
        stack: Stack, peers: list[Peer]) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_vf(1, "2-4", "--vhost-client")
    _wire(stack)
    # our vhost is the client: no socket of ours, link down until the peer listens
    assert not SOCK.exists()
    assert _vhost_link(stack) == "down"

    peer = Peer(stack.logdir, server=True)
    peers.append(peer)
    peer.start()
    _wait_flowing(stack, peer)
    _assert_both_ways(stack, peer, 0, 64)
    assert ping("spp-remote", "198.18.0.11", count=2, timeout=3), peer.log()


@pytest.mark.parametrize("mode", ["server", "client"])
def test_vhost_forwards_again_after_peer_is_killed_and_restarted(
        stack: Stack, peers: list[Peer], mode: str) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_vf(1, "2-4", *(["--vhost-client"] if mode == "client" else []))
    _wire(stack)
    peer = Peer(stack.logdir, server=mode == "client")
    peers.append(peer)
    peer.start()
    _wait_flowing(stack, peer)
    _assert_both_ways(stack, peer, 0)

    peer.kill(signal.SIGKILL)  # the "VM" dies without a goodbye
    wait_for(lambda: _vhost_link(stack) == "down", 10, "vhost:0 link down after peer died")
    assert _to_vm(stack, range(100, 104), timeout=0.5) == []
    assert stack.procs["primary"].poll() is None and stack.procs["vf1"].poll() is None
    assert not list(Path("/dev/hugepages").glob("spp-vm-peer*"))  # --in-memory: no files
    if mode == "client":
        # the dead server's socket file stays; virtio-user (like QEMU) refuses to bind over
        # it ("Address already in use; remove it and try again"), so the operator removes it
        assert SOCK.exists()
        SOCK.unlink()

    peer.start()
    _wait_flowing(stack, peer)
    _assert_both_ways(stack, peer, 200)
    assert stack.procs["primary"].poll() is None, stack.log("primary")
