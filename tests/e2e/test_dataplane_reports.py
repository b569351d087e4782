"""Results the data plane used to swallow are reported: to the operator's log and in status."""

from __future__ import annotations

import signal

import pytest

from spp.testkit.stack import Stack, component, port, table
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

MAC = "52:54:00:12:34:56"


def test_unwritable_xdp_steering_is_a_warning_and_shows_in_vf_status(stack: Stack) -> None:
    # no steering program, so no maps for spp_vf to mirror the classifier table into
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--no-xdp-prog")
    stack.start_vf(1, "2-3")
    assert stack.vf_status(1)["xdp_steering"] == {"failures": 0, "last_error": None}
    stack.vf(1, component("cls", 3, "classifier"), port("attach", "phy:0", "rx", "cls"),
             port("attach", "phy:1", "tx", "cls"), table("add", MAC, "phy:1"))
    st = stack.vf_status(1)["xdp_steering"]
    assert st["failures"] == 1
    assert st["last_error"].startswith("spp-p0: XDP steering maps not found under "
                                       "/sys/fs/bpf/spp/spp"), st
    wait_for(lambda: "WARNING" in stack.log("vf1") or "not updated" in stack.log("vf1"), 3,
             "the warning in the vf log")
    assert "XDP steering of spp-p0 not updated" in stack.log("vf1")
    # the table entry itself stands: SPP classifies what reaches it
    assert [e["value"] for e in stack.vf_status(1)["classifier_table"]] == [MAC]


def test_port_status_says_whether_promiscuous_mode_took(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0")
    phy = stack.primary_status()["phy_ports"][0]
    assert phy["promiscuous"] is True and phy["driver"] == "net_af_xdp"
    xdp = stack.primary_status()["xdp"]["spp-p0"]
    assert xdp["mode"] == "all" and "error" not in xdp


def test_a_primary_restarted_after_kill9_takes_its_interfaces_back(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0")
    stack.stop("primary", signal.SIGKILL)  # leaves its XDP program and pins behind
    stack.start_primary("--phy", "spp-p0")
    assert "removing a stale XDP program" in stack.log("primary")
    xdp = stack.primary_status()["xdp"]["spp-p0"]
    assert "error" not in xdp and xdp["mode"] == "all", xdp
