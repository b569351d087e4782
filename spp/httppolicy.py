"""Who may talk to SPP's HTTP endpoints: the one rule for the controller and the exporter.

A web page the operator opens can make the browser send requests to any
address, and a DNS-rebinding page can even make them look same-origin. So a
request is answered only when all of these hold, checked in this order:

1. `Host` (when sent) names this server: its bind address, `localhost`, or a
   name given with `--allow-host`; when bound to a wildcard address, any IP
   literal (an IP literal cannot be rebound). Else 421.
2. `Origin` (when sent, for any method, websocket handshakes included) is this
   server's own origin: `http://` + the request's `Host`. Else 403. A request
   without `Origin` does not come from a web page's script or form.
3. With token authentication on, `Authorization: Bearer <token>`. Else 401.
4. A request that carries a body or a `Content-Type` says `application/json`.
   Else 415 (a browser sends text/plain or a form without a CORS preflight).

No CORS header is ever sent, so a browser's preflight for anything else fails.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

LOCAL_NAMES = frozenset({"localhost"})
JSON = "application/json"
WILDCARDS = frozenset({"", "0.0.0.0", "::"})
SHOWN = 80  # longest header value quoted in a reason


@dataclass(frozen=True)
class Refusal:
    """Why a request is not answered: HTTP status, one-line reason, audit result."""

    status: int
    reason: str
    result: str


def _shown(value: str) -> str:
    """A header value for a reason: printable ASCII, at most SHOWN characters."""
    text = value.encode("unicode_escape").decode("ascii")
    return text if len(text) <= SHOWN else text[:SHOWN - 3] + "..."


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def split_host(value: str) -> tuple[str, int | None] | None:
    """`name[:port]` or `[v6]:port` -> (lower-case name, port); None when malformed."""
    if not value or any(c in value for c in "/?#@ \t\\"):
        return None
    try:
        parts = urlsplit("//" + value)
        port = parts.port
    except ValueError:
        return None
    name = parts.hostname
    return (name, port) if name else None


def _same_hostport(a: tuple[str, int | None], b: tuple[str, int | None]) -> bool:
    return a[0] == b[0] and (a[1] or 80) == (b[1] or 80)


@dataclass(frozen=True)
class HttpPolicy:
    """The rule for one server bound to `bind`; `token` turns authentication on."""

    bind: str
    allow_hosts: frozenset[str] = frozenset()
    token: str | None = None
    token_hint: str = ""

    @classmethod
    def make(cls, bind: str, allow_hosts: Iterable[str] = (), token: str | None = None,
             token_hint: str = "") -> HttpPolicy:
        names = frozenset(h.strip().lower() for h in allow_hosts if h.strip())
        return cls(bind.strip("[]").lower(), names, token, token_hint)

    def host_allowed(self, name: str) -> bool:
        if name in LOCAL_NAMES or name in self.allow_hosts:
            return True
        if _is_ip(name):
            if self.bind in WILDCARDS:
                return True
            return ipaddress.ip_address(name) == ipaddress.ip_address(self.bind) \
                if _is_ip(self.bind) else False
        return name == self.bind

    def allowed_names(self) -> str:
        names = sorted({self.bind if self.bind not in WILDCARDS else "any IP address",
                        *LOCAL_NAMES, *self.allow_hosts})
        return ", ".join(names)

    def check(self, method: str, headers: Mapping[str, str], has_body: bool) -> Refusal | None:
        """None when the request may be served, else the refusal to answer with."""
        host_value = headers.get("Host")
        host = split_host(host_value) if host_value is not None else None
        if host_value is not None and (host is None or not self.host_allowed(host[0])):
            return Refusal(421, f"Host '{_shown(host_value)}' is not this server "
                           f"(answered: {self.allowed_names()}; more with --allow-host).",
                           "refused_host")
        origin = headers.get("Origin")
        if origin is not None and not self._own_origin(origin, host):
            return Refusal(403, f"Origin '{_shown(origin)}' is not this server's own origin; "
                           "requests from other web pages are refused.", "refused_origin")
        if self.token is not None and not self._authorized(headers.get("Authorization", "")):
            hint = f" (the token is in {self.token_hint})" if self.token_hint else ""
            return Refusal(401, f"authentication required: send Authorization: Bearer "
                           f"<token>{hint}.", "refused_auth")
        ctype = headers.get("Content-Type")
        if has_body or ctype is not None:
            mime = (ctype or "").split(";", 1)[0].strip().lower()
            if mime != JSON:
                got = f"'{_shown(ctype)}'" if ctype else "none"
                return Refusal(415, f"Content-Type must be {JSON} (got {got}).",
                               "refused_content_type")
        return None

    def _own_origin(self, origin: str, host: tuple[str, int | None] | None) -> bool:
        if host is None:
            return False
        try:
            parts = urlsplit(origin)
            port = parts.port
        except ValueError:
            return False
        if parts.scheme != "http" or not parts.hostname or parts.path or parts.query:
            return False
        return _same_hostport((parts.hostname, port), host)

    def _authorized(self, value: str) -> bool:
        scheme, _, given = value.partition(" ")
        if scheme.lower() != "bearer" or self.token is None:
            return False
        return hmac.compare_digest(given.strip().encode(), self.token.encode())
