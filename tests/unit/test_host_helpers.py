"""Frames, capture VLAN re-insertion, state file and leftover cleaning (no root needed)."""

from __future__ import annotations

import fcntl
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from spp.host import leftovers
from spp.host.state import HostState, list_states, load_state, state_path
from spp.testkit.capture import PACKET_AUXDATA, SOL_PACKET, _with_vlan
from spp.testkit.frames import (
    ETH_P_ARP,
    ETH_P_IP,
    arp_request_frame,
    checksum,
    icmp_echo_frame,
    parse_frame,
)


def test_icmp_frame_roundtrip_untagged_and_tagged() -> None:
    raw = icmp_echo_frame("02:00:00:00:00:00", "02:00:00:00:10:00", "198.18.0.1", "198.18.0.254")
    p = parse_frame(raw)
    assert (p.dst, p.src, p.vid, p.ethertype) == (
        "02:00:00:00:00:00",
        "02:00:00:00:10:00",
        None,
        ETH_P_IP,
    )
    assert (p.ip_src, p.ip_dst, p.ip_proto, p.icmp_type) == ("198.18.0.1", "198.18.0.254", 1, 8)
    assert p.is_icmp_echo and len(raw) >= 60
    assert checksum(p.payload[:20]) == 0  # IPv4 header checksum valid
    tagged = parse_frame(
        icmp_echo_frame(
            "ff:ff:ff:ff:ff:ff",
            "02:00:00:00:10:00",
            "1.1.1.1",
            "2.2.2.2",
            vlan=(677, 3),
            reply=True,
        )
    )
    assert (tagged.vid, tagged.pcp, tagged.icmp_type, tagged.ethertype) == (677, 3, 0, ETH_P_IP)


def test_arp_and_short_frames() -> None:
    p = parse_frame(arp_request_frame("52:54:00:12:34:56", "198.18.0.11", "198.18.0.12", (10, 0)))
    assert (p.ethertype, p.arp_op, p.arp_spa, p.arp_tpa, p.vid) == (
        ETH_P_ARP,
        1,
        "198.18.0.11",
        "198.18.0.12",
        10,
    )
    assert parse_frame(b"\x01\x02").dst == ""


def test_vlan_reinserted_from_auxdata() -> None:
    plain = icmp_echo_frame("02:00:00:00:00:00", "02:00:00:00:10:00", "1.1.1.1", "2.2.2.2")
    aux = struct.pack("=IIIHHHH", (1 << 4) | (1 << 6), 0, 0, 0, 0, (5 << 13) | 100, 0x8100)
    back = parse_frame(_with_vlan(plain, [(SOL_PACKET, PACKET_AUXDATA, aux)]))
    assert (back.vid, back.pcp, back.ip_dst) == (100, 5, "2.2.2.2")
    untouched = _with_vlan(
        plain, [(SOL_PACKET, PACKET_AUXDATA, struct.pack("=IIIHHHH", 0, 0, 0, 0, 0, 0, 0))]
    )
    assert untouched == plain
    assert socket.AF_PACKET  # the capture helper is Linux-only


def test_state_roundtrip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    assert load_state("t") is None
    st = HostState(topology="t", file_prefix="x", bpf_pin_prefix="x_")
    st.add_namespace("ht-a")
    st.add_link("ht-a0", "ht-a")
    st.add_link("ht-a0", "ht-a")  # no duplicate
    assert state_path("t") == tmp_path / "host-t.json"
    got = load_state("t")
    assert got == st and got is not None and got.has_link("ht-a0", "ht-a")
    assert [s.topology for s in list_states()] == ["t"]
    (tmp_path / "host-broken.json").write_text("{not json")
    assert load_state("broken") is None
    got.remove_file()
    assert load_state("t") is None


def test_remove_dpdk_files_and_pins_only_with_prefix(tmp_path: Path) -> None:
    huge, run, bpf = tmp_path / "huge", tmp_path / "dpdk", tmp_path / "bpf"
    for d in (huge, run / "spp", run / "rte", bpf / "spp_dir"):
        d.mkdir(parents=True)
    for f in (
        huge / "sppmap_0",
        huge / "sppmap_1",
        huge / "rtemap_0",
        bpf / "spp_fdb",
        bpf / "other",
        run / "spp" / "config",
    ):
        f.write_text("")
    removed = leftovers.remove_dpdk_files("spp", huge, run)
    assert sorted(p.name for p in huge.iterdir()) == ["rtemap_0"]
    assert not (run / "spp").exists() and (run / "rte").exists()
    assert len(removed) == 3
    leftovers.remove_bpf_pins("spp_", bpf)
    assert sorted(p.name for p in bpf.iterdir()) == ["other"]
    disp = tmp_path / "xdp"
    (disp / "dispatch-7-42").mkdir(parents=True)
    (disp / "dispatch-70-1").mkdir()
    leftovers.remove_xdp_dispatcher_pins([7], disp)
    assert [p.name for p in disp.iterdir()] == ["dispatch-70-1"]


def test_stop_recorded_processes_stops_only_spp_processes_of_that_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exec_process
) -> None:
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    spp = exec_process(["bash", "-c", "exec -a spp-fake-vf sleep 60"], "spp-fake-vf 60")
    other = exec_process([sys.executable, "-c", "import time; time.sleep(60)"], "time.sleep")
    neighbour = exec_process(["bash", "-c", "exec -a spp-fake-other-instance sleep 60"],
                             "spp-fake-other-instance 60")
    try:
        inst, next_door = tmp_path / "spptest", tmp_path / "spp"
        inst.mkdir()
        next_door.mkdir()
        (inst / "vf-1.pid").write_text(f"{spp.pid}\n")
        (inst / "other.pid").write_text(f"{other.pid}\n")
        (inst / "garbage.pid").write_text("nope\n")
        (next_door / "primary.pid").write_text(f"{neighbour.pid}\n")
        done = leftovers.stop_recorded_processes("spptest")
        assert spp.wait(timeout=5) is not None
        assert other.poll() is None  # not an spp command line: left alone
        assert neighbour.poll() is None  # another instance: left alone
        assert len(done) == 1 and str(spp.pid) in done[0]
        assert list(inst.glob("*.pid")) == []
        assert (next_door / "primary.pid").exists()
    finally:
        for p in (spp, other, neighbour):
            p.kill()
            p.wait()


def _try_lock(lock: Path, timeout: float, outer_flock: bool) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys; from pathlib import Path; from spp.testkit.session import E2ELock\n"
        f"l = E2ELock(Path({str(lock)!r}), timeout={timeout})\n"
        "try:\n    l.acquire()\nexcept TimeoutError:\n    sys.exit(3)\nl.release()\n"
    )
    argv = [sys.executable, "-c", code]
    if outer_flock:
        argv = ["flock", str(lock), *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def test_e2e_lock_reentrant_under_outer_flock_and_exclusive(tmp_path: Path) -> None:
    lock = tmp_path / "e2e.lock"
    assert _try_lock(lock, 2, outer_flock=False).returncode == 0
    assert _try_lock(lock, 2, outer_flock=True).returncode == 0  # inherited: no deadlock
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # someone else (this process) holds it
        assert _try_lock(lock, 1, outer_flock=False).returncode == 3
