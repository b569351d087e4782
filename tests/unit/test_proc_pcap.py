"""spp_pcap: option table, file names, the model and its status document on a fake data
plane, the C core's pcap/LZ4 file writer (no EAL) read back with `lz4` and
spp.testkit.pcapfile, and the shell's `pcap N; ...` words and status text."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from spp.cli import commands as C
from spp.cli import statusfmt
from spp.cli.complete import candidates
from spp.errors import Refused, UsageError
from spp.native import load
from spp.native.limits import SPP_PCAP_SNAPLEN_MAX
from spp.proc import pcap
from spp.resources import parse_port
from spp.testkit import pcapfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import FakePcapDataPlane  # noqa: E402

# ---- option table -----------------------------------------------------------


def test_upstream_command_line_fills_the_options(tmp_path):
    o = pcap.parse_args(["-l", "2-5", "-n", "4", "--proc-type=secondary", "--",
                         "--client-id", "3", "-s", "192.168.1.100:6666", "-c", "phy:1",
                         "--out-dir", str(tmp_path), "--fsize", "1000000"])
    assert (o.client_id, o.ctl, str(o.port), o.out_dir, o.fsize, o.snaplen) == (
        3, "192.168.1.100:6666", "phy:1", tmp_path, 1000000, SPP_PCAP_SNAPLEN_MAX)
    assert o.eal == ["-l", "2-5", "-n", "4", "--proc-type=secondary"]


def test_defaults_are_upstreams():
    o = pcap.parse_args(["-l", "2-4", "--", "--client-id", "1", "-c", "ring:2"])
    assert (o.out_dir, o.fsize, str(o.port)) == (Path("/tmp"), 1 << 30, "ring:2")


def test_friendly_start_form(tmp_path):
    o = pcap.parse_args(["start", "--client-id", "2", "--ctl", "127.0.0.1:7000", "-l", "4-6",
                         "--port", "phy:0nq1", "--out-dir", str(tmp_path), "--snaplen", "128"])
    assert (o.client_id, o.ctl, str(o.port), o.snaplen, o.eal) == (
        2, "127.0.0.1:7000", "phy:0 nq 1", 128, ["-l", "4-6"])


@pytest.mark.parametrize("argv, reason", [
    (["--", "-c", "phy:0"], "--client-id is required"),
    (["--", "--client-id", "1"], "-c RES_UID is required (the captured port, e.g. -c phy:0)"),
    (["--", "--client-id", "1", "-c", "vhost:0"],
     "-c: spp_pcap captures phy:N or ring:N, not vhost:0"),
    (["--", "--client-id", "1", "-c", "phy"],
     "-c: 'phy' is not a resource UID (TYPE:ID, e.g. ring:0)"),
    (["--", "--client-id", "1", "-c", "phy:0", "--out-dir", "/nonexistent/x"],
     "--out-dir /nonexistent/x: no such directory"),
    (["--", "--client-id", "1", "-c", "phy:0", "--out-dir", "/etc/hostname"],
     "--out-dir /etc/hostname: not a directory"),
    (["--", "--client-id", "1", "-c", "phy:0", "--fsize", "1G"], "--fsize '1G' is not a number"),
    (["--", "--client-id", "1", "-c", "phy:0", "--fsize", "100"],
     "--fsize 100 is out of range (4096-4611686018427387904)"),
    (["--", "--client-id", "1", "-c", "phy:0", "--snaplen", "70000"],
     "--snaplen 70000 is out of range (1-65535)"),
    (["--", "--client-id", "1", "-c", "phy:0", "-n", "1"], "unknown spp_pcap option '-n'"),
])
def test_bad_command_lines_are_one_line_usage_errors(argv, reason):
    with pytest.raises(UsageError) as err:
        pcap.parse_args(argv)
    assert err.value.reason.startswith(reason) and "\n" not in err.value.reason


def test_main_prints_one_line_and_exits_2_on_a_bad_command_line(capsys):
    assert pcap.main(["-l", "2-4", "--", "--client-id", "1", "-c", "ring:x"]) == 2
    assert capsys.readouterr().err == \
        "spp pcap: -c: 'ring:x' is not a resource UID (TYPE:ID, e.g. ring:0)\n"


# ---- file names -------------------------------------------------------------


@pytest.mark.parametrize("port, label", [("phy:0", "phy0"), ("ring:12", "ring12"),
                                         ("phy:1nq2", "phy1nq2")])
def test_file_names_are_upstreams(port, label):
    stem = pcap.file_stem(parse_port(port), dt.datetime(2019, 2, 14, 16, 15, 50))
    assert stem == f"spp_pcap.20190214161550.{label}"
    name = pcap.file_name(stem, 2, 7)
    assert name == f"spp_pcap.20190214161550.{label}.2.7.pcap.lz4"
    m = pcapfile.NAME_RE.match(name)
    assert m is not None and m.groups() == ("20190214161550", label, "2", "7")


# ---- the model --------------------------------------------------------------


def model(dp: FakePcapDataPlane | None = None) -> pcap.PcapModel:
    return pcap.PcapModel(1, 2, 3, parse_port("phy:0"), Path("/cap"), 4096, 96,
                          dp or FakePcapDataPlane(),
                          clock=lambda: dt.datetime(2020, 1, 2, 3, 4, 5))


def test_status_idle_then_running_then_idle_with_the_files():
    m = model()
    st = m.handle("status", {})
    assert {k: st[k] for k in ("client-id", "status", "master-lcore", "out-dir", "fsize",
                               "snaplen")} == {"client-id": 1, "status": "idle",
                                               "master-lcore": 2, "out-dir": "/cap",
                                               "fsize": 4096, "snaplen": 96}
    assert [(c["core"], c["role"]) for c in st["core"]] == [(3, "receive"), (4, "write"),
                                                             (5, "write")]
    m.handle("start", {})
    st = m.status()
    assert st["status"] == "running"
    assert [c["filename"] for c in st["core"][1:]] == [
        "/cap/spp_pcap.20200102030405.phy0.1.1.pcap.lz4",
        "/cap/spp_pcap.20200102030405.phy0.2.1.pcap.lz4"]
    m.handle("stop", {})
    st = m.status()
    assert st["status"] == "idle" and st["core"][2]["filename"] == ""
    assert st["core"][2]["files"] == ["/cap/spp_pcap.20200102030405.phy0.2.1.pcap.lz4"]


def test_writer_files_list_every_sequence_number():
    m = model()
    w = pcap.WriterInfo(4, 3, 0, 0, 0, 0, False, "spp_pcap.20200102030405.ring1")
    assert m.writer_files(2, w) == [
        f"/cap/spp_pcap.20200102030405.ring1.2.{i}.pcap.lz4" for i in (1, 2, 3)]
    assert m.writer_files(1, pcap.WriterInfo(4, 0, 0, 0, 0, 0, False, "")) == []


@pytest.mark.parametrize("cmd, args, reason", [
    ("stop", {}, "capture is not running"),
    ("start now", {}, "'start' takes no arguments"),
    ("start", {"x": 1}, "'start' takes no arguments"),
    ("pause", {}, "unknown pcap command 'pause' (status, start, stop, exit)"),
    ("", {}, "empty command"),
])
def test_bad_commands_are_refused_with_one_line(cmd, args, reason):
    with pytest.raises(Refused) as err:
        model().handle(cmd, args)
    assert err.value.reason == reason


def test_start_twice_is_refused_and_a_refused_start_leaves_it_idle():
    dp = FakePcapDataPlane()
    m = model(dp)
    m.handle("start", {})
    with pytest.raises(Refused, match="capture is already running"):
        m.handle("start", {})
    m.handle("stop", {})
    dp.fail = "cannot write /cap/x.tmp: Permission denied"
    with pytest.raises(Refused, match="Permission denied"):
        m.handle("start", {})
    assert m.status()["status"] == "idle"


# ---- the C core's file writer -----------------------------------------------

needs_lz4 = pytest.mark.skipif(shutil.which("lz4") is None, reason="needs the lz4 tool")


def write(tmp: Path, frames: list[bytes], fsize: int = 1 << 30, snaplen: int = 65535,
          index: int = 1, stem: str = "spp_pcap.20260101000000.phy0") -> int:
    ffi, lib = load()
    lens = ffi.new("uint32_t[]", [len(f) for f in frames] or [0])
    n = lib.spp_pcap_file_write(str(tmp).encode(), stem.encode(), index, fsize, snaplen,
                                b"".join(frames) or b"\0", lens, len(frames), 10**18 + 5)
    if n < 0:
        raise RuntimeError(ffi.string(lib.spp_last_error()).decode())
    return int(n)


def files_in_order(tmp: Path) -> list[Path]:
    files = [p for p in tmp.iterdir() if pcapfile.NAME_RE.match(p.name)]
    return sorted(files, key=lambda p: int(pcapfile.NAME_RE.match(p.name).group(4)))


def frame(i: int, size: int) -> bytes:
    return (i.to_bytes(4, "big") * (size // 4 + 1))[:size]


@needs_lz4
def test_header_and_records_read_back(tmp_path):
    frames = [frame(i, 60 + i) for i in range(100)]
    assert write(tmp_path, frames, index=3) == 1
    (path,) = files_in_order(tmp_path)
    assert path.name == "spp_pcap.20260101000000.phy0.3.1.pcap.lz4"
    raw = pcapfile.decompress(path)
    assert raw[:4] == bytes.fromhex("4d3cb2a1")  # 0xa1b23c4d, little-endian
    hdr, recs = pcapfile.parse(raw)
    assert (hdr.magic, hdr.major, hdr.minor, hdr.snaplen, hdr.linktype) == (
        0xA1B23C4D, 2, 4, 65535, 1)
    assert [r.data for r in recs] == frames
    assert [r.ts_ns for r in recs] == [10**18 + 5 + i for i in range(100)]
    assert all(r.caplen == r.length == len(f) for r, f in zip(recs, frames, strict=True))
    assert not list(tmp_path.glob("*.tmp"))


@needs_lz4
def test_snaplen_cuts_records_and_keeps_the_original_length(tmp_path):
    frames = [frame(i, 1500) for i in range(10)] + [frame(99, 40)]
    write(tmp_path, frames, snaplen=96)
    hdr, recs = pcapfile.read(files_in_order(tmp_path)[0])
    assert hdr.snaplen == 96
    assert [(r.caplen, r.length) for r in recs] == [(96, 1500)] * 10 + [(40, 40)]
    assert [r.data for r in recs] == [f[:96] for f in frames]


@needs_lz4
@pytest.mark.parametrize("size", [60, 1500, 9000])
def test_files_rotate_before_passing_fsize_and_each_is_a_complete_lz4_frame(tmp_path, size):
    import os
    fsize = 65536
    # incompressible (the worst case), three files' worth
    frames = [os.urandom(size) for _ in range(3 * fsize // (size + 16) + 1)]
    n = write(tmp_path, frames, fsize=fsize)
    files = files_in_order(tmp_path)
    assert len(files) == n > 1
    assert [int(pcapfile.NAME_RE.match(p.name).group(4)) for p in files] == \
        list(range(1, n + 1))
    got: list[bytes] = []
    for p in files:
        assert p.stat().st_size <= fsize, (p.name, p.stat().st_size)
        subprocess.run(["lz4", "-t", str(p)], check=True, capture_output=True)
        got += [r.data for r in pcapfile.read(p)[1]]
    assert got == frames


@needs_lz4
def test_a_record_larger_than_fsize_gets_a_file_of_its_own(tmp_path):
    frames = [frame(1, 9000), frame(2, 9000)]
    assert write(tmp_path, frames, fsize=4096) == 2


def test_an_unwritable_directory_is_a_one_line_reason(tmp_path):
    with pytest.raises(RuntimeError) as err:
        write(tmp_path / "missing", [frame(1, 60)])
    assert "No such file or directory" in str(err.value) and "\n" not in str(err.value)


def test_truncated_pcap_is_refused_by_the_reader():
    frames = [frame(1, 60)]
    raw = bytes.fromhex("4d3cb2a1") + bytes(20) + (1).to_bytes(4, "little") * 2 + \
        (60).to_bytes(4, "little") * 2 + frames[0][:30]
    with pytest.raises(ValueError, match="truncated record"):
        pcapfile.parse(raw)


# ---- shell words and status text --------------------------------------------


def test_pcap_actions_are_upstreams_requests():
    a = C.pcap_action(2, ["start"])
    assert (a.method, a.path, a.body, a.done(None)) == ("PUT", "pcaps/2/capture",
                                                        {"action": "start"},
                                                        "Start packet capture.")
    a = C.pcap_action(2, ["stop"])
    assert (a.body, a.done(None)) == ({"action": "stop"}, "Stop packet capture.")
    assert (C.pcap_action(2, ["status"]).method, C.pcap_action(2, ["exit"]).method) == (
        "GET", "DELETE")
    with pytest.raises(C.CommandError, match='Invalid command "ste".'):
        C.pcap_action(2, ["ste"])
    with pytest.raises(C.CommandError, match="Invalid syntax, usage: start"):
        C.pcap_action(2, ["start", "now"])


def test_status_text_is_upstreams_shape():
    m = model()
    m.handle("start", {})
    text = statusfmt.pcap_status(m.status())
    assert text == "\n".join([
        "Basic Information:",
        "  - client-id: 1",
        "  - status: running",
        "  - lcore_ids:",
        "    - master: 2",
        "    - slaves: [3, 4, 5]",
        "Components:",
        "  - core:3 receive",
        "    - rx: phy:0",
        "  - core:4 write",
        "    - filename: /cap/spp_pcap.20200102030405.phy0.1.1.pcap.lz4",
        "  - core:5 write",
        "    - filename: /cap/spp_pcap.20200102030405.phy0.2.1.pcap.lz4",
        "Counters: received 10, written 9, dropped 1",
    ])


class Src:
    def pcap_ids(self) -> list[int]:
        return [1, 3]

    def primary_status(self) -> dict[str, Any]:
        return {}


@pytest.mark.parametrize("line, expected", [
    ("pc", ["pcap"]),
    ("pcap ", ["1;", "3;"]),
    ("pcap 1; ", ["status", "start", "stop", "exit"]),
    ("pcap 1; st", ["status", "start", "stop"]),
    ("pcap 1; start ", []),
])
def test_pcap_completion(line, expected):
    assert candidates(line, Src()) == expected
