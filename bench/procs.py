"""Child processes of a bench run: spawned in their own session, always stopped."""

from __future__ import annotations

import signal
from pathlib import Path

from spp.testkit.procs import Children
from spp.testkit.wait import KitError, wait_for

# A bench step failed; the message says which and points at the log. The test
# kit's timeouts and early exits are bench step failures.
BenchError = KitError


class Procs(Children):
    """Named children with fresh logs in `logdir` and an open stdin pipe each.

    They are stopped with SIGINT to their session (dpdk-testpmd and spp both
    shut down cleanly on it), SIGKILL if they hang.
    """

    def __init__(self, logdir: Path) -> None:
        super().__init__(logdir, append=False, stdin_pipe=True)

    def press_enter(self, name: str) -> None:
        """A newline on the child's stdin (testpmd: stop forwarding, print stats, exit)."""
        proc = self.procs.get(name)
        if proc is None or proc.stdin is None or proc.poll() is not None:
            raise BenchError(f"{name} is not running:\n{self.log(name)}")
        proc.stdin.write(b"\n")
        proc.stdin.flush()

    def log(self, name: str, tail: int = 2000) -> str:
        return super().log(name, tail)

    def wait_log(self, name: str, text: str, timeout: float) -> None:
        """Until `text` shows in the log of `name`; fail if it exits or times out."""
        wait_for(lambda: text in self.log(name, 1 << 20), timeout, f"{name}: {text!r}",
                 check=lambda: self.check_alive(name))

    def stop(self, name: str, sig: int = signal.SIGINT, timeout: float = 15.0, *,
             group: bool = True) -> int | None:
        return super().stop(name, sig, timeout, group=group)
