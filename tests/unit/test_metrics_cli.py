"""`spp metrics serve` Typer sub-app."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from spp.metrics import cli


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(cli, "run_server", lambda **kw: seen.append(kw))
    return seen


def test_serve_defaults(calls: list[dict[str, Any]]) -> None:
    res = CliRunner().invoke(cli.app, ["serve"])
    assert res.exit_code == 0, res.output
    assert calls == [
        {"port": 9877, "addr": "127.0.0.1", "ctl_url": "http://127.0.0.1:7777", "timeout": 1.0}
    ]


def test_serve_options_as_sub_app(calls: list[dict[str, Any]]) -> None:
    parent = typer.Typer()
    parent.add_typer(cli.app, name="metrics")

    @parent.command()
    def other() -> None:
        pass

    args = ["metrics", "serve", "-p", "9999", "-b", "0.0.0.0", "--ctl-url", "http://h:1/v1"]
    res = CliRunner().invoke(parent, [*args, "--timeout", "0.3"])
    assert res.exit_code == 0, res.output
    assert calls == [{"port": 9999, "addr": "0.0.0.0", "ctl_url": "http://h:1/v1", "timeout": 0.3}]


def test_help() -> None:
    res = CliRunner().invoke(cli.app, ["serve", "--help"])
    assert res.exit_code == 0
    assert "--ctl-url" in res.output
