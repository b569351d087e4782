"""A bare DPDK secondary that tries Rx/Tx on phy:N's af_xdp ethdev itself.

Usage: python afxdp_probe.py PHY WAIT_MS TX_COUNT  -> prints "rx=N tx=M"
Run while a primary owns the port; see test_afxdp_multiprocess.py.
"""

from __future__ import annotations

import sys

from spp.native import check, eal_init, load
from spp.proc.eal import build_eal_args


def main() -> int:
    phy, wait_ms, tx_count = (int(a) for a in sys.argv[1:4])
    ffi, lib = load()
    eal = build_eal_args(["-l", "20,21"], proc_type="secondary", default_lcores=[20, 21])
    eal_init(ffi, lib, "probe", eal.args)
    check(lib.spp_vf_attach(99, 0), ffi, lib)
    info = ffi.new("struct spp_dev_info *")
    check(lib.spp_primary_phy_info(phy, info), ffi, lib)
    rx = check(lib.spp_probe_ethdev_rx(info.ethdev_id, 0, wait_ms), ffi, lib)
    tx = check(lib.spp_probe_ethdev_tx(info.ethdev_id, 0, tx_count), ffi, lib)
    print(f"rx={rx} tx={tx}", flush=True)
    lib.spp_vf_detach()
    lib.spp_eal_cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
