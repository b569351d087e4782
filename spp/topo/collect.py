"""Snapshots of the running SPP (REST status plus the host topology state) and rates."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from spp.client import Client
from spp.host.state import list_states
from spp.host.vm import vm_state
from spp.topo.model import Graph, graph_from_status, with_rates

RATE_INTERVAL_S = 1.0


def snapshot(client: Client) -> dict[str, Any]:
    """`graph_from_status` input: the controller's processes and their status, and the
    VMs of every host topology that is up on this machine with the state of each
    (stopped, waiting, booting, ready)."""
    status = client.topology_status()
    hosts = []
    for host in list_states():
        data = host.to_dict()
        for vm in data["vms"]:
            vm["state"] = vm_state(vm["name"], host.file_prefix)
        hosts.append(data)
    status["hosts"] = hosts
    return status


def sample(client: Client, rates: bool = False, interval: float = RATE_INTERVAL_S,
           sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic) -> Graph:
    """The current graph; with `rates`, two snapshots `interval` seconds apart give
    per-link and per-port packet rates."""
    t0 = clock()
    first = graph_from_status(snapshot(client))
    if not rates:
        return first
    sleep(interval)
    t1 = clock()
    return with_rates(graph_from_status(snapshot(client)), first, t1 - t0)
