"""`spp up --topology` with the whole family: primary, spp_vf, spp_nfv, spp_mirror, spp_pcap.

One small instance of its own (file prefix, run directory, namespace, veths,
controller and exporter ports) whose `processes:` section names an nfv and a
mirror besides the primary and vf 1:

- `spp up` starts each (`nfv 2 started (pid N)`, pid files nfv2 and mirror3) and a
  second `up` finds each `already running`; `spp status` lists them;
- `pri; launch nfv 4 ...` (`spp primary launch`) starts one more nfv through the
  primary, with upstream's argv (`-- -n 4 -s ...`);
- the exporter shows their ports, the mirror's component and the nfv's patch, with
  their type in `proc`; `spp top --once` shows them;
- a kill -9 of the mirror and of the nfv, then `spp up`: both are started again and
  the controller gives each its configuration back (`restored` in their status);
- `spp down` exits them all and leaves nothing of the instance.

And with a pcap in `processes:` (upstream's command line, `-c phy:0 --out-dir DIR`):
`up` starts it, it captures every frame the remote sends, the exporter and `spp top`
show it, `pri; launch pcap 6 ... -- ... -c phy:1` adds one, `down` exits both.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spp import rundir
from spp.client import Client
from spp.testkit import frames, pcapfile
from spp.testkit.capture import send_frames
from spp.testkit.instance import TopoInstance
from spp.testkit.stack import SPP, component, port
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

PREFIX = "sppfam"
NS = "spp-fam"
LINKS = ("fam-p0", "fam-p1")
NAMES = ("ctl", "primary", "vf1", "nfv2", "mirror3", "metrics")  # pid file names


class Family(TopoInstance):
    def __init__(self, tmp: Path, others: str | None = None) -> None:
        """`others`: the processes: lines after vf (SEC the secondaries' port), by default
        an nfv 2 and a mirror 3."""
        super().__init__(tmp, PREFIX, NS, (("fam-r0", LINKS[0]), ("fam-r1", LINKS[1])),
                         "family.yaml")
        if others is None:
            others = ("  nfv: -l 5,6 -n 4 --proc-type=secondary -- -n 2 -s 127.0.0.1:SEC\n"
                      "  mirror:\n"
                      "    - -l 7,8 -n 4 --proc-type=secondary -- --client-id 3 "
                      "-s 127.0.0.1:SEC\n")
        self.write(f"""\
processes:
  primary: -l 0,1 -n 4 --proc-type=primary -- -p 0x03 -n 10 -s 127.0.0.1:{self.pri}
  vf: -l 2-4 -n 4 --proc-type=secondary -- --client-id 1 -s 127.0.0.1:{self.sec}
""" + others.replace("SEC", str(self.sec)))
        self.client = Client(f"127.0.0.1:{self.api}", timeout=10)

    def up(self) -> str:
        res = self.spp("up", "--topology", str(self.topology))
        assert res.returncode == 0, res.stdout + res.stderr
        return res.stdout

    def exported(self) -> str:
        url = f"http://127.0.0.1:{self.metrics}/metrics"
        with urllib.request.urlopen(url, timeout=5) as res:
            return str(res.read().decode())


@pytest.fixture
def family(e2e_lock: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Family]:
    monkeypatch.setenv(rundir.ROOT_ENV, str(tmp_path / "run"))
    fam = Family(tmp_path)
    try:
        yield fam
    finally:
        fam.clean()


def configure(fam: Family) -> None:
    """mirror 3: phy:0 to ring:0 and ring:1; nfv 2: ring:2 added, phy:1 -> ring:2, forwarding."""
    for method, path, body in (component("mr1", 8, "mirror"),
                               port("add", "phy:0", "rx", "mr1"),
                               port("add", "ring:0", "tx", "mr1"),
                               port("add", "ring:1", "tx", "mr1")):
        fam.client.request(method, f"/mirrors/3{path}", body)
    fam.client.put("nfvs/2/ports", {"action": "add", "port": "ring:2"})
    fam.client.put("nfvs/2/patches", {"src": "phy:1", "dst": "ring:2"})
    fam.client.put("nfvs/2/forward", {"action": "start"})


def config(fam: Family) -> tuple[Any, Any]:
    mirror, nfv = fam.client.mirror_status(3), fam.client.nfv_status(2)
    return (mirror["components"],
            {k: nfv[k] for k in ("ports", "patches", "status")})


def test_up_starts_nfv_and_mirror_and_down_leaves_nothing(family: Family) -> None:
    fam = family
    assert fam.leftovers() == [], "the instance is not clean before the test"
    out = fam.up()
    pids = {name: fam.pid(name) for name in NAMES}
    assert all(pids.values()), f"not all running after up: {pids}\n{out}"
    for label, name in (("nfv 2", "nfv2"), ("mirror 3", "mirror3"), ("vf 1", "vf1")):
        assert re.search(rf"^{label} started \(pid {pids[name]}\): spp ", out, re.M), out
    again = fam.up()
    for label, name in (("primary", "primary"), ("nfv 2", "nfv2"), ("mirror 3", "mirror3")):
        assert re.search(rf"^{label} already running \(pid {pids[name]}\)", again, re.M), again
    status = fam.spp("status")
    assert status.returncode == 0, status.stderr
    for line in ("1: vf:1", "2: nfv:2", "3: mirror:3"):
        assert line in status.stdout, status.stdout

    # pri; launch nfv 4 as upstream: the primary starts `spp nfv EAL -- -n 4 -s ...`
    launched = fam.spp("primary", "launch", "nfv", "4", "-l", "9,10", "--file-prefix", PREFIX,
                       "--", "-n", "4", "-s", f"127.0.0.1:{fam.sec}")
    assert launched.returncode == 0, launched.stdout + launched.stderr
    assert "Send request to launch nfv:4." in launched.stdout
    assert "nfv:4 is up." in launched.stdout
    assert fam.pid("nfv4") is not None
    assert {"type": "nfv", "client-id": 4} in fam.client.processes()

    configure(fam)
    before = config(fam)
    assert before[1] == {"ports": ["phy:0", "phy:1", "ring:2"],
                         "patches": [{"src": "phy:1", "dst": "ring:2"}], "status": "running"}
    text = wait_for(lambda: (t := fam.exported()) and 'process="mirror:3"' in t
                    and "spp_patch_info" in t and t, 15, "nfv and mirror in the exposition")
    assert 'spp_up{process="nfv:2"} 1.0' in text and 'spp_up{process="mirror:3"} 1.0' in text
    assert ('spp_patch_info{client_id="2",dst="ring:2",proc="nfv",src="phy:1"} 1.0'
            in text), text
    assert 'spp_forwarding{client_id="2",proc="nfv"} 1.0' in text
    assert re.search(r'spp_component_rx_packets_total\{client_id="3",component="mr1",'
                     r'core="8",proc="mirror",type="mirror"\}', text), text
    assert re.search(r'spp_vf_port_rx_packets_total\{client_id="2",port="phy:1",proc="nfv"\}',
                     text), text
    top = subprocess.run([*SPP, "top", "--once", "--all", "--interval", "0.5"],
                         capture_output=True, text=True, timeout=60,
                         env={**fam.env, "COLUMNS": "200"})  # no row cut short
    assert top.returncode == 0, top.stderr
    assert "mirror:3 phy:0" in top.stdout and "phy:1->ring:2" in top.stdout, top.stdout

    # kill -9 the mirror and the nfv: `up` starts them again, the controller restores them
    for name in ("mirror3", "nfv2"):
        pid = pids[name]
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda p=pid: not rundir.pid_alive(p), 10, f"{name} (pid {pid}) to go")
    wait_for(lambda: not any(p.get("type") == "mirror" for p in fam.client.processes()), 15,
             "the controller to see the mirror gone")
    back = fam.up()
    for label, name in (("nfv 2", "nfv2"), ("mirror 3", "mirror3")):
        pid = fam.pid(name)
        assert pid is not None and pid != pids[name]
        assert re.search(rf"^{label} started \(pid {pid}\)", back, re.M), back
    mirror = wait_for(lambda: (st := fam.client.mirror_status(3)).get("restored") and st, 15,
                      "the mirror's configuration back")
    nfv = wait_for(lambda: (st := fam.client.nfv_status(2)).get("restored") and st, 15,
                   "the nfv's configuration back")
    assert mirror["restored"]["components"] == 1 and mirror["restored"]["ports"] == 3
    assert mirror["restored"]["failed"] == [] and nfv["restored"]["failed"] == []
    assert nfv["restored"]["patches"] == 1 and nfv["restored"]["forwarding"] == 1
    assert config(fam) == before

    down = fam.spp("down", "--topology", str(fam.topology))
    assert down.returncode == 0, down.stdout + down.stderr
    for line in ("Exit vf 1.", "Exit nfv 2.", "Exit mirror 3.", "Exit nfv 4.", "Exit primary."):
        assert line in down.stdout, down.stdout
    assert fam.leftovers() == []


# ---- spp_pcap: spp up / pri; launch / spp down ------------------------------------

PCAP_DST = "02:00:00:00:20:01"


def pcap_echo(seq: int) -> bytes:
    return frames.icmp_echo_frame(PCAP_DST, "02:00:00:00:20:00", "198.19.0.1", "198.19.0.2",
                                  seq=seq)


def captured(status: dict[str, Any]) -> list[int]:
    """Sequence numbers of our echo requests in the files of a pcap's status, by writer."""
    seqs: list[int] = []
    for core in status["core"]:
        if core["role"] != "write":
            continue
        for name in core["files"]:
            for rec in pcapfile.read(Path(name))[1]:
                f = frames.parse_frame(rec.data)
                if f.dst == PCAP_DST and f.icmp_type == 8:
                    assert rec.data == pcap_echo(f.icmp_seq), "a frame differs from the sent one"
                    seqs.append(f.icmp_seq)
    return seqs


@pytest.fixture
def pcap_family(e2e_lock: object, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Family, Path]]:
    """The primary, vf 1 and pcap 5 capturing phy:0 into tmp/cap (upstream's command line)."""
    monkeypatch.setenv(rundir.ROOT_ENV, str(tmp_path / "run"))
    cap = tmp_path / "cap"
    cap.mkdir()
    fam = Family(tmp_path, f"  pcap: -l 5,6,7 -n 4 --proc-type=secondary -- --client-id 5 "
                           f"-s 127.0.0.1:SEC -c phy:0 --out-dir {cap}\n")
    try:
        yield fam, cap
    finally:
        fam.clean()


def test_up_starts_pcap_that_captures_launch_adds_one_and_down_leaves_nothing(
        pcap_family: tuple[Family, Path]) -> None:
    fam, cap = pcap_family
    assert fam.leftovers() == [], "the instance is not clean before the test"
    out = fam.up()
    pid = fam.pid("pcap5")
    assert pid is not None and re.search(rf"^pcap 5 started \(pid {pid}\): spp pcap ", out,
                                         re.M), out
    assert re.search(rf"^pcap 5 already running \(pid {pid}\)", fam.up(), re.M)
    status = fam.spp("status")
    assert status.returncode == 0 and "5: pcap:5" in status.stdout, status.stdout

    # pcap 5 captures what the remote sends to phy:0: every frame, once, in the files
    fam.client.put("pcaps/5/capture", {"action": "start"})
    n = 2000
    for start in range(0, n, 250):
        send_frames(NS, "fam-r0", [pcap_echo(i) for i in range(start, start + 250)])
        time.sleep(0.02)
    wait_for(lambda: fam.client.pcap_status(5)["counters"]["received"] >= n, 15,
             "pcap 5 to receive the frames")
    text = wait_for(lambda: (t := fam.exported()) and "spp_pcap_packets_total" in t and t, 15,
                    "pcap in the exposition")
    assert 'spp_up{process="pcap:5"} 1.0' in text
    assert 'spp_pcap_capturing{client_id="5"} 1.0' in text
    assert re.search(r'spp_pcap_packets_total\{client_id="5",outcome="received",'
                     r'port="phy:0"\} (\d+)', text), text
    top = subprocess.run([*SPP, "top", "--once", "--all", "--interval", "0.5"],
                         capture_output=True, text=True, timeout=60,
                         env={**fam.env, "COLUMNS": "200"})
    assert top.returncode == 0 and "capture phy:0" in top.stdout, top.stdout + top.stderr
    fam.client.put("pcaps/5/capture", {"action": "stop"})
    st = fam.client.pcap_status(5)
    assert st["counters"]["dropped"] == 0
    assert sorted(captured(st)) == list(range(n))
    assert all(Path(f).parent == cap for c in st["core"] for f in c.get("files", []))

    # pri; launch pcap 6 as upstream's CLI sends it: -c and --out-dir after --
    launched = fam.spp("primary", "launch", "pcap", "6", "-l", "8,9,10", "--file-prefix",
                       PREFIX, "--", "--client-id", "6", "-s", f"127.0.0.1:{fam.sec}",
                       "-c", "phy:1", "--out-dir", str(cap))
    assert launched.returncode == 0, launched.stdout + launched.stderr
    assert "Send request to launch pcap:6." in launched.stdout
    assert "pcap:6 is up." in launched.stdout
    assert fam.client.pcap_status(6)["core"][0]["rx_port"] == [{"port": "phy:1"}]
    assert fam.pid("pcap6") is not None

    down = fam.spp("down", "--topology", str(fam.topology))
    assert down.returncode == 0, down.stdout + down.stderr
    for line in ("Exit vf 1.", "Exit pcap 5.", "Exit pcap 6.", "Exit primary."):
        assert line in down.stdout, down.stdout
    assert fam.leftovers() == []
    assert not list(cap.glob("*.tmp")), "every capture file was closed"
