"""The one client of the spp ctl REST API, shared by the shell and `spp` subcommands."""

from __future__ import annotations

from typing import Any

import requests

from spp.defaults import API_PORT, API_URL
from spp.errors import InternalError, SppError, Unavailable, from_code

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


class Client:
    def __init__(self, addr: str = DEFAULT_URL, timeout: float = 10.0) -> None:
        self.url = base_url(addr)
        self.timeout = timeout

    @property
    def address(self) -> str:
        return self.url.split("//", 1)[1]

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request; return decoded JSON (200) or None (204).

        A failure is the SppError its HTTP status stands for (spp.errors), with
        `status` set and the controller's plain-text body as reason, or
        Unavailable when the controller cannot be reached.
        """
        url = f"{self.url}/v1/{path.lstrip('/')}"
        try:
            res = requests.request(method, url, json=body, timeout=self.timeout)
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

    def primary_status(self) -> dict[str, Any]:
        return self._object("primary/status")

    def _object(self, path: str) -> dict[str, Any]:
        got = self.get(path)
        if not isinstance(got, dict):
            raise InternalError(f"spp ctl sent no JSON object for GET {path}.")
        return got
