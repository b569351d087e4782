"""Child processes of a bench run: spawned in their own session, always stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class BenchError(RuntimeError):
    """A bench step failed; the message says which and points at the log."""


class Procs:
    """Named children with logs in `logdir`; `stop_all` ends every one still running."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, name: str, argv: list[str], netns: str | None = None) -> None:
        if netns is not None:
            argv = ["ip", "netns", "exec", netns, *argv]
        with open(self.logpath(name), "wb") as log:
            # stdin stays an open pipe: testpmd without -i exits when stdin reaches EOF
            self.procs[name] = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def press_enter(self, name: str) -> None:
        """A newline on the child's stdin (testpmd: stop forwarding, print stats, exit)."""
        proc = self.procs.get(name)
        if proc is None or proc.stdin is None or proc.poll() is not None:
            raise BenchError(f"{name} is not running:\n{self.log(name)}")
        proc.stdin.write(b"\n")
        proc.stdin.flush()

    def logpath(self, name: str) -> Path:
        return self.logdir / f"{name}.log"

    def log(self, name: str, tail: int = 2000) -> str:
        path = self.logpath(name)
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def wait_log(self, name: str, text: str, timeout: float) -> None:
        """Until `text` shows in the log of `name`; fail if it exits or times out."""
        wait_for(lambda: text in self.log(name, 1 << 20), timeout, f"{name}: {text!r}",
                 lambda: self.check_alive(name))

    def check_alive(self, name: str) -> None:
        if not self.alive(name):
            raise BenchError(f"{name} exited early:\n{self.log(name)}")

    def stop(self, name: str, timeout: float = 15.0) -> None:
        """SIGINT (testpmd and spp both shut down cleanly on it), SIGKILL if it hangs."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)  # our child leads its own session
            except ProcessLookupError:
                return
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop_all(self) -> None:
        for name in list(reversed(self.procs)):
            self.stop(name)


def wait_for(pred: Callable[[], object], timeout: float, what: str,
             check: Callable[[], None] | None = None, interval: float = 0.1) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check is not None:
            check()
        try:
            got = pred()
        except OSError:
            got = None
        if got:
            return got
        time.sleep(interval)
    raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
