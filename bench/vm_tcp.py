"""Bench case `vm-tcp`: TCP from the remote host into a QEMU VM through spp_vf.

    spp:        bvr-eth0 -> spp-bv0 (phy:0) -> cls -> ring:0 -> fwd_in -> vhost:0 -> VM
                VM -> vhost:0 -> fwd_out -> ring:1 -> mgr -> phy:0 -> bvr-eth0
    reference:  bvr-eth0 -> spp-bv0 (af_xdp) <- dpdk-testpmd io -> vhost-user -> the same VM

iperf3 runs from the remote namespace to `iperf3 -s` in the guest for
IPERF_S seconds, IPERF_RUNS times on each side; the value is the median of
the receiver's Mbit/s (a TCG guest sharing two CPUs with everything else
swings by a third from one run to the next, so one run says little). The VM (the image
`make setup` builds, booted fresh for each side) is the vhost-user server,
spp_vf runs with `--vhost-client` and testpmd's vhost port with `client=1`.
The note gives the peak RSS (VmHWM) and hugepage use of the primary and
spp_vf, read from /proc while the stream runs.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench import testpmd
from bench.procs import BenchError, Procs
from spp.host import vm, vmimage, vmssh
from spp.host.topology import Topology, loads_topology
from spp.host.updown import HostError, host_down, host_up
from spp.testkit.stack import Stack

IPERF_S = 8
IPERF_OMIT_S = 2
IPERF_RUNS = 3
BOOT_TIMEOUT = 180.0
VM_NAME = "spp-vm1"
REMOTE_NS = "spp-bench-r"
VM_ADDR = "198.18.2.11"
VM_MAC = "52:54:00:12:34:56"
PHY_IF = "spp-bv0"
VF_WORKER = 3  # spp_vf -l 2,3: lcore 3 runs cls, fwd_in, fwd_out and mgr

TOPOLOGY_YAML = f"""
name: bench-vm-tcp
file_prefix: spp-bvm
bpf_pin_prefix: spp_bvm_
namespaces: [{REMOTE_NS}]
veths:
  - ends:
      - {{name: bvr-eth0, netns: {REMOTE_NS}, mac: "02:00:00:00:20:00", ipv4: 198.18.2.1/24}}
      - {{name: {PHY_IF}, mac: "02:00:00:00:00:20", phy: 0}}
vms:
  - name: {VM_NAME}
    memory: 256
    nics:
      - {{vhost: 0, mac: "{VM_MAC}", ipv4: {VM_ADDR}/24, ifname: ens4}}
processes:
  vf: -l 2,3 -- --client-id 1 --vhost-client
"""


def topology() -> Topology:
    return loads_topology(TOPOLOGY_YAML, "bench-vm-tcp")


def _boot(topo: Topology) -> None:
    try:
        host_up(topo)
    except HostError as exc:
        raise BenchError(str(exc)) from None


def _wait_guest(topo: Topology) -> None:
    try:
        vm.wait_ready([VM_NAME], topo.file_prefix, BOOT_TIMEOUT)
        vmssh.wait_ssh(REMOTE_NS, VM_ADDR, 60)
    except (vm.VmError, vmssh.VmSshError) as exc:
        raise BenchError(f"VM: {exc}") from None


def _stop_vm(topo: Topology) -> None:
    vm.stop_vm(VM_NAME, topo.file_prefix)
    vm.remove_sockets([str(vm.vhost_socket(0))])


def iperf(seconds: int = IPERF_S) -> float:
    """Mbit/s the guest's iperf3 server received from the remote namespace."""
    try:
        return vmssh.iperf(REMOTE_NS, VM_ADDR, seconds, IPERF_OMIT_S)
    except vmssh.VmSshError as exc:
        raise BenchError(str(exc)) from None


def iperf_runs(runs: int = IPERF_RUNS) -> list[float]:
    """Mbit/s of `runs` iperf3 runs one after the other."""
    return [iperf() for _ in range(runs)]


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


def _mem(pid: int) -> dict[str, int]:
    """VmHWM (peak RSS) and HugetlbPages of `pid` in KiB."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "HugetlbPages"):
                out[key] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return out


def _reference(procs: Procs, topo: Topology) -> list[float]:
    """The same VM behind dpdk-testpmd io-forwarding af_xdp spp-bv0 <-> vhost-user."""
    _boot(topo)
    argv = [*testpmd.TESTPMD, "--lcores", "0@0,1@1", "--file-prefix", "spp-bench-vmref",
            *testpmd.COMMON,
            "--vdev", f"net_af_xdp0,iface={PHY_IF},start_queue=0,queue_count=1,busy_budget=0",
            "--vdev", f"net_vhost0,iface={vm.vhost_socket(0)},client=1,queues=1",
            "--", "--forward-mode=io", *testpmd.APP]
    procs.spawn("vmref", argv)
    try:
        procs.wait_log("vmref", testpmd.READY, 60)
        _wait_guest(topo)
        return iperf_runs()
    finally:
        procs.stop("vmref")
        _stop_vm(topo)


def _through_spp(procs: Procs, topo: Topology) -> tuple[list[float], str]:
    _boot(topo)
    st = Stack(children=procs, client_timeout=30, start_timeout=60)
    try:
        st.start_ctl()
        st.start_primary("-l", "0,1", "--no-pci", "--phy", PHY_IF)
        # one worker lcore for the four components, on the CPU of the primary's bridge:
        # the TCG guest needs the other CPU (testpmd's forwarding lcore sits there too)
        st.start_vf(1, "2,3", "--vhost-client", eal=("--no-pci",))
        for name, role in (("cls", "classifier"), ("fwd_in", "forward"),
                           ("fwd_out", "forward"), ("mgr", "merge")):
            st.component(name, VF_WORKER, role)
        for comp, uid, direction in (("cls", "phy:0", "rx"), ("cls", "ring:0", "tx"),
                                     ("fwd_in", "ring:0", "rx"), ("fwd_in", "vhost:0", "tx"),
                                     ("fwd_out", "vhost:0", "rx"), ("fwd_out", "ring:1", "tx"),
                                     ("mgr", "ring:1", "rx"), ("mgr", "phy:0", "tx")):
            st.port(comp, uid, direction)
        st.mac_entry(VM_MAC, "ring:0")
        _wait_guest(topo)
        mbit = iperf_runs()
        mem = {name: _mem(procs.procs[name].pid) for name in ("primary", "vf1")}
    finally:
        st.close()
        _stop_vm(topo)
    rss = ", ".join(f"{n} peak RSS {m.get('VmHWM', 0) / 1024:.0f} MiB "
                    f"(+{m.get('HugetlbPages', 0) / 1024:.0f} MiB hugepages)"
                    for n, m in mem.items())
    return mbit, rss


def run_case(procs: Procs) -> tuple[float, float, str]:
    """(spp Mbit/s, reference Mbit/s, note)."""
    topo = topology()
    try:
        t0 = time.monotonic()
        refs = _reference(procs, topo)
        runs, rss = _through_spp(procs, topo)
        took = time.monotonic() - t0
    finally:
        host_down(topo)
    mbit, ref = statistics.median(runs), statistics.median(refs)
    accel = vm.choose_accel("auto", vmimage.default_image())[0]
    note = (f"median of {IPERF_RUNS} iperf3 runs of {IPERF_S} s (omit {IPERF_OMIT_S} s) "
            f"remote -> {VM_NAME} ({accel}, 1 vCPU, 256 MiB): "
            f"spp phy:0 -> cls -> fwd -> vhost:0 / vhost:0 -> fwd -> mgr -> phy:0 "
            f"(spp_vf lcore {VF_WORKER} @CPU1 with the primary's bridge lcore 1) "
            f"{mbit:.0f} Mbit/s (runs {_runs(runs)}); reference dpdk-testpmd io af_xdp <-> "
            f"vhost-user {ref:.0f} Mbit/s (runs {_runs(refs)}); {rss}; case took {took:.0f} s")
    return mbit, ref, note
