"""`spp host` CLI error paths (no root needed for these)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spp.cli.main import app

runner = CliRunner()


def _one_line_error(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    err = result.stderr if hasattr(result, "stderr") else result.output
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["host", "--help"])
    assert result.exit_code == 0
    for cmd in ("up", "down", "show"):
        assert cmd in result.output


@pytest.mark.parametrize("cmd", ["up", "down"])
def test_missing_file(cmd: str, tmp_path: Path) -> None:
    line = _one_line_error(["host", cmd, str(tmp_path / "missing.yaml")])
    assert "no such file" in line


def test_bad_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    assert "not valid YAML" in _one_line_error(["host", "up", str(bad)])


def test_schema_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nveths: [{ends: [{name: a}]}]\n")
    assert "exactly two" in _one_line_error(["host", "up", str(bad)])


@pytest.mark.skipif(os.geteuid() == 0, reason="checks the non-root refusal")
def test_not_root() -> None:
    assert "root" in _one_line_error(["host", "up"])
