"""Named child processes, each in its own session with a log file, always stopped."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from spp.testkit.wait import KitError


class Children:
    """Named children with logs in `logdir`; `stop_all` ends every one still running.

    `append` keeps the log of an earlier child of the same name (a restarted
    process's log shows both runs); `stdin_pipe` gives each child an open pipe
    on stdin instead of /dev/null (dpdk-testpmd without -i exits at EOF).
    """

    def __init__(self, logdir: Path, *, append: bool = True, stdin_pipe: bool = False) -> None:
        self.logdir = logdir
        self.append = append
        self.stdin_pipe = stdin_pipe
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, name: str, argv: list[str], netns: str | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        if netns is not None:
            argv = ["ip", "netns", "exec", netns, *argv]
        with open(self.logpath(name), "ab" if self.append else "wb") as log:
            proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.PIPE if self.stdin_pipe else subprocess.DEVNULL,
                start_new_session=True, env={**os.environ, **env} if env else None)
        self.procs[name] = proc
        return proc

    def logpath(self, name: str) -> Path:
        return self.logdir / f"{name}.log"

    def log(self, name: str, tail: int = 3000) -> str:
        path = self.logpath(name)
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def check_alive(self, name: str) -> None:
        if not self.alive(name):
            raise KitError(f"{name} exited early:\n{self.log(name)}")

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 15.0, *,
             group: bool = False) -> int | None:
        """`sig` (to the child's whole session with `group`), SIGKILL if it hangs.

        Returns the exit code, None if no child of that name was started.
        """
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else None
        for signum, wait in ((sig, timeout), (signal.SIGKILL, 5.0)):
            try:
                if group:
                    os.killpg(proc.pid, signum)  # our child leads its own session
                else:
                    os.kill(proc.pid, signum)
            except ProcessLookupError:
                break
            try:
                return proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        return proc.poll()

    def stop_all(self) -> None:
        for name in list(reversed(self.procs)):
            self.stop(name)
