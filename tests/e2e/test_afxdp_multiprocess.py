"""Can a DPDK 22.11 secondary move frames on an af_xdp port? (It cannot.)

The af_xdp PMD keeps its XDP socket, UMEM and rings in the process that
created them; a secondary attaches the ethdev for stats only and its burst
functions are no-ops. This test keeps that finding honest: if a future DPDK
lets the secondary receive or send, it fails and the bridge design
(docs/architecture.md) can be revisited. Meanwhile phy:N works in spp_vf
through the primary's bridge rings, shown at the end.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.stack import Stack
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

PROBE = Path(__file__).with_name("afxdp_probe.py")
VM1, VM2 = "52:54:00:12:34:56", "52:54:00:12:34:58"


def test_secondary_cannot_rx_or_tx_on_afxdp_but_the_bridge_can(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-vm1", "--phy", "spp-vm2")
    stack.client.delete("/primary/status")
    probe = subprocess.Popen([sys.executable, str(PROBE), "0", "2500", "20"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def traffic() -> None:
        time.sleep(1.0)  # let the probe reach its rx loop
        send_frames("spp-vm1", "vm1-eth0", [
            frames.icmp_echo_frame(VM2, VM1, "198.18.0.11", "198.18.0.12", seq=i)
            for i in range(30)])

    sender = threading.Thread(target=traffic)
    with Capture("spp-vm1", "vm1-eth0") as cap:
        sender.start()
        out, err = probe.communicate(timeout=60)
        sender.join()
    assert probe.returncode == 0, err
    assert out.strip() == "rx=0 tx=0", out  # nothing moved in the secondary
    # the 30 frames were not lost: the primary's bridge took them from the socket
    wait_for(lambda: stack.primary_status()["phy_ports"][0]["rx"] == 30, 5, "bridge rx")
    # and the 20 probe frames never reached the wire
    assert not [f for f in cap.frames(received_only=True) if f.data[12:14] == b"\x88\xb5"]
