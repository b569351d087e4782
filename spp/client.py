"""The one client of the spp ctl REST API, shared by the shell and `spp` subcommands.

Requests carry JSON bodies (`Content-Type: application/json`). When the
controller runs with `--auth token` on this host, its token file in the run
directory (spp.rundir.token_path) is read before each request and sent as
`Authorization: Bearer <token>`; it is never sent to a controller on another
host.
"""

from __future__ import annotations

import socket
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import requests

from spp import rundir
from spp.defaults import API_PORT, API_URL
from spp.errors import InternalError, NotFound, SppError, Unavailable, from_code
from spp.safefile import UnsafeFile

DEFAULT_URL = API_URL
PROCESS_REFUSED = "command error: "

__all__ = ["Client", "SppError", "base_url"]


def base_url(addr: str) -> str:
    """`IP:PORT`, `host` (the default REST port) or `http://host:port` -> `http://host:port`."""
    addr = addr.strip().rstrip("/")
    if not addr.startswith(("http://", "https://")):
        addr = "http://" + addr
    if addr.endswith("/v1"):
        addr = addr[:-3]
    host = addr.split("//", 1)[1]
    if ":" not in host.rsplit("]", 1)[-1]:
        addr += f":{API_PORT}"
    return addr


@cache
def is_local_host(host: str) -> bool:
    """True when `host` names an address of this machine (it can be bound to)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    for family, kind, proto, _name, addr in infos:
        try:
            with socket.socket(family, kind, proto) as s:
                s.bind((addr[0], 0))
        except OSError:
            return False
    return bool(infos)


class Client:
    def __init__(self, addr: str = DEFAULT_URL, timeout: float = 10.0,
                 token: str | None = None) -> None:
        self.url = base_url(addr)
        self.timeout = timeout
        self.token = token

    @property
    def address(self) -> str:
        return self.url.split("//", 1)[1]

    def _auth_headers(self) -> dict[str, str]:
        """`Authorization` for a controller on this host that runs with a token."""
        token = self.token
        if token is None:
            parts = urlsplit(self.url)
            if parts.hostname is None or parts.port is None or \
                    not is_local_host(parts.hostname):
                return {}
            try:
                token = rundir.read_token(parts.port)
            except (UnsafeFile, OSError) as exc:
                raise SppError(f"cannot use the token of spp ctl at {self.address}: {exc}") \
                    from None
        return {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request; return decoded JSON (200) or None (204).

        A failure is the SppError its HTTP status stands for (spp.errors), with
        `status` set and the controller's plain-text body as reason, or
        Unavailable when the controller cannot be reached.
        """
        url = f"{self.url}/v1/{path.lstrip('/')}"
        headers = self._auth_headers()
        try:
            res = requests.request(method, url, json=body, timeout=self.timeout,
                                   headers=headers)
        except requests.RequestException as exc:
            raise Unavailable(
                f"cannot reach spp ctl at {self.address} ({type(exc).__name__})."
            ) from None
        if res.status_code >= 400:
            text = res.text.strip() or res.reason or "error"
            # upstream's prefix for a process's refusal; our messages say who refused anyway
            text = text.removeprefix(PROCESS_REFUSED)
            raise from_code(res.status_code, text)
        if res.status_code == 204 or not res.content:
            return None
        try:
            return res.json()
        except ValueError:
            raise InternalError(f"spp ctl sent a non-JSON answer to {method} {path}.") from None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    # -- convenience used by completion and `spp up` --
    def processes(self) -> list[dict[str, Any]]:
        return self.get("processes") or []

    def vf_ids(self) -> list[int]:
        return [p["client-id"] for p in self.processes() if p.get("type") == "vf"]

    def vf_status(self, sec_id: int) -> dict[str, Any]:
        return self._object(f"vfs/{sec_id}")

    def nfv_ids(self) -> list[int]:
        return [p["client-id"] for p in self.processes() if p.get("type") == "nfv"]

    def nfv_status(self, sec_id: int) -> dict[str, Any]:
        return self._object(f"nfvs/{sec_id}")

    def mirror_ids(self) -> list[int]:
        return [p["client-id"] for p in self.processes() if p.get("type") == "mirror"]

    def mirror_status(self, sec_id: int) -> dict[str, Any]:
        return self._object(f"mirrors/{sec_id}")

    def pcap_ids(self) -> list[int]:
        return [p["client-id"] for p in self.processes() if p.get("type") == "pcap"]

    def pcap_status(self, sec_id: int) -> dict[str, Any]:
        return self._object(f"pcaps/{sec_id}")

    def primary_status(self) -> dict[str, Any]:
        return self._object("primary/status")

    def _object(self, path: str) -> dict[str, Any]:
        got = self.get(path)
        if not isinstance(got, dict):
            raise InternalError(f"spp ctl sent no JSON object for GET {path}.")
        return got

    def topology_status(self) -> dict[str, Any]:
        """Processes and the status of each (input of spp.topo.model.graph_from_status).

        A process that leaves between the two requests is left out."""
        procs = self.processes()
        out: dict[str, Any] = {"processes": procs, "primary": None, "secondaries": {}}
        for proc in procs:
            kind = proc.get("type")
            try:
                if kind == "primary":
                    out["primary"] = self.primary_status()
                elif isinstance(kind, str) and isinstance(proc.get("client-id"), int):
                    cid = proc["client-id"]
                    out["secondaries"][f"{kind}:{cid}"] = self._object(f"{kind}s/{cid}")
            except NotFound:
                continue
        return out
