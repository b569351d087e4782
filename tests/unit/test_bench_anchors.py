"""bench/anchors.py, bench/xdpgen.py and bench/meter.py: the parts that run nothing
(the measurements themselves are `make bench CASES=anchors`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench import anchors, meter, xdpgen
from bench.meter import Rate
from bench.topo import GEN_IF, TARGET_MAC
from spp.testkit import frames


def test_udp_frame_is_64_bytes_of_valid_ipv4_udp_to_the_target() -> None:
    f = xdpgen.udp_frame()
    assert len(f) == 64
    parsed = frames.parse_frame(f)
    assert parsed.dst == TARGET_MAC and parsed.src == xdpgen.GEN_SRC_MAC
    assert parsed.ethertype == 0x0800
    ip = f[14:34]
    assert ip[0] == 0x45 and ip[9] == 17  # IPv4, no options, UDP
    assert int.from_bytes(ip[2:4], "big") == 50 and frames.checksum(ip) == 0
    assert ip[12:16] == bytes([198, 18, 0, 11]) and ip[16:20] == bytes([198, 18, 0, 12])
    udp = f[34:42]
    assert int.from_bytes(udp[0:2], "big") == 9 and int.from_bytes(udp[4:6], "big") == 30


def test_udp_frame_other_length() -> None:
    assert len(xdpgen.udp_frame(length=128)) == 128


def test_gen_argv_pins_and_passes_the_frame_as_hex() -> None:
    argv = xdpgen.gen_argv(cpu=0)
    assert argv[:3] == ["taskset", "-c", "0"]
    assert argv[3] == str(xdpgen.HELPER) and argv[4] == "gen"
    assert argv[5] == GEN_IF and argv[6] == str(xdpgen.GEN_OBJ)
    assert bytes.fromhex(argv[7]) == xdpgen.udp_frame()
    assert argv[8:] == [str(xdpgen.REPEAT), "64", "0"]  # until SIGINT
    assert xdpgen.gen_argv("x0", b"\x01" * 60, cpu=1, repeat=5, batch=32, seconds=2.5)[2:] == [
        "1", str(xdpgen.HELPER), "gen", "x0", str(xdpgen.GEN_OBJ), "01" * 60, "5", "32", "2.5"]


def test_attach_argv_with_and_without_a_devmap_target() -> None:
    assert xdpgen.attach_argv("spp-vm1", xdpgen.PASS_OBJ) == [
        str(xdpgen.HELPER), "attach", "spp-vm1", str(xdpgen.PASS_OBJ)]
    assert xdpgen.attach_argv("spp-vm1", xdpgen.REDIRECT_OBJ, "spp-vm2")[-1] == "spp-vm2"


def test_napi_thread_names_are_cut_at_15_characters() -> None:
    assert xdpgen.napi_comm_prefix("vm2-eth0") == "napi/vm2-eth0-"
    assert xdpgen.napi_comm_prefix("spp-vm1") == "napi/spp-vm1-"
    assert xdpgen.napi_comm_prefix("a-long-ifname") == "napi/a-long-ifn"
    comms = {10: "napi/spp-vm1-81", 11: "napi/spp-vm2-82", 12: "ksoftirqd/0",
             13: "napi/spp-vm1-83", 14: "spp-vm1"}
    assert xdpgen.napi_threads_named(comms, "spp-vm1") == [10, 13]
    assert xdpgen.napi_threads_named(comms, "vm2-eth0") == []


def test_window_script_sums_the_counters(tmp_path: Path) -> None:
    (tmp_path / "tx_packets").write_text("1000\n")
    (tmp_path / "tx_dropped").write_text("234\n")
    script = meter.window_script("x0", meter.OFFERED_XDP, 0)
    assert "sleep 0" in script
    script = script.replace("/sys/class/net/x0/statistics", str(tmp_path))
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1234", "1234"]


def _sample() -> list[anchors.Anchor]:
    return [anchors.Anchor("xdp_redirect", Rate(2_234_000, 4_401_000), "fwd @CPU1"),
            anchors.Anchor("linux_bridge", Rate(512_000, 3_900_000), "bridge @CPU1"),
            anchors.Anchor("testpmd_afxdp", Rate(730_000, 736_000), "testpmd @CPU1")]


def test_summary_line_in_mpps_with_the_lowest_offered_rate() -> None:
    assert anchors.summary_line(_sample()) == (
        "anchors xdp_redirect=2.23 linux_bridge=0.51 testpmd_afxdp=0.73 offered=0.74")


def test_detail_states_pins_offered_and_delivered_per_anchor() -> None:
    text = anchors.detail(_sample(), 3)
    assert f"@CPU{xdpgen.GEN_CPU}" in text and "SCHED_FIFO" in text and "best of 3" in text
    assert "xdp_redirect: fwd @CPU1; offered 4.40 Mpps, delivered 2.23 Mpps (loss 49.2%)" in text
    # no loss: the anchor says the generator side was the limit
    assert "testpmd_afxdp: testpmd @CPU1; offered 0.74 Mpps, delivered 0.73 Mpps (loss 0.8%, " \
           "bound by the offered rate" in text


def test_detail_states_each_forwarders_cpu_time_per_frame() -> None:
    fast = anchors.Anchor("primary-patch-xdp", Rate(2_950_000, 2_970_000), "napi @CPU1",
                          {"NAPI": 184.4, "bridge lcore 1": 11.2})
    bare = anchors.Anchor("xdp_redirect", Rate(3_070_000, 3_080_000), "fwd @CPU1",
                          {"NAPI": 155.0})
    text = anchors.detail([fast, bare], 3)
    assert "CPU per frame: NAPI 184 ns + bridge lcore 1 11 ns = 196 ns" in text
    assert "CPU per frame: NAPI 155 ns;" not in text and text.endswith("CPU per frame: NAPI 155 ns")
    assert anchors.cost_text({}) == ""


def test_frame_cost_is_run_time_per_delivered_frame(monkeypatch) -> None:
    runs = iter([1_000, 5_000, 401_000, 605_000])  # two threads, before and after
    monkeypatch.setattr(anchors, "run_ns", lambda pid, tid: next(runs))
    monkeypatch.setattr(anchors.meter, "measure_once",
                        lambda window, offered: Rate(1_000, 2_000))  # 2000 frames in 2 s
    cost = anchors.frame_cost({"NAPI": (7, 7), "bridge lcore 1": (8, 9)}, window=2.0)
    assert cost == {"NAPI": 200.0, "bridge lcore 1": 300.0}
    monkeypatch.setattr(anchors.meter, "measure_once", lambda window, offered: Rate(0, 10))
    monkeypatch.setattr(anchors, "run_ns", lambda pid, tid: 0)
    assert anchors.frame_cost({"NAPI": (7, 7)}, window=2.0) == {}


def test_napi_watch_names_one_thread_napi() -> None:
    assert anchors.napi_watch([42]) == {"NAPI": (42, 42)}
    assert anchors.napi_watch([4, 5]) == {"NAPI 4": (4, 4), "NAPI 5": (5, 5)}
