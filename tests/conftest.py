"""Shared fixtures: root check, e2e lock, the default topology, namespace exec and capture.

Fixtures (all importable by name in any test):
  root_required        skip the test unless running as root
  e2e_lock             session: holds /tmp/spp-e2e.lock (reentrant with an outer `flock`)
  default_topology     session: `host_up` of the default topology, `host_down` at the end
                       (even on failure); yields the Topology
  netns_run            run(ns, argv, timeout=30, check=False) -> CompletedProcess
  netns_ping           ping(ns, address, count=1, timeout=2, interface=None) -> bool
  capture              start(ns, ifname) -> Capture (stopped automatically at test end)
  exec_process         start(argv, shows) -> Popen, once /proc shows `shows` in its command
                       line (killed at test end)

Markers: tests marked `e2e` or `root` are skipped when not running as root.
Helpers for plain imports: the test kit (spp.testkit: frames, capture, traffic,
stream, wait, procs, stack, session) and spp.host.nsexec.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from spp import rundir
from spp.host import nsexec
from spp.host.topology import Topology
from spp.host.topology import default_topology as load_default_topology
from spp.host.updown import host_down, host_up
from spp.testkit.capture import Capture
from spp.testkit.session import E2ELock, is_root, namespaces_with_prefix

_session_state = {"locked": False}
_SKIP_REASON = "needs root (network namespaces, veths, hugepages)"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "root: needs root; skipped otherwise")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if is_root():
        return
    skip = pytest.mark.skip(reason=_SKIP_REASON)
    for item in items:
        if "e2e" in item.keywords or "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def root_required() -> None:
    """Skip the requesting test unless it runs as root."""
    if not is_root():
        pytest.skip(_SKIP_REASON)


@pytest.fixture(scope="session")
def e2e_lock() -> Iterator[E2ELock]:
    """/tmp/spp-e2e.lock for the whole session: one netns/DPDK run at a time."""
    if not is_root():
        pytest.skip(_SKIP_REASON)
    lock = E2ELock()
    lock.acquire()
    _session_state["locked"] = True
    try:
        yield lock
    finally:
        lock.release()


@pytest.fixture(scope="session")
def default_topology(e2e_lock: E2ELock) -> Iterator[Topology]:
    """The default topology up for the session (spp-remote, spp-p0/1, spp-vm1/2)."""
    topo = load_default_topology()
    try:
        host_up(topo)
        yield topo
    finally:
        host_down(topo)


@pytest.fixture
def netns_run() -> Callable[..., subprocess.CompletedProcess[str]]:
    """run(ns, argv, timeout=30.0, check=False): argv via `ip netns exec` ("root" = here)."""
    return nsexec.run_in_ns


@pytest.fixture
def netns_ping() -> Callable[..., bool]:
    """ping(ns, address, count=1, timeout=2.0, interface=None) -> all replies came back."""
    return nsexec.ping


@pytest.fixture
def capture() -> Iterator[Callable[[str, str], Capture]]:
    """start(ns, ifname) -> a running Capture; all are stopped at test end.

    with-less use: cap = capture("spp-remote", "r-eth0"); ...; frames = cap.stop()
    """
    started: list[Capture] = []

    def start(ns: str, ifname: str) -> Capture:
        cap = Capture(ns, ifname).start()
        started.append(cap)
        return cap

    yield start
    for cap in started:
        cap.stop(linger=0)


@pytest.fixture
def exec_process() -> Iterator[Callable[[list[str], str], subprocess.Popen]]:
    """start(argv, shows) -> a Popen whose command line in /proc already shows `shows`.

    Between fork and exec a child still has the test runner's command line, and code that
    decides by command line (rundir.is_ours) would judge the runner, not the child.
    """
    started: list[subprocess.Popen] = []

    def start(argv: list[str], shows: str) -> subprocess.Popen:
        proc = subprocess.Popen(argv)
        started.append(proc)
        deadline = time.monotonic() + 10
        while shows not in rundir.cmdline(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert shows in rundir.cmdline(proc.pid), rundir.cmdline(proc.pid)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session", autouse=True)
def _no_leftover_namespaces() -> Iterator[None]:
    """At session end: test namespaces (spp-*, ht-*, h3-*) created during the run are gone.

    Pre-existing ones are left alone; new leftovers are removed, then reported as an error.
    """
    before = namespaces_with_prefix() if is_root() else set()
    yield
    # Only a session that held the e2e lock made namespaces; another session's
    # namespaces (a concurrent run holding the lock) are not ours to judge.
    if not is_root() or not _session_state["locked"]:
        return
    leftover = sorted(namespaces_with_prefix() - before)
    for ns in leftover:
        subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
    assert not leftover, f"tests left network namespaces behind (now removed): {leftover}"
