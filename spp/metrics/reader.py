"""Read the controller's REST API v1 (with the one REST client, spp.client); never raise."""

from __future__ import annotations

from typing import Any

from spp.client import Client, SppError
from spp.defaults import API_URL

DEFAULT_CTL_URL = API_URL
DEFAULT_TIMEOUT = 1.0


def api_base(ctl_url: str) -> str:
    """`http://h:P`, `http://h:P/` and `http://h:P/v1` all mean `http://h:P/v1`."""
    base = ctl_url.strip().rstrip("/")
    if "://" not in base:
        base = "http://" + base
    return base if base.endswith("/v1") else base + "/v1"


class CtlReader:
    """GETs JSON documents from `spp ctl` through spp.client; a failure of any kind is `None`."""

    def __init__(self, ctl_url: str = DEFAULT_CTL_URL, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base = api_base(ctl_url)
        self._client = Client(self.base, timeout=timeout)

    def get(self, path: str) -> Any | None:
        """JSON body of `GET {base}{path}` on 200, else None (down, 4xx/5xx, not JSON)."""
        try:
            return self._client.get(path)
        except (SppError, ValueError, RecursionError):
            return None
