"""`topo`: draw the running SPP (shell `topo term|FILE [FTYPE]` and `spp topo`)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from rich.console import Console

from spp.client import Client
from spp.topo.collect import RATE_INTERVAL_S, sample
from spp.topo.model import Graph
from spp.topo.render import RenderError, format_of, render, render_term

USAGE = "Usage: topo term|http|FILE [FTYPE]  (FTYPE: dot, svg, png, jpg, json, yaml)"


def term_text(graph: Graph, title: str, color: bool | None = None) -> str:
    """The terminal view as text (ANSI colours when `color`, default: stdout is a tty)."""
    buf = io.StringIO()
    tty = sys.stdout.isatty() if color is None else color
    console = Console(file=buf, force_terminal=tty, no_color=not tty, width=120,
                      highlight=False)
    render_term(graph, console, title)
    return buf.getvalue().rstrip("\n")


def write_file(graph: Graph, path: str, fmt: str | None = None) -> str:
    """Write `graph` to `path` (format from `fmt` or the extension); the message to show."""
    data = render(graph, format_of(path, fmt))
    try:
        Path(path).expanduser().write_bytes(data)
    except OSError as exc:
        raise RenderError(f"cannot write {path} ({exc.strerror or exc}).") from None
    return f"Create topology: '{path}'"


def shell_topo(client: Client, args: list[str], rates: bool = False,
               interval: float = RATE_INTERVAL_S) -> str:
    """The shell's `topo` command; RenderError (one line) for bad arguments."""
    if not 1 <= len(args) <= 2:
        raise RenderError(USAGE)
    if args[0] == "http":
        return f"Live topology: {client.url}/topo"
    if args[0] == "term":
        if len(args) != 1:
            raise RenderError(USAGE)
        return term_text(sample(client, rates, interval), f"spp-ctl {client.address}")
    fmt = format_of(args[0], args[1] if len(args) == 2 else None)
    return write_file(sample(client, rates, interval), args[0], fmt)


def run(client: Client, fmt: str | None, output: Path | None, rates: bool,
        interval: float) -> int:
    """`spp topo`: 0, or 1 after one line on stderr."""
    from spp.client import SppError

    try:
        if output is not None:
            fmt = format_of(str(output), fmt)
        elif fmt is not None and fmt != "term":
            fmt = format_of("", fmt)
        graph = sample(client, rates, interval)
        if output is not None:
            print(write_file(graph, str(output), fmt))
        elif fmt is None or fmt == "term":
            print(term_text(graph, f"spp-ctl {client.address}"))
        else:
            data = render(graph, fmt)
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
    except RenderError as exc:
        print(f"spp topo: {exc}", file=sys.stderr)
        return 1
    except SppError as exc:
        print(f"spp topo: {exc.reason}", file=sys.stderr)
        return 1
    return 0
