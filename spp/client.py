"""The one client of the spp ctl REST API, shared by the shell and `spp` subcommands."""

from __future__ import annotations

from typing import Any

import requests

DEFAULT_URL = "http://127.0.0.1:7777"
PROCESS_REFUSED = "command error: "


class SppError(Exception):
    """A request failed; `reason` is the controller's plain-text body or a transport error."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def base_url(addr: str) -> str:
    """`127.0.0.1:7777`, `host` or `http://host:port` -> `http://host:port`."""
    addr = addr.strip().rstrip("/")
    if not addr.startswith(("http://", "https://")):
        addr = "http://" + addr
    if addr.endswith("/v1"):
        addr = addr[:-3]
    host = addr.split("//", 1)[1]
    if ":" not in host.rsplit("]", 1)[-1]:
        addr += ":7777"
    return addr


class Client:
    def __init__(self, addr: str = DEFAULT_URL, timeout: float = 10.0) -> None:
        self.url = base_url(addr)
        self.timeout = timeout

    @property
    def address(self) -> str:
        return self.url.split("//", 1)[1]

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request; return decoded JSON (200) or None (204)."""
        url = f"{self.url}/v1/{path.lstrip('/')}"
        try:
            res = requests.request(method, url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SppError(
                f"cannot reach spp ctl at {self.address} ({type(exc).__name__})."
            ) from None
        if res.status_code >= 400:
            text = res.text.strip() or res.reason or "error"
            # upstream's prefix for a process's refusal; our messages say who refused anyway
            text = text.removeprefix(PROCESS_REFUSED)
            raise SppError(text, res.status_code)
        if res.status_code == 204 or not res.content:
            return None
        try:
            return res.json()
        except ValueError:
            raise SppError(f"spp ctl sent a non-JSON answer to {method} {path}.") from None

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
        return self.get(f"vfs/{sec_id}")

    def primary_status(self) -> dict[str, Any]:
        return self.get("primary/status")

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
                    out["secondaries"][f"{kind}:{cid}"] = self.get(f"{kind}s/{cid}")
            except SppError as exc:
                if exc.status != 404:
                    raise
        return out
