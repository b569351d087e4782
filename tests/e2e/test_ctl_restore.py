"""Configuration that comes back, end to end: real controller, primary, spp_vf and frames.

- the classify-ICMP use case: spp_vf killed with SIGKILL and started again with
  the same command line gets its configuration back without any SPP command, and
  classifies again; with `spp ctl --restore off` it comes back empty (upstream);
- the primary's patches come back the same way;
- the controller killed with SIGKILL at random moments during 200 configuration commands:
  its state file holds every acknowledged command (and at most the one in flight), and a
  vf killed afterwards gets exactly that back.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from classify_icmp import MAC1, MAC2, REMOTE0, classify_icmp_config

from spp.client import SppError
from spp.ctl.saved import Saved
from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.stack import Stack, table
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e


def config_of(st: dict[str, Any]) -> dict[str, Any]:
    """What `vf 1; status` shows of the configuration (counters left out)."""
    comps = [{k: c.get(k) for k in ("core", "name", "type", "rx_port", "tx_port")}
             for c in st["components"]]
    return {"components": comps, "classifier_table": st["classifier_table"],
            "ports": st["ports"]}


def echo(dst: str, seq: int) -> bytes:
    return frames.icmp_echo_frame(dst, REMOTE0, "198.18.0.1", "198.18.0.11", seq=seq)


def classified(seq0: int) -> bool:
    """Echoes to MAC1 and MAC2 sent on the remote's r-eth0 arrive on its r-eth1."""
    sent = [echo(MAC1, seq0 + i) for i in range(3)] + [echo(MAC2, seq0 + 10 + i)
                                                       for i in range(3)]
    with Capture("spp-remote", "r-eth1") as cap:
        send_frames("spp-remote", "r-eth0", sent)
        time.sleep(0.3)
    got = {(f.dst, f.icmp_seq) for f in (x.parse() for x in cap.frames(received_only=True))
           if f.icmp_type == 8}
    return all((MAC1, seq0 + i) in got and (MAC2, seq0 + 10 + i) in got for i in range(3))


def cls_rx(stack: Stack) -> int:
    return next(c["counters"]["rx"] for c in stack.vf_status()["components"]
                if c.get("name") == "cls")


def restart_vf(stack: Stack) -> int:
    old = stack.procs["vf1"].pid
    stack.stop("vf1", signal.SIGKILL)
    wait_for(lambda: all(p.get("client-id") != 1 for p in stack.client.processes()), 10,
             "the controller to drop the killed vf 1")
    stack.start_vf(1, "2-6")  # the seed's command line, as before
    assert stack.procs["vf1"].pid != old
    return stack.procs["vf1"].pid


def test_killed_vf_gets_seed_21_back_without_any_command_and_classifies_again(
        stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_vf(1, "2-6")
    classify_icmp_config(stack)
    assert wait_for(lambda: classified(0), 10, "seed 2.1 to classify")
    before = config_of(stack.vf_status())
    pid = restart_vf(stack)
    t0 = time.monotonic()
    st = wait_for(lambda: (st := stack.vf_status()).get("restored") and st, 10,
                  "vf 1 to report its restored configuration")
    assert config_of(st) == before
    assert st["restored"]["pid"] == pid and st["restored"]["failed"] == []
    assert (st["restored"]["components"], st["restored"]["ports"],
            st["restored"]["classifier_table"]) == (4, 10, 2)
    wait_for(lambda: classified(100), 10 - (time.monotonic() - t0),
             "classification within 10 s of the restart")
    rx = cls_rx(stack)
    assert rx >= 6
    assert classified(200) and cls_rx(stack) >= rx + 6  # counters go on counting
    # the recipes played again (an operator or an agent that re-sends) change nothing
    classify_icmp_config(stack)
    assert config_of(stack.vf_status()) == before
    text = stack.log("ctl")
    assert "vf:1 restarted" in text and "restored 4 components, 10 ports" in text


def kill_and_restart_primary(stack: Stack) -> dict[str, Any]:
    """kill -9 of the primary on spp-p0/spp-p1, a new one, and its status once restored."""
    stack.stop("primary", signal.SIGKILL)
    wait_for(lambda: all(p["type"] != "primary" for p in stack.client.processes()), 10,
             "the controller to drop the killed primary")
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    st: dict[str, Any] = wait_for(lambda: (st := stack.primary_status()).get("restored") and st,
                                  10, "the primary to report its restored configuration")
    return st


def test_killed_primary_gets_its_patches_back(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    for src, dst in (("phy:0", "phy:1"), ("phy:1", "phy:0")):
        stack.client.request("PUT", "/primary/patches", {"src": src, "dst": dst})
    stack.client.request("PUT", "/primary/forward", {"action": "start"})
    before = stack.primary_status()
    st = kill_and_restart_primary(stack)
    assert st["patches"] == before["patches"] and st["forwarding"] is True
    assert st["restored"]["patches"] == 2 and st["restored"]["failed"] == []
    with Capture("spp-remote", "r-eth1") as cap:
        send_frames("spp-remote", "r-eth0", [echo(MAC1, i) for i in range(5)])
        time.sleep(0.5)
    assert len([f for f in cap.frames(received_only=True)
                if f.parse().icmp_type == 8]) == 5


def test_killed_primary_keeps_the_xdp_offload_setting_the_operator_chose(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.client.request("PUT", "/primary/patches", {"src": "phy:0", "dst": "phy:1"})
    stack.client.request("PUT", "/primary/forward", {"action": "start"})
    assert stack.primary_status()["xdp_offload"]["enabled"] is True  # the process's default
    stack.client.request("PUT", "/primary/xdp_offload", {"action": "off"})
    st = kill_and_restart_primary(stack)
    assert st["restored"]["failed"] == []
    assert st["xdp_offload"]["enabled"] is False
    assert [p.get("datapath") for p in st["patches"]] == ["dpdk"]


def test_restore_off_gives_upstreams_empty_vf(default_topology: Any, tmp_path: Path) -> None:
    with Stack(tmp_path) as stack:
        stack.start_ctl("--restore", "off")
        stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
        stack.start_vf(1, "2-6")
        classify_icmp_config(stack)
        restart_vf(stack)
        time.sleep(1.0)
        st = stack.vf_status()
        assert "restored" not in st and st["classifier_table"] == []
        assert all(c["type"] == "unuse" for c in st["components"])


def _mac(i: int) -> str:
    return f"52:54:00:aa:{i >> 8:02x}:{i & 0xFF:02x}".upper()


def _file_table(state: Path) -> set[str]:
    saved = Saved("on", state)
    saved.close()
    model = saved.models.get("vf:1")
    return {e["mac_address"] for e in model.table.values()} if model else set()


def test_controller_killed_during_200_commands_keeps_the_last_acknowledged_state(
        default_topology: Any, tmp_path: Path) -> None:
    state = tmp_path / "ctl-state.json"
    rng = random.Random(17)
    with Stack(tmp_path) as stack:
        stack.start_ctl("--state-file", str(state))
        stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
        stack.start_vf(1, "2-6")
        acked: list[int] = []
        in_flight: list[int | None] = [None]
        stop = threading.Event()

        def send() -> None:
            i = 0
            while i < 200 and not stop.is_set():
                in_flight[0] = i
                try:
                    stack.vf(1, table("add", _mac(i), "ring:0"))
                except SppError as exc:
                    if "already has" not in str(exc):  # the controller is away: again
                        time.sleep(0.05)
                        continue
                    # its answer was lost with the controller, but the vf took it
                acked.append(i)
                i += 1
            in_flight[0] = None

        sender = threading.Thread(target=send)
        sender.start()
        try:
            for kill_at in sorted(rng.sample(range(20, 180), 3)):
                wait_for(lambda k=kill_at: len(acked) >= k, 60, f"{kill_at} commands")
                time.sleep(rng.uniform(0, 0.05))
                stack.stop("ctl", signal.SIGKILL)
                done, pending = set(acked), in_flight[0]
                on_file = {int(m.replace(":", "")[-4:], 16) for m in _file_table(state)}
                assert done <= on_file, f"acknowledged but not kept: {sorted(done - on_file)}"
                assert on_file - done <= ({pending} if pending is not None else set())
                stack.start_ctl("--state-file", str(state))
            sender.join(120)
        finally:
            stop.set()
            sender.join(10)
        assert acked == list(range(200))
        restart_vf(stack)
        st = wait_for(lambda: (st := stack.vf_status()).get("restored") and st, 30,
                      "vf 1 to be restored from the state the controller kept")
        assert {e["value"] for e in st["classifier_table"]} == {_mac(i) for i in range(200)}
