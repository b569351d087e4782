"""PrimarySteering.fwd_totals: the phy ports' XDP share includes what spp_vf chains forwarded
(per counter slot, whose range names its destination, also after its action is gone)."""

from __future__ import annotations

from spp.proc.primary_xdp import PrimarySteering
from spp.xdp.defs import defs

PER_TX = defs().const("SPP_XDP_VF_SLOTS_PER_TX")


class FakeMaps:
    def __init__(self) -> None:
        self.defs = defs()
        self.slots: dict[str, dict[int, tuple[int, int]]] = {"p0": {}, "p1": {}}
        self.fwd: dict[str, dict[int, tuple[int, int]]] = {"p0": {}, "p1": {}}

    def fwd_counters(self, ifc: str) -> dict[int, tuple[int, int]]:
        return self.fwd[ifc]

    def vf_stats(self, ifc: str, slots: list[int]) -> dict[int, tuple[int, int]]:
        return {s: v for s, v in self.slots[ifc].items() if s in slots}


def _steering(maps: FakeMaps) -> PrimarySteering:
    st = object.__new__(PrimarySteering)
    st.phys = {0: "p0", 1: "p1"}
    st._steer = maps
    return st


def test_vf_slots_add_to_the_ingress_rx_and_their_destination_tx() -> None:
    maps = FakeMaps()
    st = _steering(maps)
    assert st.fwd_totals() == ({}, {})
    maps.fwd["p0"] = {1: (5, 500)}  # the patch fast path: p0 -> phy:1
    # two paths to phy:1 (its first slots), one to phy:0; no action needs to exist now
    maps.slots["p0"] = {PER_TX: (7, 700), PER_TX + 1: (2, 200), 0: (3, 300)}
    assert st.fwd_totals() == ({0: 17}, {1: 14, 0: 3})
    maps.slots["p1"] = {PER_TX - 1: (4, 400)}  # the last slot of phy:0's range
    assert st.fwd_totals() == ({0: 17, 1: 4}, {1: 14, 0: 7})
