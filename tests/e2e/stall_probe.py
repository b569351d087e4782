"""A DPDK secondary that dies inside ring operations, the way a SIGKILLed spp_vf can.

Usage: python stall_probe.py PHY_RX PHY_TX N -> prints "stalled RX TX", then sleeps
until killed. It takes the reading side of phy:PHY_RX's ring pair, waits until N
frames are queued, and moves that side's head past them without moving its tail
(a dequeue cut short); it takes the writing side of phy:PHY_TX's and reserves N
slots the same way (an enqueue cut short). See test_dataplane_processes.py.
"""

from __future__ import annotations

import sys
import time

from spp.native import check, eal_init, load
from spp.proc.eal import build_eal_args

SPP_RES_PHY = 1


def main() -> int:
    phy_rx, phy_tx, n = (int(a) for a in sys.argv[1:4])
    ffi, lib = load()
    eal = build_eal_args(["-l", "20,21"], proc_type="secondary", default_lcores=[20, 21])
    eal_init(ffi, lib, "stall-probe", eal.args)
    check(lib.spp_vf_attach(99, 0), ffi, lib)
    info = ffi.new("struct spp_dev_info *")
    check(lib.spp_probe_ring_stall(SPP_RES_PHY, phy_rx, 1, 0), ffi, lib)  # become the reader
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        check(lib.spp_primary_phy_info(phy_rx, info), ffi, lib)
        if info.rx_queued >= n:
            break
        time.sleep(0.05)
    rx = check(lib.spp_probe_ring_stall(SPP_RES_PHY, phy_rx, 1, n), ffi, lib)
    tx = check(lib.spp_probe_ring_stall(SPP_RES_PHY, phy_tx, 0, n), ffi, lib)
    print(f"stalled {rx} {tx}", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
