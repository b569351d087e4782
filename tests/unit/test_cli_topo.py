"""`spp topo` and the shell's `topo` against the real controller with fake processes
(tests/fakes.py); the real data plane is in tests/e2e/test_topo.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import FakePrimary, FakeVf, Stack  # noqa: E402

from spp.cli import commands as C  # noqa: E402
from spp.cli.shell import Shell  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def stack():
    s = Stack(timeout=1.0)
    s.pri = s.add(FakePrimary(nring=2))
    s.pri.patches.append({"src": "ring:1", "dst": "phy:1"})
    s.vf = s.add(FakeVf(1))
    s.vf.comps["fwd1"] = {"core": 3, "name": "fwd1", "type": "forward",
                          "rx_port": [{"port": "phy:0"}], "tx_port": [{"port": "ring:0"}]}
    yield s
    s.close()


@pytest.fixture(autouse=True)
def run_dir(tmp_path, monkeypatch):
    """No host state of this machine leaks into the pictures."""
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path / "run"))


def spp(stack, *args, cwd=ROOT):
    env = {**os.environ, "SPP_CTL": f"127.0.0.1:{stack.ctl.api_port}"}
    return subprocess.run([sys.executable, "-m", "spp.cli.main", "topo", *args],
                          capture_output=True, text=True, env=env, timeout=30, cwd=cwd)


def svg_nodes(path: Path) -> set[str]:
    root = ET.parse(path).getroot()
    return {g.find(f"{SVG_NS}title").text for g in root.iter(f"{SVG_NS}g")
            if g.get("class") == "node"}


def test_spp_topo_writes_the_svg_named_by_the_output_file(stack, tmp_path) -> None:
    res = spp(stack, "-o", str(tmp_path / "t.svg"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"Create topology: '{tmp_path / 't.svg'}'"
    assert {"proc_primary", "proc_vf_1", "vf_1_fwd1", "phy_0", "phy_1", "ring_0",
            "ring_1"} <= svg_nodes(tmp_path / "t.svg")


def test_spp_topo_json_to_stdout_has_the_patch_and_the_component_links(stack) -> None:
    res = spp(stack, "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    pairs = {(e["src"], e["dst"], e["owner"]) for e in doc["edges"]}
    assert {("ring_1", "phy_1", "primary"), ("phy_0", "vf_1_fwd1", "vf:1"),
            ("vf_1_fwd1", "ring_0", "vf:1")} <= pairs


def test_spp_topo_term_is_the_default(stack) -> None:
    res = spp(stack, "--rates", "--interval", "0.1")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"spp-ctl 127.0.0.1:{stack.ctl.api_port}")
    assert "phy:0 -> fwd1" in res.stdout and "ring:1 -> phy:1" in res.stdout


@pytest.mark.parametrize(("args", "msg"), [
    (["-o", "t.txt"], "spp topo: Invalid file type 'txt'"),
    (["--format", "gif"], "spp topo: Invalid file type 'gif'"),
    (["-o", "/nonexistent/dir/t.svg"], "spp topo: cannot write /nonexistent/dir/t.svg"),
])
def test_bad_output_is_one_line_and_exit_1(stack, args, msg) -> None:
    res = spp(stack, *args)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith(msg), res.stderr


def test_unreachable_controller_is_one_line(tmp_path) -> None:
    env = {**os.environ, "SPP_CTL": "127.0.0.1:1"}
    res = subprocess.run([sys.executable, "-m", "spp.cli.main", "topo"], capture_output=True,
                         text=True, env=env, timeout=30)
    assert res.returncode == 1
    assert res.stderr.strip() == \
        "spp topo: cannot reach spp ctl at 127.0.0.1:1 (ConnectionError)."


def shell(stack) -> tuple[Shell, list[str]]:
    out: list[str] = []
    return Shell([f"127.0.0.1:{stack.ctl.api_port}"], out=out.append), out


@pytest.mark.parametrize("name", ["t.dot", "t.svg", "t.png", "t.json", "t.yaml", "t.yml"])
def test_shell_topo_file_as_upstream(stack, tmp_path, name) -> None:
    sh, out = shell(stack)
    path = tmp_path / name
    sh.run_line(f"topo {path}")
    assert out == [f"Create topology: '{path}'"]
    assert path.stat().st_size > 0


def test_shell_topo_file_with_explicit_type(stack, tmp_path) -> None:
    sh, out = shell(stack)
    sh.run_line(f"topo {tmp_path / 'picture'} svg")
    assert (tmp_path / "picture").read_bytes().lstrip().startswith(b"<?xml")


def test_shell_topo_term_and_http(stack) -> None:
    sh, out = shell(stack)
    sh.run_line("topo term")
    assert "spp_vf 1" in out[0] and "fwd1  forward core 3" in out[0]
    sh.run_line("topo http")
    assert out[1] == f"Live topology: http://127.0.0.1:{stack.ctl.api_port}/topo"


@pytest.mark.parametrize("line", ["topo", "topo a b c", "topo t.gif", "topo term x"])
def test_shell_topo_bad_arguments_are_one_line(stack, line) -> None:
    sh, _ = shell(stack)
    with pytest.raises(C.CommandError) as exc:
        sh.run_line(line)
    assert "\n" not in exc.value.text
