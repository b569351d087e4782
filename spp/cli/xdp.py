"""`spp xdp` commands: steering mode, registered MACs and counters of the XDP program.

They edit the maps of one SPP instance, which its primary pins per port under
/sys/fs/bpf/spp/<file prefix>/<ifname>/ (spp.xdp.pins); the primary must be
running with xdp_prog=build/bpf/xdp_steer.o.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer

from spp.defaults import FILE_PREFIX

app = typer.Typer(
    help="XDP steering: which frames of a kernel netdev go to SPP (AF_XDP) or the kernel.",
    no_args_is_help=True,
)

_state: dict[str, str] = {"root": ""}


def _fail(msg: str) -> NoReturn:
    typer.echo(f"spp xdp: {msg}", err=True)
    raise typer.Exit(1)


@contextmanager
def _steering() -> Iterator[Any]:
    """Open the maps; any XdpError (or OSError) becomes one stderr line + exit 1."""
    try:
        from spp.xdp import XdpError, XdpSteering
    except Exception as exc:  # a broken install must not print a traceback
        _fail(f"cannot import spp.xdp: {exc}")
    try:
        with XdpSteering(_state["root"]) as x:
            yield x
    except XdpError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(exc.strerror or str(exc))


def _name(d: dict[str, Any]) -> str:
    return d.get("ifname") or f"ifindex {d['ifindex']}"


@app.callback()
def _options(
    file_prefix: Annotated[
        str,
        typer.Option(
            "--file-prefix", envvar="SPP_FILE_PREFIX",
            help="SPP instance: the DPDK file prefix of its primary.",
        ),
    ] = FILE_PREFIX,
    pin_dir: Annotated[
        str | None,
        typer.Option(
            "--pin-dir", envvar="SPP_BPF_PIN_DIR",
            help="Instance pin directory (default /sys/fs/bpf/spp/FILE_PREFIX).",
        ),
    ] = None,
) -> None:
    """XDP steering: which frames of a kernel netdev go to SPP (AF_XDP) or the kernel."""
    if pin_dir is None:
        from spp.xdp.errors import XdpError
        from spp.xdp.pins import instance_dir

        try:
            pin_dir = str(instance_dir(file_prefix))
        except XdpError as exc:
            _fail(str(exc))
    _state["root"] = pin_dir


@app.command()
def status(
    iface: Annotated[str | None, typer.Argument(help="Interface name or ifindex.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show steering mode and counters per interface."""
    with _steering() as x:
        rows = x.status(iface)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no interface has XDP steering state yet")
        return
    for r in rows:
        c = r["counters"]
        mode = r["mode"] + (" +drop-unknown" if r["drop_unknown"] else "")
        mode += "" if r["explicit"] else " (default)"
        typer.echo(f"{_name(r)} (ifindex {r['ifindex']}): mode {mode}, {r['macs']} MACs")
        typer.echo(f"  to_spp    {c['to_spp_pkts']:>12} pkts {c['to_spp_bytes']:>15} bytes")
        typer.echo(f"  to_kernel {c['to_kernel_pkts']:>12} pkts {c['to_kernel_bytes']:>15} bytes")
        typer.echo(f"  dropped   {c['dropped_pkts']:>12} pkts {c['dropped_bytes']:>15} bytes")
        typer.echo(f"  fwd       {c['fwd_pkts']:>12} pkts {c['fwd_bytes']:>15} bytes")


@app.command()
def mode(
    iface: Annotated[str, typer.Argument(help="Interface name or ifindex.")],
    steer: Annotated[
        str,
        typer.Argument(
            metavar="all|registered",
            help="all: every frame to SPP; registered: bcast/mcast + registered MACs.",
        ),
    ],
    drop: Annotated[
        bool,
        typer.Option(
            "--drop", help="Drop unregistered unicast instead of passing it to the kernel."
        ),
    ] = False,
) -> None:
    """Set the steering mode of an interface."""
    if steer not in ("all", "registered"):
        _fail(f"bad mode {steer!r}: expected all or registered")
    with _steering() as x:
        m = x.set_mode(iface, steer, drop_unknown=drop)
    typer.echo(f"ifindex {m.ifindex}: mode {m.mode}" + (" +drop-unknown" if m.drop_unknown else ""))


def _check_mac(mac: str, vlan: int) -> None:
    """Reject a bad MAC/VLAN before touching any map (works without a primary)."""
    from spp.xdp.errors import XdpError
    from spp.xdp.iface import check_vlan, parse_mac

    try:
        parse_mac(mac)
        check_vlan(vlan)
    except XdpError as exc:
        _fail(str(exc))


def _mac_cmd(fn: Callable[[Any], Any]) -> Any:
    with _steering() as x:
        return fn(x)


@app.command()
def add(
    iface: Annotated[str, typer.Argument(help="Ingress interface name or ifindex.")],
    mac: Annotated[str, typer.Argument(help="Unicast destination MAC, e.g. 52:54:00:12:34:56.")],
    vlan: Annotated[int, typer.Option("--vlan", help="VLAN id (0 = untagged).")] = 0,
) -> None:
    """Register a destination MAC: its frames go to SPP in registered mode."""
    _check_mac(mac, vlan)
    e = _mac_cmd(lambda x: x.add_mac(iface, mac, vlan))
    typer.echo(f"added {e.mac} vlan {e.vlan} on ifindex {e.ifindex}")


@app.command("del")
def delete(
    iface: Annotated[str, typer.Argument(help="Ingress interface name or ifindex.")],
    mac: Annotated[str, typer.Argument(help="Registered MAC to remove.")],
    vlan: Annotated[int, typer.Option("--vlan", help="VLAN id (0 = untagged).")] = 0,
) -> None:
    """Unregister a destination MAC."""
    _check_mac(mac, vlan)
    if not _mac_cmd(lambda x: x.del_mac(iface, mac, vlan)):
        _fail(f"{mac} vlan {vlan} is not registered on {iface}")
    typer.echo(f"deleted {mac} vlan {vlan} on {iface}")


@app.command("list")
def list_(
    iface: Annotated[str | None, typer.Argument(help="Interface name or ifindex.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List registered MACs."""
    with _steering() as x:
        entries = [e.to_dict() for e in x.macs(iface)]
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    from spp.xdp.iface import ifname_of

    for e in entries:
        name = ifname_of(e["ifindex"]) or str(e["ifindex"])
        typer.echo(f"{name:<16} vlan {e['vlan']:<4} {e['mac']}")


@app.command()
def offload(
    state: Annotated[str, typer.Argument(metavar="on|off",
                                         help="on: XDP forwards phy-to-phy patches; off: DPDK.")],
) -> None:
    """Turn the primary's XDP fast path of phy-to-phy patches on or off (through spp ctl,
    $SPP_CTL); forwarding goes on."""
    from spp.cli import commands as C
    from spp.cli.common import run_action

    if state not in ("on", "off"):
        _fail(f"bad state {state!r}: expected on or off")
    run_action(C.xdp_offload(state))


@app.command()
def clear(
    iface: Annotated[str | None, typer.Argument(help="Interface name or ifindex.")] = None,
) -> None:
    """Zero the counters of one interface (or all)."""
    n = _mac_cmd(lambda x: x.clear_counters(iface))
    typer.echo(f"cleared {n} counter set(s)")
