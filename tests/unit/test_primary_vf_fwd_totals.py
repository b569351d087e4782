"""PrimarySteering.fwd_totals: the phy ports' XDP share includes what spp_vf chains forwarded
(per counter slot, its destination known from the vf actions, also after they go)."""

from __future__ import annotations

from typing import Any

from spp.proc.primary_xdp import PrimarySteering
from spp.xdp.steering import VfAct


class FakeMaps:
    def __init__(self) -> None:
        self.acts: dict[str, dict[Any, VfAct]] = {"p0": {}, "p1": {}}
        self.slots: dict[str, dict[int, tuple[int, int]]] = {"p0": {}, "p1": {}}
        self.fwd: dict[str, dict[int, tuple[int, int]]] = {"p0": {}, "p1": {}}

    def fwd_counters(self, ifc: str) -> dict[int, tuple[int, int]]:
        return self.fwd[ifc]

    def vf_acts(self, ifc: str) -> dict[Any, VfAct]:
        return self.acts[ifc]

    def vf_stats(self, ifc: str, slots: list[int]) -> dict[int, tuple[int, int]]:
        return {s: v for s, v in self.slots[ifc].items() if s in slots}


def _steering(maps: FakeMaps) -> PrimarySteering:
    st = object.__new__(PrimarySteering)
    st.phys = {0: "p0", 1: "p1"}
    st.vf_slot_dst = {}
    st._steer = maps
    return st


def test_vf_slots_add_to_the_ingress_rx_and_their_destination_tx() -> None:
    maps = FakeMaps()
    st = _steering(maps)
    assert st.fwd_totals() == ({}, {})
    maps.fwd["p0"] = {1: (5, 500)}  # the patch fast path: p0 -> phy:1
    maps.acts["p0"] = {(0, b"a"): VfAct(1, slot=0), (0, b"b"): VfAct(None, slot=1),
                       (0, b"c"): VfAct(0, slot=2)}
    maps.slots["p0"] = {0: (7, 700), 1: (0, 0), 2: (3, 300)}
    assert st.fwd_totals() == ({0: 15}, {1: 12, 0: 3})
    # the action of slot 0 goes (entry deleted): its count stays, and its destination
    maps.acts["p0"] = {(0, b"c"): VfAct(0, slot=2)}
    maps.slots["p0"][0] = (9, 900)
    assert st.fwd_totals() == ({0: 17}, {1: 14, 0: 3})
