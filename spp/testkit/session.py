"""The e2e lock, root check and namespace hygiene shared by tests and the benchmark.

No test framework is imported here: the installed package must not need pytest.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from spp.host import netdev

E2E_LOCK = Path("/tmp/spp-e2e.lock")
TEST_NS_PREFIXES = ("spp-", "ht-", "h3-")


def is_root() -> bool:
    return os.geteuid() == 0


def _inherited_lock_fd(path: Path) -> int | None:
    """An fd we inherited on `path` (e.g. run under `flock /tmp/spp-e2e.lock pytest`)."""
    target = str(path.resolve())
    for entry in Path("/proc/self/fd").iterdir():
        try:
            if os.readlink(entry) == target:
                return int(entry.name)
        except OSError:
            continue
    return None


class E2ELock:
    """Exclusive flock on /tmp/spp-e2e.lock, held for a whole test session.

    If this process already holds it through an inherited descriptor (the run was
    wrapped in `flock /tmp/spp-e2e.lock ...`), that counts as held: no self-deadlock.
    """

    def __init__(self, path: Path = E2E_LOCK, timeout: float = 1800.0) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        inherited = _inherited_lock_fd(self.path)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return
            except BlockingIOError as exc:
                if inherited is not None and _holds(inherited):
                    os.close(fd)
                    return
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise TimeoutError(
                        f"{self.path} still locked after {self.timeout:.0f}s"
                    ) from exc
                time.sleep(0.5)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _holds(fd: int) -> bool:
    """True when the open file description behind `fd` holds the flock (re-locking succeeds)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def namespaces_with_prefix(prefixes: tuple[str, ...] = TEST_NS_PREFIXES) -> set[str]:
    """Namespaces whose names carry one of the test prefixes."""
    return {ns for ns in netdev.list_namespaces() if ns.startswith(prefixes)}
