"""Run commands inside a network namespace (`ip netns exec`), for tests and tools."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from spp.host.topology import ROOT_NS


def ns_command(ns: str, argv: Sequence[str]) -> list[str]:
    """argv prefixed with `ip netns exec NS` (unchanged for the root netns)."""
    return list(argv) if ns == ROOT_NS else ["ip", "netns", "exec", ns, *argv]


def run_in_ns(
    ns: str, argv: Sequence[str], *, timeout: float = 30.0, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run argv in `ns`; output captured as text. Raises CalledProcessError if `check`."""
    return subprocess.run(
        ns_command(ns, argv), capture_output=True, text=True, timeout=timeout, check=check
    )


def ping(
    ns: str, address: str, *, count: int = 1, timeout: float = 2.0, interface: str | None = None
) -> bool:
    """True when `count` ICMP echo replies come back from `address` (sent from `ns`)."""
    argv = ["ping", "-n", "-q", "-c", str(count), "-W", str(max(1, int(timeout)))]
    if count > 1:
        argv += ["-i", "0.2"]
    if interface:
        argv += ["-I", interface]
    proc = run_in_ns(ns, [*argv, address], timeout=timeout * count + 5)
    return proc.returncode == 0
