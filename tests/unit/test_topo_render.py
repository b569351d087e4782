"""Renderers of the topology graph (spp/topo/render.py): graphviz output parsed back,
JSON/YAML round trips, the terminal tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from spp.testkit.topopage import svg_names
from spp.topo.model import graph_from_status, with_rates
from spp.topo.render import FORMATS, RenderError, format_of, render, render_term

DATA = Path(__file__).parent / "data"


def status(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def svg_titles(svg: bytes) -> tuple[set[str], set[str]]:
    """(node names, edge names `a->b`) drawn in a graphviz SVG."""
    names = svg_names(svg.decode())
    return names.nodes, names.edges


def test_svg_of_seed_22_has_both_vms_four_vhost_ports_and_the_links() -> None:
    nodes, edges = svg_titles(render(graph_from_status(status("topo_seed22_status.json")),
                                     "svg"))
    assert {"vm_spp_vm1_ens4", "vm_spp_vm1_ens5", "vm_spp_vm2_ens4", "vm_spp_vm2_ens5",
            "vhost_0", "vhost_1", "vhost_2", "vhost_3", "vf_1_cls1", "vf_1_cls2",
            "vf_1_fwd1", "vf_1_fwd8", "vf_1_mgr1", "vf_1_mgr2"} <= nodes
    assert {"vf_1_fwd1->vhost_0", "vhost_0->vf_1_fwd3", "vhost_0->vm_spp_vm1_ens4",
            "vhost_3->vm_spp_vm2_ens5", "phy_1->vf_1_cls2", "vf_1_mgr2->phy_1"} <= edges


def test_dot_source_is_what_dot_draws() -> None:
    g = graph_from_status(status("topo_seed21_status.json")["after"])
    src = render(g, "dot").decode()
    assert src.startswith("digraph spp {") and "cluster_vf_1" in src
    assert "vf_1_cls -> ring_0" in src
    assert render(g, "png").startswith(b"\x89PNG")


def test_rates_are_drawn_on_links_and_ports() -> None:
    st = status("topo_seed21_status.json")
    g = with_rates(graph_from_status(st["after"]), graph_from_status(st["before"]), 1.0)
    svg = render(g, "svg").decode()
    assert "50 pps" in svg and "rx 50 pps" in svg


def test_json_and_yaml_carry_the_whole_model() -> None:
    g = graph_from_status(status("topo_seed21_status.json")["after"])
    as_json = json.loads(render(g, "json"))
    assert as_json == yaml.safe_load(render(g, "yaml")) == g.to_dict()
    assert {"src": "vf_1_mgr", "dst": "phy_1"}.items() <= next(
        e for e in as_json["edges"] if e["src"] == "vf_1_mgr").items()


def test_term_tree_lists_each_process_with_its_components_and_links() -> None:
    g = graph_from_status(status("topo_seed21_status.json")["after"])
    console = Console(record=True, width=120, force_terminal=False)
    render_term(g, console, "spp-ctl 127.0.0.1:7777")
    text = console.export_text()
    assert text.splitlines()[0] == "spp-ctl 127.0.0.1:7777"
    assert "spp_vf 1" in text and "cls  classifier core 3" in text
    assert "phy:0 -> cls" in text and "mgr -> phy:1" in text
    assert "phy:0  spp-p0" in text



def test_term_tree_shows_vms_with_state_and_the_port_each_nic_and_netdev_joins() -> None:
    st = status("topo_seed22_status.json")
    st["hosts"][0]["vms"][1]["state"] = "booting"
    console = Console(record=True, width=120, force_terminal=False)
    render_term(graph_from_status(st), console)
    text = console.export_text()
    vm2 = text[text.index("VM spp-vm2 (booting)"):]
    assert "vhost:2 <-> spp-vm2 ens4" in vm2 and "vhost:3 <-> spp-vm2 ens5" in vm2
    assert "vhost:0 <-> spp-vm1 ens4" in text[:text.index("VM spp-vm2")]
    assert "spp-p1 <-> phy:1" in text and "vhost:1  /tmp/sock1" in text


@pytest.mark.parametrize(("path", "given", "fmt"), [
    ("t.svg", None, "svg"), ("t.SVG", None, "svg"), ("a.b.yml", None, "yaml"),
    ("t.js", None, "json"), ("x", "png", "png"), ("t.svg", "dot", "dot"),
])
def test_format_from_extension_or_given(path, given, fmt) -> None:
    assert format_of(path, given) == fmt


@pytest.mark.parametrize(("path", "given"), [("t.txt", None), ("noext", None), ("t.svg", "gif")])
def test_unknown_format_is_one_line(path, given) -> None:
    with pytest.raises(RenderError, match="^Invalid file type") as exc:
        format_of(path, given)
    assert "\n" not in str(exc.value)


def test_every_format_renders() -> None:
    g = graph_from_status(status("topo_seed21_status.json")["after"])
    for fmt in set(FORMATS.values()):
        assert render(g, fmt)


def test_labels_are_escaped_for_dot() -> None:
    st = {"primary": {"phy_ports": [{"id": 0, "iface": 'we"ird\\n'}]}}
    nodes, _ = svg_titles(render(graph_from_status(st), "svg"))
    assert "netdev_we_ird_n" in nodes
