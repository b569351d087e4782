"""spp.xdp pieces that need neither root nor a loaded program: header, parsing, CLI errors."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spp.cli.xdp import app
from spp.xdp import XdpMapsNotFound, XdpSteering, XdpValueError, unpin_all
from spp.xdp.defs import Defs, cdef_block, header_path, parse_defines
from spp.xdp.iface import check_vlan, format_mac, ifindex_of, parse_mac

REPO = Path(__file__).resolve().parents[2]


def test_header_structs_have_the_c_layout_in_python():
    d = Defs()
    ffi = d.ffi
    assert ffi.sizeof("struct spp_fdb_key") == 8  # hash key without padding holes
    assert ffi.offsetof("struct spp_fdb_key", "vlan") == 0
    assert ffi.offsetof("struct spp_fdb_key", "mac") == 2
    assert ffi.sizeof("struct spp_fdb_val") == 4
    assert ffi.sizeof("struct spp_xdp_port_cfg") == 8
    assert ffi.sizeof("struct spp_xdp_counters") == 48


def test_header_constants_match_the_spec():
    c = Defs().constants
    assert c["SPP_XDP_MODE_ALL"] == 0
    assert c["SPP_XDP_MODE_REGISTERED"] == 1
    assert c["SPP_XDP_F_DROP_UNKNOWN"] == 1
    assert c["SPP_FDB_MAX_ENTRIES"] == 65536  # a whole classifier table
    assert c["SPP_XSKS_MAX_ENTRIES"] == 64


def test_header_cdef_block_is_plain_enough_for_cffi():
    block = cdef_block(header_path().read_text())
    assert "#include" not in block and "#if" not in block
    assert parse_defines("#define A 0x10\n#define B 3 /* x */\n") == {"A": 16, "B": 3}


def test_header_compiles_as_c_with_the_same_sizes(tmp_path):
    """The C compiler agrees with cffi on every struct size (one definition, two readers)."""
    cc = (
        "clang" if subprocess.run(["which", "clang"], capture_output=True).returncode == 0 else None
    )
    if cc is None:
        pytest.skip("clang not installed")
    src = tmp_path / "sz.c"
    src.write_text(
        '#include "spp_xdp.h"\n'
        '_Static_assert(sizeof(struct spp_fdb_key) == 8, "key");\n'
        '_Static_assert(sizeof(struct spp_fdb_val) == 4, "val");\n'
        '_Static_assert(sizeof(struct spp_xdp_port_cfg) == 8, "cfg");\n'
        '_Static_assert(sizeof(struct spp_xdp_counters) == 48, "ctr");\n'
    )
    multiarch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True)
    r = subprocess.run(
        [
            cc,
            "-target",
            "bpf",
            f"-I/usr/include/{multiarch.stdout.strip()}",
            f"-I{REPO / 'bpf'}",
            "-fsyntax-only",
            str(src),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("mac", ["02:00:00:00:00:01", "02-00-00-00-00-01", "52:54:00:AB:cd:EF"])
def test_parse_mac_accepts_unicast_colon_or_dash(mac):
    raw = parse_mac(mac)
    assert len(raw) == 6
    assert format_mac(raw) == mac.lower().replace("-", ":")


@pytest.mark.parametrize(
    "mac, reason",
    [
        ("zz", "six hex pairs"),
        ("02:00:00:00:00", "six hex pairs"),
        ("02:00:00:00:00:01:02", "six hex pairs"),
        ("02:00-00:00:00:01", "six hex pairs"),
        ("ff:ff:ff:ff:ff:ff", "multicast/broadcast"),
        ("01:00:5e:00:00:01", "multicast/broadcast"),
    ],
)
def test_parse_mac_rejects_bad_or_group_mac_with_reason(mac, reason):
    with pytest.raises(XdpValueError, match=reason):
        parse_mac(mac)


@pytest.mark.parametrize("vlan", [-1, 4095, 5000])
def test_check_vlan_rejects_out_of_range(vlan):
    with pytest.raises(XdpValueError, match="VLAN"):
        check_vlan(vlan)


def test_ifindex_of_resolves_names_and_numbers_and_rejects_unknown():
    assert ifindex_of("lo") == 1
    assert ifindex_of("7") == 7
    assert ifindex_of(7) == 7
    with pytest.raises(XdpValueError, match="no such interface"):
        ifindex_of("no-such-if0")


def test_unpin_all_removes_an_instance_pins_and_nothing_else(tmp_path):
    inst = tmp_path / "spp" / "a"
    for port in ("p0", "p1"):
        (inst / port).mkdir(parents=True)
        for n in ("spp_fdb", "spp_port_cfg", "spp_xdp_stats"):
            (inst / port / n).write_text("")
    (inst / "p1" / "notes").write_text("")  # not a pin of ours: stays, and so does p1
    other = tmp_path / "spp" / "b" / "p0"
    other.mkdir(parents=True)
    (other / "spp_fdb").write_text("")
    removed = unpin_all(inst)
    assert sorted(Path(p).relative_to(inst).as_posix() for p in removed) == [
        f"{port}/{n}" for port in ("p0", "p1")
        for n in ("spp_fdb", "spp_port_cfg", "spp_xdp_stats")]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "spp", "spp/a", "spp/a/p1", "spp/a/p1/notes", "spp/b", "spp/b/p0", "spp/b/p0/spp_fdb"]
    assert unpin_all(tmp_path / "missing") == []


def test_remove_instance_leaves_other_instances(tmp_path):
    from spp.xdp.pins import instance_dir, instances_with_port, remove_instance

    for inst in ("a", "b"):
        d = instance_dir(inst, tmp_path) / "veth0"
        d.mkdir(parents=True)
        (d / "spp_fdb").write_text("")
    assert instances_with_port("veth0", tmp_path) == ["a", "b"]
    assert remove_instance("a", tmp_path) == [str(tmp_path / "spp/a/veth0/spp_fdb")]
    assert instances_with_port("veth0", tmp_path) == ["b"]
    assert remove_instance("b", tmp_path)
    assert not (tmp_path / "spp").exists()


@pytest.mark.parametrize("prefix", ["", "a/b", "..", "."])
def test_instance_dir_refuses_names_that_are_not_one_directory(prefix):
    from spp.xdp import XdpError
    from spp.xdp.pins import instance_dir

    with pytest.raises(XdpError, match="not a usable instance name"):
        instance_dir(prefix)


@pytest.mark.skipif(os.geteuid() != 0, reason="bpf(2) BPF_OBJ_GET needs root")
def test_missing_pins_raise_maps_not_found_with_hint(tmp_path):
    with pytest.raises(XdpMapsNotFound) as ei:
        XdpSteering(tmp_path)
    assert str(ei.value) == (
        f"XDP steering maps not found under {tmp_path}: is the primary running with xdp_prog?"
    )


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    err = result.stderr.strip()
    assert "Traceback" not in result.output and "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def test_cli_without_maps_prints_one_line_and_exits_1(tmp_path):
    r = CliRunner().invoke(app, ["--pin-dir", str(tmp_path), "status"])
    err = _one_line_error(r)
    if os.geteuid() == 0:
        assert "XDP steering maps not found" in err
    assert re.match(r"^spp xdp: ", err)


def test_cli_add_bad_mac_reports_reason_before_opening_maps(tmp_path):
    r = CliRunner().invoke(app, ["--pin-dir", str(tmp_path), "add", "lo", "02:00:00:00:00"])
    assert "bad MAC address" in _one_line_error(r)


def test_cli_mode_rejects_unknown_mode(tmp_path):
    r = CliRunner().invoke(app, ["--pin-dir", str(tmp_path), "mode", "lo", "some"])
    assert "bad mode" in _one_line_error(r)


def test_cli_del_rejects_bad_vlan(tmp_path):
    r = CliRunner().invoke(
        app, ["--pin-dir", str(tmp_path), "del", "lo", "02:00:00:00:00:01", "--vlan", "4095"]
    )
    assert "bad VLAN id" in _one_line_error(r)
