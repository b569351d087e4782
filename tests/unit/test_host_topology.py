"""Topology YAML parsing and validation (no root needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spp.host.topology import (
    ROOT_NS,
    TopologyError,
    default_topology,
    default_topology_text,
    load_topology,
    loads_topology,
)

REPO = Path(__file__).resolve().parents[2]

GOOD = """
name: t1
namespaces: [ht-a]
veths:
  - ends:
      - {name: ht-a0, netns: ht-a, mac: "02:00:00:AA:00:01", ipv4: 198.19.250.1/24}
      - {name: ht-p0, mac: "02:00:00:aa:00:02", ipv4: 198.19.250.254/24, phy: 0}
    mtu: 9000
  - ends:
      - {name: ht-a1, netns: ht-a, tx_checksum: on}
      - {name: ht-p1, mtu: 1400}
"""


def test_default_topology_matches_recipe_file() -> None:
    recipe = REPO / "recipes" / "topologies" / "default.yaml"
    assert recipe.read_text() == default_topology_text()
    assert load_topology(recipe) == default_topology()
    assert load_topology(None) == default_topology()


def test_default_topology_names_macs_ips() -> None:
    topo = default_topology()
    assert topo.name == "default"
    assert topo.file_prefix == "spp" and topo.bpf_pin_prefix == "spp_"
    assert set(topo.namespaces) == {"spp-remote", "spp-vm1", "spp-vm2"}
    want = {
        "r-eth0": ("spp-remote", "02:00:00:00:10:00", "198.18.0.1/24"),
        "r-eth1": ("spp-remote", "02:00:00:00:10:01", "198.18.1.1/24"),
        "spp-p0": (ROOT_NS, "02:00:00:00:00:00", "198.18.0.254/24"),
        "spp-p1": (ROOT_NS, "02:00:00:00:00:01", "198.18.1.254/24"),
        "vm1-eth0": ("spp-vm1", "52:54:00:12:34:56", "198.18.0.11/24"),
        "vm2-eth0": ("spp-vm2", "52:54:00:12:34:58", "198.18.0.12/24"),
        "spp-vm1": (ROOT_NS, None, None),
        "spp-vm2": (ROOT_NS, None, None),
    }
    got = {e.name: (e.netns, e.mac, e.ipv4) for e in topo.interfaces()}
    assert got == want
    pairs = {frozenset((v.a.name, v.b.name)) for v in topo.veths}
    assert pairs == {
        frozenset(p)
        for p in (
            ("r-eth0", "spp-p0"),
            ("r-eth1", "spp-p1"),
            ("vm1-eth0", "spp-vm1"),
            ("vm2-eth0", "spp-vm2"),
        )
    }
    assert topo.phy_interfaces() == ["spp-p0", "spp-p1"]
    assert all(not e.tx_checksum and e.mtu == 1500 for e in topo.interfaces())


def test_parse_good_with_defaults_and_overrides() -> None:
    topo = loads_topology(GOOD)
    a0 = topo.interface("ht-a0")
    assert a0.mac == "02:00:00:aa:00:01"  # normalised to lower case
    assert a0.mtu == 9000 and topo.interface("ht-p0").mtu == 9000
    assert topo.interface("ht-a1").tx_checksum is True
    assert topo.interface("ht-p1").mtu == 1400 and topo.interface("ht-p1").tx_checksum is False
    assert topo.interface("ht-p1").in_root
    assert topo.phy_interfaces() == ["ht-p0"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("name: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("veths: []\n", "name"),
        ("name: x\nbogus: 1\n", "unknown key"),
        ("name: x\nveths: [{ends: [{name: a}]}]\n", "exactly two"),
        ("name: x\nveths: [{ends: [{name: a}, {name: this-name-is-too-long}]}]\n", "bad interface"),
        ("name: x\nveths: [{ends: [{name: a, netns: nope}, {name: b}]}]\n", "not listed"),
        ("name: x\nveths: [{ends: [{name: a, mac: zz}, {name: b}]}]\n", "bad MAC"),
        (
            "name: x\nveths: [{ends: [{name: a, mac: '01:00:5e:00:00:01'}, {name: b}]}]\n",
            "multicast",
        ),
        ("name: x\nveths: [{ends: [{name: a, ipv4: 10.0.0.1}, {name: b}]}]\n", "ADDRESS/PREFIX"),
        ("name: x\nveths: [{ends: [{name: a, ipv4: 10.0.0.300/24}, {name: b}]}]\n", "bad ipv4"),
        ("name: x\nveths: [{ends: [{name: a, mtu: 10}, {name: b}]}]\n", "mtu"),
        ("name: x\nveths: [{ends: [{name: a}, {name: a}]}]\n", "declared twice"),
        (
            "name: x\nveths: [{ends: [{name: a, mac: '02:00:00:00:00:01'}, "
            "{name: b, mac: '02:00:00:00:00:01'}]}]\n",
            "share MAC",
        ),
        ("name: x\nveths: [{ends: [{name: a, phy: 0}, {name: b, phy: 0}]}]\n", "both phy:0"),
        (
            "name: x\nnamespaces: [n]\nveths: [{ends: [{name: a, netns: n, phy: 0}, {name: b}]}]\n",
            "only on root",
        ),
        ("name: x\nnamespaces: [root]\n", "bad namespace"),
        ("name: x\nveths: [{ends: [{name: a, tx_checksum: maybe}, {name: b}]}]\n", "true/false"),
        ("name: x\nfile_prefix: 'a/b'\n", "file_prefix"),
    ],
)
def test_parse_rejects(text: str, needle: str) -> None:
    with pytest.raises(TopologyError) as exc:
        loads_topology(text)
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="no such file"):
        load_topology(tmp_path / "nope.yaml")


def test_ctl_section_names_the_controller_of_an_instance():
    from spp.host.topology import CtlPorts, loads_topology

    topo = loads_topology("name: b\nfile_prefix: b\n"
                          "ctl: {bind: 127.0.0.1, api_port: 7787, pri_port: 5565}\n")
    assert topo.ctl == CtlPorts("127.0.0.1", 7787, 5565, 6666)
    assert topo.ctl.api == "127.0.0.1:7787"
    assert loads_topology("name: a\n").ctl == CtlPorts()


@pytest.mark.parametrize("ctl, reason", [
    ("[1]", "expected a mapping"),
    ("{bind: nowhere}", "bind must be an IP address"),
    ("{api_port: 0}", "api_port must be a TCP port"),
    ("{sec_port: 7777}", "must differ"),
    ("{port: 1}", "unknown key"),
])
def test_bad_ctl_section_is_refused_with_the_reason(ctl, reason):
    from spp.host.topology import TopologyError, loads_topology

    with pytest.raises(TopologyError, match=reason):
        loads_topology(f"name: a\nctl: {ctl}\n")
