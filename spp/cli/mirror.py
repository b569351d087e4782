"""`spp mirror`: launch spp_mirror, or talk to a running one (`spp mirror ID ...`)."""

from __future__ import annotations

from typing import Annotated

import typer

from spp.cli import commands as C
from spp.cli.procapp import add_start, add_status, add_word, proc_app, sec_runner

app = proc_app(
    short_help="Launch spp_mirror, or configure a running one: spp mirror ID COMMAND.",
    help="spp_mirror: `spp mirror start ARGS` (or EAL form `spp mirror -l 2-4 ... -- "
         "--client-id 1 -s IP:PORT`) launches it; `spp mirror ID COMMAND` talks to mirror ID.",
)
component_app = typer.Typer(help="Start or stop a mirror component.", no_args_is_help=True)
port_app = typer.Typer(help="Attach (add) or detach (del) a port of a component.",
                       no_args_is_help=True)
app.add_typer(component_app, name="component")
app.add_typer(port_app, name="port")

_do = sec_runner("mirror", C.mirror_action)
add_start(app, "spp.proc.mirror", "Launch spp_mirror with ARGS (runs spp.proc.mirror.main).")
add_status(app, _do, "Show lcores, ports and mirror components of mirror ID.")
add_word(app, _do, "exit", "Terminate spp_mirror ID.")


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
