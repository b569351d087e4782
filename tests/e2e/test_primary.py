"""The DPDK primary on af_xdp phy ports: patch forwarding, steering, clean exits."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from spp.host.nsexec import ping
from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.stack import SPP, Stack, leftovers, xdp_attached
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

VM1_MAC, VM2_MAC = "52:54:00:12:34:56", "52:54:00:12:34:58"


def _patch_both_ways(stack: Stack) -> None:
    c = stack.client
    c.put("/primary/patches", {"src": "phy:0", "dst": "phy:1"})
    c.put("/primary/patches", {"src": "phy:1", "dst": "phy:0"})
    c.put("/primary/forward", {"action": "start"})


def test_patch_forwards_ping_between_namespaces_and_counts_every_frame(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-vm1", "--phy", "spp-vm2")
    _patch_both_ways(stack)
    assert ping("spp-vm1", "198.18.0.12", count=3, timeout=3), stack.log("primary")

    stack.client.delete("/primary/status")
    sent = [frames.icmp_echo_frame(VM2_MAC, VM1_MAC, "198.18.0.11", "198.18.0.12", seq=i)
            for i in range(50)]
    with Capture("spp-vm2", "vm2-eth0") as cap:
        send_frames("spp-vm1", "vm1-eth0", sent)
        wait_for(lambda: stack.primary_status()["phy_ports"][1]["tx"] >= 50, 5, "50 tx")
        time.sleep(0.3)
    got = [f.parse() for f in cap.frames(received_only=True)]
    echo = [f for f in got if f.icmp_type == 8 and f.dst == VM2_MAC]
    assert len(echo) == 50
    phy = stack.primary_status()["phy_ports"]
    assert phy[0]["rx"] == 50 + (len(got) - len(echo)) * 0  # nothing else was sent
    assert phy[1]["tx"] == 50 and phy[1]["tx_drop"] == 0
    assert phy[0]["iface"] == "spp-vm1" and phy[0]["driver"] == "net_af_xdp"


def test_patch_reset_and_stop_end_forwarding(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-vm1", "--phy", "spp-vm2")
    _patch_both_ways(stack)
    assert ping("spp-vm1", "198.18.0.12", count=1, timeout=3)
    stack.client.put("/primary/forward", {"action": "stop"})
    assert not ping("spp-vm1", "198.18.0.12", count=1, timeout=1)
    stack.client.put("/primary/forward", {"action": "start"})
    assert ping("spp-vm1", "198.18.0.12", count=1, timeout=3)
    stack.client.delete("/primary/patches")
    assert stack.primary_status()["patches"] == []
    assert not ping("spp-vm1", "198.18.0.12", count=1, timeout=1)


def _xdp(*args: str) -> None:
    res = subprocess.run([*SPP, "xdp", *args], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_registered_mode_keeps_host_traffic_and_steers_registered_macs(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--xdp-mode", "registered")
    # broadcast goes to SPP in registered mode, so the remote resolves the host statically
    subprocess.run(["ip", "-n", "spp-remote", "neigh", "replace", "198.18.0.254",
                    "lladdr", "02:00:00:00:00:00", "dev", "r-eth0"], check=True)
    assert ping("spp-remote", "198.18.0.254", count=2, timeout=3), "host lost its traffic"

    stack.client.delete("/primary/status")
    _xdp("add", "spp-p0", VM1_MAC)
    send_frames("spp-remote", "r-eth0", [
        frames.icmp_echo_frame(VM1_MAC, "02:00:00:00:10:00", "198.18.0.1", "198.18.0.11",
                               seq=i) for i in range(10)])
    wait_for(lambda: stack.primary_status()["phy_ports"][0]["rx"] >= 10, 5, "10 frames in SPP")
    xdp = stack.primary_status()["xdp"]["spp-p0"]
    assert xdp["to_spp_pkts"] >= 10 and xdp["mode"] == "registered"

    _xdp("mode", "spp-p0", "registered", "--drop")
    before = stack.primary_status()["xdp"]["spp-p0"]["dropped_pkts"]
    assert not ping("spp-remote", "198.18.0.254", count=2, timeout=1)
    assert stack.primary_status()["xdp"]["spp-p0"]["dropped_pkts"] >= before + 2


def test_clean_stop_leaves_no_xdp_program_pin_or_hugepage_file(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    assert xdp_attached("spp-p0")
    assert leftovers(), "a running primary should hold hugepage files and pins"
    assert stack.stop("primary", signal.SIGINT) == 0, stack.log("primary")
    assert not xdp_attached("spp-p0") and not xdp_attached("spp-p1")
    assert leftovers() == []
    wait_for(lambda: not any(p["type"] == "primary" for p in stack.client.processes()), 2,
             "controller to notice the primary left")


def test_exit_request_stops_primary_cleanly(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0")
    stack.client.delete("/primary")
    assert stack.procs["primary"].wait(15) == 0
    assert leftovers() == [] and not xdp_attached("spp-p0")


def test_kill9_then_host_down_leaves_nothing(stack: Stack, default_topology) -> None:
    from spp.host.updown import host_down, host_up

    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.stop("primary", signal.SIGKILL)
    assert leftovers(), "kill -9 leaves files behind for host down to clean"
    host_down(default_topology)
    try:
        assert leftovers() == []
        assert subprocess.run(["ip", "netns", "list"], capture_output=True,
                              text=True).stdout.count("spp-") == 0
        assert subprocess.run(["ip", "link", "show", "spp-p0"],
                              capture_output=True).returncode != 0
    finally:
        host_up(default_topology)


@pytest.mark.parametrize("args, reason", [
    (["--phy", "no-such-if0"], "interface 'no-such-if0' does not exist"),
    (["--phy", "spp-p0", "--rings", "0"], "number of rings must be between 1 and 64"),
    (["--phy", "spp-p0", "--", "-p", "zz"], "portmask 'zz' is not a number"),
    (["--phy", "spp-p0", "--", "-p", "0x0"], "portmask '0x0' selects no port"),
    (["--phy", "spp-p0", "--xdp-mode", "some"], "--xdp-mode must be 'all' or 'registered'"),
])
def test_bad_primary_options_fail_with_one_line_reason(default_topology, args, reason) -> None:
    res = subprocess.run([*SPP, "primary", "start", *args], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode != 0
    assert reason in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_second_primary_is_refused(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0")
    res = subprocess.run([*SPP, "primary", "start", "--phy", "spp-p1"], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode != 0
    assert "another primary is already running" in res.stderr
    assert "Traceback" not in res.stderr
    assert stack.procs["primary"].poll() is None


def test_help_lists_commands_with_descriptions() -> None:
    for argv in (["--help"], ["primary", "--help"], ["host", "--help"]):
        res = subprocess.run([sys.executable, "-m", "spp.cli.main", *argv],
                             capture_output=True, text=True)
        assert res.returncode == 0
        assert "Commands" in res.stdout, argv
