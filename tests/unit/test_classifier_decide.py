"""The classifier's decision (native/src/vf/classifier.h) against upstream spp_vf's order.

`spp_cls_decide` builds a table exactly as `spp_vf_component_update` does and
classifies one frame with the hot path's own function, without EAL;
`spp_cls_decide_steps` changes a table in place one add or delete at a time,
as `spp_vf_table_update` does. The reference below restates
docs/classifier.md (upstream src/vf/classifier.c's order) in plain Python;
every branch is checked by name, then hypothesis compares both on random
tables, random add/delete sequences and frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spp.native import NativeError, check, load

HIT, FLOOD, DEFAULT, NO_ENTRY = "hit", "flood", "default", "drop_no_entry"
BCAST = "ff:ff:ff:ff:ff:ff"
MCAST = "01:00:5e:00:00:fb"
A, B, X = "52:54:00:00:00:0a", "52:54:00:00:00:0b", "52:54:00:00:00:99"


@dataclass(frozen=True)
class Entry:
    vlan: int          # 0: untagged ("classifier_table add mac ...")
    mac: str | None    # None: "default"
    tx: int            # tx position


def reference(entries: list[Entry], vlan: int, dst: str) -> tuple[str, set[int]]:
    """docs/classifier.md: where a frame of `vlan` (0 = untagged) for `dst` goes."""
    general = next((e.tx for e in entries if e.vlan == 0 and e.mac is None), None)
    mine = [e for e in entries if e.vlan == vlan]
    if int(dst[:2], 16) & 1:  # broadcast / multicast
        if not mine:
            return (DEFAULT, {general}) if general is not None else (NO_ENTRY, set())
        ports = {e.tx for e in mine}
        if general is not None:
            ports.add(general)  # a tagged VLAN's flood also reaches the general default
        return FLOOD, ports
    exact = next((e.tx for e in mine if e.mac == dst), None)
    if exact is not None:
        return HIT, {exact}
    own = next((e.tx for e in mine if e.mac is None), None)
    if own is not None:
        return DEFAULT, {own}
    if general is not None:
        return DEFAULT, {general}
    return NO_ENTRY, set()


class Native:
    OUTCOME = {0: NO_ENTRY, 1: HIT, 2: FLOOD, 3: DEFAULT}

    def __init__(self) -> None:
        self.ffi, self.lib = load()

    def _array(self, entries: list[Entry]) -> object:
        arr = self.ffi.new("struct spp_cls_entry[]", max(1, len(entries)))
        for i, e in enumerate(entries):
            arr[i].vlan = e.vlan
            arr[i].is_default = e.mac is None
            if e.mac is not None:
                arr[i].mac = list(bytes.fromhex(e.mac.replace(":", "")))
            arr[i].tx_index = e.tx
        return arr

    def _outcome(self, ret: int, mask: object) -> tuple[str, set[int]]:
        ret = check(ret, self.ffi, self.lib)
        return self.OUTCOME[ret], {i for i in range(32) if mask[0] >> i & 1}  # type: ignore[index]

    def decide(self, entries: list[Entry], vlan: int, dst: str,
               nb_tx: int = 8) -> tuple[str, set[int]]:
        mask = self.ffi.new("uint32_t *")
        dst_raw = self.ffi.new("uint8_t[6]", list(bytes.fromhex(dst.replace(":", ""))))
        return self._outcome(self.lib.spp_cls_decide(self._array(entries), len(entries), nb_tx,
                                                     vlan, dst_raw, mask), mask)

    def decide_steps(self, steps: list[tuple[bool, Entry]], vlan: int, dst: str,
                     nb_tx: int = 8) -> tuple[str, set[int]]:
        """Add (False) or delete (True) each entry in place, in order, then classify."""
        mask = self.ffi.new("uint32_t *")
        dst_raw = self.ffi.new("uint8_t[6]", list(bytes.fromhex(dst.replace(":", ""))))
        is_del = self.ffi.new("uint8_t[]", [d for d, _e in steps] or [0])
        return self._outcome(self.lib.spp_cls_decide_steps(
            self._array([e for _d, e in steps]), is_del, len(steps), nb_tx, vlan, dst_raw,
            mask), mask)


@pytest.fixture(scope="module")
def native() -> Native:
    try:
        return Native()
    except NativeError as exc:
        pytest.skip(str(exc))


# tx 0: VLAN 10 exact A; 1: VLAN 10 default; 2: general default; 3: untagged exact A;
# 4: VLAN 20 exact B (no VLAN-20 default)
TABLE = [Entry(10, A, 0), Entry(10, None, 1), Entry(0, None, 2), Entry(0, A, 3),
         Entry(20, B, 4)]


@pytest.mark.parametrize("vlan, dst, want", [
    (10, A, (HIT, {0})),            # exact MAC in the frame's VLAN
    (0, A, (HIT, {3})),             # same MAC untagged: the untagged entry, not VLAN 10's
    (20, B, (HIT, {4})),
    (20, A, (DEFAULT, {2})),        # VLAN 20 has no entry for A and no default: general
    (10, X, (DEFAULT, {1})),        # unknown unicast: the VLAN's own default
    (0, X, (DEFAULT, {2})),         # untagged unknown: the general default
    (42, X, (DEFAULT, {2})),        # VLAN without entries: the general default
    (10, BCAST, (FLOOD, {0, 1, 2})),  # its entries, its default, and the general default
    (10, MCAST, (FLOOD, {0, 1, 2})),
    (0, BCAST, (FLOOD, {2, 3})),    # untagged: untagged entries (general default included)
    (20, BCAST, (FLOOD, {2, 4})),
    (42, BCAST, (DEFAULT, {2})),    # VLAN without entries: only the general default
])
def test_every_branch_of_the_order(native: Native, vlan: int, dst: str,
                                   want: tuple[str, set[int]]) -> None:
    assert native.decide(TABLE, vlan, dst) == want == reference(TABLE, vlan, dst)


def test_without_general_default_unknown_frames_are_dropped(native: Native) -> None:
    table = [e for e in TABLE if not (e.vlan == 0 and e.mac is None)]
    assert native.decide(table, 20, A) == (NO_ENTRY, set())
    assert native.decide(table, 0, X) == (NO_ENTRY, set())
    assert native.decide(table, 42, X) == (NO_ENTRY, set())
    assert native.decide(table, 42, BCAST) == (NO_ENTRY, set())
    assert native.decide(table, 10, X) == (DEFAULT, {1})  # VLAN 10 keeps its own
    assert native.decide(table, 10, BCAST) == (FLOOD, {0, 1})


def test_a_vlan_default_never_serves_another_vlan(native: Native) -> None:
    """The reported bug: after `vlan 100 default ring:0` alone, nothing else went there."""
    table = [Entry(100, None, 0)]
    assert native.decide(table, 100, X) == (DEFAULT, {0})
    assert native.decide(table, 0, X) == (NO_ENTRY, set())
    assert native.decide(table, 42, X) == (NO_ENTRY, set())
    assert native.decide(table, 42, BCAST) == (NO_ENTRY, set())
    assert native.decide(table, 100, BCAST) == (FLOOD, {0})


def test_two_vlan_defaults_each_serve_their_own_vlan(native: Native) -> None:
    table = [Entry(100, None, 0), Entry(200, None, 1)]
    assert native.decide(table, 100, X) == (DEFAULT, {0})
    assert native.decide(table, 200, X) == (DEFAULT, {1})  # the last added does not win


def test_a_port_with_several_entries_gets_one_copy_of_a_flood(native: Native) -> None:
    table = [Entry(10, A, 0), Entry(10, B, 0), Entry(0, None, 0)]
    assert native.decide(table, 10, BCAST) == (FLOOD, {0})


def test_bad_tables_are_refused_with_a_reason(native: Native) -> None:
    with pytest.raises(NativeError, match="tx position 5 of 2"):
        native.decide([Entry(0, A, 5)], 0, A, nb_tx=2)
    with pytest.raises(NativeError, match="VLAN id 4095"):
        native.decide([Entry(4095, A, 0)], 0, A)


macs = st.sampled_from([A, B, X, "02:00:00:00:00:01"])
entries = st.lists(
    st.builds(Entry, vlan=st.sampled_from([0, 0, 10, 20, 4094]),
              mac=st.one_of(st.none(), macs), tx=st.integers(0, 7)),
    max_size=12,
).map(lambda es: list({(e.vlan, e.mac): e for e in es}.values()))  # one entry per key


@settings(max_examples=400, deadline=None)
@given(table=entries, vlan=st.sampled_from([0, 10, 20, 42, 4094, 4095]),
       dst=st.one_of(macs, st.sampled_from([BCAST, MCAST, "33:33:00:00:00:01"])))
def test_native_decision_equals_the_reference(native: Native, table: list[Entry], vlan: int,
                                              dst: str) -> None:
    assert native.decide(table, vlan, dst) == reference(table, vlan, dst)


def _steps(ops: list[tuple[bool, Entry]]) -> tuple[list[tuple[bool, Entry]], list[Entry]]:
    """Keep the operations that are valid in sequence; also return the final table."""
    table: dict[tuple[int, str | None], Entry] = {}
    kept = []
    for is_del, e in ops:
        key = (e.vlan, e.mac)
        if is_del:
            if table.get(key) != e:
                continue
            del table[key]
        elif key in table:
            continue
        else:
            table[key] = e
        kept.append((is_del, e))
    return kept, list(table.values())


@settings(max_examples=300, deadline=None)
@given(ops=st.lists(st.tuples(st.booleans(), st.builds(
           Entry, vlan=st.sampled_from([0, 10, 20]), mac=st.one_of(st.none(), macs),
           tx=st.integers(0, 3))), max_size=40),
       vlan=st.sampled_from([0, 10, 20, 42]),
       dst=st.one_of(macs, st.sampled_from([BCAST, MCAST])))
def test_a_table_changed_in_place_decides_as_one_built_whole(native: Native, ops, vlan,
                                                            dst) -> None:
    steps, table = _steps(ops)
    assert native.decide_steps(steps, vlan, dst) == reference(table, vlan, dst)


def _mac(i: int) -> str:
    return "02:" + ":".join(f"{b:02x}" for b in i.to_bytes(5, "big"))


def test_a_table_holds_65536_entries_through_growth_and_tombstones(native: Native) -> None:
    """Grow to the limit one entry at a time, delete most of them, add new ones again."""
    n = 65536
    adds = [(False, Entry(0, _mac(i), i % 4)) for i in range(n)]
    dels = [(True, Entry(0, _mac(i), i % 4)) for i in range(0, n - 1000)]
    again = [(False, Entry(7, _mac(i), 3)) for i in range(n - 1000)]
    steps = adds + dels + again
    assert native.decide_steps(adds, 0, _mac(n - 1)) == (HIT, {(n - 1) % 4})
    assert native.decide_steps(steps, 0, _mac(n - 1)) == (HIT, {(n - 1) % 4})
    assert native.decide_steps(steps, 0, _mac(5)) == (NO_ENTRY, set())
    assert native.decide_steps(steps, 7, _mac(5)) == (HIT, {3})
    with pytest.raises(NativeError, match="at most 65536 MAC entries"):
        native.decide_steps([*adds, (False, Entry(0, _mac(n), 0))], 0, _mac(0))
    full = [*adds, (False, Entry(0, None, 2))]  # a default comes on top
    assert native.decide_steps(full, 0, "02:ff:00:00:00:00") == (DEFAULT, {2})


def test_changes_that_cannot_apply_are_refused_naming_the_entry(native: Native) -> None:
    with pytest.raises(NativeError, match="VLAN 0 52:54:00:00:00:0A is already in the table"):
        native.decide_steps([(False, Entry(0, A, 0)), (False, Entry(0, A, 1))], 0, A)
    with pytest.raises(NativeError, match="-> tx position 1 is not in the table"):
        native.decide_steps([(False, Entry(0, A, 0)), (True, Entry(0, A, 1))], 0, A)
    with pytest.raises(NativeError, match="VLAN 10 default .* is not in the table"):
        native.decide_steps([(True, Entry(10, None, 0))], 0, A)
