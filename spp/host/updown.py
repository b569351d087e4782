"""`host_up` builds a topology idempotently; `host_down` removes exactly what it recorded."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pyroute2 import NetlinkError

from spp import rundir
from spp.defaults import FILE_PREFIX
from spp.host import leftovers, netdev, vm
from spp.host.state import HostState, list_states, load_state
from spp.host.system import (
    BPFFS_DIR,
    DEFAULT_HUGEPAGES,
    HostPrepError,
    hugepages_reserved,
    mounts,
    prepare_host,
)
from spp.host.topology import ROOT_NS, Topology, default_topology
from spp.safefile import UnsafeFile


class HostError(RuntimeError):
    """`spp host` refused or failed; the message names the cause in one line."""


def _require_root() -> None:
    if os.geteuid() != 0:
        raise HostError("must run as root (network namespaces, veths, hugepages)")


def check_collisions(topo: Topology, state: HostState) -> None:
    """Refuse names that exist on the host but were not created by us."""
    for ns in topo.namespaces:
        if netdev.ns_exists(ns) and not state.has_namespace(ns):
            raise HostError(f"netns {ns} already exists and was not created by spp host up")
    for end in topo.interfaces():
        if end.in_root or state.has_namespace(end.netns):
            if netdev.link_index(end.netns, end.name) is not None and not state.has_link(
                end.name, end.netns
            ):
                where = "root netns" if end.in_root else f"netns {end.netns}"
                raise HostError(
                    f"interface {end.name} already exists in {where} "
                    "and was not created by spp host up"
                )


def _new_state(topo: Topology) -> HostState:
    state = load_state(topo.name) or HostState(topology=topo.name)
    state.source = topo.source
    state.file_prefix = topo.file_prefix
    state.bpf_pin_prefix = topo.bpf_pin_prefix
    return state


def _build(topo: Topology, state: HostState) -> None:
    for ns in topo.namespaces:
        if not netdev.ns_exists(ns):
            state.add_namespace(ns)  # record first: a crash mid-create is still cleaned
            netdev.create_namespace(ns)
        else:
            netdev.create_namespace_lo_up(ns)
    for veth in topo.veths:
        present = [netdev.link_index(e.netns, e.name) is not None for e in veth.ends]
        if all(present):
            continue
        for end, exists in zip(veth.ends, present, strict=True):
            if exists:  # half a pair left (recorded, checked above): rebuild the pair
                netdev.delete_link(end.netns, end.name)
        netdev.create_veth(veth)
        for end in veth.ends:
            state.add_link(end.name, end.netns)
    for end in topo.interfaces():
        netdev.configure_end(end)


def host_up(
    topology: Topology | None = None, *, prepare: bool = True, hugepages: int = DEFAULT_HUGEPAGES,
    echo: Callable[[str], Any] | None = None,
) -> HostState:
    """Create namespaces/veths of `topology` (default: the embedded default) and record them.

    Idempotent: objects already recorded are only reconciled (MAC, MTU, address, up),
    and VMs whose QEMU is not running are booted (spp.host.vm); `echo` gets a note
    per VM started. With `prepare`, also reserves hugepages and mounts hugetlbfs and bpffs.
    """
    _require_root()
    topo = topology or default_topology()
    fresh = load_state(topo.name) is None
    state = None
    try:
        vm.check_vms(topo)
        if prepare:
            prepare_host(hugepages)
        state = _new_state(topo)
        check_collisions(topo, state)
        state.save()
        _build(topo, state)
        for note in vm.start_vms(topo, record=state.add_vm):
            if echo is not None:
                echo(note)
    except vm.VmError as exc:
        if fresh and state is not None:  # nothing half-built stays behind a failed first up
            _rollback(state)
        raise HostError(f"host up {topo.name}: {exc}") from None
    except (HostPrepError, NetlinkError, OSError) as exc:
        raise HostError(f"host up {topo.name}: {_describe(exc)}") from exc
    return state


def _rollback(state: HostState) -> None:
    """Undo a first `host_up` that failed: its VMs, links and namespaces, its state file."""
    for vm_rec in state.vms:
        vm.stop_vm(vm_rec.name, state.file_prefix)
    vm.remove_sockets([s for vm_rec in state.vms for s in vm_rec.sockets])
    for rec in state.links:
        if netdev.link_index(rec.netns, rec.name) is not None:
            netdev.delete_link(rec.netns, rec.name)
    for ns in state.namespaces:
        if netdev.ns_exists(ns):
            netdev.remove_namespace(ns)
    state.remove_file()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, NetlinkError):
        return f"netlink error {exc.code}: {os.strerror(exc.code) if exc.code > 0 else exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}" + (f" ({exc.filename})" if exc.filename else "")
    return str(exc)


def _resolve(target: HostState | Topology | str | None) -> tuple[HostState | None, str, str]:
    if isinstance(target, HostState):
        return target, target.file_prefix, target.bpf_pin_prefix
    if target is None:
        target = default_topology()
    if isinstance(target, Topology):
        return load_state(target.name), target.file_prefix, target.bpf_pin_prefix
    state = load_state(target)
    if state is None:
        return None, FILE_PREFIX, "spp_"
    return state, state.file_prefix, state.bpf_pin_prefix


def host_down(target: HostState | Topology | str | None = None) -> list[str]:
    """Remove what `host_up` recorded plus SPP leftovers; returns what was removed.

    `target` is a state, a topology, a topology name, or None (the default topology).
    Without a state file only the leftovers (processes, pins, DPDK files) are cleaned.
    Interfaces and namespaces not in the state file are never touched.
    """
    _require_root()
    state, file_prefix, pin_prefix = _resolve(target)
    try:
        return _teardown(state, file_prefix, pin_prefix)
    except (NetlinkError, OSError) as exc:
        raise HostError(f"host down: {_describe(exc)}") from exc


def _teardown(state: HostState | None, file_prefix: str, pin_prefix: str) -> list[str]:
    removed = []
    for vm_rec in state.vms if state is not None else []:
        pid = vm.stop_vm(vm_rec.name, file_prefix)
        if pid is not None:
            removed.append(f"VM {vm_rec.name} (QEMU pid {pid})")
    removed += leftovers.stop_recorded_processes(file_prefix)
    if state is not None:
        removed += vm.remove_sockets([s for vm_rec in state.vms for s in vm_rec.sockets])
    if state is not None:
        root_indexes = []
        for rec in state.links:
            idx = netdev.link_index(rec.netns, rec.name)
            if idx is None:
                continue
            if rec.netns == ROOT_NS:
                root_indexes.append(idx)
            if netdev.xdp_off(rec.netns, rec.name):
                removed.append(f"xdp program on {rec.name}")
        removed += leftovers.remove_xdp_dispatcher_pins(root_indexes)
        present = [r for r in state.links if netdev.link_index(r.netns, r.name) is not None]
        for rec in present:
            netdev.delete_link(rec.netns, rec.name)  # the peer usually goes with it
        removed += [
            f"link {r.name}" + ("" if r.netns == ROOT_NS else f"@{r.netns}") for r in present
        ]
        for ns in state.namespaces:
            if netdev.ns_exists(ns):
                netdev.remove_namespace(ns)
                removed.append(f"netns {ns}")
    removed += leftovers.remove_instance_pins(file_prefix)
    removed += leftovers.remove_bpf_pins(pin_prefix)
    removed += leftovers.remove_dpdk_files(file_prefix)
    if state is not None:
        state.remove_file()
    return removed


def host_show() -> dict[str, Any]:
    """What exists now: recorded topologies and their objects, plus host prerequisites."""
    topologies = []
    vms = []
    for state in list_states():
        vms += [vm.vm_info(rec.name, rec.nics, state.file_prefix) for rec in state.vms]
        links = []
        for rec in state.links:
            info = netdev.link_info(rec.netns, rec.name)
            links.append(
                asdict(info) if info else {"name": rec.name, "netns": rec.netns, "missing": True}
            )
        topologies.append(
            {
                "name": state.topology,
                "source": state.source,
                "state_file": str(state.path),
                "namespaces": {ns: netdev.ns_exists(ns) for ns in state.namespaces},
                "links": links,
                "vms": [rec.name for rec in state.vms],
            }
        )
    recorded = {ns for s in list_states() for ns in s.namespaces}
    pin_prefixes = {"spp_"} | {s.bpf_pin_prefix for s in list_states()}
    pin_parent = Path(BPFFS_DIR) / "spp"
    instance_pins = sorted(str(p.relative_to(BPFFS_DIR)) for p in pin_parent.glob("*/*/spp_*"))
    mnt = mounts()
    pids: dict[str, dict[str, Any]] = {}
    for pidfile in sorted(rundir.root().glob("*/*.pid")):
        name = f"{pidfile.parent.name}/{pidfile.name}"
        try:
            pid = rundir.read_pid(pidfile)
        except UnsafeFile as exc:
            pids[name] = {"pid": None, "alive": False, "refused": str(exc)}
            continue
        pids[name] = {"pid": pid, "alive": bool(pid and rundir.is_ours(pid))}
    return {
        "topologies": topologies,
        "vms": vms,
        "other_spp_namespaces": [
            ns for ns in netdev.list_namespaces() if ns.startswith("spp-") and ns not in recorded
        ],
        "hugepages_2m": hugepages_reserved(),
        "hugetlbfs_mounted": mnt.get("/dev/hugepages") == "hugetlbfs",
        "bpffs_mounted": mnt.get(str(BPFFS_DIR)) == "bpf",
        "bpf_pins": sorted(
            {p.name for prefix in pin_prefixes for p in Path(BPFFS_DIR).glob(f"{prefix}*")}
        ) + instance_pins,
        "pidfiles": pids,
    }


def host_wait(topology: Topology | None, timeout: float) -> list[str]:
    """Until every VM of `topology` (None: of every topology that is up) is ready;
    returns their names. HostError names the VM that is not, with its console's last lines."""
    states = [load_state(topology.name)] if topology is not None else list_states()
    names: list[str] = []
    try:
        for state in states:
            if state is None:
                continue
            todo = [rec.name for rec in state.vms]
            vm.wait_ready(todo, state.file_prefix, timeout)
            names += todo
    except vm.VmError as exc:
        raise HostError(str(exc)) from None
    return names
