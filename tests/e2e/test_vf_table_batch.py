"""A classifier_table batch on a real spp_vf: many entries as one transaction.

Seed 003 section 2.1 (classify ICMP) on the default topology, then a batch of
tens of thousands of entries spread over both paths:

remote r-eth0 -> phy:0 -> cls -> ring:0 -> fwd1 -> ring:2 -> mgr -> phy:1 -> remote r-eth1
                              -> ring:1 -> fwd2 -> ring:3 ->
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from classify_icmp import MAC1, REMOTE0, classify_icmp_config

from spp.client import SppError
from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.stack import Stack

pytestmark = pytest.mark.e2e

BATCH = 30000


def mac(i: int) -> str:
    return "52:54:01:" + ":".join(f"{b:02x}" for b in i.to_bytes(3, "big"))


def entry(i: int, action: str = "add") -> dict[str, Any]:
    """Entry i: even ones to ring:0 (fwd1), odd ones to ring:1 (fwd2)."""
    return {"action": action, "type": "mac", "vlan": None, "mac_address": mac(i),
            "port": f"ring:{i % 2}"}


@pytest.fixture
def vf_stack(stack: Stack) -> Iterator[Stack]:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_vf(1, "2-6")
    classify_icmp_config(stack)
    yield stack


def forwarded(stack: Stack, dsts: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Send one echo to each of `dsts`; what reached r-eth1 per MAC, and fwd1/fwd2 tx."""
    before = counters(stack)
    sent = [frames.icmp_echo_frame(d, REMOTE0, "198.18.0.1", "198.18.0.11", seq=i)
            for i, d in enumerate(dsts)]
    with Capture("spp-remote", "r-eth1") as cap:
        send_frames("spp-remote", "r-eth0", sent)
        time.sleep(0.5)
    got: dict[str, int] = {}
    for f in cap.frames(received_only=True):
        p = f.parse()
        if p.icmp_type == 8:
            got[p.dst] = got.get(p.dst, 0) + 1
    after = counters(stack)
    return got, {k: after[k]["tx"] - before[k]["tx"] for k in ("fwd1", "fwd2", "cls")} | {
        "drop_no_entry": after["cls"]["drop_no_entry"] - before["cls"]["drop_no_entry"]}


def counters(stack: Stack) -> dict[str, dict[str, int]]:
    return {c["name"]: c["counters"] for c in stack.vf_status()["components"] if "name" in c}


def test_a_batch_of_many_entries_classifies_frames_and_a_bad_batch_changes_nothing(
        vf_stack: Stack) -> None:
    stack = vf_stack
    t0 = time.monotonic()
    stack.client.put("/vfs/1/classifier_table", [entry(i) for i in range(BATCH)])
    took = time.monotonic() - t0
    table = stack.vf_status()["classifier_table"]
    assert len(table) == BATCH + 2, f"{len(table)} entries after the batch ({took:.1f} s)"

    probes = [mac(0), mac(1), mac(BATCH - 2), mac(BATCH - 1), MAC1]
    got, moved = forwarded(stack, probes)
    assert got == dict.fromkeys(probes, 1)
    assert moved == {"fwd1": 3, "fwd2": 2, "cls": 5, "drop_no_entry": 0}  # even + MAC1 | odd

    # one bad entry at the end: nothing of the batch applies, the entry is named
    bad = [entry(i) for i in range(BATCH, BATCH + 100)] + [entry(7)]
    with pytest.raises(SppError) as exc:
        stack.client.put("/vfs/1/classifier_table", bad)
    assert exc.value.status == 400
    assert exc.value.reason == ("entry 100: classifier_table already has "
                                f"{mac(7)} (-> ring:1)")
    assert stack.vf_status()["classifier_table"] == table
    got, moved = forwarded(stack, [mac(BATCH), mac(BATCH + 99), mac(7)])
    assert got == {mac(7): 1}
    assert moved["drop_no_entry"] == 2 and moved["fwd2"] == 1

    # a batch of deletes takes the entries out of the data plane again
    stack.client.put("/vfs/1/classifier_table", [entry(i, "del") for i in range(BATCH)])
    assert [e["value"] for e in stack.vf_status()["classifier_table"]] == \
        [MAC1, "52:54:00:12:34:58"]
    got, moved = forwarded(stack, [mac(0), mac(1), MAC1])
    assert got == {MAC1: 1} and moved["drop_no_entry"] == 2
