"""The live topology page: `GET /topo` (HTML, JS, CSS served from spp/ctl/static) and
`GET /topo/events`, a websocket that pushes the graph drawn by graphviz (SVG) and
per-port rates whenever they change.

The page's data comes from the controller's own REST API (spp.topo.collect, the
same code as `spp topo`), read in a worker thread once per interval while a page
is connected; nothing is sampled when no page is open.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from functools import cache
from importlib import resources as pkg
from typing import Any

from aiohttp import WSMsgType, web

from spp.client import Client, SppError
from spp.topo.collect import snapshot
from spp.topo.model import Graph, format_rate, graph_from_status, with_rates
from spp.topo.render import RenderError, render_graphviz

log = logging.getLogger("spp.ctl")

INTERVAL_S = 1.0
STATIC = {"topo.js": "text/javascript", "topo.css": "text/css"}
RestAddr = Callable[[], str]
ADDR: web.AppKey[RestAddr] = web.AppKey("topo_addr")


@cache
def _static(name: str) -> str:
    return pkg.files("spp.ctl").joinpath("static", name).read_text()


def self_address(bind_addr: str) -> str:
    """Where this controller reaches its own REST API (`0.0.0.0:7777` -> `127.0.0.1:7777`)."""
    host, _, port = bind_addr.rpartition(":")
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "[::1]"
    return f"{host}:{port}"


async def page(request: web.Request) -> web.Response:
    return web.Response(text=_static("topo.html"), content_type="text/html")


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC:
        raise web.HTTPNotFound()
    return web.Response(text=_static(name), content_type=STATIC[name])


def port_rows(graph: Graph) -> list[dict[str, Any]]:
    rows = []
    for node in graph.nodes.values():
        if node.kind in ("phy", "ring", "vhost"):
            rows.append({"port": node.label, "detail": node.detail,
                         "rx": format_rate(node.rates["rx"]) if "rx" in node.rates else "",
                         "tx": format_rate(node.rates["tx"]) if "tx" in node.rates else ""})
    return rows


class Sampler:
    """One page's view: the previous sample (for rates) and what was last sent."""

    def __init__(self, addr: str) -> None:
        self.client = Client(addr, timeout=5.0)
        self.prev: tuple[float, Graph] | None = None
        self.sent = ""

    def next_message(self) -> str | None:
        """The next message for the page (blocking: REST requests and `dot`), or None
        when nothing changed since the last one."""
        try:
            now = time.monotonic()
            graph = graph_from_status(snapshot(self.client))
            shown = graph if self.prev is None else with_rates(graph, self.prev[1],
                                                               now - self.prev[0])
            self.prev = (now, graph)
            svg = render_graphviz(shown, "svg").decode()
            msg = json.dumps({"svg": svg, "ports": port_rows(shown),
                              "nodes": sorted(shown.nodes)})
        except (SppError, RenderError) as exc:
            msg = json.dumps({"error": getattr(exc, "reason", str(exc))})
        if msg == self.sent:
            return None
        self.sent = msg
        return msg


async def events(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(heartbeat=30.0)
    await ws.prepare(request)
    sampler = Sampler(self_address(request.app[ADDR]()))
    try:
        while not ws.closed:
            msg = await asyncio.to_thread(sampler.next_message)
            if msg is not None:
                await ws.send_str(msg)
            try:
                got = await ws.receive(timeout=INTERVAL_S)
            except TimeoutError:
                continue
            if got.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED,
                            WSMsgType.ERROR):
                break
    except ConnectionError:
        pass
    except Exception:  # a bug: log it, close this page's link, keep the controller going
        log.exception("topo page events failed")
    finally:
        await ws.close()
    return ws


def add_routes(app: web.Application, rest_addr: RestAddr) -> None:
    """Register the page, its assets and its websocket on the controller's app;
    `rest_addr()` is the controller's REST address once it listens."""
    app[ADDR] = rest_addr
    app.router.add_get("/topo", page)
    app.router.add_get("/topo/static/{name}", asset)
    app.router.add_get("/topo/events", events)
