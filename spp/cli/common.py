"""Helpers shared by the Typer subcommands: controller address, errors, output."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, NoReturn

import typer

from spp.cli import commands as C
from spp.client import Client, SppError
from spp.defaults import API_ADDR, CTL_ENV


def ctl_addr() -> str:
    return os.environ.get(CTL_ENV, API_ADDR)


def client() -> Client:
    return Client(ctl_addr())


def fail(msg: str, code: int = 1) -> NoReturn:
    typer.echo(msg, err=True)
    raise typer.Exit(code)


def run_action(action: C.Action, as_json: bool = False) -> None:
    """Execute a parsed command; print its message (or raw JSON); one-line error on failure."""
    try:
        if as_json:
            res = client().request(action.method, action.path, action.body)
            typer.echo(json.dumps(res, indent=2))
        else:
            text = C.execute(client(), action)
            if text:
                typer.echo(text)
    except C.CommandError as exc:  # the command line itself: printed as is
        fail(exc.text, exc.exit_code)
    except SppError as exc:
        fail(f"Error: {exc.reason}", exc.exit_code)


def build(fn: Any, *args: Any) -> C.Action:
    try:
        action: C.Action = fn(*args)
        return action
    except C.CommandError as exc:
        fail(exc.text)


def launch(module: str, argv: list[str]) -> NoReturn:
    """Hand over to a process main (imported lazily) and exit with its return code."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        fail(f"Error: {module} is not available ({exc}).")
    sys.stdout.flush()
    raise typer.Exit(int(mod.main(list(argv)) or 0))
