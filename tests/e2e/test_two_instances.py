"""Two SPP instances on one host, driven through one `spp shell` with `server`.

Each instance is a topology file of its own: its namespace and veths, its DPDK
file prefix (so its own hugepage files, run directory and XDP pin directory
/sys/fs/bpf/spp/<prefix>/) and its own controller ports (`ctl:`). Both come up
with `spp up --topology`, both forward, and `spp down` of one leaves the other
forwarding with its maps intact.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from spp.client import Client
from spp.testkit import frames
from spp.testkit.capture import Capture, send_frames
from spp.testkit.stack import SPP
from spp.testkit.wait import free_port, wait_for
from spp.xdp.pins import instance_dir

pytestmark = pytest.mark.e2e
# the maps each phy port's XDP program pins under its instance, sorted
PORT_MAPS = ("spp_fdb", "spp_fwd_stats", "spp_patch", "spp_port_cfg", "spp_tx_ports",
             "spp_vf_act", "spp_vf_stats", "spp_xdp_stats")

MAC = "52:54:00:12:34:56"


class Instance:
    def __init__(self, tag: str, tmp: Path) -> None:
        self.env = {**os.environ, "SPP_RUN_DIR": str(tmp / "run"),  # pid/log/state files
                    "SPP_HISTORY": str(tmp / "history")}
        self.tag = tag                      # "a" or "b"
        self.prefix = f"i9{tag}"            # file prefix = instance name
        self.ns = f"spp-i9{tag}"
        self.p0, self.p1 = f"i{tag}-p0", f"i{tag}-p1"
        self.r0, self.r1 = f"i{tag}-r0", f"i{tag}-r1"
        self.api = free_port()
        pri, sec, self.metrics = free_port(), free_port(), free_port()
        n = 0xa if tag == "a" else 0xb
        self.src = f"02:00:00:00:{n:02x}:10"
        self.topology = tmp / f"{self.prefix}.yaml"
        self.topology.write_text(f"""\
name: {self.prefix}
file_prefix: {self.prefix}
bpf_pin_prefix: {self.prefix}_
ctl: {{bind: 127.0.0.1, api_port: {self.api}, pri_port: {pri}, sec_port: {sec},
      metrics_port: {self.metrics}}}
namespaces: [{self.ns}]
veths:
  - ends:
      - {{name: {self.r0}, netns: {self.ns}, mac: "{self.src}"}}
      - {{name: {self.p0}, mac: "02:00:00:00:{n:02x}:00", phy: 0}}
  - ends:
      - {{name: {self.r1}, netns: {self.ns}, mac: "02:00:00:00:{n:02x}:11"}}
      - {{name: {self.p1}, mac: "02:00:00:00:{n:02x}:01", phy: 1}}
""")
        self.client = Client(f"127.0.0.1:{self.api}", timeout=10)

    def spp(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*SPP, *args], capture_output=True, text=True, timeout=timeout,
                              env=self.env)

    def up(self) -> None:
        res = self.spp("up", "--topology", str(self.topology))
        assert res.returncode == 0, res.stdout + res.stderr

    def down(self) -> subprocess.CompletedProcess[str]:
        return self.spp("down", "--topology", str(self.topology))

    def forwards(self, count: int = 20, seq0: int = 0) -> int:
        """Frames sent into phy:0 that came out of phy:1."""
        sent = [frames.icmp_echo_frame(MAC, self.src, "198.18.9.1", "198.18.9.2", seq=seq0 + i)
                for i in range(count)]
        with Capture(self.ns, self.r1) as cap:
            send_frames(self.ns, self.r0, sent)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and len(self._ours(cap, seq0)) < count:
                time.sleep(0.1)
            time.sleep(0.2)
        return len(self._ours(cap, seq0))

    def _ours(self, cap: Capture, seq0: int) -> set[int]:
        return {p.icmp_seq for p in (f.parse() for f in cap.frames(received_only=True))
                if p.src == self.src and p.icmp_seq is not None and p.icmp_seq >= seq0}

    def exported(self) -> str:
        """What this instance's Prometheus exporter serves now."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics}/metrics", timeout=5) as r:
            return r.read().decode()

    def pins(self) -> list[str]:
        root = instance_dir(self.prefix)
        return sorted(str(p.relative_to(root)) for p in root.rglob("spp_*"))

    def taken(self) -> int:
        """Frames our program on phy:0 took: to the socket, or on through vf 1's chain in
        XDP (the fast path)."""
        fast = self.client.vf_status(1).get("xdp_fastpath", {}).get(self.p0, {})
        return int(self.client.primary_status()["xdp"][self.p0]["to_spp_pkts"]
                   + fast.get("xdp_pkts", 0))

    def xdp_list(self) -> str:
        res = self.spp("xdp", "--file-prefix", self.prefix, "list")
        assert res.returncode == 0, res.stderr
        return res.stdout


@pytest.fixture
def instances(e2e_lock, tmp_path: Path) -> Iterator[tuple[Instance, Instance]]:
    a, b = Instance("a", tmp_path), Instance("b", tmp_path)
    try:
        yield a, b
    finally:
        for inst in (a, b):
            inst.down()


def shell(first: Instance, lines: list[str]) -> str:
    res = subprocess.run([*SPP, "shell", "-b", f"127.0.0.1:{first.api}"], input="\n".join(lines),
                         capture_output=True, text=True, timeout=60, env=first.env)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def test_two_instances_forward_side_by_side_and_down_leaves_the_other(
        instances: tuple[Instance, Instance]) -> None:
    a, b = instances
    a.up()
    b.up()
    forwarder = ["vf 1; component start fwd 3 forward", "vf 1; port add phy:0 rx fwd",
                 "vf 1; port add phy:1 tx fwd", "vf 1; status"]
    out = shell(a, [f"server add 127.0.0.1:{b.api}", "server",
                    *forwarder,                     # on instance a (server 1)
                    "server 2", *forwarder,         # on instance b
                    "server 1", "status"])
    assert f'Switch spp-ctl to "2: 127.0.0.1:{b.api}"' in out
    assert f'Switch spp-ctl to "1: 127.0.0.1:{a.api}"' in out
    assert out.count("core:3 'fwd' (type: forward)") == 2, out
    for inst in (a, b):
        st = inst.client.vf_status(1)
        assert [c["name"] for c in st["components"] if "name" in c] == ["fwd"]
        phys = inst.client.primary_status()["phy_ports"]
        assert [p["iface"] for p in phys] == [inst.p0, inst.p1]

    # each instance has its own maps, under its own file prefix
    assert a.pins() == [f"{p}/{m}" for p in (a.p0, a.p1)
                        for m in PORT_MAPS]
    assert b.pins() == [f"{p}/{m}" for p in (b.p0, b.p1)
                        for m in PORT_MAPS]
    assert not list(Path("/sys/fs/bpf").glob("spp_*")), "nothing pinned by name"
    res = b.spp("xdp", "--file-prefix", b.prefix, "add", b.p0, MAC)
    assert res.returncode == 0, res.stderr
    assert MAC in b.xdp_list() and MAC not in a.xdp_list()

    assert a.forwards(20, 0) == 20
    assert b.forwards(20, 0) == 20
    # our program on b's phy:0 took them: to the socket, or on through vf 1's chain in XDP
    assert b.taken() >= 20

    res = a.down()
    assert res.returncode == 0, res.stdout + res.stderr
    assert not instance_dir(a.prefix).exists()
    assert subprocess.run(["ip", "link", "show", a.p0], capture_output=True).returncode != 0

    # b: still forwarding, its maps and the entry written into them intact
    assert b.forwards(20, 100) == 20
    assert b.pins() == [f"{p}/{m}" for p in (b.p0, b.p1)
                        for m in PORT_MAPS]
    assert MAC in b.xdp_list()
    assert [p["type"] for p in b.client.processes()].count("vf") == 1
    assert 'spp_component_rx_packets_total{' in b.exported()  # b's exporter serves b
    wait_for(lambda: b.taken() >= 40, 3, "instance b's XDP counters to keep counting")

    res = b.down()
    assert res.returncode == 0, res.stdout + res.stderr
    assert not instance_dir(b.prefix).exists()


def test_a_phy_port_of_a_running_instance_is_refused_to_another(
        instances: tuple[Instance, Instance]) -> None:
    a, _b = instances
    a.up()
    res = a.spp("primary", "start", "--file-prefix=i9x", "--phy", a.p0, timeout=60)
    assert not (Path(a.env["SPP_RUN_DIR"]) / "i9x" / "primary.pid").exists()
    assert res.returncode != 0
    assert f"interface '{a.p0}' is a phy port of SPP instance 'i9a'" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert len(a.pins()) == 2 * len(PORT_MAPS), \
        "the refused primary must not touch instance a's maps"
    assert a.client.primary_status()["xdp"][a.p0]["mode"] == "all"
