"""Primary options for the pool, the bridge rings and the bridge lcores."""

from __future__ import annotations

import pytest

from spp.errors import UsageError
from spp.proc.primary import (
    DEFAULT_BRIDGE_RING,
    DEFAULT_VHOST_PORTS,
    bridge_lcores,
    parse_args,
)


def test_pool_is_sized_automatically_unless_mbufs_is_given() -> None:
    auto = parse_args(["--phy", "spp-p0"])
    assert auto.mbufs == 0
    assert (auto.bridge_ring_size, auto.vhost_ports) == (DEFAULT_BRIDGE_RING,
                                                          DEFAULT_VHOST_PORTS)
    fixed = parse_args(["--mbufs", "8192", "--bridge-ring-size=2048", "--vhost-ports", "8"])
    assert (fixed.mbufs, fixed.bridge_ring_size, fixed.vhost_ports) == (8192, 2048, 8)


@pytest.mark.parametrize("argv, reason", [
    (["--mbufs", "100"], "too small"),
    (["--bridge-ring-size", "1000"], "not a power of two"),
    (["--bridge-ring-size", "32"], "not a power of two between 64"),
    (["--ring-size", "3000"], "--ring-size 3000 is not a power of two"),
    (["--ring-size", "0"], "--ring-size 0 is not a power of two between 64"),
    (["--vhost-ports", "33"], "between 0 and 32"),
    (["--bridge-lcores", "0"], "between 1 and 16"),
    (["--bridge-lcores", "x"], "is not a number"),
])
def test_bad_pool_and_bridge_options_name_the_cause(argv: list[str], reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        parse_args(argv)


def test_every_worker_lcore_bridges_unless_fewer_are_asked_for() -> None:
    assert bridge_lcores(parse_args([]), [1, 2, 3]) == [1, 2, 3]
    assert bridge_lcores(parse_args(["--bridge-lcores", "2"]), [1, 2, 3]) == [1, 2]
    with pytest.raises(UsageError, match="needs as many worker lcores, but -l gives 1"):
        bridge_lcores(parse_args(["--bridge-lcores", "2"]), [1])
