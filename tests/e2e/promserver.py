"""A real Prometheus (Debian's `prometheus` binary) for end-to-end tests.

It runs on a free port of 127.0.0.1 with its own config and storage under a
temporary directory, scrapes the given targets every second, and is stopped by
pid (SIGTERM, then SIGKILL) when the context ends. A Prometheus started by the
Debian package (port 9090, /var/lib/prometheus) is neither used nor touched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from spp.testkit.wait import free_port, wait_for

SCRAPE_INTERVAL_S = 1.0

CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: spp
    static_configs:
      - targets: [{targets}]
"""


class Prometheus:
    def __init__(self, workdir: Path, targets: list[str]) -> None:
        self.workdir = workdir
        self.targets = targets
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "prometheus.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Prometheus:
        binary = shutil.which("prometheus")
        assert binary, "Debian's prometheus is not installed: run `make setup`"
        cfg = self.workdir / "prometheus.yml"
        cfg.write_text(CONFIG.format(targets=", ".join(f'"{t}"' for t in self.targets)))
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [binary, f"--config.file={cfg}", f"--storage.tsdb.path={self.workdir / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        wait_for(self._ready, 30, "prometheus to be ready")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.log()
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as res:
                return bool(res.status == 200)
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def __enter__(self) -> Prometheus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- HTTP API ------------------------------------------------------
    def api(self, path: str, **params: Any) -> Any:
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as res:
                doc = json.loads(res.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"prometheus {path} {params}: {exc.read().decode()}") from None
        assert doc["status"] == "success", doc
        return doc["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant vector of `expr` (at Unix time `at`, default now)."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self.api("query", **params)
        return list(data["result"]) if data["resultType"] == "vector" else [data]

    def value(self, expr: str, at: float | None = None) -> float:
        """The one value of `expr`; fails when it has no series or several."""
        res = self.query(expr, at)
        assert len(res) == 1, f"{expr}: expected one series, got {res}"
        return float(res[0]["value"][1])

    def wait_up(self, timeout: float = 20) -> None:
        """Until every target was scraped successfully at least once."""
        def all_up() -> bool:
            res = self.query('up{job="spp"}')
            return len(res) == len(self.targets) and all(r["value"][1] == "1" for r in res)
        wait_for(all_up, timeout, "prometheus to scrape the exporter")

    def wait_scraped_after(self, t: float, timeout: float = 10) -> None:
        """Until a scrape that started after Unix time `t` is stored."""
        def newer() -> bool:
            res = self.query('timestamp(up{job="spp"})')
            return bool(res) and all(float(r["value"][1]) > t for r in res)
        wait_for(newer, timeout, f"a scrape after {time.ctime(t)}")
