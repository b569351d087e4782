"""The secondary types table (spp.kinds) and what reads it: `launch` (CLI, REST, the
primary's launcher) and the topology's `processes:` with `spp up`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from spp.cli import updown
from spp.cli.commands import CommandError, pri_action
from spp.ctl import validate
from spp.errors import Refused
from spp.host.topology import TopologyError, load_topology, loads_topology
from spp.kinds import SECONDARY_KINDS, app_client_id, secondary_kind
from spp.proc.launch import Launcher

ROOT = Path(__file__).resolve().parents[2]


def test_every_kind_names_its_rest_collection_pid_file_and_binary():
    assert {k: (v.rest, v.pid_name(2), v.proc_name, v.id_opt)
            for k, v in SECONDARY_KINDS.items()} == {
        "vf": ("vfs", "vf2", "spp_vf", "--client-id"),
        "nfv": ("nfvs", "nfv2", "spp_nfv", "-n"),
        "mirror": ("mirrors", "mirror2", "spp_mirror", "--client-id"),
        "pcap": ("pcaps", "pcap2", "spp_pcap", "--client-id"),
    }
    assert secondary_kind("spp_nfv") is secondary_kind("nfv") is SECONDARY_KINDS["nfv"]
    assert secondary_kind("spp_xyz") is None and secondary_kind(3) is None


@pytest.mark.parametrize("kind,argv,cid", [
    ("nfv", ["-l", "5,6", "-n", "4", "--", "-n", "2", "-s", "127.0.0.1:6666"], "2"),
    ("nfv", ["-l", "5,6", "-n", "4", "--", "--client-id=7"], "7"),
    ("nfv", ["start", "--client-id", "4", "-l", "5,6"], "4"),
    ("nfv", ["-l", "5,6", "-n", "4", "--", "-s", "x"], None),  # EAL's -n is not the id
    ("mirror", ["-l", "7,8", "--", "--client-id", "3"], "3"),
    ("mirror", ["-l", "7,8", "--", "-n", "3"], None),
])
def test_client_id_of_a_command_line(kind, argv, cid):
    assert app_client_id(SECONDARY_KINDS[kind], argv) == cid


# ---- pri; launch -----------------------------------------------------------------

def test_pri_launch_nfv_builds_upstreams_body_with_the_id_in_dash_n():
    a = pri_action("launch nfv 2 -l 1,2 -m 512 -- -n 2 -s 127.0.0.1:6666".split())
    assert a.body == {"proc_name": "spp_nfv", "client_id": "2",
                      "eal": {"-l": "1,2", "-m": "512", "--proc-type": "secondary"},
                      "app": {"-n": "2", "-s": "127.0.0.1:6666"}}


def test_pri_launch_takes_spp_prefix_and_the_id_from_the_app_options():
    a = pri_action("launch spp_mirror -l 7,8 -- --client-id 3 -s 127.0.0.1:6666".split())
    assert a.body["proc_name"] == "spp_mirror" and a.body["client_id"] == "3"
    b = pri_action("launch mirror 4 -l 7,8 -- -s 127.0.0.1:6666".split())
    assert b.body["app"] == {"-s": "127.0.0.1:6666", "--client-id": "4"}


def test_pri_launch_pcap_as_upstreams_cli_sends_it_names_the_captured_port():
    """Upstream's form (src/cli/commands/pri.py): `-c PORT` after `--`, the id in --client-id."""
    a = pri_action("launch pcap 5 -l 2,3,4 -m 512 -- --client-id 5 -s 127.0.0.1:6666 "
                   "-c phy:0 --out-dir /tmp/cap --fsize 1048576".split())
    assert a.body == {"proc_name": "spp_pcap", "client_id": "5",
                      "eal": {"-l": "2,3,4", "-m": "512", "--proc-type": "secondary"},
                      "app": {"--client-id": "5", "-s": "127.0.0.1:6666", "-c": "phy:0",
                              "--out-dir": "/tmp/cap", "--fsize": "1048576"}}
    assert validate.launch(a.body)["app"] == a.body["app"]


def test_rest_launch_of_pcap_refuses_what_spp_pcap_does_not_take():
    body = {"proc_name": "spp_pcap", "client_id": "5", "eal": {"-l": "2,3,4"},
            "app": {"--client-id": "5", "-c": "phy:0", "--vhost-client": None}}
    with pytest.raises(Refused, match="'--vhost-client' is not one spp_pcap takes"):
        validate.launch(body)
    with pytest.raises(Refused, match="'-c' is not one spp_mirror takes"):
        validate.launch({**body, "proc_name": "spp_mirror", "app": {"-c": "phy:0"}})


@pytest.mark.parametrize("line", ["launch pcap2 1 -l 1 -- -s x", "launch nfv -l 1,2 -- -s x",
                                  "launch nfv 1 -l 1,2"])
def test_pri_launch_refuses_what_it_cannot_send(line):
    with pytest.raises(CommandError):
        pri_action(line.split())


def test_rest_launch_accepts_each_kind_and_its_own_options():
    body = {"proc_name": "nfv", "client_id": "2", "eal": {"-l": "5,6"},
            "app": {"-n": "2", "-s": "127.0.0.1:6666"}}
    assert validate.launch(body)["proc_name"] == "spp_nfv"
    with pytest.raises(Refused, match="-n differs from client_id 2"):
        validate.launch({**body, "app": {"-n": "3"}})
    with pytest.raises(Refused, match="is not one spp_mirror takes"):
        validate.launch({**body, "proc_name": "spp_mirror"})  # -n is spp_nfv's
    with pytest.raises(Refused, match="spp_vf, spp_nfv, spp_mirror, spp_pcap"):
        validate.launch({**body, "proc_name": "spp_tap"})


class _Popen:
    def __init__(self, argv: list[str], **_kw: Any) -> None:
        self.argv, self.pid = argv, 4242

    def poll(self) -> int | None:
        return None


def test_launcher_runs_the_kinds_command_with_upstreams_argv(tmp_path, monkeypatch):
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    monkeypatch.setattr(subprocess, "Popen", _Popen)
    la = Launcher("spp")
    la.launch({"proc_name": "spp_nfv", "client_id": 2, "eal": {"-l": "5,6", "--no-pci": None},
               "app": {"-s": "127.0.0.1:6666"}})
    child: Any = la.children[2]
    assert child.argv[2:] == ["spp.cli.main", "nfv", "-l", "5,6", "--no-pci", "--",
                              "-s", "127.0.0.1:6666", "-n", "2"]
    assert (tmp_path / "spp" / "nfv2.log").exists()
    assert la.launched() == [{"client_id": 2, "type": "nfv", "pid": 4242, "running": True}]
    with pytest.raises(Refused, match="nfv:2 launched earlier still runs"):
        la.launch({"proc_name": "spp_mirror", "client_id": 2, "eal": {}, "app": {}})
    la.launch({"proc_name": "mirror", "client_id": 3, "eal": {}, "app": {"--client-id": "3"}})
    assert la.children[3].argv[3:] == ["mirror", "--", "--client-id", "3"]  # type: ignore
    la.launch({"proc_name": "spp_pcap", "client_id": 5, "eal": {"-l": "2-4"},
               "app": {"-c": "phy:1", "--out-dir": "/tmp"}})
    assert la.children[5].argv[3:] == ["pcap", "-l", "2-4", "--", "-c", "phy:1",  # type: ignore
                                       "--out-dir", "/tmp", "--client-id", "5"]
    assert (tmp_path / "spp" / "pcap5.log").exists()


# ---- topology processes and spp up ------------------------------------------------

TOPO = """
name: fam
processes:
  primary: -l 0,1 -- -p 0x3 -n 10 -s 127.0.0.1:5555
  nfv: -l 5,6 -n 4 -- -n 2 -s 127.0.0.1:6666
  mirror:
    - -l 7,8 -- --client-id 3 -s 127.0.0.1:6666
    - -l 9,10 -- --client-id 4 -s 127.0.0.1:6666
"""
PCAP_LINE = "  pcap: -l 11,12,13 -- --client-id 6 -s 127.0.0.1:6666 -c phy:0 --out-dir /tmp\n"


def test_topology_takes_pcap_and_up_starts_it_as_pcap_n():
    topo = loads_topology(TOPO + PCAP_LINE)
    assert topo.processes.others[-1] == (
        "pcap", ("-l", "11,12,13", "--", "--client-id", "6", "-s", "127.0.0.1:6666",
                 "-c", "phy:0", "--out-dir", "/tmp"))
    parts = updown._parts(topo, "127.0.0.1", False, False, "none")
    assert [(p.name, p.label, p.secondary) for p in parts][-1] == ("pcap6", "pcap 6", True)
    assert parts[-1].argv[:3] == ["pcap", "-l", "11,12,13"]


def test_topology_takes_nfv_and_mirror_lines_or_lists_of_them():
    topo = loads_topology(TOPO)
    assert topo.processes.others == (
        ("nfv", ("-l", "5,6", "-n", "4", "--", "-n", "2", "-s", "127.0.0.1:6666")),
        ("mirror", ("-l", "7,8", "--", "--client-id", "3", "-s", "127.0.0.1:6666")),
        ("mirror", ("-l", "9,10", "--", "--client-id", "4", "-s", "127.0.0.1:6666")),
    )
    with pytest.raises(TopologyError, match=r"processes.mirror\[1\]: expected a command line"):
        loads_topology(TOPO.replace("- -l 9,10", "- ''\n    - -l 9"))
    with pytest.raises(TopologyError, match="unknown key"):
        loads_topology(TOPO.replace("nfv:", "tap:"))


def test_up_starts_the_topologys_secondaries_after_vf_with_their_pid_names():
    parts = updown._parts(loads_topology(TOPO), "127.0.0.1", False, False, "none")
    assert [(p.name, p.label, p.secondary) for p in parts] == [
        ("ctl", "spp ctl", False), ("primary", "primary", False), ("vf1", "vf 1", True),
        ("nfv2", "nfv 2", True), ("mirror3", "mirror 3", True), ("mirror4", "mirror 4", True)]
    assert parts[3].argv == ["nfv", "-l", "5,6", "-n", "4", "--", "-n", "2", "-s",
                             "127.0.0.1:6666"]


def test_up_refuses_a_client_id_used_twice():
    with pytest.raises(updown.UpError, match="client id 1 is also vf 1's"):
        updown._parts(loads_topology(TOPO.replace("-n 2 -s", "-n 1 -s")), "127.0.0.1",
                      False, False, "none")
    with pytest.raises(updown.UpError, match="processes.nfv: -n or --client-id is missing"):
        updown._parts(loads_topology(TOPO.replace("-- -n 2 -s", "-- -s")), "127.0.0.1",
                      False, False, "none")


def test_family_recipe_has_every_process_on_lcores_of_its_own():
    topo = load_topology(ROOT / "recipes" / "topologies" / "family.yaml")
    parts = updown._parts(topo, "127.0.0.1", False, True, "none")
    assert [p.name for p in parts] == ["ctl", "primary", "vf1", "nfv2", "mirror3", "metrics"]
    seen: dict[int, str] = {}
    for p in parts[1:5]:
        lcores = p.argv[p.argv.index("-l") + 1]
        for part in lcores.split(","):
            lo, _, hi = part.partition("-")
            for lc in range(int(lo), int(hi or lo) + 1):
                assert lc not in seen, f"lcore {lc} of {p.name} is also {seen[lc]}'s"
                seen[lc] = p.name
