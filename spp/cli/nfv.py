"""`spp nfv`: launch spp_nfv, or talk to a running one (`spp nfv ID ...`)."""

from __future__ import annotations

from typing import Annotated

import typer

from spp.cli import commands as C
from spp.cli.procapp import add_start, add_status, add_word, proc_app, sec_runner

app = proc_app(
    short_help="Launch spp_nfv, or configure a running one: spp nfv ID COMMAND.",
    help="spp_nfv: `spp nfv start ARGS` (or EAL form `spp nfv -l 4,5 ... -- -n 1 -s IP:PORT`) "
         "launches it; `spp nfv ID COMMAND` talks to nfv ID.",
)

_do = sec_runner("nfv", C.nfv_action)
add_start(app, "spp.proc.nfv", "Launch spp_nfv with ARGS (runs spp.proc.nfv.main).")
add_status(app, _do, "Show forwarding status, lcores, ports and patches of nfv ID.")


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


add_word(app, _do, "forward", "Start forwarding along the patches.")
add_word(app, _do, "stop", "Stop forwarding.")
add_word(app, _do, "exit", "Terminate spp_nfv ID.")
