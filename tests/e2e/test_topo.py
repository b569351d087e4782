"""`spp topo` and the live page on the real stack running seed 2.1 (classify ICMP):
the SVG names every component, ring, phy port and link; the page, opened in Debian's
headless Chromium, shows the same nodes and redraws after `vf 1; component stop`."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from classify_icmp import MAC1, REMOTE0, classify_icmp_config

from spp.cli.shell import Shell
from spp.testkit import frames
from spp.testkit.capture import send_frames
from spp.testkit.stack import SPP, Stack
from spp.testkit.topopage import CHROMIUM, live_page, svg_names

pytestmark = pytest.mark.e2e

SEED21_NODES = {"proc_primary", "proc_vf_1", "vf_1_cls", "vf_1_fwd1", "vf_1_fwd2",
                "vf_1_mgr", "ring_0", "ring_1", "ring_2", "ring_3", "phy_0", "phy_1",
                "netdev_spp_p0", "netdev_spp_p1"}
SEED21_EDGES = {"phy_0->vf_1_cls", "vf_1_cls->ring_0", "vf_1_cls->ring_1",
                "ring_0->vf_1_fwd1", "vf_1_fwd1->ring_2", "ring_1->vf_1_fwd2",
                "vf_1_fwd2->ring_3", "ring_2->vf_1_mgr", "ring_3->vf_1_mgr",
                "vf_1_mgr->phy_1"}


@pytest.fixture
def seed21(stack: Stack) -> Iterator[Stack]:
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1")
    stack.start_vf(1, "2-6")
    classify_icmp_config(stack)
    yield stack


def test_spp_topo_svg_of_seed_21_draws_components_rings_phys_and_links(
        seed21: Stack, tmp_path: Path) -> None:
    out = tmp_path / "t.svg"
    res = subprocess.run([*SPP, "topo", "-o", str(out)], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "SPP_CTL": f"127.0.0.1:{seed21.api}"})
    assert res.returncode == 0, res.stderr
    drawn = svg_names(out)
    assert SEED21_NODES <= drawn.nodes
    assert SEED21_EDGES <= drawn.edges


def test_spp_topo_rates_show_the_flow_on_its_links(seed21: Stack) -> None:
    stop = threading.Event()

    def stream() -> None:
        seq = 0
        while not stop.is_set():
            send_frames("spp-remote", "r-eth0", [frames.icmp_echo_frame(
                MAC1, REMOTE0, "198.18.0.1", "198.18.0.11", seq=seq + i) for i in range(20)])
            seq += 20
            time.sleep(0.05)

    sender = threading.Thread(target=stream, daemon=True)
    sender.start()
    try:
        res = subprocess.run([*SPP, "topo", "--rates", "--interval", "2", "-f", "json"],
                             capture_output=True, text=True, timeout=60,
                             env={**os.environ, "SPP_CTL": f"127.0.0.1:{seed21.api}"})
    finally:
        stop.set()
        sender.join(10)
    assert res.returncode == 0, res.stderr
    rate = {f"{e['src']}->{e['dst']}": e["rate"] for e in json.loads(res.stdout)["edges"]}
    assert rate["phy_0->vf_1_cls"] > 0
    # MAC1's path carries the stream; MAC2's only what the kernel may broadcast
    assert rate["vf_1_cls->ring_0"] > rate["vf_1_cls->ring_1"]
    assert rate["vf_1_fwd1->ring_2"] > 0 and rate["vf_1_mgr->phy_1"] > 0


def test_live_page_shows_seed_21_and_redraws_after_component_stop(seed21: Stack) -> None:
    pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    with live_page(f"http://127.0.0.1:{seed21.api}/topo") as page:
        page.wait_nodes(SEED21_NODES)
        page.mark_loaded()
        Shell([f"127.0.0.1:{seed21.api}"], out=lambda s: None).run_line(
            "vf 1; component stop mgr")
        page.wait_gone("vf_1_mgr")
        shown = page.nodes()
        assert page.same_document()  # redrawn in place, not reloaded
    assert SEED21_NODES - {"vf_1_mgr"} <= shown
