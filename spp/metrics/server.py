"""HTTP endpoint for the exporter: `/metrics` on spp.defaults.METRICS_PORT of 127.0.0.1 by default.

prometheus-client's WSGI application serves a registry that holds only the SPP
collector, behind the same Host and Origin rule as the controller
(spp.httppolicy): its bind address, `localhost` and `--allow-host` names.

The exporter is a process of its own rather than a route of `spp ctl`: it reports
`spp_up{process="ctl"} 0` when the controller is down or wedged (a controller cannot
say that about itself), a slow scrape never competes with control commands in the
controller's event loop, it can watch a controller on another host, and the
controller's REST API stays upstream's. `spp up` starts it, `spp down` stops it.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from socketserver import ThreadingMixIn
from types import FrameType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from spp import rundir
from spp.defaults import LOCALHOST, METRICS_PORT
from spp.httppolicy import HttpPolicy
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


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def guarded(app: WsgiApp, policy: HttpPolicy) -> WsgiApp:
    """`app` behind spp.httppolicy: a refused request gets its status and one-line reason."""

    def wrapper(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = {name: environ[key] for name, key in (
            ("Host", "HTTP_HOST"), ("Origin", "HTTP_ORIGIN"),
            ("Authorization", "HTTP_AUTHORIZATION"), ("Content-Type", "CONTENT_TYPE"))
            if environ.get(key)}
        length = environ.get("CONTENT_LENGTH") or "0"
        has_body = length not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ
        refusal = policy.check(environ.get("REQUEST_METHOD", "GET"), headers, has_body)
        if refusal is None:
            return app(environ, start_response)
        body = refusal.reason.encode() + b"\n"
        start_response(f"{refusal.status} Refused", [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]

    return wrapper


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def get_environ(self) -> dict[str, Any]:
        env = dict(super().get_environ())
        if self.headers.get("Content-Type") is None:  # wsgiref fills in text/plain
            env.pop("CONTENT_TYPE", None)
        return env

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _family(addr: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def start_server(
    port: int = DEFAULT_PORT,
    addr: str = DEFAULT_ADDR,
    ctl_url: str = DEFAULT_CTL_URL,
    timeout: float = DEFAULT_TIMEOUT,
    allow_hosts: Iterable[str] = (),
) -> MetricsServer:
    """Serve /metrics from a daemon thread; `port=0` picks a free port."""
    registry = make_registry(ctl_url, timeout)
    app = guarded(make_wsgi_app(registry), HttpPolicy.make(addr, allow_hosts))

    class Server(_Server):
        address_family = _family(addr)

    server = make_server(addr.strip("[]"), port, app, Server, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return MetricsServer(server, thread, registry)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(
    port: int = DEFAULT_PORT,
    addr: str = DEFAULT_ADDR,
    ctl_url: str = DEFAULT_CTL_URL,
    timeout: float = DEFAULT_TIMEOUT,
    pid_file: Path | None = None,
    allow_hosts: Iterable[str] = (),
) -> None:
    """Serve /metrics until interrupted (Ctrl-C, SIGINT or SIGTERM)."""
    srv = start_server(port, addr, ctl_url, timeout, allow_hosts)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    print(f"spp metrics: http://{addr}:{srv.port}/metrics (controller {ctl_url})", flush=True)
    try:
        with rundir.pid_file(pid_file):
            srv.thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
