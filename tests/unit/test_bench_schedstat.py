"""bench/schedstat.py: worker lcore threads found by name, the share of a window they ran."""

from __future__ import annotations

import ctypes
import os
import threading
import time

import pytest

from bench.procs import BenchError
from bench.schedstat import RunShare, worker_threads

PR_SET_NAME = 15


def _named_thread(name: str, spin: bool, stop: threading.Event,
                  ready: threading.Event) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NAME, name.encode(), 0, 0, 0)
    ready.set()
    while spin and not stop.is_set():
        pass
    stop.wait(10)


@pytest.fixture
def workers():
    stop = threading.Event()
    threads = []
    for name, spin in (("rte-worker-7", False), ("lcore-worker-8", True)):
        ready = threading.Event()
        t = threading.Thread(target=_named_thread, args=(name, spin, stop, ready))
        t.start()
        ready.wait(5)
        threads.append(t)
    yield threads
    stop.set()
    for t in threads:
        t.join()


def test_worker_threads_maps_lcore_ids_to_the_threads_dpdk_named(workers) -> None:
    assert worker_threads(os.getpid()) == {7: workers[0].native_id, 8: workers[1].native_id}


def test_run_share_tells_a_sleeping_thread_from_a_spinning_one(workers) -> None:
    share = RunShare({os.getpid(): [7, 8]})
    share.start()
    time.sleep(0.3)
    got = share.stop()
    assert got[(os.getpid(), 7)] < 0.05     # waits on an event: does not run
    assert got[(os.getpid(), 8)] > 0.2      # spins (shares the GIL with the test thread)


def test_run_share_refuses_an_lcore_without_a_thread(workers) -> None:
    with pytest.raises(BenchError, match=r"worker lcore\(s\) \[3\]"):
        RunShare({os.getpid(): [7, 3]})
