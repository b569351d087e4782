"""Reading what `topo` drew: node, edge and cluster names of a graphviz SVG, and the
live page (`/topo`) driven in Debian's headless Chromium through playwright.

playwright is a test dependency: it is imported only when a page is opened.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SVG_NS = "{http://www.w3.org/2000/svg}"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync")
# the node names (graphviz <title>s) of the drawing the page shows now
_PAGE_NODES_JS = ("Array.from(document.querySelectorAll('#graph svg g.node > title'))"
                  ".map(t => t.textContent)")
_PAGE_CLUSTERS_JS = _PAGE_NODES_JS.replace("g.node", "g.cluster")


@dataclass
class SvgNames:
    """The graphviz names in an SVG: node ids, edges as `src->dst`, cluster names, and
    the text drawn on each edge (its label, e.g. a rate)."""

    nodes: set[str]
    edges: set[str]
    clusters: set[str]
    edge_text: dict[str, str]


def svg_names(svg: Path | str) -> SvgNames:
    """The names of an SVG file (Path) or SVG text (str) that `dot` drew."""
    root = ET.parse(svg).getroot() if isinstance(svg, Path) else ET.fromstring(svg)
    found: dict[str, set[str]] = {"node": set(), "edge": set(), "cluster": set()}
    edge_text = {}
    for g in root.iter(f"{SVG_NS}g"):
        title = g.find(f"{SVG_NS}title")
        kind = g.get("class")
        # graphviz writes `->` as `&#45;&gt;`; ElementTree has decoded it already
        if title is None or not title.text or kind not in found:
            continue
        found[kind].add(title.text)
        if kind == "edge":
            edge_text[title.text] = " ".join(t.text or "" for t in g.iter(f"{SVG_NS}text"))
    return SvgNames(found["node"], found["edge"], found["cluster"], edge_text)


class LivePage:
    """One open `/topo` page: what it shows, waits for changes, and whether it is still
    the document first loaded (a reload would lose `window.sppLoadedOnce`)."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def nodes(self) -> set[str]:
        return set(self.page.evaluate(_PAGE_NODES_JS))

    def clusters(self) -> set[str]:
        """The cluster names (`cluster_vm_spp_vm1`, ...) of the drawing shown now."""
        return set(self.page.evaluate(_PAGE_CLUSTERS_JS))

    def wait_nodes(self, want: set[str], timeout_s: float = 30.0) -> None:
        """Until every name of `want` is a node of the drawing (playwright's TimeoutError
        otherwise)."""
        self.page.wait_for_function(f"(want) => want.every(n => {_PAGE_NODES_JS}.includes(n))",
                                    arg=sorted(want), timeout=timeout_s * 1000)

    def wait_gone(self, name: str, timeout_s: float = 30.0) -> None:
        """Until the drawing has no node `name`."""
        self.page.wait_for_function(f"(name) => !{_PAGE_NODES_JS}.includes(name)",
                                    arg=name, timeout=timeout_s * 1000)

    def wait_port_rate(self, port: str, timeout_s: float = 30.0) -> None:
        """Until the rates table shows `port` (`vhost:0`) with a non-zero rx and tx."""
        self.page.wait_for_function(
            "(port) => Array.from(document.querySelectorAll('#rates tbody tr'))"
            ".some(tr => { const td = Array.from(tr.cells).map(c => c.textContent);"
            " return td[0] === port && /[1-9]/.test(td[2]) && /[1-9]/.test(td[3]); })",
            arg=port, timeout=timeout_s * 1000)

    def mark_loaded(self) -> None:
        self.page.evaluate("window.sppLoadedOnce = true")

    def same_document(self) -> bool:
        return self.page.evaluate("window.sppLoadedOnce === true") is True


@contextmanager
def live_page(url: str) -> Iterator[LivePage]:
    """`url` opened in headless Chromium; the browser is closed on the way out."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page()
            page.goto(url)
            yield LivePage(page)
        finally:
            browser.close()
