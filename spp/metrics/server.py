"""HTTP endpoint for the exporter: `/metrics` on 127.0.0.1:9877 by default."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from spp.metrics.collector import SppCollector
from spp.metrics.reader import DEFAULT_CTL_URL, DEFAULT_TIMEOUT

DEFAULT_PORT = 9877
DEFAULT_ADDR = "127.0.0.1"


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class MetricsServer:
    server: WSGIServer
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
    httpd = make_server(
        addr,
        port,
        make_wsgi_app(registry),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="spp-metrics", daemon=True
    )
    thread.start()
    return MetricsServer(httpd, thread, registry)


def serve(
    port: int = DEFAULT_PORT,
    addr: str = DEFAULT_ADDR,
    ctl_url: str = DEFAULT_CTL_URL,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Serve /metrics until interrupted (Ctrl-C / SIGINT)."""
    srv = start_server(port, addr, ctl_url, timeout)
    print(f"spp metrics: http://{addr}:{srv.port}/metrics (controller {ctl_url})", flush=True)
    try:
        srv.thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
