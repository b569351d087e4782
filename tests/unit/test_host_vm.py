"""VMs in the topology, QEMU command lines, the VM image archive, VM paths (no root, no QEMU)."""

from __future__ import annotations

import gzip
import socket
import stat
from pathlib import Path

import pytest

from spp.cli import updown
from spp.host import vm, vmimage, vmssh
from spp.host.state import HostState, load_state
from spp.host.topology import TopologyError, load_topology, loads_topology

REPO = Path(__file__).resolve().parents[2]
SSH_LOGIN = REPO / "recipes" / "topologies" / "ssh_login.yaml"

BASE = """
name: t-vm
namespaces: [ht-r]
veths:
  - ends:
      - {name: ht-r0, netns: ht-r, mac: "02:00:00:aa:00:01", ipv4: 198.19.250.1/24}
      - {name: ht-p0, phy: 0}
"""
NIC = '{vhost: 0, mac: "52:54:00:00:00:01", ipv4: 198.19.250.11/24, ifname: ens4}'


def _topo(vms: str, extra: str = ""):
    return loads_topology(BASE + "vms:\n" + vms + extra, "t.yaml")


# ---- topology ------------------------------------------------------------------
def test_ssh_login_topology_is_the_seed_figure() -> None:
    topo = load_topology(SSH_LOGIN)
    assert topo.namespaces == ("spp-remote",)
    assert topo.phy_interfaces() == ["spp-p0", "spp-p1"]
    got = {(v.name, n.uid, n.mac, n.ipv4, n.ifname) for v in topo.vms for n in v.nics}
    assert got == {
        ("spp-vm1", "vhost:0", "52:54:00:12:34:56", "198.18.0.11/24", "ens4"),
        ("spp-vm1", "vhost:1", "52:54:00:12:34:57", "198.18.1.11/24", "ens5"),
        ("spp-vm2", "vhost:2", "52:54:00:12:34:58", "198.18.0.12/24", "ens4"),
        ("spp-vm2", "vhost:3", "52:54:00:12:34:59", "198.18.1.12/24", "ens5"),
    }
    assert all(v.memory == 256 for v in topo.vms)
    # spp_vf as the SSH-login use case starts it
    assert " ".join(topo.processes.vf or ()) == (
        "-l 0,2-13 -n 4 --proc-type=secondary -- --client-id 1 -s 127.0.0.1:6666 --vhost-client")
    assert topo.vhost_client
    assert "-p 0x03 -n 10" in " ".join(topo.processes.primary or ())


def test_topology_without_vms_or_processes_is_unchanged() -> None:
    topo = loads_topology(BASE)
    assert topo.vms == () and topo.processes.primary is None and not topo.vhost_client


def test_vm_defaults_and_vhost_as_uid() -> None:
    topo = _topo("  - name: a\n    nics: [{vhost: 'vhost:7', mac: '52:54:00:00:00:09', "
                 "ifname: eth0}]\n")
    (a,) = topo.vms
    assert (a.memory, a.accel, a.kernel, a.qemu_args) == (256, "auto", None, ())
    assert a.nics[0].vhost == 7 and a.nics[0].ipv4 is None


def test_unquoted_mac_read_as_a_number_by_yaml_gets_a_hint() -> None:
    with pytest.raises(TopologyError, match="quote MAC addresses"):
        _topo("  - name: a\n    nics: [{vhost: 0, mac: 52:54:00:00:00:09, ifname: e}]\n")


@pytest.mark.parametrize(("vms", "words"), [
    (f"  - name: a\n    nics: [{NIC}, {NIC.replace('00:01', '00:02').replace('ens4', 'ens5')}]\n",
     ("VM a NIC ens5", "vhost:0 is already the NIC ens4 of VM a")),
    (f"  - name: a\n    nics: [{NIC}]\n  - name: b\n    nics: [{NIC.replace('00:01', '00:02')}]\n",
     ("VM b NIC ens4", "vhost:0")),
    ("  - name: a\n    nics: []\n", ("at least one NIC",)),
    ("  - name: a\n", ("at least one NIC",)),
    ("  - name: a\n    nics: [{vhost: 32, mac: '52:54:00:00:00:01', ifname: e}]\n", ("0..31",)),
    ("  - name: a\n    nics: [{vhost: true, mac: '52:54:00:00:00:01', ifname: e}]\n", ("vhost",)),
    ("  - name: a\n    nics: [{vhost: 0, mac: '01:00:00:00:00:01', ifname: e}]\n", ("multicast",)),
    ("  - name: a\n    nics: [{vhost: 0, ifname: e}]\n", ("`mac` is required",)),
    ("  - name: a\n    nics: [{vhost: 0, mac: '52:54:00:00:00:01', ifname: a-very-long-name0}]\n",
     ("ifname",)),
    (f"  - name: a\n    memory: 16\n    nics: [{NIC}]\n", ("memory must be 64..4096",)),
    (f"  - name: a\n    accel: hvf\n    nics: [{NIC}]\n", ("accel must be one of",)),
    (f"  - name: a\n    qemu_args: -smp 2\n    nics: [{NIC}]\n", ("qemu_args",)),
    (f"  - name: a\n    cpus: 2\n    nics: [{NIC}]\n", ("unknown key(s) cpus",)),
    (f"  - name: a\n    nics: [{NIC}]\n  - name: a\n    nics: "
     f"[{NIC.replace('vhost: 0', 'vhost: 1').replace('00:01', '00:02')}]\n",
     ("VM a is declared twice",)),
    (f"  - name: a\n    nics: [{NIC.replace('52:54:00:00:00:01', '02:00:00:aa:00:01')}]\n",
     ("MAC 02:00:00:aa:00:01 is also ht-r0's",)),
    (f"  - name: a\n    nics: [{NIC}]\nprocesses:\n  vf: \"-l 0 -- --client-id '1\"\n",
     ("processes.vf",)),
    (f"  - name: a\n    nics: [{NIC}]\nprocesses:\n  secondary: x\n", ("unknown key",)),
])
def test_bad_vm_sections_are_refused_with_the_reason(vms: str, words: tuple[str, ...]) -> None:
    with pytest.raises(TopologyError) as exc:
        _topo(vms)
    msg = str(exc.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


# ---- QEMU command line -----------------------------------------------------------
def _argv(vhost_client: bool, accel: str) -> list[str]:
    (a,) = _topo(f"  - name: a\n    memory: 128\n    qemu_args: [-smp, '1']\n    nics: [{NIC}]\n"
                 ).vms
    return vm.qemu_argv(a, kernel=Path("/k"), initrd=Path("/i"), console=Path("/c.log"),
                        vhost_client=vhost_client, accel=accel)


def _opt(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == name]


def test_qemu_under_tcg_uses_intx_and_shared_memfd_memory_with_offloads_off() -> None:
    argv = _argv(True, "tcg")
    assert argv[0] == "qemu-system-x86_64" and "-cpu" not in argv
    assert _opt(argv, "-accel") == ["tcg"] and _opt(argv, "-m") == ["128"]
    assert _opt(argv, "-object") == ["memory-backend-memfd,id=mem,size=128M,share=on"]
    assert _opt(argv, "-numa") == ["node,memdev=mem"]
    (dev,) = _opt(argv, "-device")
    opts = dev.split(",")
    assert opts[0] == "virtio-net-pci" and "mac=52:54:00:00:00:01" in opts
    assert "vectors=0" in opts
    for off in ("csum=off", "gso=off", "guest_tso4=off", "host_tso4=off", "guest_csum=off"):
        assert off in opts
    assert argv[-2:] == ["-smp", "1"]  # qemu_args last
    append = _opt(argv, "-append")[0]
    assert "console=ttyS0" in append and "spp.hostname=a" in append
    assert "spp.nic=52:54:00:00:00:01,ens4,198.19.250.11/24" in append


def test_qemu_is_vhost_user_server_in_vhost_client_mode_and_client_otherwise() -> None:
    assert _opt(_argv(True, "tcg"), "-chardev") == [
        "socket,id=vhost0,path=/tmp/sock0,server=on,wait=off"]
    assert _opt(_argv(False, "tcg"), "-chardev") == [
        "socket,id=vhost0,path=/tmp/sock0,reconnect=1"]
    assert _opt(_argv(False, "tcg"), "-netdev") == ["vhost-user,id=net0,chardev=vhost0,queues=1"]


def test_qemu_under_kvm_uses_host_cpu_and_msix() -> None:
    argv = _argv(True, "kvm")
    assert _opt(argv, "-cpu") == ["host"]
    assert "vectors=0" not in _opt(argv, "-device")[0]


def test_accel_from_topology_then_environment_then_cached_probe(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    image = vmimage.VmImage(tmp_path / "img")
    assert vm.choose_accel("kvm", image)[0] == "kvm"
    monkeypatch.setenv(vm.ACCEL_ENV, "tcg")
    assert vm.choose_accel("auto", image) == ("tcg", "SPP_VM_ACCEL=tcg")
    monkeypatch.delenv(vm.ACCEL_ENV)
    (tmp_path / "vm-accel").write_text("tcg KVM unusable (probe)\n")
    assert vm.choose_accel("auto", image) == ("tcg", "KVM unusable (probe)")


# ---- sockets, state --------------------------------------------------------------
def test_stale_socket_is_removed_live_or_foreign_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "sock9"
    live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live.bind(str(path))
    live.listen(1)
    with pytest.raises(vm.VmError, match="in use"):
        vm.clear_stale_socket(path)
    assert vm.remove_sockets([str(path)]) == []
    live.close()  # the file stays, nobody listens: stale
    assert stat.S_ISSOCK(path.lstat().st_mode)
    vm.clear_stale_socket(path)
    assert not path.exists()
    path.write_text("not a socket")
    with pytest.raises(vm.VmError, match="not a socket"):
        vm.clear_stale_socket(path)
    assert vm.remove_sockets([str(path)]) == [] and path.exists()


def test_missing_kernel_or_initrd_is_named(tmp_path: Path) -> None:
    topo = _topo(f"  - name: a\n    kernel: {tmp_path}/vmlinuz\n    nics: [{NIC}]\n")
    with pytest.raises(vm.VmError, match=f"VM a: kernel image {tmp_path}/vmlinuz not found"):
        vm.check_vms(topo)


def test_host_state_records_vms_and_their_sockets(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    topo = load_topology(SSH_LOGIN)
    state = HostState(topology="ssh_login")
    for v in topo.vms:
        state.add_vm(v.name, vm.nic_records(v))
    got = load_state("ssh_login")
    assert got is not None and [v.name for v in got.vms] == ["spp-vm1", "spp-vm2"]
    assert got.vms[1].sockets == ["/tmp/sock2", "/tmp/sock3"]
    info = vm.vm_info(got.vms[0].name, got.vms[0].nics, "spp")
    assert info["state"] == "stopped" and info["pid"] is None
    assert info["console_log"] == str(tmp_path / "spp" / "vm-spp-vm1-console.log")
    assert info["nics"][0] == {"vhost": "vhost:0", "mac": "52:54:00:12:34:56",
                               "ipv4": "198.18.0.11/24", "ifname": "ens4",
                               "socket": "/tmp/sock0"}


# ---- image -----------------------------------------------------------------------
def _cpio_entries(data: bytes) -> dict[str, tuple[int, bytes]]:
    raw = gzip.decompress(data)
    out, off = {}, 0
    while True:
        assert raw[off:off + 6] == b"070701"
        fields = [int(raw[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = raw[off + 110: off + 110 + namesize - 1].decode()
        off += 110 + namesize
        off += -off % 4
        body = raw[off: off + size]
        off += size
        off += -off % 4
        if name == "TRAILER!!!":
            return out
        out[name] = (mode, body)


def test_cpio_archive_is_newc_with_parents_modes_and_symlinks() -> None:
    c = vmimage.Cpio()
    c.file("root/.ssh/authorized_keys", b"key", 0o600)
    c.symlink("bin/sh", "/bin/busybox")
    c.file("init", b"#!/bin/sh\n", 0o755)
    entries = _cpio_entries(c.close())
    assert list(entries) == ["root", "root/.ssh", "root/.ssh/authorized_keys", "bin", "bin/sh",
                             "init"]
    assert entries["root/.ssh/authorized_keys"] == (stat.S_IFREG | 0o600, b"key")
    assert entries["bin/sh"] == (stat.S_IFLNK | 0o777, b"/bin/busybox")
    assert stat.S_ISDIR(entries["root/.ssh"][0])


def test_kernel_cmdline_names_the_guest_and_its_nics() -> None:
    line = vmimage.kernel_cmdline("spp-vm1", [("52:54:00:12:34:56", "ens4", "198.18.0.11/24"),
                                              ("52:54:00:12:34:57", "ens5", None)])
    words = line.split()
    assert "spp.hostname=spp-vm1" in words and "console=ttyS0" in words
    assert "spp.nic=52:54:00:12:34:56,ens4,198.18.0.11/24" in words
    assert "spp.nic=52:54:00:12:34:57,ens5,-" in words


def test_init_loads_virtio_modules_in_the_order_that_works() -> None:
    assert vmimage.VIRTIO_MODULES == ("virtio_ring", "virtio", "virtio_pci_legacy_dev",
                                      "virtio_pci_modern_dev", "virtio_pci", "failover",
                                      "net_failover", "virtio_net")
    assert vmimage.READY_MARK in vmimage.INIT.replace('say "ready', 'spp-vm: ready')
    assert "dropbear -s" in vmimage.INIT and "iperf3 -s -D" in vmimage.INIT


# ---- remote host paths, spp up command lines ------------------------------------------
def test_vm_paths_pair_each_vm_nic_with_the_remote_interface_on_its_subnet() -> None:
    paths = vmssh.vm_paths(load_topology(SSH_LOGIN))
    assert [(p.netns, p.remote_if, p.phy, p.vm, p.ifname, p.vhost, p.address) for p in paths] == [
        ("spp-remote", "r-eth0", 0, "spp-vm1", "ens4", "vhost:0", "198.18.0.11"),
        ("spp-remote", "r-eth1", 1, "spp-vm1", "ens5", "vhost:1", "198.18.1.11"),
        ("spp-remote", "r-eth0", 0, "spp-vm2", "ens4", "vhost:2", "198.18.0.12"),
        ("spp-remote", "r-eth1", 1, "spp-vm2", "ens5", "vhost:3", "198.18.1.12"),
    ]
    assert paths[0].label == "r-eth0 -> phy:0 -> vhost:0"


def test_spp_up_runs_the_topology_command_lines_with_its_phys() -> None:
    topo = load_topology(SSH_LOGIN)
    pri, vf = updown._process_argvs(topo, ["spp-p0", "spp-p1"], "127.0.0.1")
    assert pri == ["primary", "--phy", "spp-p0", "--phy", "spp-p1", "-l", "1,14", "-n", "4",
                   "--proc-type=primary", "--", "-p", "0x03", "-n", "10", "-s",
                   "127.0.0.1:5555"]
    assert vf == ["vf", "-l", "0,2-13", "-n", "4", "--proc-type=secondary", "--",
                  "--client-id", "1", "-s", "127.0.0.1:6666", "--vhost-client"]
    assert updown._client_id(vf) == 1
    # without `processes:` spp up keeps its own command lines
    pri, vf = updown._process_argvs(load_topology(None), ["spp-p0"], "127.0.0.1")
    assert pri[:2] == ["primary", "start"] and vf[:2] == ["vf", "start"]
    # another instance: its file prefix goes first, the rest as written
    other = loads_topology(SSH_LOGIN.read_text().replace("file_prefix: spp", "file_prefix: t2"))
    pri, vf = updown._process_argvs(other, ["spp-p0"], "127.0.0.1")
    assert vf[:3] == ["vf", "--file-prefix=t2", "-l"] and "--file-prefix=t2" in pri
    with pytest.raises(updown.UpError, match="--client-id is missing"):
        updown._client_id(["vf", "-l", "2-3"])


def test_bench_vm_topology_lives_beside_the_default_one() -> None:
    from bench import vm_tcp

    topo = vm_tcp.topology()
    default = load_topology(None)
    assert not set(topo.namespaces) & set(default.namespaces)
    assert not {e.name for e in topo.interfaces()} & {e.name for e in default.interfaces()}
    assert topo.file_prefix != default.file_prefix and topo.vhost_client
    assert [(v.name, [n.uid for n in v.nics]) for v in topo.vms] == [("spp-vm1", ["vhost:0"])]


# ---- start check and readiness ---------------------------------------------------

LISTEN_LATE = """
import socket, sys, time
time.sleep(float(sys.argv[2]))
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
time.sleep(30)
"""


def _server_topo():
    return _topo(f"  - name: vm1\n    nics: [{NIC}]\n",
                 "processes:\n  vf: -l 2-3 -- --client-id 1 -s 127.0.0.1:6666 --vhost-client\n")


def _late_listener(tmp_path: Path, monkeypatch, delay: float):
    import subprocess
    import sys

    sock = tmp_path / "sock0"
    monkeypatch.setattr(vm, "vhost_socket", lambda _n: sock)
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    return subprocess.Popen([sys.executable, "-c", LISTEN_LATE, str(sock), str(delay)])


def test_start_check_waits_for_qemus_sockets_beyond_one_second(tmp_path, monkeypatch) -> None:
    topo = _server_topo()
    assert topo.vhost_client
    proc = _late_listener(tmp_path, monkeypatch, 2.5)  # a slow QEMU on a loaded host
    try:
        vm._wait_started(topo, [(topo.vms[0], proc, "")], timeout=20)
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_start_check_names_a_qemu_that_exits_with_its_last_lines(tmp_path, monkeypatch) -> None:
    import subprocess
    import sys

    topo = _server_topo()
    monkeypatch.setattr(vm, "vhost_socket", lambda _n: tmp_path / "sock0")
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    paths = vm.vm_paths("vm1", topo.file_prefix)
    paths.log.parent.mkdir(parents=True)
    paths.log.write_text("qemu-system-x86_64: -netdev bad: invalid option\n")
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    with pytest.raises(vm.VmError, match=r"VM vm1: QEMU exited with code 1: "
                                         r"qemu-system-x86_64: -netdev bad: invalid option"):
        vm._wait_started(topo, [(topo.vms[0], proc, "")], timeout=20)


def test_start_check_gives_up_at_its_deadline_naming_the_socket(tmp_path, monkeypatch) -> None:
    topo = _server_topo()
    proc = _late_listener(tmp_path, monkeypatch, 30)
    try:
        with pytest.raises(vm.VmError,
                           match=r"VM vm1: QEMU does not listen on .*sock0 after 0.5 s"):
            vm._wait_started(topo, [(topo.vms[0], proc, "")], timeout=0.5)
    finally:
        proc.kill()
        proc.wait()


def test_wait_ready_names_the_vm_and_its_console_lines(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    monkeypatch.setattr(vm, "vm_pid", lambda _n, _i: 4242)
    paths = vm.vm_paths("vm1", "spp")
    paths.console.parent.mkdir(parents=True)
    paths.console.write_text("Booting Linux\nudhcpc: waiting for ens4\n")
    with pytest.raises(vm.VmError, match=r"VM vm1 not ready after 0.3 s \(booting\): "
                                         r".*udhcpc: waiting for ens4"):
        vm.wait_ready(["vm1"], "spp", 0.3)
    paths.console.write_text(f"Booting\n{vmimage.READY_MARK}\n")
    vm.wait_ready(["vm1"], "spp", 0.3)
