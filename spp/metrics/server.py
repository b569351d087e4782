"""HTTP endpoint for the exporter: `/metrics` on spp.defaults.METRICS_PORT of 127.0.0.1 by default.

prometheus-client's own server (`start_http_server`) serves a registry that holds only
the SPP collector.

The exporter is a process of its own rather than a route of `spp ctl`: it reports
`spp_up{process="ctl"} 0` when the controller is down or wedged (a controller cannot
say that about itself), a slow scrape never competes with control commands in the
controller's event loop, it can watch a controller on another host, and the
controller's REST API stays upstream's. `spp up` starts it, `spp down` stops it.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

from spp import rundir
from spp.defaults import LOCALHOST, METRICS_PORT
from spp.metrics.collector import SppCollector
from spp.metrics.reader import DEFAULT_CTL_URL, DEFAULT_TIMEOUT

DEFAULT_PORT = METRICS_PORT
DEFAULT_ADDR = LOCALHOST


@dataclass
class MetricsServer:
    server: Any  # prometheus_client's WSGIServer
    thread: threading.Thread
    registry: CollectorRegistry

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def make_registry(
    ctl_url: str = DEFAULT_CTL_URL, timeout: float = DEFAULT_TIMEOUT
) -> CollectorRegistry:
    """A registry holding only the SPP collector (no process/platform collectors)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(SppCollector(ctl_url, timeout))
    return registry


def start_server(
    port: int = DEFAULT_PORT,
    addr: str = DEFAULT_ADDR,
    ctl_url: str = DEFAULT_CTL_URL,
    timeout: float = DEFAULT_TIMEOUT,
) -> MetricsServer:
    """Serve /metrics from a daemon thread; `port=0` picks a free port."""
    registry = make_registry(ctl_url, timeout)
    server, thread = start_http_server(port, addr, registry=registry)
    return MetricsServer(server, thread, registry)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(
    port: int = DEFAULT_PORT,
    addr: str = DEFAULT_ADDR,
    ctl_url: str = DEFAULT_CTL_URL,
    timeout: float = DEFAULT_TIMEOUT,
    pid_file: Path | None = None,
) -> None:
    """Serve /metrics until interrupted (Ctrl-C, SIGINT or SIGTERM)."""
    srv = start_server(port, addr, ctl_url, timeout)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    print(f"spp metrics: http://{addr}:{srv.port}/metrics (controller {ctl_url})", flush=True)
    try:
        with rundir.pid_file(pid_file):
            srv.thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
