"""bench/report.py: make bench's JSON and PNG outputs (the measurements are `make bench`)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import report


def test_json_and_png_hold_every_case(tmp_path: Path) -> None:
    r = report.Report()
    r.cases += [
        report.CaseRecord("primary-patch", 720000.0, "pps", 800000.0, "dpdk-testpmd io-fwd",
                          0.9, "note"),
        report.CaseRecord("vf-icmp-cycles", 4068.0, "cycles/pkt", 3465.0,
                          "dpdk-testpmd io-fwd", 1.17, "note"),
        report.CaseRecord("vf-icmp-lcores", error="generator did not start"),
    ]
    js, png = report.write(r, tmp_path)
    doc = json.loads(js.read_text())
    assert [c["case"] for c in doc["cases"]] == ["primary-patch", "vf-icmp-cycles",
                                                 "vf-icmp-lcores"]
    assert doc["cases"][1]["ratio"] == 1.17 and doc["cases"][1]["unit"] == "cycles/pkt"
    assert doc["cases"][2]["error"] == "generator did not start"
    assert doc["host"]["cpus"] >= 1
    assert png is not None and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_png_when_nothing_was_measured(tmp_path: Path) -> None:
    r = report.Report(cases=[report.CaseRecord("primary-patch", error="x")])
    js, png = report.write(r, tmp_path)
    assert js.exists() and png is None and not (tmp_path / "results.png").exists()


def test_out_dir_from_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(report.OUT_ENV, str(tmp_path / "x"))
    assert report.out_dir() == tmp_path / "x"
