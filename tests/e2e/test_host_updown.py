"""`spp host up/down` on a real kernel: namespaces, veths, idempotency, crash clean-up.

Non-destructive checks use the session `default_topology`; tests that tear down use a
private `ht-` topology with its own run dir and prefixes, so the session topology
(and anything the other e2e tests keep in /run/spp) is never disturbed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from spp.host import netdev
from spp.host.state import load_state, state_path
from spp.host.topology import Topology, loads_topology
from spp.host.updown import HostError, host_down, host_up
from spp.testkit.capture import Capture
from spp.testkit.frames import ETH_P_IPV6
from spp.testkit.session import E2ELock

pytestmark = pytest.mark.e2e

PRIVATE = """
name: hosttest
file_prefix: spptest
bpf_pin_prefix: spp_test_
namespaces: [ht-remote, ht-vm]
veths:
  - ends:
      - {name: ht-r0, netns: ht-remote, mac: "02:00:00:00:ee:00", ipv4: 198.19.250.1/24}
      - {name: ht-p0, mac: "02:00:00:00:ef:00", ipv4: 198.19.250.254/24, phy: 0}
  - ends:
      - {name: ht-v0, netns: ht-vm, mac: "02:00:00:00:ee:01", ipv4: 198.19.251.1/24}
      - {name: ht-p1}
"""
XDP_PASS_C = """
__attribute__((section("xdp"), used)) int xdp_pass(void *ctx) { return 2; }
char _license[] __attribute__((section("license"), used)) = "GPL";
"""


def _snapshot(topo: Topology) -> dict[str, netdev.LinkInfo | None]:
    return {e.name: netdev.link_info(e.netns, e.name) for e in topo.interfaces()}


def _root_links() -> set[str]:
    out = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True)
    return {link["ifname"] for link in json.loads(out.stdout)}


@pytest.fixture
def private(
    e2e_lock: E2ELock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Topology]:
    """The private topology, not up yet; anything left is downed at the end."""
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path / "run"))
    topo = loads_topology(PRIVATE, "private")
    yield topo
    host_down(topo)


@pytest.fixture
def unrelated(e2e_lock: E2ELock) -> Iterator[str]:
    """An interface we did not create (a veth pair: no dummy driver on module-less kernels)."""
    subprocess.run(
        ["ip", "link", "add", "ht-unrel0", "type", "veth", "peer", "name", "ht-unrel1"], check=True
    )
    yield "ht-unrel0"
    subprocess.run(["ip", "link", "del", "ht-unrel0"], check=False)


def test_default_topology_built(default_topology: Topology, netns_run) -> None:
    for ns in default_topology.namespaces:
        assert netdev.ns_exists(ns)
        lo = netdev.link_info(ns, "lo")
        assert lo is not None and lo.up
    for end in default_topology.interfaces():
        info = netdev.link_info(end.netns, end.name)
        assert info is not None, end.name
        assert info.kind == "veth" and info.up and info.mtu == end.mtu
        if end.mac:
            assert info.mac == end.mac
        assert list(info.ipv4) == ([end.ipv4] if end.ipv4 else [])
        feats = netns_run(end.netns, ["ethtool", "-k", end.name], check=True).stdout
        assert "tx-checksumming: off" in feats
        v6 = netns_run(end.netns, ["cat", f"/proc/sys/net/ipv6/conf/{end.name}/disable_ipv6"])
        assert v6.stdout.strip() == "1"
    state = load_state("default")
    assert state is not None
    assert set(state.namespaces) == set(default_topology.namespaces)
    assert {r.name for r in state.links} == {e.name for e in default_topology.interfaces()}


def test_ping_across_veths(default_topology: Topology, netns_ping) -> None:
    assert netns_ping("spp-remote", "198.18.0.254", interface="r-eth0", count=2)
    assert netns_ping("spp-remote", "198.18.1.254", interface="r-eth1")


def test_capture_sees_only_the_ping(default_topology: Topology, netns_ping) -> None:
    with Capture("spp-remote", "r-eth0") as cap:
        assert netns_ping("spp-remote", "198.18.0.254", interface="r-eth0")
    parsed = [f.parse() for f in cap.frames()]
    requests = [p for p in parsed if p.icmp_type == 8]
    replies = [p for p in parsed if p.icmp_type == 0]
    assert requests and requests[0].src == "02:00:00:00:10:00"
    assert requests[0].dst == "02:00:00:00:00:00"
    assert replies and replies[0].src == "02:00:00:00:00:00" and replies[0].ip_src == "198.18.0.254"
    assert all(p.ethertype != ETH_P_IPV6 for p in parsed)  # IPv6 off: no RS/MLD/DAD noise


def test_up_twice_is_idempotent(default_topology: Topology) -> None:
    before = _snapshot(default_topology)
    text = state_path("default").read_text()
    host_up(default_topology)
    proc = subprocess.run(
        [sys.executable, "-m", "spp.cli.main", "host", "up"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert _snapshot(default_topology) == before  # same ifindexes, MACs, addresses
    assert state_path("default").read_text() == text


def test_down_removes_exactly_what_up_made(private: Topology, unrelated: str) -> None:
    links_before, ns_before = _root_links(), set(netdev.list_namespaces())
    state = host_up(private)
    assert set(state.namespaces) == {"ht-remote", "ht-vm"}
    assert _root_links() - links_before == {"ht-p0", "ht-p1"}
    assert netdev.link_info("ht-remote", "ht-r0") is not None
    removed = host_down(private)
    assert "netns ht-remote" in removed and "netns ht-vm" in removed
    assert _root_links() == links_before  # includes the unrelated pair, untouched
    assert set(netdev.list_namespaces()) == ns_before
    assert not state_path("hosttest").exists()
    assert netdev.link_info("root", unrelated) is not None


def test_collision_with_foreign_interface_refused(private: Topology, unrelated: str) -> None:
    clash = loads_topology(PRIVATE.replace("ht-p1", unrelated), "clash")
    ns_before = set(netdev.list_namespaces())
    with pytest.raises(HostError, match=f"{unrelated} already exists"):
        host_up(clash)
    assert set(netdev.list_namespaces()) == ns_before  # refused before creating anything
    host_down(clash)
    assert netdev.link_info("root", unrelated) is not None


def _xdp_object(tmp_path: Path) -> Path | None:
    clang = shutil.which("clang")
    if clang is None:
        return None
    src, obj = tmp_path / "xdp_pass.c", tmp_path / "xdp_pass.o"
    src.write_text(XDP_PASS_C)
    proc = subprocess.run([clang, "-O2", "-target", "bpf", "-c", str(src), "-o", str(obj)])
    return obj if proc.returncode == 0 else None


def test_down_after_crash_leaves_nothing(private: Topology, tmp_path: Path) -> None:
    host_up(private)
    run = tmp_path / "run"
    huge = Path("/dev/hugepages/spptestmap_0")
    dpdk_run = Path("/var/run/dpdk/spptest")
    pin = Path("/sys/fs/bpf/spp_test_leftover")
    # a "crashed" SPP run: process still alive, hugepage + runtime files, pinned map, XDP
    fake = subprocess.Popen(["bash", "-c", "exec -a spp-fake-primary sleep 120"])
    (run / private.file_prefix).mkdir(parents=True, exist_ok=True)
    (run / private.file_prefix / "primary.pid").write_text(f"{fake.pid}\n")
    huge.touch()
    dpdk_run.mkdir(parents=True, exist_ok=True)
    (dpdk_run / "config").write_text("")
    skipped = []
    bpftool = shutil.which("bpftool")
    if bpftool:
        subprocess.run(
            [
                bpftool,
                "map",
                "create",
                str(pin),
                "type",
                "array",
                "key",
                "4",
                "value",
                "4",
                "entries",
                "1",
                "name",
                "spp_test_left",
            ],
            check=True,
        )
    else:
        skipped.append("pinned map (no bpftool)")
    obj = _xdp_object(tmp_path)
    if obj is not None:
        subprocess.run(
            ["ip", "link", "set", "dev", "ht-p0", "xdpgeneric", "obj", str(obj), "sec", "xdp"],
            check=True,
        )
        info = netdev.link_info("root", "ht-p0")
        assert info is not None and info.xdp_prog_ids
    else:
        skipped.append("XDP program (no clang to build one)")
    try:
        removed = host_down(private)
        assert fake.wait(timeout=10) is not None
        assert any("process" in r for r in removed)
        if obj is not None:
            assert "xdp program on ht-p0" in removed
        assert not huge.exists() and not dpdk_run.exists() and not pin.exists()
        assert not list(run.glob("*/*.pid"))
        assert netdev.link_index("root", "ht-p0") is None
        assert not {"ht-remote", "ht-vm"} & set(netdev.list_namespaces())
    finally:
        fake.kill()
        fake.wait()
        huge.unlink(missing_ok=True)
        pin.unlink(missing_ok=True)
        shutil.rmtree(dpdk_run, ignore_errors=True)
    if skipped:
        pytest.skip("cleaned up, but not exercised: " + ", ".join(skipped))


def test_cli_up_show_down(private: Topology, tmp_path: Path) -> None:
    yaml_file = tmp_path / "ht.yaml"
    yaml_file.write_text(PRIVATE)

    def spp(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "spp.cli.main", "host", *args], capture_output=True, text=True
        )

    up = spp("up", str(yaml_file))
    assert up.returncode == 0 and "hosttest up" in up.stdout, up.stderr
    show = spp("show")
    assert show.returncode == 0 and "ht-p0" in show.stdout and "02:00:00:00:ef:00" in show.stdout
    data = json.loads(spp("show", "--json").stdout)
    assert [t["name"] for t in data["topologies"]] == ["hosttest"]
    down = spp("down", str(yaml_file))
    assert down.returncode == 0 and "netns ht-remote" in down.stdout
    assert "no topology is up" in spp("show").stdout
