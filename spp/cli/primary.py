"""`spp primary`: launch the primary, or talk to the running one."""

from __future__ import annotations

from typing import Annotated

import typer

from spp.cli import commands as C
from spp.cli.common import build, run_action
from spp.cli.procapp import PASS, add_start, proc_app

app = proc_app(
    takes_id=False,
    short_help="Launch the primary, or control it (status, patch, forward).",
    help="spp_primary: `spp primary start ARGS` (or EAL form `spp primary -l 1 ... -- -p 0x03 "
         "-n 10 -s IP:PORT`) launches it; other commands talk to the running primary.",
)

def _do(words: list[str], as_json: bool = False) -> None:
    run_action(build(C.pri_action, words), as_json)


add_start(app, "spp.proc.primary", "Launch the primary with ARGS (runs spp.proc.primary.main).")


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Raw JSON.")] = False) -> None:
    """Show lcores, port statistics, patches and forwarding state."""
    _do(["status"], as_json)


@app.command()
def clear() -> None:
    """Clear port statistics."""
    _do(["clear"])


@app.command()
def patch(src: str, dst: str) -> None:
    """Patch SRC port to DST port (e.g. phy:0 phy:1)."""
    _do(["patch", src, dst])


@app.command("patch-reset")
def patch_reset() -> None:
    """Remove all patches."""
    _do(["patch", "reset"])


@app.command()
def forward() -> None:
    """Start forwarding along the patches."""
    _do(["forward"])


@app.command()
def stop() -> None:
    """Stop forwarding."""
    _do(["stop"])


@app.command("launch", context_settings=PASS)
def launch_(ctx: typer.Context) -> None:
    """Launch a secondary: `launch vf|nfv|mirror ID EAL_OPTS -- APP_OPTS`; waits until it registers
    and prints its own reason if it exits instead (as `pri; launch` in the shell)."""
    _do(["launch", *ctx.args])


@app.command("exit")
def exit_() -> None:
    """Terminate the primary."""
    _do(["exit"])
