"""Prometheus exporter for SPP: reads `spp ctl` REST API v1 on every scrape."""

from spp.metrics.collector import SppCollector
from spp.metrics.families import METRIC_NAMES
from spp.metrics.server import MetricsServer, make_registry, serve, start_server

__all__ = [
    "METRIC_NAMES",
    "MetricsServer",
    "SppCollector",
    "make_registry",
    "serve",
    "start_server",
]
