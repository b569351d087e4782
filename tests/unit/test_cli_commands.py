"""Shared command parser (shell, playback, Typer) and TAB completion candidates."""

import pytest

from spp.cli.commands import CommandError, pri_action, vf_action
from spp.cli.complete import candidates


def test_component_start_builds_upstream_request_and_message():
    a = vf_action(1, "component start fw1 5 forward".split())
    assert (a.method, a.path, a.body) == ("POST", "vfs/1/components",
                                          {"name": "fw1", "core": 5, "type": "forward"})
    assert a.done(None) == "Succeeded to start component 'fw1' on core:5"


def test_component_stop_message():
    a = vf_action(2, ["component", "stop", "fw1"])
    assert (a.method, a.path) == ("DELETE", "vfs/2/components/fw1")
    assert a.done(None) == "Succeeded to delete component 'fw1'"


@pytest.mark.parametrize("line,body", [
    ("port add phy:0 rx cls", {"action": "attach", "port": "phy:0", "dir": "rx",
                               "vlan": {"operation": "none", "id": 0, "pcp": 0}}),
    ("port add phy:0 nq 1 rx cls", {"action": "attach", "port": "phy:0", "nq": 1, "dir": "rx",
                                    "vlan": {"operation": "none", "id": 0, "pcp": 0}}),
    ("port add ring:0 tx cls add_vlantag 677 3",
     {"action": "attach", "port": "ring:0", "dir": "tx",
      "vlan": {"operation": "add", "id": 677, "pcp": 3}}),
    ("port add ring:0 tx cls del_vlantag", {"action": "attach", "port": "ring:0", "dir": "tx",
                                            "vlan": {"operation": "del", "id": 0, "pcp": 0}}),
    ("port del ring:0 tx cls", {"action": "detach", "port": "ring:0", "dir": "tx",
                                "vlan": {"operation": "none", "id": 0, "pcp": 0}}),
])
def test_port_forms_build_the_rest_body(line, body):
    a = vf_action(1, line.split())
    assert (a.method, a.path, a.body) == ("PUT", "vfs/1/components/cls/ports", body)
    assert a.done(None) == f"Succeeded to {line.split()[1]} port"


def test_classifier_table_vlan_form():
    a = vf_action(1, "classifier_table add vlan 475 FA:16:3E:7D:CC:35 ring:1".split())
    assert a.body == {"action": "add", "type": "vlan", "vlan": 475,
                      "mac_address": "FA:16:3E:7D:CC:35", "port": "ring:1"}
    assert a.done(None) == "Succeeded to add"


@pytest.mark.parametrize("words,text", [
    (["compo"], 'Invalid command "compo".'),
    (["component", "start", "a", "x", "forward"], "Invalid core id 'x'."),
    (["component", "start", "a", "3", "mirror"],
     "Invalid role 'mirror', choose from forward, merge, classifier, classifier_mac."),
    (["port", "add", "eth0", "rx", "a"], "Invalid resource UID 'eth0': 'eth0' is not a "
     "resource UID (TYPE:ID, e.g. ring:0)."),
])
def test_invalid_vf_lines_raise_readable_errors(words, text):
    with pytest.raises(CommandError) as exc:
        vf_action(1, words)
    assert exc.value.text == text


def test_pri_launch_builds_upstream_launch_body():
    a = pri_action("launch vf 2 -l 1,4-7 -m 512 -- --client-id 2 -s 127.0.0.1:6666".split())
    assert a.body == {"proc_name": "spp_vf", "client_id": "2",
                      "eal": {"-l": "1,4-7", "-m": "512", "--proc-type": "secondary"},
                      "app": {"--client-id": "2", "-s": "127.0.0.1:6666"}}


@pytest.mark.parametrize("words,req", [
    (["patch", "phy:0", "phy:1"], ("PUT", "primary/patches", {"src": "phy:0", "dst": "phy:1"})),
    (["patch", "reset"], ("DELETE", "primary/patches", None)),
    (["forward"], ("PUT", "primary/forward", {"action": "start"})),
    (["stop"], ("PUT", "primary/forward", {"action": "stop"})),
    (["clear"], ("DELETE", "primary/status", None)),
    (["exit"], ("DELETE", "primary", None)),
])
def test_pri_commands_map_to_rest(words, req):
    a = pri_action(words)
    assert (a.method, a.path, a.body) == req


class Src:
    def vf_ids(self):
        return [1, 3]

    def vf_status(self, sec_id):
        return {"ports": ["phy:0", "phy:1"], "components": [
            {"core": 3, "name": "fw1", "type": "forward", "rx_port": [],
             "tx_port": [{"port": "vhost:1", "vlan": {}}]},
            {"core": 4, "type": "unuse"}, {"core": 5, "type": "unuse"}]}

    def primary_status(self):
        return {"phy_ports": [{"id": 0}, {"id": 1}], "ring_ports": [{"id": 0}, {"id": 1}]}


UIDS = ["phy:0", "phy:1", "ring:0", "ring:1", "vhost:1"]


@pytest.mark.parametrize("line,expected", [
    ("", None),
    ("v", ["vf"]),
    ("pr", ["pri;"]),
    ("vf ", ["1;", "3;"]),
    ("vf 1; ", ["status", "component", "port", "classifier_table", "exit"]),
    ("vf 1; comp", ["component"]),
    ("vf 1; component ", ["start", "stop"]),
    ("vf 1; component start ", ["NAME"]),
    ("vf 1; component start fw2 ", ["4", "5"]),
    ("vf 1; component start fw2 4 ", ["forward", "merge", "classifier", "classifier_mac"]),
    ("vf 1; component start fw2 4 f", ["forward"]),
    ("vf 1; component start fw2 4 forward ", []),
    ("vf 1; component stop ", ["fw1"]),
    ("vf 1; port ", ["add", "del"]),
    ("vf 1; port add ", UIDS),
    ("vf 1; port add r", ["ring:0", "ring:1"]),
    ("vf 1; port add phy:0 ", ["nq", "rx", "tx"]),
    ("vf 1; port add phy:0 nq ", ["QUEUE_ID"]),
    ("vf 1; port add phy:0 nq 1 ", ["rx", "tx"]),
    ("vf 1; port add phy:0 nq 1 rx ", ["fw1"]),
    ("vf 1; port add phy:0 rx ", ["fw1"]),
    ("vf 1; port add phy:0 rx fw1 ", ["add_vlantag", "del_vlantag"]),
    ("vf 1; port add phy:0 rx fw1 add_vlantag ", ["VID"]),
    ("vf 1; port add phy:0 rx fw1 add_vlantag 10 ", ["PCP"]),
    ("vf 1; port del phy:0 rx fw1 ", []),
    ("vf 1; classifier_table add mac ", ["MAC_ADDR"]),
    ("vf 1; classifier_table add vlan 10 ", ["MAC_ADDR"]),
    ("vf 1; classifier_table add mac 52:54:00:12:34:56 ", UIDS),
    ("pri; ", ["status", "clear", "launch", "patch", "forward", "stop", "xdp_offload",
                 "exit"]),
    ("bye ", ["sec", "all"]),
])
def test_completion_candidates_at_each_position(line, expected):
    got = candidates(line, Src(), ("prompt", "timeout"))
    if expected is None:
        assert "vf" in got and "pri;" in got and "playback" in got
    else:
        assert got == expected
