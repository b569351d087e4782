"""`spp pcap`: launch spp_pcap, or talk to a running one (`spp pcap ID ...`)."""

from __future__ import annotations

from typing import Annotated

import typer

from spp.cli import commands as C
from spp.cli.common import build, fail, launch, run_action
from spp.cli.routing import LAUNCH_ARGS, SEC_ID, VfGroup

app = typer.Typer(
    cls=VfGroup, no_args_is_help=True, add_completion=False,
    short_help="Launch spp_pcap, or control a running one: spp pcap ID COMMAND.",
    help="spp_pcap: `spp pcap start ARGS` (or EAL form `spp pcap -l 2-4 ... -- "
         "--client-id 1 -s IP:PORT -c phy:0 [--out-dir DIR] [--fsize BYTES]`) launches it; "
         "`spp pcap ID COMMAND` talks to pcap ID.",
)

PASS = {"ignore_unknown_options": True, "allow_extra_args": True,
        "allow_interspersed_args": False, "help_option_names": []}


def _do(ctx: typer.Context, words: list[str], as_json: bool = False) -> None:
    sec = ctx.meta.get(SEC_ID)
    if sec is None:
        fail("Error: pcap ID required, e.g. `spp pcap 1 status`.")
    run_action(build(C.pcap_action, int(sec), words), as_json)


@app.command(context_settings=PASS)
def start(ctx: typer.Context) -> None:
    """Launch spp_pcap with ARGS (runs spp.proc.pcap.main); `spp pcap ID start`: capture."""
    if ctx.meta.get(SEC_ID) is not None:
        _do(ctx, ["start"])
        return
    launch("spp.proc.pcap", ctx.meta.get(LAUNCH_ARGS, ctx.args))


@app.command()
def status(ctx: typer.Context,
           as_json: Annotated[bool, typer.Option("--json", help="Raw JSON.")] = False) -> None:
    """Show capture state, lcores, files and counters of pcap ID."""
    _do(ctx, ["status"], as_json)


@app.command()
def stop(ctx: typer.Context) -> None:
    """Stop capturing; every file is completed."""
    _do(ctx, ["stop"])


@app.command("exit")
def exit_(ctx: typer.Context) -> None:
    """Terminate spp_pcap ID (a running capture is stopped first)."""
    _do(ctx, ["exit"])
