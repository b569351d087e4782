"""Entry point of the `spp` command: one Typer app, sub-apps per concern."""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from spp import defaults, rundir
from spp.cli import host, mirror, nfv, pcap, primary, vf, xdp
from spp.cli.common import client, ctl_addr, fail
from spp.errors import SppError
from spp.metrics import cli as metrics_cli

app = typer.Typer(
    name="spp",
    help="Soft Patch Panel: DPDK primary, spp_vf L2 switch, controller and shell.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(host.app, name="host")
app.add_typer(xdp.app, name="xdp")
app.add_typer(metrics_cli.app, name="metrics")
app.add_typer(primary.app, name="primary")
app.add_typer(vf.app, name="vf")
app.add_typer(nfv.app, name="nfv")
app.add_typer(mirror.app, name="mirror")
app.add_typer(pcap.app, name="pcap")


class AuthMode(enum.StrEnum):
    none = "none"
    token = "token"


@app.command()
def ctl(
    bind: Annotated[str, typer.Option("-b", "--bind", help="Address to bind.")]
    = defaults.LOCALHOST,
    pri_port: Annotated[int, typer.Option("-p", "--pri-port", help="Primary port.")]
    = defaults.PRIMARY_PORT,
    sec_port: Annotated[int, typer.Option("-s", "--sec-port", help="Secondary port.")]
    = defaults.SECONDARY_PORT,
    api_port: Annotated[int, typer.Option("-a", "--api-port", help="REST API port.")]
    = defaults.API_PORT,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for a process reply.")] = 5.0,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", help="Also answer requests for this host name (repeatable).")] = None,
    auth: Annotated[AuthMode, typer.Option(
        help="`token`: require Authorization: Bearer <token>; the token is created in "
             "the run directory (see docs/security.md).")] = AuthMode.none,
    pid_file: Annotated[Path | None, typer.Option(hidden=True)] = None,
    restore: Annotated[str, typer.Option(
        help="Give a process that registers again after it died its configuration back: "
             "on, off (upstream's behaviour: it starts empty) or all (also what the state "
             "file holds for processes that left by exit, once).")] = "on",
    state_file: Annotated[Path | None, typer.Option(
        help="Keep the configurations in this file (and FILE.journal) across controller "
             "restarts; `spp up` uses <run dir>/<file prefix>/ctl-state.json.",
        show_default=False)] = None,
) -> None:
    """Run the controller: REST API v1 and the process listeners."""
    from spp.ctl.saved import RESTORE_MODES
    from spp.ctl.server import run
    from spp.safefile import UnsafeFile

    if restore not in RESTORE_MODES:
        fail(f"spp ctl: --restore {restore}: expected one of {', '.join(RESTORE_MODES)}")
    try:
        run(bind, pri_port, sec_port, api_port, pid_file=pid_file, timeout=timeout,
            allow_hosts=tuple(allow_host or ()), auth=auth.value,
            restore=restore, state_file=state_file)
    except rundir.PidFileBusy as exc:
        fail(f"spp ctl: {exc}")
    except OSError as exc:
        if exc.filename:
            fail(f"spp ctl: {exc.filename}: {exc.strerror or exc}")
        fail(f"spp ctl: cannot listen on {bind}: {exc.strerror or exc}")
    except UnsafeFile as exc:
        fail(f"spp ctl: {exc}")


ServerOpt = Annotated[list[str] | None, typer.Option(
    "-b", "--bind", help="spp ctl address IP[:PORT] (repeat for several controllers).")]


def _shell(servers: list[str] | None) -> None:
    from spp.cli.shell import main as shell_main

    raise typer.Exit(shell_main(servers or [ctl_addr()]))


@app.command()
def shell(bind: ServerOpt = None) -> None:
    """Interactive `spp > ` shell (upstream SPP CLI commands)."""
    _shell(bind)


@app.command("cli", hidden=True)
def cli_alias(bind: ServerOpt = None) -> None:
    """Alias of `spp shell`."""
    _shell(bind)


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Raw JSON.")] = False) -> None:
    """Show controller address, primary state and secondaries."""
    from spp.cli.statusfmt import ctl_security, overall_status

    cl = client()
    try:
        procs = cl.processes()
    except SppError as exc:
        fail(f"Error: {exc.reason}")
    try:
        info = cl.get("ctl")
    except SppError:
        info = None
    if as_json:
        typer.echo(json.dumps({"spp-ctl": cl.address, "processes": procs, "ctl": info},
                              indent=2))
        return
    text = overall_status(cl.address, procs)
    if isinstance(info, dict):
        head, _, rest = text.partition("\n- primary:")
        text = "\n".join([head, *ctl_security(info)]) + "\n- primary:" + rest
    typer.echo(text)


@app.command()
def top(
    once: Annotated[bool, typer.Option("--once", help="Print one view and exit.")] = False,
    interval: Annotated[float, typer.Option(
        "--interval", "-i", min=0.1, help="Seconds between samples.")] = 1.0,
    show_all: Annotated[bool, typer.Option("--all", help="Also ports that moved nothing.")]
    = False,
) -> None:
    """Live view of port and component rates, drops by reason, lcore busy, ring fill."""
    from spp.cli.top import run

    raise typer.Exit(run(client(), interval, once, show_all))


@app.command()
def topo(
    fmt: Annotated[str | None, typer.Option(
        "--format", "-f", help="term, dot, svg, png, jpg, json or yaml (default: from the "
                               "-o file's extension, else term).", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write to this file instead of stdout.")] = None,
    rates: Annotated[bool, typer.Option(
        "--rates", help="Per-link and per-port packet rates (two samples).")] = False,
    interval: Annotated[float, typer.Option(
        "--interval", "-i", min=0.1, help="Seconds between the two samples of --rates.")] = 1.0,
) -> None:
    """Draw processes, components, ports, netdevs, VMs and the links between them."""
    from spp.cli.topo import run

    raise typer.Exit(run(client(), fmt, output, rates, interval))


@app.command()
def playback(
    file: Path,
    keep_going: Annotated[bool, typer.Option(help="Run every line, fail at the end.")] = False,
) -> None:
    """Run a recipe (.rcp) of shell commands; stop at the first failing line."""
    from spp.cli.shell import Shell

    sh = Shell([ctl_addr()])
    ok = sh.playback(str(file), keep_going, err=lambda m: typer.echo(m, err=True))
    raise typer.Exit(0 if ok else 1)


@app.command()
def up(
    topology: Annotated[str, typer.Option(help="`default` or a topology YAML.")] = "default",
    ctl_bind: Annotated[str | None, typer.Option(
        help="Controller address (default: the topology's `ctl.bind`).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each part.")] = 30.0,
    metrics: Annotated[bool, typer.Option(
        help="Also start the Prometheus exporter (127.0.0.1, the topology's "
             f"`ctl.metrics_port`, default {defaults.METRICS_PORT}).")] = True,
    auth: Annotated[AuthMode, typer.Option(
        help="Start spp ctl with `--auth token` (see `spp ctl --help`).")] = AuthMode.none,
    restore: Annotated[bool, typer.Option(
        "--restore", help="A controller started now gives the processes the configuration "
        "its state file holds, also after `spp down` (else only after a crash).")] = False,
    wait: Annotated[bool, typer.Option(
        "--wait", help="Return once every VM of the topology is ready.")] = False,
    wait_timeout: Annotated[float | None, typer.Option(
        help="Seconds --wait waits for the VMs (default 300).", show_default=False)] = None,
) -> None:
    """Host topology (and its VMs), then spp ctl, primary, vf 1 and the metrics exporter.

    Starts only what is not running and says which; a topology with `processes:` gives
    the primary's and spp_vf's command lines.
    """
    from spp.cli.updown import UpError
    from spp.cli.updown import up as do_up

    try:
        do_up(topology, ctl_bind, timeout, echo=typer.echo, metrics=metrics, auth=auth.value,
              restore=restore, wait=wait, wait_timeout=wait_timeout)
    except UpError as exc:
        fail(f"spp up: {exc}")


@app.command()
def down(
    topology: Annotated[str | None, typer.Option(
        help="`default` or a topology YAML (default: the topologies `spp up` brought up).",
        show_default=False)] = None,
    ctl_bind: Annotated[str | None, typer.Option(
        help="Controller address (default: the topology's `ctl.bind`).")] = None,
) -> None:
    """Stop vf, primary and spp ctl (REST, then pid files), then the host topology."""
    from spp.cli.updown import down as do_down

    problems = do_down(ctl_bind, topology, echo=typer.echo)
    if problems:
        fail("spp down: " + "; ".join(problems))


def _click_error(exc: Exception) -> int:
    """Click's usage and parameter errors, met through their public interface only.

    Typer bundles its own copy of Click (not importable by a public name) in
    recent releases and depends on the `click` package in older ones; both
    raise exceptions with `format_message()`, `exit_code` and, for usage
    errors, `ctx`.
    """
    message = str(exc.format_message()) if hasattr(exc, "format_message") else str(exc)
    if type(exc).__name__ == "NoArgsIsHelpError":
        typer.echo(message)
        return 0
    if hasattr(exc, "ctx"):  # UsageError and its subclasses
        ctx = exc.ctx
        cmd = ctx.command_path if ctx else "spp"
        typer.echo(f"{cmd}: {message} (see `{cmd} --help`)", err=True)
        return 2
    typer.echo(f"spp: {message}", err=True)
    return int(getattr(exc, "exit_code", 1))


def main(argv: list[str] | None = None) -> int:
    """Run the app; usage errors and failures end in one stderr line, never a traceback."""
    try:
        rv = app(args=argv, prog_name="spp", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        return 1
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        return 130
    except SppError as exc:  # one line and the exit code of its kind (spp.errors)
        typer.echo(f"spp: {exc.reason}", err=True)
        return exc.exit_code
    except Exception as exc:
        if hasattr(exc, "format_message"):  # a Click exception (usage, bad parameter, ...)
            return _click_error(exc)
        typer.echo(f"spp: internal error: {type(exc).__name__}: {exc}", err=True)  # last resort
        return 1
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())
