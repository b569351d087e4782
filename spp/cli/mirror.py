"""`spp mirror`: launch spp_mirror, or talk to a running one (`spp mirror ID ...`)."""

from __future__ import annotations

from typing import Annotated

import typer

from spp.cli import commands as C
from spp.cli.common import build, fail, launch, run_action
from spp.cli.routing import LAUNCH_ARGS, SEC_ID, VfGroup

app = typer.Typer(
    cls=VfGroup, no_args_is_help=True, add_completion=False,
    short_help="Launch spp_mirror, or configure a running one: spp mirror ID COMMAND.",
    help="spp_mirror: `spp mirror start ARGS` (or EAL form `spp mirror -l 2-4 ... -- "
         "--client-id 1 -s IP:PORT`) launches it; `spp mirror ID COMMAND` talks to mirror ID.",
)
component_app = typer.Typer(help="Start or stop a mirror component.", no_args_is_help=True)
port_app = typer.Typer(help="Attach (add) or detach (del) a port of a component.",
                       no_args_is_help=True)
app.add_typer(component_app, name="component")
app.add_typer(port_app, name="port")

PASS = {"ignore_unknown_options": True, "allow_extra_args": True,
        "allow_interspersed_args": False, "help_option_names": []}


def _do(ctx: typer.Context, words: list[str], as_json: bool = False) -> None:
    sec = ctx.meta.get(SEC_ID)
    if sec is None:
        fail("Error: mirror ID required, e.g. `spp mirror 1 status`.")
    run_action(build(C.mirror_action, int(sec), words), as_json)


@app.command(context_settings=PASS)
def start(ctx: typer.Context) -> None:
    """Launch spp_mirror with ARGS (runs spp.proc.mirror.main)."""
    launch("spp.proc.mirror", ctx.meta.get(LAUNCH_ARGS, ctx.args))


@app.command()
def status(ctx: typer.Context,
           as_json: Annotated[bool, typer.Option("--json", help="Raw JSON.")] = False) -> None:
    """Show lcores, ports and mirror components of mirror ID."""
    _do(ctx, ["status"], as_json)


@app.command("exit")
def exit_(ctx: typer.Context) -> None:
    """Terminate spp_mirror ID."""
    _do(ctx, ["exit"])


@component_app.command("start")
def component_start(ctx: typer.Context, name: str, core: str,
                    role: Annotated[str, typer.Argument()] = "mirror") -> None:
    """Start mirror component NAME on worker lcore CORE (ROLE: mirror)."""
    _do(ctx, ["component", "start", name, core, role])


@component_app.command("stop")
def component_stop(ctx: typer.Context, name: str) -> None:
    """Stop component NAME."""
    _do(ctx, ["component", "stop", name])


WordsArg = Annotated[list[str], typer.Argument(metavar="RES_UID [nq Q] DIR NAME")]


@port_app.command("add")
def port_add(ctx: typer.Context, words: WordsArg) -> None:
    """Attach RES_UID as DIR (rx|tx) port of component NAME (1 rx, 2 tx)."""
    _do(ctx, ["port", "add", *words])


@port_app.command("del")
def port_del(ctx: typer.Context, words: WordsArg) -> None:
    """Detach RES_UID (DIR rx|tx) from component NAME."""
    _do(ctx, ["port", "del", *words])
