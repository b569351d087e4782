"""grafana/: the generated dashboards are committed as generated, load, and every query
names metrics and labels the exporter defines. (Their queries run against a real
Prometheus in tests/e2e/test_observability.py.)"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from spp.metrics import METRIC_NAMES
from spp.metrics.dashboards import DASHBOARDS, all_queries, render
from spp.metrics.families import SPECS

GRAFANA = Path(__file__).resolve().parents[2] / "grafana"
METRIC_RE = re.compile(r"\b(spp_[a-zA-Z0-9_:]*)")
LABEL_MATCHER_RE = re.compile(r"(spp_[a-zA-Z0-9_]+)\s*\{([^}]*)\}")
LABEL_NAME_RE = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUP_RE = re.compile(r"\b(?:by|without|on|group_left|group_right)\s*\(([^)]*)\)")


def load(name: str) -> dict[str, Any]:
    doc = json.loads((GRAFANA / "dashboards" / name).read_text())
    assert isinstance(doc, dict)
    return doc


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))


def queries(doc: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in all_panels(doc["panels"]) for t in p.get("targets", [])]
    for var in doc.get("templating", {}).get("list", []):
        q = var.get("query")
        exprs.append(q["query"] if isinstance(q, dict) else str(q or ""))
    return exprs


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_committed_json_is_what_the_generator_writes(name: str) -> None:
    path = GRAFANA / "dashboards" / name
    assert path.read_text() == render(name), \
        f"{path} is stale: run `spp metrics dashboards` (make dashboards)"


def test_no_stray_dashboard_files() -> None:
    assert {p.name for p in (GRAFANA / "dashboards").glob("*.json")} == set(DASHBOARDS)


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_loads(name: str) -> None:
    doc = load(name)
    assert doc["uid"] and doc["title"]
    ids = [p["id"] for p in all_panels(doc["panels"])]
    assert len(ids) == len(set(ids))
    for p in all_panels(doc["panels"]):
        if p["type"] != "row":
            assert p.get("targets"), p["title"]
            assert all(t.get("expr") for t in p["targets"]), p["title"]


def test_uids_are_distinct() -> None:
    uids = [load(n)["uid"] for n in DASHBOARDS]
    assert len(uids) == len(set(uids))


def test_dashboards_have_the_panels_the_issue_asks_for() -> None:
    titles = {p["title"] for n in DASHBOARDS for p in all_panels(load(n)["panels"])}
    for want in (
        "Process up",
        "Phy rx / tx pps",
        "Secondary port rx / tx pps (vf, mirror, nfv)",
        "Component rx / tx pps",
        "Component drops by reason",
        "Device drops (imissed, rx_nombuf, errors)",
        "AF_XDP socket drops",
        "Classifier outcomes",
        "Ring fill",
        "Mbuf pool in use",
        "lcore busy",
        "Component cycles per packet",
        "XDP verdict rates",
        "Classifier entries",
    ):
        assert want in titles


def test_every_query_uses_defined_metrics_and_every_metric_has_a_panel() -> None:
    used: set[str] = set()
    for name in DASHBOARDS:
        for expr in queries(load(name)):
            names = set(METRIC_RE.findall(expr))
            assert names, f"query names no spp_ metric: {expr}"
            unknown = names - METRIC_NAMES
            assert not unknown, f"{expr}: not defined by the exporter: {sorted(unknown)}"
            used |= names
    assert used == set(METRIC_NAMES), f"metrics without a panel: {METRIC_NAMES - used}"


def test_every_query_uses_defined_labels() -> None:
    labels = {s.name: set(s.labels) for s in SPECS}
    for _name, _title, expr in all_queries():
        names = set(METRIC_RE.findall(expr))
        allowed = set().union(*(labels[n] for n in names))
        used = {
            lbl
            for _, matchers in LABEL_MATCHER_RE.findall(expr)
            for lbl in LABEL_NAME_RE.findall(matchers)
        }
        for group in GROUP_RE.findall(expr):
            used |= {g.strip() for g in group.split(",") if g.strip()}
        assert used <= allowed, f"{expr}: unknown labels {sorted(used - allowed)}"


def test_rate_on_counters_only() -> None:
    for _name, _title, expr in all_queries():
        for metric in re.findall(r"(?:rate|increase)\((spp_[a-zA-Z0-9_]+)", expr):
            assert metric.endswith("_total"), expr
        for metric in METRIC_RE.findall(expr):
            if metric.endswith("_total"):
                assert f"rate({metric}" in expr or f"increase({metric}" in expr, expr


def test_datasource_provisioning_matches_dashboards() -> None:
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yaml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://localhost:9090"
    for name in DASHBOARDS:
        for p in all_panels(load(name)["panels"]):
            if p.get("datasource"):
                assert p["datasource"]["uid"] == source["uid"], p["title"]
            for t in p.get("targets", []):
                assert t["datasource"]["uid"] == source["uid"], p["title"]


def test_dashboard_provisioning() -> None:
    prov = yaml.safe_load((GRAFANA / "provisioning/dashboards/spp.yaml").read_text())
    (provider,) = prov["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"]


def test_prometheus_scrapes_exporter() -> None:
    cfg = yaml.safe_load((GRAFANA / "prometheus.yml").read_text())
    targets = [
        t for job in cfg["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]
    ]
    assert "127.0.0.1:9877" in targets
