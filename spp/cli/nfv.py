"""`spp nfv`: launch spp_nfv, or talk to a running one (`spp nfv ID ...`)."""

from __future__ import annotations

from typing import Annotated

import typer

from spp.cli import commands as C
from spp.cli.common import build, fail, launch, run_action
from spp.cli.routing import LAUNCH_ARGS, SEC_ID, VfGroup

app = typer.Typer(
    cls=VfGroup, no_args_is_help=True, add_completion=False,
    short_help="Launch spp_nfv, or configure a running one: spp nfv ID COMMAND.",
    help="spp_nfv: `spp nfv start ARGS` (or EAL form `spp nfv -l 4,5 ... -- -n 1 -s IP:PORT`) "
         "launches it; `spp nfv ID COMMAND` talks to nfv ID.",
)

PASS = {"ignore_unknown_options": True, "allow_extra_args": True,
        "allow_interspersed_args": False, "help_option_names": []}


def _do(ctx: typer.Context, words: list[str], as_json: bool = False) -> None:
    sec = ctx.meta.get(SEC_ID)
    if sec is None:
        fail("Error: nfv ID required, e.g. `spp nfv 1 status`.")
    run_action(build(C.nfv_action, int(sec), words), as_json)


@app.command(context_settings=PASS)
def start(ctx: typer.Context) -> None:
    """Launch spp_nfv with ARGS (runs spp.proc.nfv.main)."""
    launch("spp.proc.nfv", ctx.meta.get(LAUNCH_ARGS, ctx.args))


@app.command()
def status(ctx: typer.Context,
           as_json: Annotated[bool, typer.Option("--json", help="Raw JSON.")] = False) -> None:
    """Show forwarding status, lcores, ports and patches of nfv ID."""
    _do(ctx, ["status"], as_json)


@app.command()
def add(ctx: typer.Context, uid: Annotated[str, typer.Argument(metavar="RES_UID")]) -> None:
    """Add port RES_UID (phy:N, ring:N, vhost:N)."""
    _do(ctx, ["add", uid])


@app.command("del")
def del_(ctx: typer.Context, uid: Annotated[str, typer.Argument(metavar="RES_UID")]) -> None:
    """Delete port RES_UID (no patch may use it)."""
    _do(ctx, ["del", uid])


@app.command()
def patch(ctx: typer.Context, words: Annotated[list[str], typer.Argument(
        metavar="SRC DST | reset")]) -> None:
    """Patch SRC to DST, or `reset` to remove every patch."""
    _do(ctx, ["patch", *words])


@app.command()
def forward(ctx: typer.Context) -> None:
    """Start forwarding along the patches."""
    _do(ctx, ["forward"])


@app.command()
def stop(ctx: typer.Context) -> None:
    """Stop forwarding."""
    _do(ctx, ["stop"])


@app.command("exit")
def exit_(ctx: typer.Context) -> None:
    """Terminate spp_nfv ID."""
    _do(ctx, ["exit"])
