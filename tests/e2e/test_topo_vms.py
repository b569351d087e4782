"""`topo` of seed use case 2.2 (SSH login to two QEMU VMs over vhost-user) with the VMs
really running: `spp topo -o t.svg`, the shell's `topo term`, `spp topo --rates` while
pings cross the paths, and the live page in Debian's headless Chromium, which redraws
in place after `vf 1; component stop`.

The VMs boot under TCG, so the module brings the use case up once (`spp up
--topology`, the recipes, both VMs ready) and its tests share it in the order they
are written; the one that stops a forwarder comes last.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from vmcase import REMOTE, UseCase, default_topology_down, spp

from spp.cli.shell import Shell
from spp.testkit.pinger import Pinger
from spp.testkit.session import E2ELock
from spp.testkit.topopage import CHROMIUM, live_page, svg_names

pytestmark = pytest.mark.e2e

CTL = "127.0.0.1:7777"
VM_CLUSTERS = {"cluster_vm_spp_vm1", "cluster_vm_spp_vm2"}
VM_NICS = {"vm_spp_vm1_ens4", "vm_spp_vm1_ens5", "vm_spp_vm2_ens4", "vm_spp_vm2_ens5"}
VHOSTS = {"vhost_0", "vhost_1", "vhost_2", "vhost_3"}
CLASSIFIERS = {"vf_1_cls1", "vf_1_cls2"}
FORWARDERS = {f"vf_1_fwd{i}" for i in range(1, 9)}
MERGERS = {"vf_1_mgr1", "vf_1_mgr2"}
SEED22_NODES = (VM_NICS | VHOSTS | CLASSIFIERS | FORWARDERS | MERGERS
                | {"phy_0", "phy_1", "proc_vf_1"} | {f"ring_{i}" for i in range(8)})
# each vhost port reaches its VM NIC; the recipes' paths, NIC0 then NIC1
VHOST_VM_EDGES = {"vhost_0->vm_spp_vm1_ens4", "vhost_1->vm_spp_vm1_ens5",
                  "vhost_2->vm_spp_vm2_ens4", "vhost_3->vm_spp_vm2_ens5"}
PATH_EDGES = {
    "phy_0->vf_1_cls1", "vf_1_cls1->ring_0", "vf_1_cls1->ring_1",
    "ring_0->vf_1_fwd1", "vf_1_fwd1->vhost_0", "ring_1->vf_1_fwd2", "vf_1_fwd2->vhost_2",
    "vhost_0->vf_1_fwd3", "vf_1_fwd3->ring_2", "vhost_2->vf_1_fwd4", "vf_1_fwd4->ring_3",
    "ring_2->vf_1_mgr1", "ring_3->vf_1_mgr1", "vf_1_mgr1->phy_0",
    "phy_1->vf_1_cls2", "vf_1_cls2->ring_4", "vf_1_cls2->ring_5",
    "ring_4->vf_1_fwd5", "vf_1_fwd5->vhost_1", "ring_5->vf_1_fwd6", "vf_1_fwd6->vhost_3",
    "vhost_1->vf_1_fwd7", "vf_1_fwd7->ring_6", "vhost_3->vf_1_fwd8", "vf_1_fwd8->ring_7",
    "ring_6->vf_1_mgr2", "ring_7->vf_1_mgr2", "vf_1_mgr2->phy_1",
}
PING_INTERVAL_S = 0.05


@pytest.fixture(scope="module")
def seed22(e2e_lock: E2ELock) -> Iterator[UseCase]:
    """Use case 2.2 up and configured, both VMs booted; `spp down` at the end."""
    with default_topology_down():
        case = UseCase()
        try:
            t0 = time.monotonic()
            case.up()
            case.configure()
            case.wait_ready()
            print(f"use case 2.2 up with both VMs ready in {time.monotonic() - t0:.0f} s")
            yield case
        finally:
            case.down()


def test_spp_topo_svg_of_seed_22_draws_both_vms_four_vhosts_components_and_links(
        seed22: UseCase, tmp_path: Path) -> None:
    out = tmp_path / "t.svg"
    res = spp("topo", "-o", str(out))
    assert f"'{out}'" in res.stdout
    drawn = svg_names(out)
    assert VM_CLUSTERS <= drawn.clusters, drawn.clusters
    assert SEED22_NODES <= drawn.nodes, SEED22_NODES - drawn.nodes
    assert {n for n in drawn.nodes if n.startswith("vhost_")} == VHOSTS
    assert VHOST_VM_EDGES <= drawn.edges, VHOST_VM_EDGES - drawn.edges
    assert PATH_EDGES <= drawn.edges, PATH_EDGES - drawn.edges


def test_shell_topo_term_shows_each_ready_vm_its_nics_and_the_vhost_paths(
        seed22: UseCase) -> None:
    lines: list[str] = []
    Shell([CTL], out=lines.append).run_line("topo term")
    text = "\n".join(lines)
    for vm, nics in (("spp-vm1", ("ens4", "ens5")), ("spp-vm2", ("ens4", "ens5"))):
        block = text[text.index(f"VM {vm} (ready)"):]
        for nic in nics:
            assert f"{vm} {nic}" in block, text
    for link in ("vhost:0 <-> spp-vm1 ens4", "vhost:3 <-> spp-vm2 ens5",
                 "fwd1 -> vhost:0", "vhost:0 -> fwd3", "fwd6 -> vhost:3", "cls1 -> ring:0",
                 "mgr2 -> phy:1", "spp-p0 <-> phy:0", "52:54:00:12:34:58 198.18.0.12/24"):
        assert link in text, text
    print(text)


def test_spp_topo_rates_show_pings_on_vm1s_nic0_path_in_json_and_svg(
        seed22: UseCase, tmp_path: Path) -> None:
    pinger = Pinger(REMOTE, "198.18.0.11", PING_INTERVAL_S).start()
    try:
        time.sleep(1)
        res = spp("topo", "--rates", "--interval", "2", "-f", "json")
        spp("topo", "--rates", "--interval", "2", "-o", str(tmp_path / "rates.svg"))
    finally:
        replies = pinger.stop()
    assert replies >= 40, pinger.output
    edges = json.loads(res.stdout)["edges"]
    rate = {f"{e['src']}->{e['dst']}": e["rate"] for e in edges if e["rate"] is not None}
    print({k: round(v, 1) for k, v in sorted(rate.items()) if v})
    # 20 echo requests a second reach spp-vm1's ens4, 20 replies come back
    for link in ("phy_0->vf_1_cls1", "vf_1_cls1->ring_0", "ring_0->vf_1_fwd1",
                 "vf_1_fwd1->vhost_0", "vhost_0->vf_1_fwd3", "vf_1_fwd3->ring_2",
                 "vf_1_mgr1->phy_0"):
        assert rate.get(link, 0) >= 5, (link, rate)
    assert rate.get("vhost_0->vm_spp_vm1_ens4", 0) >= 10, rate  # both ways
    # spp-vm2's and NIC1's paths carry no echo: at most a stray broadcast
    for link in ("vf_1_fwd2->vhost_2", "vf_1_fwd5->vhost_1", "vhost_3->vm_spp_vm2_ens5"):
        assert rate.get(link, 0) < 2, (link, rate)
    drawn = svg_names(tmp_path / "rates.svg")
    for link in ("vf_1_fwd1->vhost_0", "vhost_0->vm_spp_vm1_ens4"):
        assert re.search(r"\d pps", drawn.edge_text[link]), drawn.edge_text


def test_live_page_shows_seed_22_its_vhost_rates_and_redraws_without_reload_after_stop(
        seed22: UseCase) -> None:
    pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing (Debian package chromium)")
    with live_page(f"http://{CTL}/topo") as page, Pinger(REMOTE, "198.18.0.11",
                                                         PING_INTERVAL_S):
        page.wait_nodes(SEED22_NODES)
        assert VM_CLUSTERS <= page.clusters()
        # the rates table: vm1's NIC0 port carries the ping both ways
        page.wait_port_rate("vhost:0")
        page.mark_loaded()
        Shell([CTL], out=lambda s: None).run_line("vf 1; component stop fwd1")
        page.wait_gone("vf_1_fwd1")
        shown = page.nodes()
        assert page.same_document()  # redrawn in place, not reloaded
    assert SEED22_NODES - {"vf_1_fwd1"} <= shown, SEED22_NODES - shown
