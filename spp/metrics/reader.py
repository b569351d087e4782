"""Read the controller's REST API v1 with plain urllib; never raise."""

from __future__ import annotations

import http.client
import json
import urllib.request
from typing import Any

DEFAULT_CTL_URL = "http://127.0.0.1:7777"
DEFAULT_TIMEOUT = 1.0
MAX_BODY = 16 * 1024 * 1024


def api_base(ctl_url: str) -> str:
    """`http://h:7777`, `http://h:7777/` and `http://h:7777/v1` all mean `http://h:7777/v1`."""
    base = ctl_url.strip().rstrip("/")
    if "://" not in base:
        base = "http://" + base
    return base if base.endswith("/v1") else base + "/v1"


class CtlReader:
    """GETs JSON documents from `spp ctl`; a failure of any kind reads as `None`."""

    def __init__(self, ctl_url: str = DEFAULT_CTL_URL, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base = api_base(ctl_url)
        self.timeout = timeout

    def get(self, path: str) -> Any | None:
        """JSON body of `GET {base}{path}` on 200, else None (down, 4xx/5xx, not JSON)."""
        url = self.base + path
        req = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                if resp.status != 200:
                    return None
                body = resp.read(MAX_BODY + 1)
            if len(body) > MAX_BODY:
                return None
            return json.loads(body.decode("utf-8"))
        except (OSError, ValueError, RecursionError, http.client.HTTPException):
            return None
