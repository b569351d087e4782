"""Bench results as files: `results.json` and a PNG chart of each case against its reference.

`make bench` writes them to build/bench/ (BENCH_OUT overrides); the JSON holds every
case run, failed ones with their error, and the chart one panel per measured case: the
value of spp-xdp beside the reference measured in the same run, with the ratio.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT_ENV = "BENCH_OUT"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "build" / "bench"


@dataclass
class CaseRecord:
    case: str
    value: float | None = None
    unit: str = ""
    ref: float | None = None
    ref_label: str = ""
    ratio: float | None = None
    note: str = ""
    error: str | None = None


@dataclass
class Report:
    started: float = field(default_factory=time.time)
    cases: list[CaseRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "host": {"cpus": os.cpu_count(), "kernel": platform.release(),
                     "machine": platform.machine()},
            "cases": [vars(c) for c in self.cases],
        }


def out_dir() -> Path:
    return Path(os.environ.get(OUT_ENV) or DEFAULT_OUT)


def write(report: Report, directory: Path | None = None) -> tuple[Path, Path | None]:
    """Write results.json and, when a case was measured, results.png; return their paths."""
    directory = directory or out_dir()
    directory.mkdir(parents=True, exist_ok=True)
    js = directory / "results.json"
    js.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    measured = [c for c in report.cases if c.error is None and c.value is not None]
    if not measured:
        return js, None
    png = directory / "results.png"
    chart(measured, png, report.started)
    return js, png


def chart(cases: list[CaseRecord], path: Path, started: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    cols = min(len(cases), 3)
    rows = (len(cases) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.9 * rows), squeeze=False)
    for ax in axes.flat[len(cases):]:
        ax.set_visible(False)
    for ax, c in zip(axes.flat, cases, strict=False):
        labels = ["spp-xdp", c.ref_label or "reference"]
        values = [c.value or 0.0, c.ref or 0.0]
        bars = ax.bar(labels, values, color=["#1f77b4", "#a0a0a0"], width=0.6)
        ax.bar_label(bars, labels=[_short(v) for v in values], padding=2, fontsize=9)
        better = "lower is better" if "cycles" in c.unit else "higher is better"
        ratio = f"ratio = {c.ratio:.2f}" if c.ratio is not None else "no ratio"
        ax.set_title(f"{c.case}\n{ratio} ({better})", fontsize=10)
        ax.set_ylabel(c.unit)
        ax.set_ylim(0, max(values) * 1.18 or 1)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _short(v)))
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("make bench: spp-xdp against its reference, measured in the same run "
                 + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _short(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e4:
        return f"{v / 1e3:.0f}k"
    return f"{v:.0f}"
