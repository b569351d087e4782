"""The controller, recipes and one-command start/stop with the real processes."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pexpect
import pytest
from classify_icmp import MAC1, MAC2

from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.stack import SPP, Stack, leftovers, xdp_attached
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

RCP = Path(__file__).resolve().parents[2] / "recipes/usecases/spp_vf/classify_icmp"


def spp_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPP_CTL": f"127.0.0.1:{stack.api}"}
    return subprocess.run([*SPP, *args], capture_output=True, text=True, env=env, timeout=60)


def arrivals(dsts: list[str]) -> list[str]:
    with Capture("spp-remote", "r-eth1") as cap:
        send_frames("spp-remote", "r-eth0", [
            frames.icmp_echo_frame(d, "02:00:00:00:10:00", "198.18.0.1", "198.18.0.11", seq=i)
            for i, d in enumerate(dsts)])
        time.sleep(0.5)
    return sorted(f.parse().dst for f in cap.frames(received_only=True)
                  if f.parse().icmp_type == 8)


def test_classify_icmp_configured_only_by_playback(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_vf(1, "2-6")
    for rcp in ("1-start_components", "2-add_ports", "3-add_cls_table"):
        res = spp_cli(stack, "playback", str(RCP / f"{rcp}.rcp"))
        assert res.returncode == 0, res.stderr
    assert arrivals([MAC1, MAC2, MAC1]) == [MAC1, MAC1, MAC2]
    for rcp in ("4-del_cls_table", "5-del_ports", "6-stop_components"):
        res = spp_cli(stack, "playback", str(RCP / f"{rcp}.rcp"))
        assert res.returncode == 0, res.stderr
    assert all(c["type"] == "unuse" for c in stack.vf_status()["components"])
    assert arrivals([MAC1]) == []


def test_playback_stops_at_first_failing_line_with_its_reason(stack: Stack,
                                                              tmp_path: Path) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_vf(1, "2-4")
    rcp = tmp_path / "bad.rcp"
    rcp.write_text("# comment\nvf 1; component start a 3 forward\n"
                   "vf 1; component start b 9 forward\nvf 1; component start c 4 forward\n")
    res = spp_cli(stack, "playback", str(rcp))
    assert res.returncode != 0
    assert "bad.rcp:3" in res.stderr and "core 9" in res.stderr
    names = [c.get("name") for c in stack.vf_status()["components"]]
    assert "a" in names and "c" not in names


def test_controller_restart_leaves_config_and_forwarding_untouched(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_vf(1, "2-6")
    for rcp in ("1-start_components", "2-add_ports", "3-add_cls_table"):
        assert spp_cli(stack, "playback", str(RCP / f"{rcp}.rcp")).returncode == 0
    before = stack.vf_status()
    stack.stop("ctl")
    assert arrivals([MAC1, MAC2]) == [MAC1, MAC2]  # forwarding needs no controller
    stack.start_ctl()
    wait_for(lambda: {p["type"] for p in stack.client.processes()} == {"primary", "vf"}, 10,
             "primary and vf to reconnect")
    after = stack.vf_status()
    live = ("counters", "cycles")  # change with traffic
    for key in ("components", "classifier_table", "ports"):
        strip = [{k: v for k, v in c.items() if k not in live} for c in after[key]] \
            if key == "components" else after[key]
        orig = [{k: v for k, v in c.items() if k not in live} for c in before[key]] \
            if key == "components" else before[key]
        assert strip == orig
    assert arrivals([MAC1, MAC2]) == [MAC1, MAC2]


def test_spp_up_then_bye_all_and_spp_down_leave_nothing(default_topology) -> None:
    from spp.host.updown import host_up

    try:
        up = subprocess.run([*SPP, "up"], capture_output=True, text=True, timeout=120)
        assert up.returncode == 0, up.stderr + up.stdout
        shell = pexpect.spawn(SPP[0], [*SPP[1:], "shell"], encoding="utf-8", timeout=30)
        shell.expect_exact("spp > ")
        shell.sendline("bye all")
        shell.expect_exact("spp > ")
        shell.sendline("bye")
        shell.expect(pexpect.EOF)
        pattern = "spp.cli.main (primary|vf)"
        wait_for(lambda: not subprocess.run(["pgrep", "-f", pattern],
                                            capture_output=True).stdout, 15,
                 "primary and vf to exit after bye all")
        down = subprocess.run([*SPP, "down"], capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stderr
        assert leftovers() == []
        assert subprocess.run(["pgrep", "-f", "spp.cli.main|spp ctl"],
                              capture_output=True).stdout == b""
        assert "spp-" not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                             text=True).stdout
        assert not xdp_attached("spp-p0")
    finally:
        subprocess.run([*SPP, "down"], capture_output=True, timeout=120)
        host_up(default_topology)
