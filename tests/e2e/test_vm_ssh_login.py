"""The "SSH Login to VMs" use case with real QEMU VMs, virtio-net drivers and an SSH server.

From the recipes alone: `spp up --topology recipes/topologies/ssh_login.yaml`
(spp_vf started with `--vhost-client`, as the use case does), the ssh recipes,
then from the remote host namespace four SSH logins and a 50 MiB stream per
path. Then the vhost-client reconnect of a VM and the graceful shutdown.
A second module-level run does the same use case with spp_vf as vhost-user
server.

The VMs run under TCG on this machine (nested KVM does not work here), so the
module shares one `spp up` between its tests, in the order they are written.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from vmcase import (
    LOGIN_TABLE,
    REMOTE,
    TOPOLOGY,
    Prober,
    Session,
    UseCase,
    default_topology_down,
    leftovers_after_down,
    server_mode_topology,
    spp,
)

from spp import rundir
from spp.host import vm, vmssh
from spp.testkit.session import E2ELock
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

MIB = 50
# frames of a 50 MiB TCP stream at MSS 1448: anything far below this did not cross the path
MIN_FRAMES = MIB * (1 << 20) // 1448 * 9 // 10
# broadcast/multicast the classifier floods to every tx port (ARP) while one stream runs
MAX_FLOODED = 20


@pytest.fixture(scope="module")
def free_host(e2e_lock: E2ELock) -> Iterator[None]:
    with default_topology_down():
        yield


@pytest.fixture(scope="module")
def client_case(free_host: None) -> Iterator[UseCase]:
    case = UseCase(TOPOLOGY)
    try:
        out = case.up()
        assert "--vhost-client" in out and "-l 0,2-13" in out, out
        case.configure()
        case.wait_ready()
        yield case
    finally:
        case.down()


def _login_rows(case: UseCase) -> None:
    for address, (name, ifname, src, nic) in LOGIN_TABLE.items():
        vmssh.wait_ssh(REMOTE, address, 60)
        lg = vmssh.login(REMOTE, address)
        assert (lg.hostname, lg.client_ip, lg.server_ip, lg.ifname) == \
            (name, src, address, ifname), f"{name} via {nic}: {lg}"


def _stream_through_each_path(case: UseCase) -> dict[str, tuple[dict, dict]]:
    """One 50 MiB stream per path; the counter deltas (components, ports) of each."""
    deltas = {}
    for address in LOGIN_TABLE:
        comps0, ports0 = case.counters()
        tr = vmssh.bulk_transfer(REMOTE, address, MIB << 20)
        assert tr.intact, f"{address}: sent {tr.sent_sha256}, got {tr.received_sha256}"
        comps1, ports1 = case.counters()
        deltas[address] = (
            {c: {k: v - comps0[c].get(k, 0) for k, v in ctr.items() if isinstance(v, int)}
             for c, ctr in comps1.items()},
            {p: {k: v - ports0[p].get(k, 0) for k, v in ctr.items()}
             for p, ctr in ports1.items()})
    return deltas


def test_four_ssh_logins_land_on_the_vm_and_interface_of_the_login_table(
        client_case: UseCase) -> None:
    _login_rows(client_case)
    shown = spp("host", "show", "--json").stdout
    vms = {v["name"]: v for v in json.loads(shown)["vms"]}
    assert set(vms) == {"spp-vm1", "spp-vm2"}
    for v in vms.values():
        assert v["state"] == "ready" and Path(v["console_log"]).is_file()
        assert Path(v["ssh_key"]).read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY")
    assert [(n["vhost"], n["mac"], n["ipv4"], n["ifname"]) for n in vms["spp-vm2"]["nics"]] == [
        ("vhost:2", "52:54:00:12:34:58", "198.18.0.12/24", "ens4"),
        ("vhost:3", "52:54:00:12:34:59", "198.18.1.12/24", "ens5")]


def test_streams_arrive_intact_and_nic0_traffic_for_vm2_never_takes_vm1s_path(
        client_case: UseCase) -> None:
    deltas = _stream_through_each_path(client_case)
    comps, ports = deltas["198.18.0.12"]  # spp-vm2 through NIC0: cls1 -> ring:1 -> fwd2
    assert ports["ring:1"]["tx"] >= MIN_FRAMES, ports
    assert comps["fwd2"]["rx"] >= MIN_FRAMES and comps["fwd2"]["tx"] == comps["fwd2"]["rx"]
    # vm1's path from cls1 (ring:0 -> fwd1 -> vhost:0) saw no more than the flooded frames
    assert ports["ring:0"]["tx"] <= MAX_FLOODED, ports["ring:0"]
    assert comps["fwd1"]["rx"] <= MAX_FLOODED, comps["fwd1"]
    # and nothing of it crossed NIC1's classifier
    assert comps["cls2"]["rx"] <= MAX_FLOODED, comps["cls2"]
    assert comps["cls1"]["drop_no_entry"] == 0 and comps["cls1"]["drop_tx_full"] == 0
    # TCP from the guests back to the remote host (checksums right both ways): iperf3 -R
    for address in LOGIN_TABLE:
        assert vmssh.iperf(REMOTE, address, seconds=2, reverse=True) > 10, address
    # the other way round for spp-vm1 through NIC0
    comps, ports = deltas["198.18.0.11"]
    assert ports["ring:0"]["tx"] >= MIN_FRAMES and ports["ring:1"]["tx"] <= MAX_FLOODED
    # NIC1 paths go through cls2 only
    comps, ports = deltas["198.18.1.12"]
    assert ports["ring:5"]["tx"] >= MIN_FRAMES and ports["ring:4"]["tx"] <= MAX_FLOODED
    assert comps["cls1"]["rx"] <= MAX_FLOODED


def test_vhost_client_vm_restart_reconnects_without_spp_commands_and_vm1_keeps_working(
        client_case: UseCase) -> None:
    session = Session("198.18.0.11")
    prober = Prober(session)
    try:
        session.probe(30)
        prober.start()
        vm2 = vm.vm_pid("spp-vm2", "spp")
        assert vm2 is not None
        os.kill(vm2, signal.SIGKILL)  # QEMU dies, its listening sockets stay as files
        for s in ("/tmp/sock2", "/tmp/sock3"):
            assert stat.S_ISSOCK(os.lstat(s).st_mode)
        # the host topology brings the VM back (no spp_vf or controller command)
        out = spp("host", "up", str(TOPOLOGY)).stdout
        assert "VM spp-vm2 started" in out and "spp-vm1" not in out, out
        client_case.wait_ready(("spp-vm2",))
        for address in ("198.18.0.12", "198.18.1.12"):
            vmssh.wait_ssh(REMOTE, address, 60)
            lg = vmssh.login(REMOTE, address)
            assert lg.hostname == "spp-vm2" and lg.server_ip == address
    finally:
        prober.stop()
        session.close()
    assert not prober.failures, prober.failures
    assert len(prober.latencies) >= 5 and max(prober.latencies) < 10, prober.latencies
    assert vm.vm_pid("spp-vm1", "spp") == client_case.pids["vm-spp-vm1"]


def _config(st: dict) -> dict:
    """What `vf 1; status` shows of the configuration (counters left out)."""
    comps = sorted((c.get("core"), c.get("name"), c.get("type"), json.dumps(c.get("rx_port")),
                    json.dumps(c.get("tx_port"))) for c in st["components"])
    return {"components": comps, "classifier_table": st["classifier_table"],
            "ports": st.get("ports")}


def test_killed_spp_vf_comes_back_configured_by_spp_up_and_ssh_logs_in_within_10_s(
        client_case: UseCase) -> None:
    before = client_case.vf_status()
    old = client_case.recorded_pids()["vf1"]
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: not rundir.pid_alive(old), 10, "spp_vf to die")
    wait_for(lambda: 1 not in client_case.client.vf_ids(), 15, "the controller to drop vf 1")
    out = spp("up", "--topology", str(client_case.topology), timeout=180).stdout
    assert re.search(r"^vf 1.* started \(pid \d+\)", out, re.M), out
    assert re.search(r"^spp ctl.* already running", out, re.M), out
    t0 = time.monotonic()
    # no SPP command after `spp up`: the controller gives vf 1 its configuration back
    wait_for(lambda: _config(client_case.vf_status()) == _config(before), 10,
             "vf 1's configuration to come back")
    after = client_case.vf_status()
    assert after["restored"]["failed"] == [], after["restored"]
    vmssh.wait_ssh(REMOTE, "198.18.0.11", 10)
    lg = vmssh.login(REMOTE, "198.18.0.11")
    took = time.monotonic() - t0
    assert (lg.hostname, lg.server_ip) == ("spp-vm1", "198.18.0.11")
    assert took < 10, f"login {took:.1f} s after spp up"
    comps, _ = client_case.counters()
    assert comps["cls1"]["rx"] > 0 and comps["cls1"]["hit"] > 0, comps


def test_shutdown_recipes_empty_spp_vf_and_spp_down_leaves_nothing(
        client_case: UseCase) -> None:
    client_case.playback("4-del_path1.rcp", "5-del_path2.rcp")
    st = client_case.vf_status()
    assert st["classifier_table"] == []
    assert {c["type"] for c in st["components"]} == {"unuse"}
    assert sorted(c["core"] for c in st["components"]) == list(range(2, 14))
    vf_pid = client_case.pids["vf1"]
    client_case.playback("6-exit.rcp")
    wait_for(lambda: 1 not in client_case.client.vf_ids(), 15, "vf 1 to leave the controller")
    wait_for(lambda: not os.path.exists(f"/proc/{vf_pid}"), 15, "spp_vf to exit")
    pids = client_case.recorded_pids() | client_case.pids
    out = client_case.down()
    assert out.returncode == 0, out.stderr
    assert leftovers_after_down(pids) == []


# ---- spp_vf as vhost-user server -------------------------------------------------
def test_server_mode_same_use_case_and_spp_down_cleans_up_after_kill_9(
        free_host: None, tmp_path: Path) -> None:
    case = UseCase(server_mode_topology(tmp_path / "ssh_login.yaml"))
    try:
        out = case.up()
        assert "--vhost-client" not in out and "spp_vf listens, QEMU connects" in out, out
        # QEMU waits (reconnecting) until spp_vf's ports create the sockets
        assert not any(Path(f"/tmp/sock{i}").exists() for i in range(4))
        assert {vm.vm_state(n, "spp") for n in ("spp-vm1", "spp-vm2")} == {"waiting"}
        case.configure()
        for i in range(4):
            assert stat.S_ISSOCK(os.lstat(f"/tmp/sock{i}").st_mode)
        case.wait_ready()
        _login_rows(case)
        deltas = _stream_through_each_path(case)
        _comps, ports = deltas["198.18.0.12"]
        assert ports["ring:1"]["tx"] >= MIN_FRAMES and ports["ring:0"]["tx"] <= MAX_FLOODED
        pids = case.recorded_pids()
        # a crash instead of a goodbye: the socket owner, spp_vf and one QEMU die at once
        for name in ("primary", "vf1", "vm-spp-vm1"):
            os.kill(pids[name], signal.SIGKILL)
        wait_for(lambda: not any(rundir.pid_alive(pids[n]) for n in ("primary", "vf1")),
                 10, "killed processes to go")
        assert stat.S_ISSOCK(os.lstat("/tmp/sock0").st_mode)  # left behind by the primary
    finally:
        out = case.down()
    assert out.returncode == 0, out.stderr
    assert leftovers_after_down(pids) == []
