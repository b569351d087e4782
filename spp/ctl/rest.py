"""REST API v1 (aiohttp): upstream spp-ctl's table plus primary patch/forward.

Described in OpenAPI 3 by spp/ctl/openapi.yaml, served at /v1/openapi.json
and /v1/openapi.yaml. Status codes and plain-text bodies as upstream sends
them, plus the cases upstream left to chance:

- 200 JSON, 204 empty;
- 400 `key(X) required.`, `invalid key(X): V.`, `Not in json format.`, or
  `command error: <reason>` when the process refused the command;
- 404 `sec_id N not found.`, `primary not found.`, the process's reason for a
  missing component, `Not found: '<path>'` for any other path (also ids that
  are not ASCII digits);
- 405 `Method not allowed.`;
- 413 a body over 64 KiB (16 MiB for a classifier_table batch) or a request
  too large for the controller link;
- 502 the process left before answering, 503 it was too busy to be sent the
  command (no effect), 504 it did not answer in time (outcome unknown; the
  controller reads its state back).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import cache
from importlib import resources as pkg
from typing import Any

import yaml
from aiohttp import web

from spp.ctl import guard, topo_page
from spp.ctl import validate as v
from spp.ctl.conn import DEFAULT_TIMEOUT, ProcConn
from spp.ctl.cpu import cpu_layout
from spp.ctl.registry import Registry
from spp.ctl.saved import Saved, proc_key
from spp.errors import NotFound, Refused, SppError, TooLarge
from spp.httppolicy import HttpPolicy
from spp.kinds import SECONDARY_KINDS
from spp.resources import is_ascii_id

log = logging.getLogger("spp.ctl")

REG = web.AppKey("registry", Registry)
TIMEOUT = web.AppKey("timeout", float)
SAVED = web.AppKey("saved", Saved)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _text(status: int, reason: str, **headers: str) -> web.Response:
    return web.Response(status=status, text=reason, headers=headers or None)


def _not_found_path(request: web.Request) -> NotFound:
    path = request.path if len(request.path) <= 200 else request.path[:197] + "..."
    return NotFound(f"Not found: {path!r}")


def answer(exc: SppError) -> web.Response:
    """The one place where an error becomes a REST answer (docs/errors.md).

    The status is the error class's code; a command a process refused keeps
    upstream's `command error: ` prefix, except a process's 404.
    """
    text = exc.reason
    if exc.source is not None and not isinstance(exc, NotFound):
        text = f"command error: {text}"
    return _text(exc.code, text)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a plain-text answer; nothing escapes as a traceback."""
    try:
        return await handler(request)
    except SppError as exc:
        return answer(exc)
    except web.HTTPNotFound:
        return _text(404, str(_not_found_path(request)))
    except web.HTTPMethodNotAllowed as exc:
        return _text(405, "Method not allowed.", Allow=",".join(sorted(exc.allowed_methods)))
    except web.HTTPRequestEntityTooLarge:
        return _text(413, f"request body too large (at most {v.MAX_BODY} bytes).")
    except web.HTTPException:
        raise
    except Exception:  # a bug: one line to the caller, the traceback to our log
        log.exception("%s %s failed", request.method, request.path[:200])
        return _text(500, "Internal Server Error")


def _primary(request: web.Request) -> ProcConn:
    conn = request.app[REG].primary
    if conn is None or conn.closed.is_set():
        raise NotFound("primary not found.")
    return conn


def _secondary(request: web.Request, kind: str) -> ProcConn:
    """The `kind` (vf, nfv) process of the path's sec_id: ASCII digits only (else the
    path does not exist)."""
    raw = request.match_info["sec_id"]
    if not is_ascii_id(raw):
        raise _not_found_path(request)
    conn = request.app[REG].secondaries(kind).get(int(raw))
    if conn is None or conn.closed.is_set():
        raise NotFound(f"sec_id {int(raw)} not found.")
    return conn


async def _body(request: web.Request) -> dict[str, Any]:
    return v.parse_json(await request.read())


async def _call(request: web.Request, conn: ProcConn, cmd: str, args: Any = None) -> Any:
    """Relay one command, after a restore in progress; record what was acknowledged."""
    saved, key, args = request.app[SAVED], proc_key(conn.kind, conn.client_id), args or {}
    await saved.gate(key)
    if saved.unchanged(key, cmd, args):
        return None
    result = await conn.request(cmd, args, timeout=request.app[TIMEOUT])
    saved.acknowledged(key, conn.kind, cmd, args)
    return result


async def _status(request: web.Request, conn: ProcConn) -> Any:
    """A process's status, with `restored` when its configuration came back."""
    st = await _call(request, conn, "status")
    return request.app[SAVED].annotate(proc_key(conn.kind, conn.client_id), st)


def _no_content() -> web.Response:
    return web.Response(status=204)


routes = web.RouteTableDef()


@cache
def openapi_text() -> str:
    return pkg.files("spp.ctl").joinpath("openapi.yaml").read_text()


@cache
def openapi() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(openapi_text())
    return spec


@routes.get("/v1/openapi.json")
async def get_openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi())


@routes.get("/v1/openapi.yaml")
async def get_openapi_yaml(request: web.Request) -> web.Response:
    return web.Response(text=openapi_text(), content_type="application/yaml")


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
    conns = ([reg.primary] if reg.primary else []) + [reg.vfs[k] for k in sorted(reg.vfs)] \
        + [reg.nfvs[k] for k in sorted(reg.nfvs)] + [reg.mirrors[k] for k in sorted(reg.mirrors)] \
        + [reg.pcaps[k] for k in sorted(reg.pcaps)]
    for conn in conns:
        try:
            st = await _call(request, conn, "status")
        except SppError as exc:
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
    if conn.kind == "nfv":
        lcores = [c for c in st.get("lcores", []) if isinstance(c, int)]
        return {"proc-type": "nfv", "client-id": conn.client_id, "master-lcore": master,
                "lcores": lcores, **cpu_cycles(st)}
    workers = st.get("worker-lcores")
    if workers is None:
        comps = st.get("core", []) if conn.kind == "pcap" else st.get("components", [])
        workers = [c["core"] for c in comps if "core" in c]
    lcores = sorted({*([master] if isinstance(master, int) else []), *workers})
    return {
        "proc-type": conn.kind if conn.kind in ("mirror", "pcap") else "vf",
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


# ---- routes that relay one command ---------------------------------------

ConnOf = Callable[[web.Request], ProcConn]
Command = Callable[[web.Request], Awaitable[tuple[str, Any]]]


def _relay(conn_of: ConnOf, command: Command) -> Handler:
    """A handler that finds its process, relays one command to it and answers 204.

    The process is looked up first (its 404 comes before the body is read);
    `command` then gives the command and its args from the request.
    """
    async def handler(request: web.Request) -> web.StreamResponse:
        conn = conn_of(request)
        cmd, args = await command(request)
        await _call(request, conn, cmd, args)
        return _no_content()
    return handler


def _status_of(conn_of: ConnOf) -> Handler:
    """A handler that answers the process's status as JSON."""
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(await _status(request, conn_of(request)))
    return handler


def _fixed(cmd: str) -> Command:
    """The command `cmd` without args."""
    async def command(request: web.Request) -> tuple[str, Any]:
        return cmd, None
    return command


def _body_args(cmd: str, check: Callable[[dict[str, Any]], Any]) -> Command:
    """The command `cmd` with the checked JSON body as its args."""
    async def command(request: web.Request) -> tuple[str, Any]:
        return cmd, check(await _body(request))
    return command


def _body_cmd(check: Callable[[dict[str, Any]], str]) -> Command:
    """The command the checked JSON body names (e.g. `forward` or `stop`), without args."""
    async def command(request: web.Request) -> tuple[str, Any]:
        return check(await _body(request)), None
    return command


# ---- primary -------------------------------------------------------------

routes.get("/v1/primary/status")(_status_of(_primary))
routes.delete("/v1/primary/status")(_relay(_primary, _fixed("clear")))
routes.put("/v1/primary/ports")(_relay(_primary, _body_args("ports", v.primary_ports)))
routes.put("/v1/primary/launch")(_relay(_primary, _body_args("launch", v.launch)))
routes.put("/v1/primary/patches")(_relay(_primary, _body_args("patch", v.patches)))
routes.delete("/v1/primary/patches")(_relay(_primary, _fixed("patch_reset")))
routes.put("/v1/primary/forward")(_relay(_primary, _body_cmd(v.forward)))
routes.put("/v1/primary/xdp_offload")(_relay(_primary,
                                             _body_args("xdp_offload", v.xdp_offload)))
routes.delete("/v1/primary")(_relay(_primary, _fixed("exit")))


# ---- secondaries -----------------------------------------------------------

def _component_name(request: web.Request) -> str:
    raw = request.match_info["name"]
    name = v.component_name(raw)
    if name is None:  # no component can have such a name
        raise NotFound(f"component '{v.shown(raw)}' not found.")
    return name


def _component_start(types: tuple[str, ...]) -> Command:
    """`component_start` with the body checked against the component `types`."""
    async def command(request: web.Request) -> tuple[str, Any]:
        return "component_start", v.component_start(await _body(request), types)
    return command


async def _component_stop(request: web.Request) -> tuple[str, Any]:
    return "component_stop", {"name": _component_name(request)}


async def _component_port(request: web.Request) -> tuple[str, Any]:
    name = _component_name(request)
    return "port", v.component_port(await _body(request), name)


async def _nfv_ports(request: web.Request) -> tuple[str, Any]:
    return v.nfv_ports(await _body(request))  # `add` or `del`


async def _classifier_table(request: web.Request) -> tuple[str, Any]:
    """One entry (an object, as upstream), or a list of them applied as one transaction."""
    try:
        raw = await request.clone(client_max_size=v.MAX_TABLE_BODY).read()
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge(f"request body too large (at most {v.MAX_TABLE_BODY} bytes).") from None
    body = v.parse_any_json(raw)
    if isinstance(body, list):
        return "classifier_table_batch", v.classifier_table_batch(body)
    if isinstance(body, dict):
        return "classifier_table", v.classifier_table(body)
    raise Refused("Not in json format.")


# the component types of the secondaries built of spp_vf's components (saved="components")
_COMPONENT_TYPES = {"vf": v.VF_TYPES, "mirror": v.MIRROR_TYPES}

# each secondary's own routes below /v1/REST/N, after GET (status) and DELETE (exit)
_OWN_ROUTES: dict[str, list[tuple[str, str, Command]]] = {
    "vf": [("PUT", "classifier_table", _classifier_table)],
    "nfv": [("PUT", "forward", _body_cmd(v.forward)),
            ("PUT", "ports", _nfv_ports),
            ("PUT", "patches", _body_args("patch", v.nfv_patches)),
            ("DELETE", "patches", _fixed("patch_reset"))],
    "pcap": [("PUT", "capture", _body_cmd(v.pcap_capture))],
}


def _add_secondary_routes(kind: str, rest: str) -> None:
    """The routes of one secondary type: /v1/REST/{sec_id}[/...]."""
    def conn_of(request: web.Request) -> ProcConn:
        return _secondary(request, kind)

    base = f"/v1/{rest}/{{sec_id}}"
    routes.get(base)(_status_of(conn_of))
    routes.delete(base)(_relay(conn_of, _fixed("exit")))
    types = _COMPONENT_TYPES.get(kind)
    if types is not None:
        routes.post(f"{base}/components")(_relay(conn_of, _component_start(types)))
        routes.delete(f"{base}/components/{{name}}")(_relay(conn_of, _component_stop))
        routes.put(f"{base}/components/{{name}}/ports")(_relay(conn_of, _component_port))
    for method, tail, command in _OWN_ROUTES.get(kind, []):
        routes.route(method, f"{base}/{tail}")(_relay(conn_of, command))


# REST collection -> secondary type: the kinds table's, and pcaps (upstream's /v1/pcaps)
for _rest, _kind in ({k.rest: k.name for k in SECONDARY_KINDS.values()}
                     | {"pcaps": "pcap"}).items():
    _add_secondary_routes(_kind, _rest)


def make_app(reg: Registry, timeout: float = DEFAULT_TIMEOUT, policy: HttpPolicy | None = None,
             listening: guard.Listening | None = None,
             saved: Saved | None = None) -> web.Application:
    """The REST application; every route is behind spp.ctl.guard (default: loopback only)."""
    app = web.Application(middlewares=[errors], client_max_size=v.MAX_BODY)
    guard.install(app, policy or HttpPolicy.make("127.0.0.1"), listening or guard.Listening())
    app[REG] = reg
    app[TIMEOUT] = timeout
    app[SAVED] = saved if saved is not None else reg.saved
    app.add_routes(routes)
    topo_page.add_routes(app, lambda: reg.controller_addr)
    return app


