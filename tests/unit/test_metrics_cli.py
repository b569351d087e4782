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
        {"port": 9877, "addr": "127.0.0.1", "ctl_url": "http://127.0.0.1:7777", "timeout": 1.0,
         "pid_file": None, "allow_hosts": ()}
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
    assert calls == [{"port": 9999, "addr": "0.0.0.0", "ctl_url": "http://h:1/v1", "timeout": 0.3,
                      "pid_file": None, "allow_hosts": ()}]


def test_help() -> None:
    res = CliRunner().invoke(cli.app, ["serve", "--help"])
    assert res.exit_code == 0
    assert "--ctl-url" in res.output


def test_port_in_use_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def busy(**kw: Any) -> None:
        raise OSError(98, "Address already in use")

    monkeypatch.setattr(cli, "run_server", busy)
    res = CliRunner().invoke(cli.app, ["serve"])
    assert res.exit_code == 1
    assert "cannot listen on 127.0.0.1:9877: Address already in use" in res.output
    assert "Traceback" not in res.output
