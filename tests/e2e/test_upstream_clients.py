"""What upstream SPP's clients do, against the real stack with traffic.

- the OpenStack networking-spp agent plugging a VM port into a VLAN network
  and unplugging it again (its REST calls, in its order, with its bodies),
  with a DPDK virtio-user peer standing in for the VM (as tests/e2e/test_vf_vhost.py);
- upstream's primary status shape that upstream's CLI reads;
- `pri; launch` telling the truth.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from classify_icmp import MAC1 as VM1_MAC
from classify_icmp import REMOTE0
from test_vf_vhost import SOCK, Peer

from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.stack import SPP, Stack
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

VID = 100
IDENT = 0x6e73  # "ns": ICMP id of our frames


class Agent:
    """The REST calls networking-spp's agent makes, with the bodies it sends."""

    def __init__(self, api: int, sec_id: int = 1) -> None:
        self.base = f"http://127.0.0.1:{api}/v1/vfs/{sec_id}"

    def _ok(self, res: requests.Response) -> requests.Response:
        assert res.status_code < 400, f"{res.url}: {res.status_code} {res.text}"
        return res

    def info(self) -> dict[str, Any]:
        res = self._ok(requests.get(self.base, timeout=10))
        return res.json() if res.status_code != 204 else {}

    def comp_start(self, name: str, core: int, kind: str) -> None:
        self._ok(requests.post(f"{self.base}/components",
                               json={"name": name, "core": core, "type": kind}, timeout=10))

    def port(self, action: str, name: str, port: str, direction: str,
             vlan: dict[str, Any] | None = None) -> None:
        body = {"action": action, "port": port, "dir": direction, "vlan": vlan or {}}
        self._ok(requests.put(f"{self.base}/components/{name}/ports", json=body, timeout=10))

    def table(self, action: str, mac: str, port: str, vlan: int | None = None) -> None:
        body: dict[str, Any] = {"action": action, "type": "vlan" if vlan is not None else "mac",
                                "mac_address": mac, "port": port}
        if vlan is not None:
            body["vlan"] = vlan
        self._ok(requests.put(f"{self.base}/classifier_table", json=body, timeout=10))

    def vhost_components(self, vhost: str) -> tuple[str, str]:
        """(component sending to the vhost, component receiving from it), from GET."""
        to_vm = from_vm = ""
        for comp in self.info()["components"]:
            if comp["type"] == "unuse":
                continue
            if any(p["port"] == vhost for p in comp["tx_port"]):
                to_vm = comp["name"]
            if any(p["port"] == vhost for p in comp["rx_port"]):
                from_vm = comp["name"]
        return to_vm, from_vm


def _frame(dst: str, src: str, seq: int, vlan: tuple[int, int] | None) -> bytes:
    ip = frames.ipv4_icmp_echo("198.18.0.1", "198.18.0.11", ident=IDENT, seq=seq, reply=True)
    return frames.ethernet(dst, src, frames.ETH_P_IP, ip, vlan)


def _arrivals(ns: str, ifname: str, send_ns: str, send_if: str, sent: list[bytes],
              src: str, timeout: float = 3) -> list[frames.ParsedFrame]:
    def ours(cap: Capture) -> list[frames.ParsedFrame]:
        return [p for p in (f.parse() for f in cap.frames(received_only=True))
                if p.src == src and p.icmp_id == IDENT]

    with Capture(ns, ifname) as cap:
        send_frames(send_ns, send_if, sent)
        try:
            wait_for(lambda: len(ours(cap)) >= len(sent), timeout, f"frames on {ifname}")
        except AssertionError:
            pass
    return ours(cap)


def _to_vm(seqs: range, vlan: tuple[int, int] | None) -> list[frames.ParsedFrame]:
    sent = [_frame(VM1_MAC, REMOTE0, s, vlan) for s in seqs]
    return _arrivals("spp-vm1", "vm1-eth0", "spp-remote", "r-eth0", sent, REMOTE0)


def _to_remote(seqs: range) -> list[frames.ParsedFrame]:
    sent = [_frame(REMOTE0, VM1_MAC, s, None) for s in seqs]
    return _arrivals("spp-remote", "r-eth0", "spp-vm1", "vm1-eth0", sent, VM1_MAC)


@pytest.fixture
def peer(stack: Stack) -> Iterator[Peer]:
    SOCK.unlink(missing_ok=True)
    p = Peer(stack.logdir, server=False)
    try:
        yield p
    finally:
        p.kill(signal.SIGINT)
        SOCK.unlink(missing_ok=True)


def _config(st: dict[str, Any]) -> dict[str, Any]:
    return {"components": [{k: v for k, v in c.items() if k not in ("counters", "cycles")}
                           for c in st["components"]],
            "classifier_table": st["classifier_table"]}


def test_networking_spp_agent_plugs_and_unplugs_a_vlan_port_with_traffic(
        stack: Stack, peer: Peer) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "4")
    stack.start_vf(1, "2-4")
    agent = Agent(stack.api)
    # what an operator sets up for networking-spp: classifier, per-vhost forwarders, merger
    agent.comp_start("classifier", 3, "classifier_mac")
    agent.comp_start("forward_0_tx", 4, "forward")
    agent.comp_start("forward_0_rx", 4, "forward")
    agent.comp_start("merger", 3, "merge")
    for name, port, direction in [("classifier", "phy:0", "rx"), ("classifier", "ring:0", "tx"),
                                  ("forward_0_tx", "ring:0", "rx"),
                                  ("forward_0_tx", "vhost:0", "tx"),
                                  ("forward_0_rx", "vhost:0", "rx"),
                                  ("forward_0_rx", "ring:1", "tx"),
                                  ("merger", "ring:1", "rx"), ("merger", "phy:0", "tx")]:
        agent.port("attach", name, port, direction)
    baseline = _config(stack.vf_status())
    peer.start()
    wait_for(lambda: any(v["link"] == "up" for v in stack.primary_status()["vhost_ports"]),
             15, f"vhost:0 up (peer: {peer.log()})")

    # plug_port(vhost:0, VM1_MAC, vlan 100), as the agent does it
    to_vm, from_vm = agent.vhost_components("vhost:0")
    assert (to_vm, from_vm) == ("forward_0_tx", "forward_0_rx")
    agent.port("detach", from_vm, "vhost:0", "rx")
    agent.port("attach", from_vm, "vhost:0", "rx", {"operation": "add", "id": VID, "pcp": 0})
    agent.port("detach", to_vm, "vhost:0", "tx")
    agent.port("attach", to_vm, "vhost:0", "tx", {"operation": "del"})
    agent.table("add", VM1_MAC.upper(), "ring:0", vlan=VID)

    st = agent.info()
    assert {"type": "vlan", "value": f"{VID}/{VM1_MAC.upper()}", "port": "ring:0"} in \
        st["classifier_table"]
    comps = {c["name"]: c for c in st["components"] if c["type"] != "unuse"}
    assert comps["forward_0_rx"]["rx_port"] == [
        {"port": "vhost:0", "vlan": {"operation": "add", "id": VID, "pcp": 0}}]
    assert comps["forward_0_tx"]["tx_port"] == [
        {"port": "vhost:0", "vlan": {"operation": "del", "id": 0, "pcp": 0}}]
    assert comps["classifier"]["type"] == "classifier"

    # tagged frames from the remote reach the VM untagged; the VM's come back tagged
    for probe in range(20):  # testpmd starts forwarding a moment after the link is up
        if _to_vm(range(60000 + probe, 60001 + probe), (VID, 0)):
            break
    got = _to_vm(range(0, 32), (VID, 0))
    assert sorted(p.icmp_seq for p in got) == list(range(32)), peer.log()
    assert all(p.vlans == () for p in got)
    assert _to_vm(range(100, 108), (VID + 1, 0)) == []  # another VLAN: not this VM's
    back = _to_remote(range(200, 232))
    assert sorted(p.icmp_seq for p in back) == list(range(200, 232))
    assert all(p.vid == VID and p.pcp == 0 for p in back)

    # unplug_port, in reverse
    agent.table("del", VM1_MAC.upper(), "ring:0", vlan=VID)
    agent.port("detach", to_vm, "vhost:0", "tx")
    agent.port("attach", to_vm, "vhost:0", "tx")
    agent.port("detach", from_vm, "vhost:0", "rx")
    agent.port("attach", from_vm, "vhost:0", "rx")
    assert _config(stack.vf_status()) == baseline
    assert _to_vm(range(300, 308), (VID, 0)) == []  # no entry any more
    back = _to_remote(range(400, 408))
    assert all(p.vlans == () for p in back) and len(back) == 8


def test_primary_status_carries_upstreams_newer_shape(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "4")
    stack.client.put("primary/patches", {"src": "ring:0", "dst": "ring:1"})
    st = stack.primary_status()
    assert st["master-lcore"] == st["lcores"][0]
    assert [p["nof_queues"] for p in st["phy_ports"]] == [{"rx": 1, "tx": 1}] * 2
    assert st["forwarder"]["ports"][:3] == ["phy:0", "phy:1", "ring:0"]
    # upstream's src/dst, and which path carries the patch (rings: always userspace)
    assert st["forwarder"]["patches"] == [{"src": "ring:0", "dst": "ring:1",
                                           "datapath": "dpdk"}]
    assert st["forwarder"]["status"] == "idling" and "pipes" not in st
    stack.client.put("primary/forward", {"action": "start"})
    assert stack.primary_status()["forwarder"]["status"] == "running"
    assert {"phy_ports", "ring_ports", "vhost_ports", "patches", "forwarding"} <= set(st)


def _spp(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPP_CTL": f"127.0.0.1:{stack.api}"}
    return subprocess.run([*SPP, *args], capture_output=True, text=True, env=env, timeout=90)


def test_pri_launch_waits_and_prints_success_or_the_launched_vfs_own_reason(
        stack: Stack, tmp_path: Path) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--rings", "4",
                        env={"SPP_RUN_DIR": str(tmp_path / "run")})
    sec = f"127.0.0.1:{stack.sec_port}"
    bad = _spp(stack, "primary", "launch", "vf", "2", "-l", "3-x", "--", "-s", sec)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith("Error: vf:2 exited with code 2: spp vf: "), bad.stderr
    assert "3-x" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    ok = _spp(stack, "primary", "launch", "vf", "2", "-l", "3,4", "--", "-s", sec)
    try:
        assert (ok.returncode, ok.stdout) == (0, "Send request to launch vf:2.\nvf:2 is up.\n"), \
            ok.stderr
        assert {"type": "vf", "client-id": 2} in stack.client.processes()
        again = _spp(stack, "primary", "launch", "vf", "2", "-l", "5,6", "--", "-s", sec)
        assert again.stderr.strip() == "Cannot launch vf:2: it is already running."
    finally:
        stack.client.delete("vfs/2")
        launched = stack.primary_status()["launched"]
        pid = next(e["pid"] for e in launched if e["client_id"] == 2 and e.get("running"))
        wait_for(lambda: not any(e["client_id"] == 2 and e["running"]
                                 for e in stack.primary_status()["launched"]), 15,
                 f"vf 2 (pid {pid}) to exit")
