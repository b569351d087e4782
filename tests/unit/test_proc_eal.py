"""EAL command lines the process mains hand to DPDK."""

from __future__ import annotations

import pytest

from spp.errors import UsageError
from spp.proc import eal
from spp.proc.primary import parse_args
from spp.proc.primary_xdp import vdev_for_phy
from spp.proc.vf import parse_args as vf_parse_args


def test_lcore_ids_beyond_existing_cpus_are_mapped_onto_them(monkeypatch) -> None:
    monkeypatch.setattr(eal, "usable_cpus", lambda: [0, 1])
    args = eal.build_eal_args(["-l", "2-6", "-n", "4"], proc_type="secondary",
                              default_lcores=[2, 3])
    assert args.args[:2] == ["--lcores", "2@0,3@1,4@0,5@1,6@0"]
    assert args.main_lcore == 2 and args.worker_lcores == [3, 4, 5, 6]
    assert "--main-lcore" in args.args and "-n" in args.args


def test_no_pci_is_added_unless_an_allow_list_is_given() -> None:
    plain = eal.build_eal_args([], proc_type="primary", default_lcores=[0, 1])
    allowed = eal.build_eal_args(["-a", "0000:01:00.0"], proc_type="primary",
                                 default_lcores=[0, 1])
    assert "--no-pci" in plain.args
    assert "--no-pci" not in allowed.args and "0000:01:00.0" in allowed.args


def test_proc_type_mismatch_and_single_lcore_are_refused() -> None:
    with pytest.raises(eal.EalError, match="this process is the secondary"):
        eal.build_eal_args(["--proc-type=primary"], proc_type="secondary", default_lcores=[2, 3])
    with pytest.raises(eal.EalError, match="no worker lcore"):
        eal.build_eal_args(["-l", "1"], proc_type="primary", default_lcores=[0, 1])


@pytest.mark.parametrize("text, reason", [("1,,2", "empty item"), ("5-3", "backwards"),
                                          ("a", "not a number"), ("200", "out of range")])
def test_bad_lcore_lists_name_the_cause(text: str, reason: str) -> None:
    with pytest.raises(eal.EalError, match=reason):
        eal.parse_lcore_list(text)


def test_primary_accepts_upstream_and_friendly_forms() -> None:
    up = parse_args(["-l", "0,1", "-n", "4", "--proc-type=primary", "--",
                     "-p", "0x03", "-n", "10", "-s", "127.0.0.1:5555"])
    assert (up.portmask, up.rings, up.ctl) == (3, 10, "127.0.0.1:5555")
    assert up.eal == ["-l", "0,1", "-n", "4", "--proc-type=primary"]
    friendly = parse_args(["start", "--phy", "spp-p0", "--phy=spp-p1", "--rings", "4"])
    assert friendly.phys == ["spp-p0", "spp-p1"] and friendly.rings == 4


@pytest.mark.parametrize("argv, reason", [
    (["--rings", "0"], "between 1 and 64"), (["--", "-p", "0"], "selects no port"),
    (["--", "-x"], "unknown primary option"), (["--phy"], "needs a value"),
])
def test_primary_bad_options_name_the_cause(argv: list[str], reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        parse_args(argv)


def test_af_xdp_vdev_loads_our_program_without_busy_polling() -> None:
    v = vdev_for_phy(1, "spp-p1", None)
    assert v.startswith("net_af_xdp1,iface=spp-p1,") and "busy_budget=0" in v
    assert "xdp_prog=/x.o" in vdev_for_phy(0, "a", __import__("pathlib").Path("/x.o"))


def test_vf_options_follow_upstreams_form_and_a_bare_s_keeps_the_default() -> None:
    o = vf_parse_args(["-l", "2-6", "-n", "4", "--proc-type=secondary", "--",
                       "--client-id", "1", "-s", "127.0.0.1:6666", "--vhost-client"])
    assert (o.client_id, o.ctl, o.vhost_client) == (1, "127.0.0.1:6666", True)
    bare = vf_parse_args(["--", "--client-id", "2", "-s"])
    assert bare.ctl == "127.0.0.1:6666"
    with pytest.raises(UsageError, match="--client-id is required"):
        vf_parse_args(["--", "-s", "127.0.0.1:6666"])


def test_no_free_hugepages_is_one_clear_sentence(tmp_path, monkeypatch) -> None:
    pages = tmp_path / "hugepages-2048kB"
    pages.mkdir()
    (pages / "free_hugepages").write_text("0\n")
    monkeypatch.setattr(eal, "HUGEPAGES_SYS", tmp_path)
    with pytest.raises(eal.EalError, match="no free hugepages: reserve some first"):
        eal.check_hugepages()
