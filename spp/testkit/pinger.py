"""A ping running in the background from a namespace, for tests that look at a path
while frames cross it (rates, counters)."""

from __future__ import annotations

import re
import signal
import subprocess

from spp.host import nsexec

# the longest a Pinger runs when nobody stops it
DEADLINE_S = 120


class Pinger:
    """`ping -i INTERVAL ADDRESS` in `ns` from `start()` to `stop()`; `stop()` returns how
    many replies came back (ping's own summary)."""

    def __init__(self, ns: str, address: str, interval: float = 0.05) -> None:
        self.argv = nsexec.ns_command(ns, ["ping", "-n", "-q", "-i", str(interval),
                                           "-w", str(DEADLINE_S), address])
        self.proc: subprocess.Popen[str] | None = None
        self.output = ""

    def start(self) -> Pinger:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        return self

    def stop(self) -> int:
        """Stop it (SIGINT: ping prints its summary) and return the replies received."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.output, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.output, _ = self.proc.communicate()
        self.proc = None
        got = re.search(r"(\d+) received", self.output)
        return int(got.group(1)) if got else 0

    def __enter__(self) -> Pinger:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
