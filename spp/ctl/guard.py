"""The controller's gate and audit trail: one middleware in front of every route.

Every request, websocket handshakes included, first meets spp.httppolicy's rule;
a refused one is answered with its status and one-line reason and never reaches
a handler. Each refusal and each change (any method but GET, HEAD and OPTIONS)
that was let through is logged once to the `spp.ctl.audit` logger:

    audit result=accepted status=204 peer=127.0.0.1:40312 client="python-requests/2.31"
    method=POST resource="/v1/vfs/1/components"

and counted by result (`accepted`, `failed`, `refused_host`, `refused_origin`,
`refused_auth`, `refused_content_type`); `GET /v1/ctl` serves the counts and how
the controller listens, which the metrics exporter and `spp status` read.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from spp.httppolicy import HttpPolicy, Refusal

audit_log = logging.getLogger("spp.ctl.audit")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RESULTS = ("accepted", "failed", "refused_host", "refused_origin", "refused_auth",
           "refused_content_type")
MAX_FIELD = 200

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _quoted(value: str) -> str:
    """A header or path as one safe log token (no newline can forge another line)."""
    return json.dumps(value[:MAX_FIELD], ensure_ascii=True)


@dataclass
class Audit:
    """Counts by result and the one log line per audited request."""

    counts: Counter[str] = field(default_factory=Counter)

    def record(self, request: web.Request, status: int, result: str, reason: str = "") -> None:
        self.counts[result] += 1
        peer = request.transport.get_extra_info("peername") if request.transport else None
        addr = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else "-"
        line = (f"audit result={result} status={status} peer={addr} "
                f"client={_quoted(request.headers.get('User-Agent', ''))} "
                f"method={_quoted(request.method)[1:-1]} resource={_quoted(request.path_qs)}")
        if reason:
            line += f" reason={_quoted(reason)}"
        audit_log.info("%s", line)

    def snapshot(self) -> dict[str, int]:
        return {r: self.counts.get(r, 0) for r in RESULTS}


@dataclass
class Listening:
    """Where the controller listens, for `GET /v1/ctl` (ports filled in once bound)."""

    bind: str = "127.0.0.1"
    api_port: int = 0
    pri_port: int = 0
    sec_port: int = 0
    auth: str = "none"


POLICY = web.AppKey("policy", HttpPolicy)
AUDIT = web.AppKey("audit", Audit)
LISTENING = web.AppKey("listening", Listening)


def _refused(refusal: Refusal) -> web.Response:
    headers = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else None
    return web.Response(status=refusal.status, text=refusal.reason, headers=headers)


@web.middleware
async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse what the policy refuses; audit refusals and changes."""
    audit = request.app[AUDIT]
    refusal = request.app[POLICY].check(request.method, request.headers, request.body_exists)
    if refusal is not None:
        audit.record(request, refusal.status, refusal.result, refusal.reason)
        return _refused(refusal)
    if request.method in READ_METHODS:
        return await handler(request)
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        audit.record(request, status, "accepted" if status < 400 else "failed")


routes = web.RouteTableDef()


@routes.get("/v1/ctl")
async def get_ctl(request: web.Request) -> web.Response:
    """How the controller listens and its audit counts by result."""
    listening = request.app[LISTENING]
    return web.json_response({
        "bind": listening.bind,
        "ports": {"rest": listening.api_port, "primary": listening.pri_port,
                  "secondary": listening.sec_port},
        "auth": listening.auth,
        "audit": request.app[AUDIT].snapshot(),
    })


def install(app: web.Application, policy: HttpPolicy, listening: Listening) -> None:
    """Put the gate in front of every route of `app`, before its other middlewares."""
    app[POLICY] = policy
    app[AUDIT] = Audit()
    app[LISTENING] = listening
    app.middlewares.insert(0, gate)
    app.add_routes(routes)
