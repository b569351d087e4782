"""The XDP fast path of the primary's phy-to-phy patches, with the real controller and primary.

`patch phy:0 phy:1` + `forward` on the default topology: frames sent from
spp-remote's r-eth0 reach spp-p0, whose XDP program redirects them to spp-p1
(devmap) and they arrive on r-eth1 without passing through DPDK. Turning the
offload off and on under a steady stream loses and duplicates nothing.
Run under the e2e lock, e.g.
``.venv/bin/pytest -q -p no:cacheprovider tests/e2e/test_xdp_fastpath.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spp.testkit.seqstream import SeqGen, SeqSink
from spp.testkit.stack import SPP, Stack, xdp_attached
from spp.testkit.stream import Stream
from spp.testkit.traffic import Flow, Traffic, iface_counter
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

R0_MAC, R1_MAC = "02:00:00:00:10:00", "02:00:00:00:10:01"


def _peer_prog(ns: str, ifname: str) -> str | None:
    out = subprocess.run(["ip", "-n", ns, "-j", "-d", "link", "show", "dev", ifname],
                         capture_output=True, text=True, check=True).stdout
    prog = (json.loads(out)[0].get("xdp") or {}).get("prog") or {}
    return prog.get("name")


def _offload(stack: Stack, state: str) -> None:
    res = subprocess.run([*SPP, "xdp", "offload", state], capture_output=True, text=True,
                         env={**os.environ, "SPP_CTL": f"127.0.0.1:{stack.api}"}, timeout=30)
    assert res.returncode == 0, res.stderr
    assert f"XDP offload of phy patches {state}" in res.stdout


def _datapaths(stack: Stack) -> list[str]:
    return [p["datapath"] for p in stack.primary_status()["patches"]]


def _phy(stack: Stack, pid: int) -> dict[str, Any]:
    return dict(stack.primary_status()["phy_ports"][pid])


def test_patch_goes_through_xdp_and_the_port_counters_include_it(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.patch_and_forward("phy:0", "phy:1")
    st = stack.primary_status()
    assert st["patches"][0]["datapath"] == "xdp", st["xdp_offload"]
    assert st["patches"][0]["xdp_attach"] == "native"
    # spp-p1's peer had no XDP program: ours gives it NAPI, so redirects are delivered
    assert _peer_prog("spp-remote", "r-eth1") == "spp_xdp_pass"
    assert _peer_prog("spp-remote", "r-eth0") is None  # not needed there: untouched

    stack.client.delete("/primary/status")
    dpdk_in = _phy(stack, 0)["stats"]["ipackets"]
    with Stream(dst=R1_MAC, src=R0_MAC, rate=2000, count=1000) as s:
        s.wait_sent()
        s.stop(settle=0.5)
    got = s.received()
    assert s.lost() == [] and len(got) == 1000, f"{len(s.lost())} lost"
    p0, p1 = _phy(stack, 0), _phy(stack, 1)
    assert p0["xdp_fwd"]["rx"] == 1000 and p1["xdp_fwd"]["tx"] == 1000
    assert p0["rx"] == 1000 and p1["tx"] == 1000  # reported counters include XDP's
    assert p0["rx"] - p0["xdp_fwd"]["rx"] == 0  # the DPDK bridge saw none of them
    assert p0["stats"]["ipackets"] == dpdk_in  # nor did the af_xdp port
    assert stack.primary_status()["xdp"]["spp-p0"]["fwd_pkts"] >= 1000

    assert stack.stop("primary") == 0, stack.log("primary")
    assert _peer_prog("spp-remote", "r-eth1") is None, "the peer's XDP_PASS must go"
    assert not xdp_attached("spp-p0") and not xdp_attached("spp-p1")


def test_offload_off_and_on_under_a_stream_loses_and_duplicates_nothing(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.patch_and_forward("phy:0", "phy:1")
    assert _datapaths(stack) == ["xdp"]
    stack.client.delete("/primary/status")
    with Stream(dst=R1_MAC, src=R0_MAC, rate=2000) as s:
        time.sleep(1.0)
        _offload(stack, "off")
        assert _datapaths(stack) == ["dpdk"]
        time.sleep(1.0)
        _offload(stack, "on")
        assert _datapaths(stack) == ["xdp"]
        time.sleep(1.0)
        _offload(stack, "off")
        time.sleep(0.5)
        _offload(stack, "on")
        time.sleep(0.5)
        s.stop(settle=1.0)
    lost, dups, summary = s.report()
    print(f"\n{summary}")
    assert lost == [] and dups == 0
    p0, p1 = _phy(stack, 0), _phy(stack, 1)
    # both paths carried part of the stream, and the port counters hold all of it
    assert 0 < p0["xdp_fwd"]["rx"] < s.sent
    assert p0["rx"] == s.sent and p1["tx"] == s.sent, (p0, p1)


GENERIC_IFS = ("spp-g0", "spp-g1")  # macvlans this module creates on spp-p0 / spp-p1


def _ip(*args: str) -> None:
    res = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    assert res.returncode == 0, f"ip {' '.join(args)}: {res.stderr.strip()}"


@pytest.fixture
def macvlans(stack: Stack) -> Iterator[tuple[str, str]]:
    """A passthru macvlan on each of spp-p0 and spp-p1: every frame the veth receives goes
    to it, what it sends leaves on the veth. macvlan has no native XDP (no ndo_bpf), so
    the af_xdp PMD's program runs there in generic mode. Deleted after the test (the
    primary, stopped first by the stack fixture, has removed its program); IPv6 off, so
    the only frames are the test's."""
    try:
        for name, lower in zip(GENERIC_IFS, ("spp-p0", "spp-p1"), strict=True):
            _ip("link", "add", "link", lower, "name", name, "type", "macvlan", "mode",
                "passthru")
            v6 = Path(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6")
            if v6.exists():
                v6.write_text("1\n")
            _ip("link", "set", "dev", name, "up")
        yield GENERIC_IFS
    finally:
        for name in GENERIC_IFS:
            subprocess.run(["ip", "link", "del", "dev", name], capture_output=True, check=False)


def test_generic_xdp_where_native_is_missing_is_said_and_carries_the_fast_path(
        stack: Stack, macvlans: tuple[str, str]) -> None:
    g0, g1 = macvlans
    stack.start_primary("--phy", g0, "--phy", g1)
    stack.patch_and_forward("phy:0", "phy:1")
    st = stack.primary_status()
    assert st["patches"][0]["datapath"] == "xdp", st["xdp_offload"]
    assert st["patches"][0]["xdp_attach"] == "generic"
    assert st["xdp_offload"]["attach_mode"] == {g0: "generic", g1: "generic"}
    # `pri; status`
    out = subprocess.run([*SPP, "primary", "status"], capture_output=True, text=True,
                         timeout=30, env={**os.environ, "SPP_CTL": f"127.0.0.1:{stack.api}"})
    assert out.returncode == 0 and "phy:1 (xdp, generic)" in out.stdout, out.stdout + out.stderr

    stack.client.delete("/primary/status")
    dpdk_in = _phy(stack, 0)["stats"]["ipackets"]
    with Stream(dst=R1_MAC, src=R0_MAC, rate=2000, count=500) as s:
        s.wait_sent()
        s.stop(settle=0.5)
    got = s.received()
    assert s.lost() == [] and len(got) == 500, f"{len(s.lost())} lost"
    p0, p1 = _phy(stack, 0), _phy(stack, 1)
    assert p0["xdp_fwd"]["rx"] == 500 and p1["xdp_fwd"]["tx"] == 500, (p0, p1)
    assert p0["rx"] - p0["xdp_fwd"]["rx"] == 0  # the DPDK bridge saw none of them
    assert p0["stats"]["ipackets"] == dpdk_in  # nor did the af_xdp port

    _offload(stack, "off")  # and the DPDK path still carries them in generic mode
    with Stream(dst=R1_MAC, src=R0_MAC, rate=2000, count=200) as s:
        s.wait_sent()
        s.stop(settle=0.5)
    assert s.lost() == [] and len(s.received()) == 200
    assert _phy(stack, 0)["xdp_fwd"]["rx"] == 500
    assert stack.stop("primary") == 0, stack.log("primary")
    assert not xdp_attached(g0) and not xdp_attached(g1)


def test_offload_off_at_start_keeps_the_dpdk_path_until_turned_on(stack: Stack) -> None:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--xdp-offload", "off")
    stack.patch_and_forward("phy:0", "phy:1")
    assert _datapaths(stack) == ["dpdk"]
    assert stack.primary_status()["xdp_offload"]["enabled"] is False
    with Stream(dst=R1_MAC, src=R0_MAC, rate=2000, count=200) as s:
        s.wait_sent()
        s.stop(settle=0.5)
    assert s.lost() == []
    assert _phy(stack, 0)["xdp_fwd"]["rx"] == 0
    _offload(stack, "on")
    assert _datapaths(stack) == ["xdp"]


def _bridge_busy(stack: Stack) -> tuple[int, int]:
    """(busy, busy + idle) cycles of the primary's worker lcores."""
    rows = stack.primary_status().get("lcore_cycles") or []
    busy = sum(int(r.get("busy", 0)) for r in rows)
    return busy, busy + sum(int(r.get("idle", 0)) for r in rows)


def _delivered_pps(stack: Stack, seconds: float = 3.0) -> tuple[float, int, float]:
    """(frames/s r-eth1 received, frames sent, share of the bridge lcores' cycles busy)."""
    before, (busy0, all0) = iface_counter("spp-remote", "r-eth1"), _bridge_busy(stack)
    gen = Traffic([Flow("spp-remote", "r-eth0", dst=R1_MAC, src=R0_MAC, tag=7)],
                  rate=1_000_000, seconds=seconds).start()
    sent = sum(gen.wait(seconds + 30).values())
    time.sleep(0.5)
    busy1, all1 = _bridge_busy(stack)
    pps = (iface_counter("spp-remote", "r-eth1") - before) / seconds
    return pps, sent, (busy1 - busy0) / max(1, all1 - all0)


def test_offload_on_leaves_the_bridge_lcore_idle_and_off_puts_the_stream_on_it(
        stack: Stack) -> None:
    """The same stream on each path: with offload on the primary's bridge lcore does no
    work for it (its frames never reach userspace), with offload off it does."""
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.patch_and_forward("phy:0", "phy:1")
    wait_for(lambda: _datapaths(stack) == ["xdp"], 5, "xdp datapath")
    on_pps, _, on_busy = _delivered_pps(stack)
    _offload(stack, "off")
    off_pps, _, off_busy = _delivered_pps(stack)
    assert on_pps > 0 and off_pps > 0
    assert on_busy < 0.02 < off_busy, f"bridge lcore busy: on {on_busy:.1%}, off {off_busy:.1%}"


SEQ_COUNT, SEQ_PPS = 500_000, 100_000  # 5 s of stream


def test_offload_off_and_on_under_a_100kpps_stream_loses_and_duplicates_no_numbered_frame(
        stack: Stack, tmp_path: Path) -> None:
    """500,000 numbered frames at 100 kpps from the in-kernel generator (seq_gen on r-eth0)
    through the phy:0 -> phy:1 patch while offload goes off and on twice; the sink
    (seq_sink on r-eth1) sees every number exactly once."""
    with SeqSink("spp-remote", "r-eth1", SEQ_COUNT) as sink:
        stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
        stack.patch_and_forward("phy:0", "phy:1")
        assert _datapaths(stack) == ["xdp"]
        stack.client.delete("/primary/status")
        with SeqGen("spp-remote", "r-eth0", R1_MAC, R0_MAC, SEQ_COUNT, SEQ_PPS,
                    tmp_path) as gen:
            for at, state in ((1.0, "off"), (2.0, "on"), (3.0, "off"), (4.0, "on")):
                time.sleep(max(0.0, at - gen.elapsed()))
                _offload(stack, state)
                print(f"\n{gen.elapsed():5.2f} s: offload {state}: xdp rx "
                      f"{_phy(stack, 0)['xdp_fwd']['rx']}", end="")
            sent = gen.wait(sink)
        got = sink.stats()
        missing = sink.missing() if got["unique"] != SEQ_COUNT else []
    p0, p1 = _phy(stack, 0), _phy(stack, 1)
    print(f"\nsent {sent} numbered frames; sink: {got}: lost {SEQ_COUNT - got['unique']} "
          f"(first runs: {missing}), duplicated {got['dup']}; via XDP {p0['xdp_fwd']['rx']}, "
          f"phy:0 rx {p0['rx']}, phy:1 tx {p1['tx']}")
    assert sent == SEQ_COUNT
    assert got == {"unique": SEQ_COUNT, "dup": 0, "range": 0}, missing
    assert 0 < p0["xdp_fwd"]["rx"] < SEQ_COUNT  # both paths carried part of it
    assert p0["rx"] == SEQ_COUNT and p1["tx"] == SEQ_COUNT, (p0, p1)
