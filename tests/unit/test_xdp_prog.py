"""Verdicts and counters of bpf/xdp_steer.c, run on synthetic frames with BPF_PROG_TEST_RUN.

The object is built from the current source into a temp dir, loaded with
libbpf like DPDK's af_xdp PMD does (every load has its own maps), and its maps
are pinned the way the primary pins a port's maps, under a private
/sys/fs/bpf/spp-test-* instance directory (never a primary's /sys/fs/bpf/spp/),
removed by fixture finalizers even when a test fails. Nothing is attached to any
interface. Frames "arrive" on rx queue 0 of a private veth (xh<pid>a).
"""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import shutil
import socket
import struct
import subprocess
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spp.cli.xdp import app
from spp.resources import format_mac
from spp.xdp import XdpError, XdpMapsNotFound, XdpSteering, unpin_all
from spp.xdp.loader import XDP_DROP, XDP_PASS, XDP_REDIRECT, XdpObject

REPO = Path(__file__).resolve().parents[2]
BPFFS = Path("/sys/fs/bpf")
MAC_SPP = "52:54:00:12:34:56"
MAC_HOST = "02:00:00:00:00:00"
MAC_OTHER = "02:00:00:00:77:77"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="loading BPF programs needs root"),
    pytest.mark.skipif(not os.path.ismount(BPFFS), reason="bpffs is not mounted at /sys/fs/bpf"),
    pytest.mark.skipif(shutil.which("clang") is None, reason="clang is needed to build bpf/"),
]


def mac(s: str) -> bytes:
    return bytes.fromhex(s.replace(":", ""))


def frame(
    dst: str,
    src: str = "02:00:00:00:10:00",
    vlan: int | None = None,
    tpid: int = 0x8100,
    size: int = 60,
) -> bytes:
    hdr = mac(dst) + mac(src)
    if vlan is not None:
        hdr += struct.pack("!HH", tpid, vlan)
    hdr += struct.pack("!H", 0x0800)
    return hdr + bytes(max(0, size - len(hdr)))


@pytest.fixture(scope="module")
def obj_path(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bpf")
    r = subprocess.run(
        ["make", "-s", "-C", str(REPO / "bpf"), f"BUILD_DIR={out}"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return out / "xdp_steer.o"


@pytest.fixture
def pin_root(request):
    root = BPFFS / f"spp-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    root.mkdir()

    def cleanup() -> None:
        if root.exists():
            unpin_all(root)
            shutil.rmtree(root, ignore_errors=True)

    request.addfinalizer(cleanup)
    return root


@pytest.fixture
def prog(obj_path, pin_root, port):
    o = XdpObject(obj_path)
    o.test_ifindex = port  # where run() makes frames arrive
    o.pin_maps(pin_root / socket.if_indextoname(port))
    yield o
    o.close()


@pytest.fixture
def steer(prog, pin_root):
    x = XdpSteering(pin_root)
    yield x
    x.close()


class Xsk:
    """A bare AF_XDP socket (copy mode, bound to queue 0), enough to sit in an XSKMAP."""

    AF_XDP, SOL_XDP = 44, 283
    XDP_RX_RING, XDP_UMEM_REG, XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING = 2, 4, 5, 6
    XDP_COPY = 1 << 1

    def __init__(self, ifindex: int, queue: int = 0) -> None:
        self.umem = mmap.mmap(-1, 16 * 4096)
        self.sock = socket.socket(self.AF_XDP, socket.SOCK_RAW, 0)
        try:
            view = ctypes.c_char.from_buffer(self.umem)
            addr = ctypes.addressof(view)
            del view  # release the buffer export so close() can unmap
            self.sock.setsockopt(
                self.SOL_XDP, self.XDP_UMEM_REG, struct.pack("QQII", addr, len(self.umem), 4096, 0)
            )
            for opt in (self.XDP_UMEM_FILL_RING, self.XDP_UMEM_COMPLETION_RING, self.XDP_RX_RING):
                self.sock.setsockopt(self.SOL_XDP, opt, 64)
            sxdp = struct.pack("HHIII", self.AF_XDP, self.XDP_COPY, ifindex, queue, 0)
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.bind(self.sock.fileno(), sxdp, len(sxdp)) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"bind AF_XDP: {os.strerror(err)}")
        except BaseException:
            self.close()
            raise

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()
        self.umem.close()


@pytest.fixture(scope="module")
def port():
    """A private veth pair; frames "arrive" on its first end. Removed after the module."""
    name = f"xh{os.getpid() % 10_000_000}a"
    r = subprocess.run(
        ["ip", "link", "add", name, "type", "veth", "peer", "name", name[:-1] + "b"],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot create veth pair {name}: {r.stderr.strip()}")
    try:
        yield socket.if_nametoindex(name)
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


@pytest.fixture(scope="module")
def module_xsk(port):
    """One AF_XDP socket for the module (socket teardown in the kernel is deferred)."""
    try:
        s = Xsk(port)
    except OSError as exc:
        pytest.skip(f"cannot create an AF_XDP socket: {exc}")
    yield s
    s.close()


@pytest.fixture
def xsk(prog, module_xsk):
    """The AF_XDP socket in this instance's xsks_map at queue 0 (what the PMD does)."""
    ffi, lib = prog.ffi, prog.lib
    key, val = ffi.new("uint32_t *", 0), ffi.new("uint32_t *", module_xsk.fileno())
    assert lib.bpf_map_update_elem(prog.map_fd("xsks_map"), key, val, 0) == 0
    yield module_xsk
    lib.bpf_map_delete_elem(prog.map_fd("xsks_map"), key)


def run(prog, data: bytes) -> int:
    return prog.test_run(data, ingress_ifindex=prog.test_ifindex, rx_queue_index=0).retval


# --- object shape: what DPDK's load_custom_xdp_prog needs ------------------------------


def test_object_has_one_xdp_program_first_and_pins_nothing_itself(obj_path, tmp_path):
    sec = subprocess.run(["llvm-objdump", "-h", str(obj_path)], capture_output=True, text=True)
    if sec.returncode == 0:
        assert " xdp " in sec.stdout
    bare = BPFFS / f"spp-test-{os.getpid()}-bare"
    bare.mkdir()
    try:
        with XdpObject(obj_path, pin_root=bare) as o:
            assert o.prog_name == "spp_xdp_steer"
            assert o.map_fd("xsks_map") >= 0
            # no map is pinned by name: a load's maps belong to that load (that port) only
            assert list(bare.iterdir()) == []
    finally:
        bare.rmdir()


SPP_MAPS = ["spp_fdb", "spp_fwd_stats", "spp_patch", "spp_port_cfg", "spp_tx_ports", "spp_vf_act",
            "spp_vf_stats", "spp_xdp_stats"]


def test_pinned_port_maps_are_the_spp_maps(prog, pin_root, port):
    d = pin_root / socket.if_indextoname(port)
    assert sorted(p.name for p in d.iterdir()) == SPP_MAPS


def map_ids(o: XdpObject) -> dict[str, int]:
    out = {}
    for name in ("spp_fdb", "spp_port_cfg", "spp_xdp_stats", "xsks_map"):
        info = o.ffi.new("struct spp_bpf_map_info_head *")
        ln = o.ffi.new("uint32_t *", o.ffi.sizeof(info[0]))
        assert o.lib.bpf_obj_get_info_by_fd(o.map_fd(name), info, ln) == 0
        out[name] = int(info.id)
    return out


def test_two_loads_share_no_map(obj_path, pin_root, prog, steer, port):
    """Two ports (or two SPP instances) never see each other's mode, FDB or counters."""
    with XdpObject(obj_path) as second:
        second.test_ifindex = port
        second.pin_maps(pin_root / "other0")
        steer.set_mode(port, "registered", drop_unknown=True)
        steer.add_mac(port, MAC_SPP)
        assert run(prog, frame(MAC_OTHER)) == XDP_DROP
        # the second load keeps its defaults: mode all, no socket -> pass
        assert run(second, frame(MAC_OTHER)) == XDP_PASS
        assert steer.get_mode("other0").mode == "all" and steer.macs("other0") == []
        assert steer.counters("other0")["to_kernel_pkts"] == 1
        assert steer.counters(port)["dropped_pkts"] == 1
        first, other = map_ids(prog), map_ids(second)
        assert all(first[m] != other[m] for m in first), (first, other)
        assert steer.ports() == sorted([socket.if_indextoname(port), "other0"])


# --- mode ALL ------------------------------------------------------------------------


def test_all_mode_is_default_and_redirects_every_frame_to_the_socket(prog, steer, xsk, port):
    assert steer.get_mode(port).explicit is False
    for f in (frame(MAC_OTHER), frame(MAC_HOST), frame("ff:ff:ff:ff:ff:ff")):
        assert run(prog, f) == XDP_REDIRECT
    c = steer.counters(port)
    assert (c["to_spp_pkts"], c["to_spp_bytes"]) == (3, 180)
    assert c["to_kernel_pkts"] == 0 and c["dropped_pkts"] == 0


def test_all_mode_without_socket_at_queue_falls_back_to_pass(prog, steer, port):
    steer.set_mode(port, "all")
    assert run(prog, frame(MAC_OTHER)) == XDP_PASS
    c = steer.counters(port)
    assert (c["to_kernel_pkts"], c["to_spp_pkts"]) == (1, 0)


def test_all_mode_ignores_drop_flag_and_fdb(prog, steer, xsk, port):
    steer.set_mode(port, "all", drop_unknown=True)
    assert run(prog, frame(MAC_OTHER)) == XDP_REDIRECT


# --- mode REGISTERED ---------------------------------------------------------------------


def test_registered_mode_sends_registered_mac_to_spp(prog, steer, xsk, port):
    steer.set_mode(port, "registered")
    steer.add_mac(port, MAC_SPP)
    assert run(prog, frame(MAC_SPP)) == XDP_REDIRECT
    assert steer.counters(port)["to_spp_pkts"] == 1


def test_registered_mode_passes_unknown_unicast_to_kernel(prog, steer, xsk, port):
    steer.set_mode(port, "registered")
    steer.add_mac(port, MAC_SPP)
    assert run(prog, frame(MAC_HOST)) == XDP_PASS
    c = steer.counters(port)
    assert (c["to_kernel_pkts"], c["to_kernel_bytes"], c["to_spp_pkts"]) == (1, 60, 0)


def test_registered_mode_with_drop_flag_drops_unknown_unicast(prog, steer, xsk, port):
    steer.set_mode(port, "registered", drop_unknown=True)
    steer.add_mac(port, MAC_SPP)
    assert run(prog, frame(MAC_HOST, size=100)) == XDP_DROP
    assert run(prog, frame(MAC_SPP)) == XDP_REDIRECT
    c = steer.counters(port)
    assert (c["dropped_pkts"], c["dropped_bytes"], c["to_spp_pkts"]) == (1, 100, 1)


@pytest.mark.parametrize("dst", ["ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:fb", "33:33:00:00:00:01"])
def test_registered_mode_sends_broadcast_and_multicast_to_spp(prog, steer, xsk, dst, port):
    steer.set_mode(port, "registered", drop_unknown=True)
    assert run(prog, frame(dst)) == XDP_REDIRECT
    assert steer.counters(port)["to_spp_pkts"] == 1


@pytest.mark.parametrize("tpid", [0x8100, 0x88A8])
def test_registered_mode_matches_vlan_tagged_frame_by_vlan_and_mac(prog, steer, xsk, tpid, port):
    steer.set_mode(port, "registered")
    steer.add_mac(port, MAC_SPP, vlan=100)
    # PCP bits in the TCI must not matter: VID = TCI & 0xfff
    assert run(prog, frame(MAC_SPP, vlan=(5 << 13) | 100, tpid=tpid)) == XDP_REDIRECT
    assert run(prog, frame(MAC_SPP, vlan=101, tpid=tpid)) == XDP_PASS  # other VLAN
    assert run(prog, frame(MAC_SPP)) == XDP_PASS  # untagged = vlan 0, not registered
    c = steer.counters(port)
    assert (c["to_spp_pkts"], c["to_kernel_pkts"]) == (1, 2)


def test_registered_mode_after_del_mac_goes_back_to_kernel(prog, steer, xsk, port):
    steer.set_mode(port, "registered")
    steer.add_mac(port, MAC_SPP)
    assert steer.del_mac(port, MAC_SPP) is True
    assert steer.del_mac(port, MAC_SPP) is False
    assert run(prog, frame(MAC_SPP)) == XDP_PASS


def test_registered_mac_without_socket_falls_back_to_pass(prog, steer, port):
    steer.set_mode(port, "registered", drop_unknown=True)
    steer.add_mac(port, MAC_SPP)
    assert run(prog, frame(MAC_SPP)) == XDP_PASS
    assert steer.counters(port)["to_kernel_pkts"] == 1


# --- patch fast path (bpf/xdp_patch.h) ----------------------------------------------------


@pytest.fixture
def peer_index(port):
    return socket.if_nametoindex(socket.if_indextoname(port)[:-1] + "b")


def test_patch_on_redirects_to_the_devmap_and_counts_per_destination(prog, steer, xsk, port,
                                                                     peer_index):
    steer.set_tx_port(port, 3, peer_index)
    steer.set_patch(port, 3)
    assert steer.patch(port) == 3 and steer.tx_port(port, 3) == peer_index
    for _ in range(4):
        assert run(prog, frame(MAC_OTHER, size=100)) == XDP_REDIRECT
    assert steer.fwd_counters(port) == {3: (4, 400)}
    c = steer.counters(port)
    assert (c["fwd_pkts"], c["fwd_bytes"], c["to_spp_pkts"]) == (4, 400, 0)


def test_patch_without_devmap_entry_or_off_goes_to_the_socket(prog, steer, xsk, port,
                                                              peer_index):
    steer.set_patch(port, 5)  # no entry at 5: the socket takes it
    assert run(prog, frame(MAC_OTHER)) == XDP_REDIRECT
    steer.set_tx_port(port, 5, peer_index)
    steer.set_patch(port, None)  # entry there, patch off: the socket
    assert run(prog, frame(MAC_OTHER)) == XDP_REDIRECT
    c = steer.counters(port)
    assert (c["to_spp_pkts"], c["fwd_pkts"]) == (2, 0)
    assert steer.del_tx_port(port, 5) is True and steer.tx_port(port, 5) is None


def test_patch_takes_only_what_the_socket_would_get(prog, steer, port, peer_index):
    """No socket at the queue: XDP_PASS as without the fast path; registered mode keeps
    unknown unicast in the kernel."""
    steer.set_tx_port(port, 1, peer_index)
    steer.set_patch(port, 1)
    assert run(prog, frame(MAC_OTHER)) == XDP_PASS
    assert steer.counters(port)["fwd_pkts"] == 0


def test_patch_in_registered_mode_forwards_registered_and_passes_unknown(prog, steer, xsk,
                                                                         port, peer_index):
    steer.set_mode(port, "registered")
    steer.add_mac(port, MAC_SPP)
    steer.set_tx_port(port, 1, peer_index)
    steer.set_patch(port, 1)
    assert run(prog, frame(MAC_SPP)) == XDP_REDIRECT
    assert run(prog, frame(MAC_HOST)) == XDP_PASS
    c = steer.counters(port)
    assert (c["fwd_pkts"], c["to_kernel_pkts"], c["to_spp_pkts"]) == (1, 1, 0)


def test_fast_path_bad_port_id_is_refused(steer, port):
    with pytest.raises(XdpError, match="beyond the fast path"):
        steer.set_patch(port, 32)


def test_clear_resets_the_fast_path_counters(prog, steer, xsk, port, peer_index):
    steer.set_tx_port(port, 0, peer_index)
    steer.set_patch(port, 0)
    run(prog, frame(MAC_OTHER))
    assert steer.counters(port)["fwd_pkts"] == 1
    steer.clear_counters(port)
    assert steer.counters(port)["fwd_pkts"] == 0 and steer.fwd_counters(port) == {}


# --- short frames, counters -----------------------------------------------------------


def test_truncated_vlan_header_passes_and_counts_to_kernel(prog, steer, xsk, port):
    steer.set_mode(port, "registered", drop_unknown=True)
    short = mac(MAC_OTHER) + mac(MAC_HOST) + b"\x81\x00"  # 14 bytes, tag missing
    assert run(prog, short) == XDP_PASS
    c = steer.counters(port)
    assert (c["to_kernel_pkts"], c["to_kernel_bytes"]) == (1, 14)


def test_clear_resets_the_counters(prog, steer, xsk, port):
    for _ in range(3):
        assert run(prog, frame(MAC_OTHER)) == XDP_REDIRECT
    assert steer.counters(port)["to_spp_pkts"] == 3
    assert steer.clear_counters(port) == 1
    assert steer.counters(port)["to_spp_pkts"] == 0
    run(prog, frame(MAC_OTHER))
    assert steer.counters(port)["to_spp_pkts"] == 1


def test_mode_roundtrip_and_listing(steer, port):
    ifname = socket.if_indextoname(port)
    assert steer.get_mode(port).explicit is False
    steer.set_mode(ifname, "registered", drop_unknown=True)
    m = steer.get_mode(port)
    assert (m.mode, m.drop_unknown, m.explicit) == ("registered", True, True)
    steer.add_mac(port, MAC_SPP, vlan=7)
    steer.add_mac(ifname, MAC_HOST)
    assert [(e.ifindex, e.vlan, e.mac) for e in steer.macs(port)] == [
        (port, 0, MAC_HOST),
        (port, 7, MAC_SPP),
    ]
    assert len(steer.macs()) == 2
    assert steer.ports() == [ifname]
    assert steer.reset_mode(port) is True
    assert steer.get_mode(port).explicit is False


def test_a_port_without_maps_is_named_in_the_error(steer):
    with pytest.raises(XdpMapsNotFound, match="no XDP steering maps for lo under"):
        steer.add_mac("lo", MAC_SPP)


@pytest.mark.parametrize("backend", ["libbpf", "bcc"])
def test_both_syscall_backends_read_and_write_the_same_maps(pin_root, prog, backend, port):
    try:
        x = XdpSteering(pin_root, backend=backend)
    except XdpError as exc:
        pytest.skip(str(exc))
    with x:
        x.set_mode(port, "registered", drop_unknown=True)
        x.add_mac(port, MAC_SPP, vlan=3)
        assert run(prog, frame(MAC_OTHER)) == XDP_DROP
        assert x.counters(port)["dropped_pkts"] == 1
        assert [e.mac for e in x.macs(port)] == [MAC_SPP]


def test_stale_pin_with_other_layout_is_refused(pin_root):
    """A pin named spp_fdb with a different key size is reported, not misread."""
    d = pin_root / "xhstale0"
    d.mkdir()
    for name, typ, key, value in (("spp_fdb", "hash", "12", "4"),
                                  ("spp_port_cfg", "array", "4", "8"),
                                  ("spp_xdp_stats", "percpu_array", "4", "48")):
        r = subprocess.run(["bpftool", "map", "create", str(d / name), "type", typ, "key", key,
                            "value", value, "entries", "1", "name", name],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"bpftool map create failed: {r.stderr.strip()}")
    with XdpSteering(pin_root) as x, pytest.raises(XdpError, match="stale pin"):
        x.macs("xhstale0")


def test_unpin_all_removes_the_pins_of_a_loaded_object(prog, pin_root, steer, port):
    removed = steer.unpin_all()
    ifname = socket.if_indextoname(port)
    assert sorted(Path(p).relative_to(pin_root).as_posix() for p in removed) == [
        f"{ifname}/{m}" for m in SPP_MAPS]
    assert not pin_root.exists()


# --- CLI against real maps ---------------------------------------------------------------


def test_cli_mode_add_list_status_del_roundtrip(prog, pin_root, xsk, port):
    runner = CliRunner()

    def cli(*args: str):
        r = runner.invoke(app, ["--pin-dir", str(pin_root), *args])
        assert r.exit_code == 0, r.output + r.stderr
        return r.stdout

    ifname = socket.if_indextoname(port)
    cli("mode", ifname, "registered", "--drop")
    cli("add", ifname, MAC_SPP, "--vlan", "10")
    assert MAC_SPP in cli("list", str(port))
    assert run(prog, frame(MAC_SPP, vlan=10)) == XDP_REDIRECT
    assert run(prog, frame(MAC_OTHER)) == XDP_DROP
    st = json.loads(cli("status", ifname, "--json"))
    assert st[0]["mode"] == "registered" and st[0]["drop_unknown"] is True
    assert st[0]["counters"]["to_spp_pkts"] == 1 and st[0]["counters"]["dropped_pkts"] == 1
    assert "registered +drop-unknown" in cli("status")
    cli("del", ifname, MAC_SPP, "--vlan", "10")
    assert cli("list", "--json").strip() == "[]"
    r = runner.invoke(app, ["--pin-dir", str(pin_root), "del", ifname, MAC_SPP])
    assert r.exit_code == 1 and "not registered" in r.stderr


@pytest.mark.parametrize("backend", ["libbpf", "bcc"])
def test_a_whole_classifier_table_registers_at_once(prog, pin_root, port, backend):
    """65,536 MACs (SPP_FDB_MAX_ENTRIES) in one call, with either bpf(2) backend."""
    from spp.xdp import bpfsys
    from spp.xdp.errors import XdpBackendUnavailable

    try:
        bpfsys.get_backend(backend)
    except XdpBackendUnavailable as exc:
        pytest.skip(str(exc))
    steer = XdpSteering(pin_root, backend=backend)
    try:
        n = 65536 if backend == "libbpf" else 2000
        entries = [(b"\x02" + i.to_bytes(5, "big"), i % 4095) for i in range(n)]
        steer.add_macs(port, entries)
        got = {(e.vlan, e.mac) for e in steer.macs(port)}
        assert got == {(vlan, format_mac(raw)) for raw, vlan in entries}
        with pytest.raises(XdpError, match="not a unicast MAC"):
            steer.add_macs(port, [(b"\x03" + bytes(5), 0)])
    finally:
        for e in steer.macs(port):
            steer.del_mac(port, e.mac, e.vlan)
        steer.close()


# --- spp_vf chain fast path (bpf/xdp_vf.h) ------------------------------------------------

def _push(f: bytes, tci: int) -> bytes:
    """vlan.h spp_vlan_push: rewrite the outer tag's TCI, or push an 802.1Q tag."""
    if f[12:14] in (b"\x81\x00", b"\x88\xa8"):
        return f[:14] + struct.pack("!H", tci) + f[16:]
    return f[:12] + struct.pack("!HH", 0x8100, tci) + f[12:]


def _pop(f: bytes) -> bytes:
    """vlan.h spp_vlan_pop: strip the outer tag if there is one."""
    return f[:12] + f[16:] if f[12:14] in (b"\x81\x00", b"\x88\xa8") else f


def _userspace(f: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    for op, vid, pcp in ops:
        f = _push(f, pcp << 13 | vid) if op == "add" else _pop(f) if op == "del" else f
    return f


VF_FRAMES = {
    "untagged": frame(MAC_OTHER, size=64),
    "tagged": frame(MAC_OTHER, vlan=10, size=64),
    "qinq": frame(MAC_OTHER, vlan=20, tpid=0x88A8, size=64),
    "double": frame(MAC_OTHER, vlan=30, size=60)[:16] + struct.pack("!HH", 0x8100, 31)
    + frame(MAC_OTHER, size=60)[12:],
    "priority": frame(MAC_OTHER, vlan=5 << 13, size=64),
}
VF_OPS = [
    [],
    [("add", 100, 3)],
    [("del", 0, 0)],
    [("del", 0, 0), ("add", 200, 1)],
    [("add", 100, 0), ("del", 0, 0)],
    [("add", 7, 0), ("add", 8, 6)],
    [("del", 0, 0), ("del", 0, 0)],
    [("add", 4095, 7), ("del", 0, 0), ("del", 0, 0), ("add", 1, 0)],
]


def _ops_id(ops: list[tuple[str, int, int]]) -> str:
    return "+".join(f"{op}{vid}" for op, vid, _ in ops) or "none"


@pytest.mark.parametrize("ops", VF_OPS, ids=_ops_id)
@pytest.mark.parametrize("name", sorted(VF_FRAMES))
def test_vf_action_rewrites_vlan_tags_byte_for_byte_as_userspace_ports_do(
        prog, steer, xsk, port, peer_index, name, ops):
    from spp.proc.vf_model import Vlan
    from spp.proc.vf_xdp import compose
    from spp.xdp.steering import VfAct

    pops, push = compose([Vlan(op, vid, pcp) for op, vid, pcp in ops])
    steer.set_vf_offload(port, True)
    steer.set_tx_port(port, 1, peer_index)
    steer.set_vf_act(port, 65535, None, VfAct(1, pops, push, slot=2))
    f = VF_FRAMES[name]
    res = prog.test_run(f, ingress_ifindex=prog.test_ifindex, rx_queue_index=0)
    assert res.retval == XDP_REDIRECT
    assert res.data == _userspace(f, ops)
    assert steer.vf_stats(port, [2]) == {2: (1, len(f))}
    assert steer.counters(port)["to_spp_pkts"] == 0  # not the socket


def test_vf_actions_need_the_offload_flag_and_their_devmap_entry(prog, steer, xsk, port,
                                                                 peer_index):
    from spp.xdp.steering import VfAct

    tagged = frame(MAC_OTHER, vlan=10)
    steer.set_vf_act(port, 65535, None, VfAct(1, pops=1, slot=0))
    assert not steer.vf_offload(port)
    res = prog.test_run(tagged, ingress_ifindex=prog.test_ifindex)
    assert (res.retval, res.data) == (XDP_REDIRECT, tagged)  # the socket, unchanged
    steer.set_vf_offload(port, True)
    res = prog.test_run(tagged, ingress_ifindex=prog.test_ifindex)
    assert (res.retval, res.data) == (XDP_REDIRECT, tagged)  # no devmap entry: the socket
    steer.set_mode(port, "all")  # a mode change keeps the offload flag
    assert steer.vf_offload(port)
    steer.set_tx_port(port, 1, peer_index)
    res = prog.test_run(tagged, ingress_ifindex=prog.test_ifindex)
    assert res.data == _pop(tagged)
    assert steer.counters(port)["to_spp_pkts"] == 2 and steer.vf_stats(port, [0])[0][0] == 1


def test_vf_classifier_keys_exact_then_own_default_then_general_default(prog, steer, xsk, port,
                                                                       peer_index):
    """As cls_decide: an exact entry, the VLAN's own default, else the general default;
    broadcast/multicast and an entry only userspace finishes go to the socket."""
    from spp.xdp.steering import VfAct

    steer.set_vf_offload(port, True)
    steer.set_tx_port(port, 1, peer_index)
    steer.set_vf_act(port, 0, mac(MAC_SPP), VfAct(1, slot=1))
    steer.set_vf_act(port, 10, None, VfAct(1, push_tci=11, slot=2))   # VLAN 10's default
    steer.set_vf_act(port, 0, None, VfAct(1, push_tci=99, slot=3))    # the general default
    steer.set_vf_act(port, 20, None, VfAct(None))                     # VLAN 20: userspace
    steer.set_vf_act(port, 0, mac(MAC_HOST), VfAct(None))             # userspace

    def out(f: bytes) -> tuple[int, bytes]:
        res = prog.test_run(f, ingress_ifindex=prog.test_ifindex)
        return res.retval, res.data

    assert out(frame(MAC_SPP)) == (XDP_REDIRECT, frame(MAC_SPP))
    assert out(frame(MAC_OTHER, vlan=10)) == (XDP_REDIRECT, frame(MAC_OTHER, vlan=11))
    assert out(frame(MAC_OTHER, vlan=30)) == (XDP_REDIRECT, frame(MAC_OTHER, vlan=99))
    assert out(frame(MAC_OTHER)) == (XDP_REDIRECT, _push(frame(MAC_OTHER), 99))
    for f in (frame(MAC_OTHER, vlan=20), frame(MAC_HOST), frame("ff:ff:ff:ff:ff:ff"),
              frame("01:00:5e:00:00:01")):
        assert out(f) == (XDP_REDIRECT, f)  # the socket, unchanged
    assert {s: n for s, (n, _) in steer.vf_stats(port, [1, 2, 3]).items()} == {1: 1, 2: 1, 3: 2}
    assert steer.counters(port)["to_spp_pkts"] == 4
    assert set(steer.vf_acts(port)) == {(0, mac(MAC_SPP)), (10, None), (0, None), (20, None),
                                        (0, mac(MAC_HOST))}
    assert steer.del_vf_act(port, 0, None) is True
    assert out(frame(MAC_OTHER)) == (XDP_REDIRECT, frame(MAC_OTHER))  # now the socket's
    assert steer.counters(port)["to_spp_pkts"] == 5
