"""`spp metrics` commands (Typer sub-app; registered by spp/cli/main.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spp.metrics.reader import DEFAULT_CTL_URL, DEFAULT_TIMEOUT
from spp.metrics.server import DEFAULT_ADDR, DEFAULT_PORT
from spp.metrics.server import serve as run_server
from spp.rundir import PidFileBusy

app = typer.Typer(help="Prometheus exporter for SPP counters.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Prometheus exporter for SPP counters."""


@app.command()
def serve(
    port: int = typer.Option(DEFAULT_PORT, "--port", "-p", help="Port to serve /metrics on."),
    addr: str = typer.Option(DEFAULT_ADDR, "--addr", "-b", help="Address to bind."),
    ctl_url: str = typer.Option(DEFAULT_CTL_URL, "--ctl-url", help="spp ctl REST base URL."),
    timeout: float = typer.Option(
        DEFAULT_TIMEOUT, "--timeout", help="Seconds per REST request of a scrape."
    ),
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", help="Also answer scrapes for this host name (repeatable).")] = None,
    pid_file: Annotated[Path | None, typer.Option("--pid-file", hidden=True)] = None,
) -> None:
    """Serve /metrics, reading `spp ctl` REST API on every scrape."""
    try:
        run_server(port=port, addr=addr, ctl_url=ctl_url, timeout=timeout, pid_file=pid_file,
                   allow_hosts=allow_host or ())
    except PidFileBusy as exc:
        typer.echo(f"spp metrics: {exc}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"spp metrics: cannot listen on {addr}:{port}: {exc.strerror or exc}",
                   err=True)
        raise typer.Exit(1) from None


@app.command()
def dashboards(
    out: Annotated[Path | None, typer.Option(
        "--out", help="Directory for the JSON files (default: grafana/dashboards).")] = None,
) -> None:
    """Write the Grafana dashboards (generated with grafanalib) as JSON."""
    from spp.metrics.dashboards import OUT_DIR, write_all

    for path in write_all(out or OUT_DIR):
        typer.echo(f"wrote {path}")
