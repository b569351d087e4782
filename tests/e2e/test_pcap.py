"""spp_pcap end to end on the default topology.

remote r-eth0 -> phy:0 (primary, af_xdp) -> spp_pcap receive lcore -> writer rings
             -> writer lcores -> OUT_DIR/spp_pcap.*.phy0.W.SEQ.pcap.lz4

The files are read back with `lz4 -d`, spp.testkit.pcapfile and `tshark -r`:
every frame the remote sent is in them once, byte for byte, in the order
sent within each writer's files, and the counters add up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from classify_icmp import REMOTE0

from spp.client import SppError
from spp.native.limits import SPP_PCAP_RING_SIZE
from spp.proc.pcap import HOLD_ENV
from spp.testkit import frames, pcapfile, tmpfs
from spp.testkit.capture import send_frames
from spp.testkit.stack import SPP, Stack
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

DST = "02:00:00:00:10:01"
LCORES = "2,3,4,5"  # master, receive, two writers


def echo(seq: int) -> bytes:
    return frames.icmp_echo_frame(DST, REMOTE0, "198.18.0.1", "198.18.0.11", seq=seq)


def send(n: int, batch: int = 250, pause: float = 0.02) -> None:
    for start in range(0, n, batch):
        send_frames("spp-remote", "r-eth0", [echo(i) for i in range(start, min(n, start + batch))])
        time.sleep(pause)


def capture(stack: Stack, action: str) -> None:
    stack.client.put("/pcaps/1/capture", {"action": action})


def status(stack: Stack) -> dict[str, Any]:
    return stack.client.pcap_status(1)


def writer_files(st: dict[str, Any]) -> list[list[Path]]:
    return [[Path(f) for f in c["files"]] for c in st["core"] if c["role"] == "write"]


def ours(recs: list[pcapfile.Record]) -> list[int]:
    """Sequence numbers of our echo requests among the records, in file order."""
    out = []
    for r in recs:
        f = frames.parse_frame(r.data)
        if f.icmp_type == 8 and f.dst == DST:
            assert r.data == echo(f.icmp_seq), f"frame {f.icmp_seq} differs from what was sent"
            out.append(f.icmp_seq)
    return out


def read_writer(files: list[Path]) -> list[pcapfile.Record]:
    recs: list[pcapfile.Record] = []
    for path in files:
        hdr, got = pcapfile.read(path)
        assert hdr.magic == pcapfile.MAGIC_NS and hdr.linktype == 1
        recs += got
    return recs


def tshark_count(path: Path, tmp: Path) -> int:
    raw = tmp / (path.name + ".pcap")
    raw.write_bytes(pcapfile.decompress(path))
    out = subprocess.run(["tshark", "-r", str(raw), "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return len(out.stdout.split())


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    d = tmp_path / "capture"
    d.mkdir()
    return d


@pytest.fixture
def pcap_stack(stack: Stack, out_dir: Path) -> Iterator[Stack]:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    yield stack


def test_every_frame_sent_is_in_the_files_in_order_and_counters_add_up(
        pcap_stack: Stack, out_dir: Path, tmp_path: Path) -> None:
    stack = pcap_stack
    stack.start_pcap(1, LCORES, "-c", "phy:0", "--out-dir", str(out_dir))
    assert {"type": "pcap", "client-id": 1} in stack.client.processes()
    st = status(stack)
    assert st["status"] == "idle" and [c["role"] for c in st["core"]] == \
        ["receive", "write", "write"]
    assert st["core"][0]["rx_port"] == [{"port": "phy:0"}]

    t0 = time.time_ns()
    capture(stack, "start")
    st = status(stack)
    assert st["status"] == "running"
    for idx, c in enumerate(st["core"][1:], start=1):
        name = Path(c["filename"]).name
        m = pcapfile.NAME_RE.match(name)
        assert m and m.group(2) == "phy0" and (m.group(3), m.group(4)) == (str(idx), "1"), name
    n = 5000
    send(n)
    wait_for(lambda: status(stack)["counters"]["received"] >= n, 10, "the frames received")
    time.sleep(0.2)
    capture(stack, "stop")
    t1 = time.time_ns()
    st = status(stack)
    c = st["counters"]
    assert st["status"] == "idle" and all(x.get("filename", "") == "" for x in st["core"])
    assert c["received"] == c["written"] + c["dropped"]
    assert not list(out_dir.glob("*.tmp")), "every file is complete"

    seen: list[int] = []
    per_writer = []
    for files in writer_files(st):
        recs = read_writer(files)
        assert all(t0 <= r.ts_ns <= t1 for r in recs)
        assert [r.ts_ns for r in recs] == sorted(r.ts_ns for r in recs)
        seq = ours(recs)
        assert seq == sorted(seq), "a writer keeps the order frames arrived in"
        per_writer.append(len(seq))
        seen += seq
        assert sum(tshark_count(p, tmp_path) for p in files) == len(recs)
    assert len(seen) == len(set(seen)), "no frame twice"
    assert len(seen) + c["dropped"] >= n
    if c["dropped"] == 0:
        assert sorted(seen) == list(range(n))

    text = subprocess.run([*SPP, "pcap", "1", "status"], capture_output=True, text=True,
                          env={"SPP_CTL": f"127.0.0.1:{stack.api}", "PATH": "/usr/bin"})
    assert text.returncode == 0, text.stderr
    assert "  - status: idle\n" in text.stdout and "  - core:" in text.stdout
    print(f"\npcap: sent {n}; counters {c}; ours per writer {per_writer}; "
          f"files {[len(f) for f in writer_files(st)]}")


def test_files_rotate_at_fsize_and_sigterm_completes_them(
        pcap_stack: Stack, out_dir: Path) -> None:
    stack = pcap_stack
    fsize = 16384
    stack.start_pcap(1, LCORES, "-c", "phy:0", "--out-dir", str(out_dir),
                     "--fsize", str(fsize))
    capture(stack, "start")
    n = 3000
    send(n)
    wait_for(lambda: status(stack)["counters"]["received"] >= n, 10, "the frames received")
    st = status(stack)
    assert stack.stop("pcap1", signal.SIGTERM) == 0
    assert not list(out_dir.glob("*.tmp")), "SIGTERM completed every file"
    files = sorted(out_dir.glob("spp_pcap.*.pcap.lz4"))
    assert len(files) > 2
    for f in files:
        assert f.stat().st_size <= fsize, f"{f.name}: {f.stat().st_size} bytes"
        subprocess.run(["lz4", "-t", str(f)], check=True, capture_output=True)
    seen: list[int] = []
    for w in (1, 2):
        mine = sorted((f for f in files if pcapfile.NAME_RE.match(f.name).group(3) == str(w)),
                      key=lambda f: int(pcapfile.NAME_RE.match(f.name).group(4)))
        assert [int(pcapfile.NAME_RE.match(f.name).group(4)) for f in mine] == \
            list(range(1, len(mine) + 1))
        seq = ours(read_writer(mine))
        assert seq == sorted(seq)
        seen += seq
    assert len(seen) == len(set(seen))
    if st["counters"]["dropped"] == 0:
        assert sorted(seen) == list(range(n))
    print(f"\nrotation: {len(files)} files of at most {fsize} bytes; {len(seen)} of ours")


def test_full_writer_rings_drop_and_count_and_never_hold_up_the_port(
        pcap_stack: Stack, out_dir: Path) -> None:
    """Writers held (a test hook) take nothing until stop: their rings (SPP_PCAP_RING_SIZE
    slots, one kept free) fill up, the receive lcore keeps taking every frame from phy:0
    and drops what does not fit, counted; on stop the writers write what their rings hold."""
    stack = pcap_stack
    stack.start_pcap(1, LCORES, "-c", "phy:0", "--out-dir", str(out_dir),
                     env={HOLD_ENV: "1"})
    capture(stack, "start")
    n = 10000
    send(n)
    wait_for(lambda: status(stack)["counters"]["received"] >= n, 10, "the frames received")
    c = status(stack)["counters"]
    held = 2 * (SPP_PCAP_RING_SIZE - 1)
    # the remote's own frames (IPv6 ND and the like), if any, are captured too
    stray = c["received"] - n
    assert 0 <= stray < 20, "the port was read all along"
    assert (c["written"], c["dropped"]) == (0, c["received"] - held)
    capture(stack, "stop")
    st = status(stack)
    c = st["counters"]
    assert (c["written"], c["dropped"]) == (held, c["received"] - held)
    seen: list[int] = []
    for files in writer_files(st):
        seq = ours(read_writer(files))
        assert seq == sorted(seq)
        seen += seq
    assert sorted(seen) == list(range(len(seen))), "the first frames were kept"
    assert held - stray <= len(seen) <= held
    print(f"\nheld writers: sent {n}; counters {c}")


def test_start_twice_and_stop_when_idle_are_refused_and_exit_ends_it(
        pcap_stack: Stack, out_dir: Path) -> None:
    stack = pcap_stack
    # the friendly form this time: `spp pcap start` with --port among the EAL options
    stack._spawn("pcap1", ["pcap", "start", "--client-id", "1", "--ctl",
                           f"127.0.0.1:{stack.sec_port}", "-l", LCORES, "--port", "phy:0",
                           "--out-dir", str(out_dir)])
    stack._await("pcap1", {"type": "pcap", "client-id": 1}, "pcap 1 to register")
    with pytest.raises(SppError) as err:
        capture(stack, "stop")
    assert (err.value.status, err.value.reason) == (400, "capture is not running")
    with pytest.raises(SppError) as err:
        stack.client.put("/pcaps/1/capture", {"action": "pause"})
    assert (err.value.status, err.value.reason) == (400, "invalid key(action): pause.")
    out_dir.rmdir()  # gone after launch: start is refused with the writer's reason
    with pytest.raises(SppError) as err:
        capture(stack, "start")
    assert err.value.status == 400 and err.value.reason.startswith(f"cannot write {out_dir}/")
    assert err.value.reason.endswith(".tmp: No such file or directory"), err.value.reason
    assert status(stack)["status"] == "idle"
    out_dir.mkdir()
    capture(stack, "start")
    with pytest.raises(SppError) as err:
        capture(stack, "start")
    assert (err.value.status, err.value.reason) == (400, "capture is already running")
    stack.client.delete("/pcaps/1")
    assert stack.procs["pcap1"].wait(15) == 0
    assert not list(out_dir.glob("*.tmp")) and len(list(out_dir.glob("*.pcap.lz4"))) == 2
    wait_for(lambda: all(p["type"] != "pcap" for p in stack.client.processes()), 2,
             "pcap gone")


def noise(seq: int, size: int = 1200) -> bytes:
    """An echo request with `size` random bytes of payload: LZ4 cannot shrink it."""
    return frames.ethernet(DST, REMOTE0, 0x0800, frames.ipv4_icmp_echo(
        "198.18.0.1", "198.18.0.11", seq=seq, payload=os.urandom(size)))


def test_a_full_capture_directory_names_the_error_counts_drops_and_harms_nothing_else(
        pcap_stack: Stack, tmp_path: Path) -> None:
    """--out-dir on a 64 KiB tmpfs: the writers hit ENOSPC; each says so in one line, what
    they cannot write is dropped and counted, the process and the primary go on, and
    once there is room again the next capture writes."""
    stack = pcap_stack
    with tmpfs.mounted(tmp_path / "small", 64 * 1024) as small:
        stack.start_pcap(1, LCORES, "-c", "phy:0", "--out-dir", str(small))
        capture(stack, "start")
        n = 400  # about 480 KB of incompressible frames into 64 KiB
        for start in range(0, n, 50):
            send_frames("spp-remote", "r-eth0", [noise(i) for i in range(start, start + 50)])
            time.sleep(0.02)
        wait_for(lambda: status(stack)["counters"]["received"] >= n, 10, "the frames received")
        st = status(stack)
        errors = [c.get("error") for c in st["core"] if c["role"] == "write"]
        assert "No space left on device" in errors, st
        c = st["counters"]
        assert c["dropped"] > 0 and c["written"] < n
        # the text status names the error on one line of its own
        text = subprocess.run([*SPP, "pcap", "1", "status"], capture_output=True, text=True,
                              env={"SPP_CTL": f"127.0.0.1:{stack.api}", "PATH": "/usr/bin"},
                              timeout=30)
        assert text.returncode == 0 and "    - error: No space left on device\n" in text.stdout
        capture(stack, "stop")
        st = status(stack)
        c = st["counters"]
        assert st["status"] == "idle" and c["received"] == c["written"] + c["dropped"], c
        # nothing else is harmed: the primary answers, both processes are listed
        assert stack.primary_status()["phy_ports"][0]["id"] == 0
        procs = stack.client.processes()
        assert {"type": "pcap", "client-id": 1} in procs and {"type": "primary"} in procs
        # room again: the next capture writes every frame
        for f in small.iterdir():
            f.unlink()
        capture(stack, "start")
        send(100)
        wait_for(lambda: status(stack)["counters"]["received"] >= 100, 10, "the frames")
        capture(stack, "stop")
        st = status(stack)
        assert [c.get("error") for c in st["core"] if c["role"] == "write"] == [None, None]
        assert sorted(s for files in writer_files(st) for s in ours(read_writer(files))) \
            == list(range(100))
        stack.client.delete("/pcaps/1")
        assert stack.procs["pcap1"].wait(15) == 0


@pytest.mark.parametrize("args, reason", [
    (["-c", "phy:0", "--out-dir", "/nonexistent/spp-pcap"],
     "spp pcap: --out-dir /nonexistent/spp-pcap: no such directory"),
    (["-c", "vhost:0"], "spp pcap: -c: spp_pcap captures phy:N or ring:N, not vhost:0"),
    (["-c", "phy:x"], "spp pcap: -c: 'phy:x' is not a resource UID (TYPE:ID, e.g. ring:0)"),
    ([], "spp pcap: -c RES_UID is required (the captured port, e.g. -c phy:0)"),
    (["-c", "phy:0", "--fsize", "12k"], "spp pcap: --fsize '12k' is not a number"),
])
def test_bad_input_gets_one_line_reasons(args: list[str], reason: str) -> None:
    out = subprocess.run([*SPP, "pcap", "-l", LCORES, "--proc-type=secondary", "--",
                          "--client-id", "1", *args], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and out.stderr == reason + "\n", out.stderr
