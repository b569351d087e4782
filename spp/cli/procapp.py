"""What the process subcommands (`spp primary|vf|nfv|mirror|pcap`) share.

Each is a Typer app routed by spp.cli.routing: `spp KIND start ARGS` (or the
EAL form) launches the process's main; `spp KIND ID COMMAND` runs a command
against process ID through the controller. This module builds the app, the
`start` command, and the commands that are one word (`status`, `exit`, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Protocol

import typer

from spp.cli.common import build, fail, launch, run_action
from spp.cli.routing import LAUNCH_ARGS, SEC_ID, ProcGroup, VfGroup

# `start` passes every word after it to the process, options and --help included
PASS = {"ignore_unknown_options": True, "allow_extra_args": True,
        "allow_interspersed_args": False, "help_option_names": []}


class Run(Protocol):
    """Runs the words of one command against the context's process (raw JSON if asked)."""

    def __call__(self, ctx: typer.Context, words: list[str], as_json: bool = False) -> None: ...


def proc_app(short_help: str, help: str, takes_id: bool = True) -> typer.Typer:
    """The app of one process kind; `takes_id`: `spp KIND ID ...` names one of several."""
    return typer.Typer(cls=VfGroup if takes_id else ProcGroup, no_args_is_help=True,
                       add_completion=False, short_help=short_help, help=help)


def sec_id(ctx: typer.Context, kind: str) -> int:
    """The ID of `spp KIND ID ...`; without one, the error says it is required."""
    sec = ctx.meta.get(SEC_ID)
    if sec is None:
        fail(f"Error: {kind} ID required, e.g. `spp {kind} 1 status`.")
    return int(sec)


def sec_runner(kind: str, action: Callable[..., Any]) -> Run:
    """A Run for secondary `kind`: its commands' words parsed by `action` (spp.cli.commands)."""
    def run(ctx: typer.Context, words: list[str], as_json: bool = False) -> None:
        run_action(build(action, sec_id(ctx, kind), words), as_json)
    return run


def add_start(app: typer.Typer, module: str, doc: str,
              on_id: Callable[[typer.Context], None] | None = None) -> None:
    """The `start` command: run `module`'s main with the words after it.

    With `on_id`, `spp KIND ID start` (an ID given) runs `on_id` instead.
    """
    @app.command("start", context_settings=PASS, help=doc)
    def start(ctx: typer.Context) -> None:
        if on_id is not None and ctx.meta.get(SEC_ID) is not None:
            on_id(ctx)
            return
        launch(module, ctx.meta.get(LAUNCH_ARGS, ctx.args))


def add_status(app: typer.Typer, run: Run, doc: str) -> None:
    """The `status` command, as text or (--json) the raw JSON."""
    @app.command("status", help=doc)
    def status(ctx: typer.Context, as_json: Annotated[bool, typer.Option(
            "--json", help="Raw JSON.")] = False) -> None:
        run(ctx, ["status"], as_json)


def add_word(app: typer.Typer, run: Run, word: str, doc: str) -> None:
    """A command that is its one word (`exit`, `forward`, `stop`)."""
    @app.command(word, help=doc)
    def command(ctx: typer.Context) -> None:
        run(ctx, [word], False)
