"""Free TCP ports and polling until something holds."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from spp.client import SppError


class KitError(AssertionError, RuntimeError):
    """A test or bench step did not happen: a timeout, a child that exited early.

    A failed expectation to a test (AssertionError), a failed step to the bench
    (RuntimeError).
    """


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.1, *,
             check: Callable[[], None] | None = None) -> Any:
    """Poll `pred` until it returns something true, and return that.

    `pred` raising OSError or SppError (a controller not up yet) counts as
    false; `check` runs before every poll and may raise to give up early
    (e.g. the awaited process exited). Raises KitError after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if check is not None:
            check()
        try:
            last = pred()
            if last:
                return last
        except (SppError, OSError):
            pass
        time.sleep(interval)
    raise KitError(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")
