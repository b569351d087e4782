"""`spp host` commands: build, show and tear down the veth/netns topology."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from spp.host.state import load_state
from spp.host.system import DEFAULT_HUGEPAGES
from spp.host.topology import Topology, TopologyError, load_topology
from spp.host.updown import HostError, host_down, host_show, host_up, host_wait
from spp.host.vm import READY_TIMEOUT_S
from spp.safefile import UnsafeFile

app = typer.Typer(
    help="Host set-up: namespaces, veth pairs, hugepages, bpffs.",
    no_args_is_help=True,
    add_completion=False,
)

TopologyArg = Annotated[
    Path | None,
    typer.Argument(
        help="Topology YAML (default: the embedded default topology).", show_default=False
    ),
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"spp host: {message}", err=True)
    raise typer.Exit(1)


def _load(path: Path | None) -> Topology:
    try:
        return load_topology(path)
    except TopologyError as exc:
        _fail(str(exc))


@app.command("up")
def up(
    topology: TopologyArg = None,
    hugepages: Annotated[
        int, typer.Option(help="Reserve at least this many 2 MiB hugepages.")
    ] = DEFAULT_HUGEPAGES,
) -> None:
    """Create the topology's namespaces and veths (idempotent), hugepages and bpffs."""
    topo = _load(topology)
    try:
        state = host_up(topo, hugepages=hugepages, echo=typer.echo)
    except (HostError, UnsafeFile) as exc:
        _fail(str(exc))
    typer.echo(
        f"topology {topo.name} up: {len(state.namespaces)} netns, {len(state.links)} interfaces"
        + (f", {len(state.vms)} VMs" if state.vms else "") + f" (state {state.path})"
    )


@app.command("down")
def down(topology: TopologyArg = None) -> None:
    """Remove what `up` created plus SPP leftovers (XDP, pins, hugepage files, processes)."""
    topo = _load(topology)
    try:
        removed = host_down(load_state(topo.name) or topo)
    except (HostError, UnsafeFile) as exc:
        _fail(str(exc))
    typer.echo(f"topology {topo.name} down: removed {len(removed)} object(s)")
    for item in removed:
        typer.echo(f"  {item}")


@app.command("wait")
def wait(
    topology: TopologyArg = None,
    timeout: Annotated[float, typer.Option(
        help="Seconds to wait for every VM to be ready.")] = READY_TIMEOUT_S,
) -> None:
    """Return when every VM of the topology (default: of every topology up) is ready."""
    topo = _load(topology) if topology is not None else None
    if timeout <= 0:
        _fail(f"--timeout {timeout:g}: give a positive number of seconds")
    try:
        names = host_wait(topo, timeout)
    except HostError as exc:
        _fail(str(exc))
    typer.echo(f"VMs ready: {' '.join(names)}" if names else "no VM to wait for")


def _print_show(info: dict[str, Any]) -> None:
    if not info["topologies"]:
        typer.echo("no topology is up")
    for topo in info["topologies"]:
        typer.echo(f"topology {topo['name']} ({topo['source'] or 'default'}): {topo['state_file']}")
        for ns, exists in topo["namespaces"].items():
            typer.echo(f"  netns {ns}{'' if exists else '  MISSING'}")
        for link in topo["links"]:
            if link.get("missing"):
                typer.echo(f"  {link['name']:<10} @{link['netns']:<12} MISSING")
                continue
            xdp = f" xdp={','.join(map(str, link['xdp_prog_ids']))}" if link["xdp_prog_ids"] else ""
            typer.echo(
                f"  {link['name']:<10} @{link['netns']:<12} {link['mac']} mtu {link['mtu']}"
                f" {'UP' if link['up'] else 'DOWN'} {' '.join(link['ipv4']) or '-'}{xdp}"
            )
    for vm in info.get("vms", []):
        pid = f" pid {vm['pid']}" if vm["pid"] else ""
        typer.echo(f"  VM {vm['name']} {vm['state']}{pid}  console {vm['console_log']}"
                   f"  ssh -i {vm['ssh_key']} root@ADDR")
        for nic in vm["nics"]:
            typer.echo(f"    {nic['ifname']:<6} {nic['mac']} {nic['ipv4'] or '-':<18} "
                       f"{nic['vhost']} ({nic['socket']})")
    if info["other_spp_namespaces"]:
        typer.echo(f"unrecorded spp-* netns: {' '.join(info['other_spp_namespaces'])}")
    typer.echo(
        f"hugepages 2M: {info['hugepages_2m']}, hugetlbfs "
        f"{'mounted' if info['hugetlbfs_mounted'] else 'NOT mounted'}, bpffs "
        f"{'mounted' if info['bpffs_mounted'] else 'NOT mounted'}"
    )
    if info["bpf_pins"]:
        typer.echo(f"pinned: {' '.join(info['bpf_pins'])}")
    for name, pid in info["pidfiles"].items():
        if pid.get("refused"):
            typer.echo(f"pidfile {name}: {pid['refused']}")
            continue
        typer.echo(f"pidfile {name}: {pid['pid']} {'alive' if pid['alive'] else 'stale'}")


@app.command("show")
def show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show what exists now: recorded topologies, their interfaces, hugepages, pins."""
    try:
        info = host_show()
    except (OSError, HostError, UnsafeFile) as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(info, indent=2))
    else:
        _print_show(info)
