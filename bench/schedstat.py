"""How much of a window each worker lcore thread actually ran, from schedstat.

A polling lcore reads the TSC to tell busy rounds from idle ones; when the
kernel preempts it (the generator, a NAPI thread, or another lcore sharing
its CPU), the TSC charges the time it did not run to the round it was in.
`/proc/PID/task/TID/schedstat` holds, per thread, the nanoseconds it ran.
The cycles cases scale each lcore's TSC busy count by the share of the
window its thread ran (run time / wall time), for our lcores and
dpdk-testpmd's alike; that holds when preemption falls on busy and idle
rounds alike, and is exact for a thread that was busy all the window.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from bench.procs import BenchError

# DPDK names the thread of worker lcore N `rte-worker-N` (22.11; later `lcore-worker-N`)
_WORKER = re.compile(r"(?:rte|lcore)-worker-(\d+)")


def worker_threads(pid: int) -> dict[int, int]:
    """lcore id -> thread id of the DPDK worker lcores of process `pid`."""
    out: dict[int, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            m = _WORKER.fullmatch((task / "comm").read_text().strip())
        except OSError:  # the thread ended
            continue
        if m is not None:
            out[int(m.group(1))] = int(task.name)
    return out


def run_ns(pid: int, tid: int) -> int:
    """Nanoseconds thread `tid` of `pid` has run on a CPU since it started."""
    return int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])


class RunShare:
    """The share of a window each watched worker lcore ran: start(), then stop()."""

    def __init__(self, lcores: dict[int, list[int]]) -> None:
        """`lcores`: pid -> the worker lcore ids to watch in that process."""
        self.threads: dict[tuple[int, int], int] = {}  # (pid, lcore) -> tid
        for pid, ids in lcores.items():
            found = worker_threads(pid)
            missing = sorted(set(ids) - set(found))
            if missing:
                raise BenchError(f"pid {pid}: no thread of worker lcore(s) {missing} "
                                 f"(threads of lcores: {sorted(found)})")
            self.threads.update({(pid, i): found[i] for i in ids})
        self._t0 = 0
        self._run0: dict[tuple[int, int], int] = {}

    def _read(self) -> dict[tuple[int, int], int]:
        return {key: run_ns(key[0], tid) for key, tid in self.threads.items()}

    def start(self) -> None:
        self._run0, self._t0 = self._read(), time.monotonic_ns()

    def stop(self) -> dict[tuple[int, int], float]:
        """(pid, lcore) -> the share of the wall time since start() its thread ran (0-1)."""
        run, wall = self._read(), time.monotonic_ns() - self._t0
        return {key: min((run[key] - self._run0[key]) / wall, 1.0) if wall > 0 else 1.0
                for key in self.threads}
