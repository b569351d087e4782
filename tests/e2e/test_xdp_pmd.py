"""DPDK 22.11's af_xdp PMD loads build/bpf/xdp_steer.o and spp.xdp steers live traffic.

Runs dpdk-testpmd (rxonly) on a private veth ``xhe-p0`` whose peer sits in netns
``xh-e2e``, then pings the root-netns address from the namespace: the kernel
answers only when the steering lets the frames through to it.

The PMD loads the object with libbpf's defaults; its maps belong to that port
alone (nothing is pinned by name), and spp.xdp.pins pins them under an
instance directory of their own, as the primary does, so this runs next to a
primary without touching its maps. Run it under the e2e lock, e.g.
``flock /tmp/spp-e2e.lock .venv/bin/pytest -m e2e tests/e2e/test_xdp_pmd.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from spp.xdp import XdpMapsNotFound, XdpSteering, instance_dir, pin_port_maps, remove_instance

REPO = Path(__file__).resolve().parents[2]
NS, PORT, PEER = "xh-e2e", "xhe-p0", "xhe-in"
INSTANCE = "xh-e2e"  # the pin directory /sys/fs/bpf/spp/xh-e2e/
PORT_MAC, PEER_MAC = "02:00:00:00:99:00", "02:00:00:00:99:01"
PORT_IP, PEER_IP = "198.18.9.254", "198.18.9.1"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, XDP, hugepages)"),
    pytest.mark.skipif(shutil.which("dpdk-testpmd") is None, reason="dpdk-testpmd not installed"),
    pytest.mark.skipif(shutil.which("clang") is None, reason="clang is needed to build bpf/"),
]


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def ping_ok() -> bool:
    r = sh(
        "ip", "netns", "exec", NS, "ping", "-c", "2", "-i", "0.2", "-W", "1", PORT_IP, check=False
    )
    return r.returncode == 0


def _cleanup_net() -> None:
    sh("ip", "netns", "del", NS, check=False)
    sh("ip", "link", "del", PORT, check=False)


@pytest.fixture(scope="module")
def testpmd(tmp_path_factory):
    if int(Path("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages").read_text()) < 128:
        pytest.skip("needs >= 128 free 2 MiB hugepages")
    obj = tmp_path_factory.mktemp("bpf")
    sh("make", "-s", "-C", str(REPO / "bpf"), f"BUILD_DIR={obj}")
    _cleanup_net()
    log = tmp_path_factory.mktemp("log") / "testpmd.log"
    proc = None
    try:
        sh("ip", "netns", "add", NS)
        sh(
            "ip",
            "link",
            "add",
            PORT,
            "address",
            PORT_MAC,
            "type",
            "veth",
            "peer",
            "name",
            PEER,
            "address",
            PEER_MAC,
            "netns",
            NS,
        )
        sh("ip", "addr", "add", f"{PORT_IP}/24", "dev", PORT)
        sh("ip", "link", "set", PORT, "up")
        sh("ip", "-n", NS, "addr", "add", f"{PEER_IP}/24", "dev", PEER)
        sh("ip", "-n", NS, "link", "set", PEER, "up")
        # registered mode sends broadcasts (ARP requests) to SPP only: pin the neighbour
        sh("ip", "-n", NS, "neigh", "replace", PORT_IP, "lladdr", PORT_MAC, "dev", PEER)
        assert ping_ok(), "kernel path broken before DPDK started"
        vdev = (
            f"net_af_xdp0,iface={PORT},start_queue=0,queue_count=1,xdp_prog={obj / 'xdp_steer.o'}"
        )
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [
                    *(["stdbuf", "-oL"] if shutil.which("stdbuf") else []),  # line-buffer the log
                    "dpdk-testpmd",
                    "-l",
                    "0-1",
                    "--no-pci",
                    "--in-memory",
                    "-m",
                    "256",
                    "--file-prefix",
                    "xh-e2e",
                    "--vdev",
                    vdev,
                    "--",
                    "--forward-mode=rxonly",
                    "--total-num-mbufs=4096",
                ],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        deadline = time.monotonic() + 30
        while "Press enter to exit" not in log.read_text():
            assert proc.poll() is None, "testpmd exited:\n" + log.read_text()[-3000:]
            assert time.monotonic() < deadline, "testpmd did not start:\n" + log.read_text()
            time.sleep(0.2)
        pin_port_maps(PORT, instance_dir(INSTANCE) / PORT)
        yield proc
    finally:
        if proc is not None and proc.poll() is None:
            try:
                proc.communicate("\n", timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        remove_instance(INSTANCE)
        _cleanup_net()


@pytest.fixture
def steer(testpmd):
    x = XdpSteering(instance_dir(INSTANCE))
    yield x
    x.close()


def test_pmd_loads_object_whose_maps_are_the_port_own(steer):
    link = sh("ip", "link", "show", PORT).stdout
    assert "prog/xdp" in link and "spp_xdp_steer" in link
    for name in ("spp_fdb", "spp_port_cfg", "spp_xdp_stats"):
        assert (instance_dir(INSTANCE) / PORT / name).exists()
        assert not Path("/sys/fs/bpf", name).exists()  # nothing pinned by name
    assert not Path("/sys/fs/bpf/xsks_map").exists()
    assert steer.ports() == [PORT]


def test_live_steering_follows_mode_and_fdb_changes(steer):
    steer.set_mode(PORT, "all")
    steer.clear_counters(PORT)
    assert not ping_ok(), "mode all: every frame should go to DPDK, none to the kernel"
    assert steer.counters(PORT)["to_spp_pkts"] >= 2

    steer.set_mode(PORT, "registered")
    steer.clear_counters(PORT)
    assert ping_ok(), "registered mode: unknown unicast must reach the kernel"
    assert steer.counters(PORT)["to_kernel_pkts"] >= 2

    steer.add_mac(PORT, PORT_MAC)
    steer.clear_counters(PORT)
    assert not ping_ok(), "registered MAC: frames should go to DPDK"
    assert steer.counters(PORT)["to_spp_pkts"] >= 2

    steer.del_mac(PORT, PORT_MAC)
    steer.set_mode(PORT, "registered", drop_unknown=True)
    steer.clear_counters(PORT)
    assert not ping_ok(), "drop flag: unknown unicast should be dropped"
    assert steer.counters(PORT)["dropped_pkts"] >= 2


def test_removing_the_instance_after_pmd_exit_leaves_no_pins(testpmd):
    testpmd.communicate("\n", timeout=15)
    assert testpmd.returncode == 0
    assert "spp_xdp_steer" not in sh("ip", "link", "show", PORT).stdout  # PMD detached it
    remove_instance(INSTANCE)
    assert not instance_dir(INSTANCE).exists()
    with pytest.raises(XdpMapsNotFound):
        XdpSteering(instance_dir(INSTANCE))
