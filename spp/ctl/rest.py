"""REST API v1 (aiohttp): the upstream spp-ctl table plus primary patch/forward.

Status codes: 200 JSON, 204 empty; 400 bad body/value or refused by the
process (body = its reason); 404 no such process; 502 the process did not
answer within the request timeout or left while we waited.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from spp.ctl import validate as v
from spp.ctl.conn import DEFAULT_TIMEOUT, ProcConn, ProcError, ProcUnavailable
from spp.ctl.cpu import cpu_layout
from spp.ctl.registry import Registry

log = logging.getLogger("spp.ctl")

REG = web.AppKey("registry", Registry)
TIMEOUT = web.AppKey("timeout", float)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _text(status: int, reason: str) -> web.Response:
    return web.Response(status=status, text=reason)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except v.BadRequest as exc:
        return _text(400, exc.reason)
    except ProcError as exc:
        return _text(400, exc.reason)
    except ProcUnavailable as exc:
        return _text(502, str(exc))
    except NotFound as exc:
        return _text(404, str(exc))


class NotFound(Exception):
    pass


def _primary(request: web.Request) -> ProcConn:
    conn = request.app[REG].primary
    if conn is None or conn.closed.is_set():
        raise NotFound("primary not exist.")
    return conn


def _vf(request: web.Request) -> ProcConn:
    raw = request.match_info["sec_id"]
    conn = None
    if raw.isdigit():
        conn = request.app[REG].vfs.get(int(raw))
    if conn is None or conn.closed.is_set():
        raise NotFound(f"sec_id {raw} not found.")
    return conn


async def _body(request: web.Request) -> dict[str, Any]:
    return v.parse_json(await request.read())


async def _call(request: web.Request, conn: ProcConn, cmd: str, args: Any = None) -> Any:
    return await conn.request(cmd, args or {}, timeout=request.app[TIMEOUT])


def _no_content() -> web.Response:
    return web.Response(status=204)


routes = web.RouteTableDef()


@routes.get("/v1/processes")
async def get_processes(request: web.Request) -> web.Response:
    return web.json_response(request.app[REG].processes())


@routes.get("/v1/cpu_layout")
async def get_cpu_layout(request: web.Request) -> web.Response:
    return web.json_response(cpu_layout())


@routes.get("/v1/cpu_usage")
async def get_cpu_usage(request: web.Request) -> web.Response:
    reg = request.app[REG]
    out: list[dict[str, Any]] = []
    conns = ([reg.primary] if reg.primary else []) + [reg.vfs[k] for k in sorted(reg.vfs)]
    for conn in conns:
        try:
            st = await _call(request, conn, "status")
        except (ProcError, ProcUnavailable) as exc:
            log.warning("cpu_usage: %s: %s", conn.label, exc)
            continue
        out.append(cpu_usage_entry(conn, st if isinstance(st, dict) else {}))
    return web.json_response(out)


def cpu_usage_entry(conn: ProcConn, st: dict[str, Any]) -> dict[str, Any]:
    if conn.kind == "primary":
        lcores = [c for c in st.get("lcores", []) if isinstance(c, int)]
        master = st.get("master-lcore", lcores[0] if lcores else None)
        return {"proc-type": "primary", "master-lcore": master, "lcores": lcores,
                **cpu_cycles(st)}
    master = st.get("master-lcore")
    workers = st.get("worker-lcores")
    if workers is None:
        workers = [c["core"] for c in st.get("components", []) if "core" in c]
    lcores = sorted({*([master] if isinstance(master, int) else []), *workers})
    return {
        "proc-type": "vf",
        "client-id": conn.client_id,
        "master-lcore": master,
        "lcores": lcores,
        **cpu_cycles(st),
    }


def cpu_cycles(st: dict[str, Any]) -> dict[str, Any]:
    """Cycle accounting of a process status, when it reports it (extension of upstream's
    shape): `tsc_hz`, `lcore_cycles` [{lcore, busy, idle, packets}] of its worker lcores,
    and for spp_vf `components` [{name, core, type, busy, packets, cycles_per_packet}]."""
    out: dict[str, Any] = {}
    if isinstance(st.get("tsc_hz"), int):
        out["tsc_hz"] = st["tsc_hz"]
    if isinstance(st.get("lcore_cycles"), list):
        out["lcore_cycles"] = st["lcore_cycles"]
    comps = []
    for c in st.get("components", []):
        cyc = c.get("cycles") if isinstance(c, dict) else None
        if isinstance(cyc, dict) and "name" in c:
            comps.append({"name": c["name"], "core": c.get("core"), "type": c.get("type"),
                          "busy": cyc.get("busy"), "packets": cyc.get("packets"),
                          "cycles_per_packet": cyc.get("per_packet")})
    if comps:
        out["components"] = comps
    return out


# ---- primary -------------------------------------------------------------


@routes.get("/v1/primary/status")
async def get_primary_status(request: web.Request) -> web.Response:
    return web.json_response(await _call(request, _primary(request), "status"))


@routes.delete("/v1/primary/status")
async def clear_primary_status(request: web.Request) -> web.Response:
    await _call(request, _primary(request), "clear")
    return _no_content()


@routes.put("/v1/primary/ports")
async def put_primary_ports(request: web.Request) -> web.Response:
    conn = _primary(request)
    args = v.primary_ports(await _body(request))
    await _call(request, conn, "ports", {"action": args["action"], "port": args["port"]})
    return _no_content()


@routes.put("/v1/primary/launch")
async def put_primary_launch(request: web.Request) -> web.Response:
    conn = _primary(request)
    await _call(request, conn, "launch", v.launch(await _body(request)))
    return _no_content()


@routes.put("/v1/primary/patches")
async def put_primary_patches(request: web.Request) -> web.Response:
    conn = _primary(request)
    await _call(request, conn, "patch", v.patches(await _body(request)))
    return _no_content()


@routes.delete("/v1/primary/patches")
async def delete_primary_patches(request: web.Request) -> web.Response:
    await _call(request, _primary(request), "patch_reset")
    return _no_content()


@routes.put("/v1/primary/forward")
async def put_primary_forward(request: web.Request) -> web.Response:
    conn = _primary(request)
    cmd = v.forward(await _body(request))
    await _call(request, conn, cmd)
    return _no_content()


@routes.delete("/v1/primary")
async def delete_primary(request: web.Request) -> web.Response:
    await _call(request, _primary(request), "exit")
    return _no_content()


# ---- vf ------------------------------------------------------------------


@routes.get("/v1/vfs/{sec_id}")
async def get_vf(request: web.Request) -> web.Response:
    return web.json_response(await _call(request, _vf(request), "status"))


@routes.delete("/v1/vfs/{sec_id}")
async def delete_vf(request: web.Request) -> web.Response:
    await _call(request, _vf(request), "exit")
    return _no_content()


@routes.post("/v1/vfs/{sec_id}/components")
async def post_component(request: web.Request) -> web.Response:
    conn = _vf(request)
    await _call(request, conn, "component_start", v.component_start(await _body(request)))
    return _no_content()


async def _require_component(request: web.Request, conn: ProcConn) -> str:
    """404 when the vf has no component of that name (spec: no such component)."""
    name = request.match_info["name"]
    st = await _call(request, conn, "status")
    names = [c.get("name") for c in (st or {}).get("components", []) if isinstance(c, dict)]
    if name not in names:
        raise NotFound(f"component {name} not found.")
    return name


@routes.delete("/v1/vfs/{sec_id}/components/{name}")
async def delete_component(request: web.Request) -> web.Response:
    conn = _vf(request)
    await _require_component(request, conn)
    await _call(request, conn, "component_stop", {"name": request.match_info["name"]})
    return _no_content()


@routes.put("/v1/vfs/{sec_id}/components/{name}/ports")
async def put_component_ports(request: web.Request) -> web.Response:
    conn = _vf(request)
    body = await _body(request)
    args = v.component_port(body, await _require_component(request, conn))
    await _call(request, conn, "port", args)
    return _no_content()


@routes.put("/v1/vfs/{sec_id}/classifier_table")
async def put_classifier_table(request: web.Request) -> web.Response:
    conn = _vf(request)
    await _call(request, conn, "classifier_table", v.classifier_table(await _body(request)))
    return _no_content()


def make_app(reg: Registry, timeout: float = DEFAULT_TIMEOUT) -> web.Application:
    app = web.Application(middlewares=[errors])
    app[REG] = reg
    app[TIMEOUT] = timeout
    app.add_routes(routes)
    return app
