"""grafana/: the dashboard loads, and every query names a metric the exporter defines."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from spp.metrics import METRIC_NAMES
from spp.metrics.families import SPECS

GRAFANA = Path(__file__).resolve().parents[2] / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "spp.json"
# PromQL words that look like metric names but are not (none start with spp_ today).
METRIC_RE = re.compile(r"\b(spp_[a-zA-Z0-9_:]*)")
LABEL_MATCHER_RE = re.compile(r"(spp_[a-zA-Z0-9_]+)\s*\{([^}]*)\}")
LABEL_NAME_RE = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUP_RE = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def load_dashboard() -> dict[str, Any]:
    doc = json.loads(DASHBOARD.read_text())
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


def test_dashboard_loads() -> None:
    doc = load_dashboard()
    assert doc["uid"] and doc["title"]
    ids = [p["id"] for p in all_panels(doc["panels"])]
    assert len(ids) == len(set(ids))
    for p in all_panels(doc["panels"]):
        if p["type"] != "row":
            assert p.get("targets"), p["title"]
            assert all(t.get("expr") for t in p["targets"]), p["title"]


def test_dashboard_has_the_panels() -> None:
    titles = {p["title"] for p in all_panels(load_dashboard()["panels"])}
    for want in (
        "Process up",
        "Phy rx / tx pps",
        "Component rx / tx pps",
        "Component drops by reason",
        "Ring throughput (pps)",
        "Ring drops",
        "XDP verdict rates",
        "Classifier entries",
    ):
        assert want in titles


def test_every_query_uses_defined_metrics() -> None:
    used: set[str] = set()
    for expr in queries(load_dashboard()):
        names = set(METRIC_RE.findall(expr))
        assert names, f"query names no spp_ metric: {expr}"
        unknown = names - METRIC_NAMES
        assert not unknown, f"{expr}: not defined by the exporter: {sorted(unknown)}"
        used |= names
    assert used == set(METRIC_NAMES), f"metrics without a panel: {METRIC_NAMES - used}"


def test_every_query_uses_defined_labels() -> None:
    labels = {s.name: set(s.labels) for s in SPECS}
    for expr in queries(load_dashboard()):
        names = set(METRIC_RE.findall(expr))
        allowed = set().union(*(labels[n] for n in names))
        used = {
            lbl
            for _, matchers in LABEL_MATCHER_RE.findall(expr)
            for lbl in LABEL_NAME_RE.findall(matchers)
        }
        for group in GROUP_RE.findall(expr):
            used |= {g.strip() for g in group.split(",") if g.strip()}
        used |= set(re.findall(r"label_values\([^,]+,\s*([a-zA-Z_]+)\)", expr))
        assert used <= allowed, f"{expr}: unknown labels {sorted(used - allowed)}"


def test_rate_on_counters_only() -> None:
    for expr in queries(load_dashboard()):
        for name in re.findall(r"rate\((spp_[a-zA-Z0-9_]+)", expr):
            assert name.endswith("_total"), expr


def test_datasource_provisioning_matches_dashboard() -> None:
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yaml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://localhost:9090"
    doc = load_dashboard()
    for p in all_panels(doc["panels"]):
        if "datasource" in p:
            assert p["datasource"]["uid"] == source["uid"], p["title"]


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
