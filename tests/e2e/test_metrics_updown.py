"""`spp up` starts the Prometheus exporter on 127.0.0.1:9877 (pid file in the run
directory) and `spp down` stops it."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request

import pytest

from spp import rundir
from spp.host.topology import Topology
from spp.testkit.stack import SPP
from spp.testkit.wait import wait_for

pytestmark = pytest.mark.e2e

URL = "http://127.0.0.1:9877/metrics"


def scrape() -> str:
    with urllib.request.urlopen(URL, timeout=5) as res:
        return res.read().decode()


def test_spp_up_serves_metrics_on_9877_and_spp_down_stops_it(
        default_topology: Topology) -> None:
    from spp.host.updown import host_up

    pid_file = rundir.pid_path("metrics")
    try:
        up = subprocess.run([*SPP, "up"], capture_output=True, text=True, timeout=120)
        assert up.returncode == 0, up.stderr + up.stdout
        assert "metrics exporter on http://127.0.0.1:9877/metrics" in up.stdout
        assert "point Prometheus at 127.0.0.1:9877" in up.stdout
        pid = rundir.read_pid(pid_file)
        assert pid is not None and rundir.is_ours(pid)
        text = wait_for(lambda: 'spp_up{process="vf:1"} 1.0' in scrape() and scrape(), 15,
                        "vf 1 in the exposition")
        assert 'spp_process_info{process="primary",version=' in text
        assert 'spp_lcore_idle_cycles_total{lcore="3",process="vf:1"}' in text
        down = subprocess.run([*SPP, "down"], capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stderr
        assert f"stopped metrics (pid {pid})" in down.stdout
        assert not pid_file.exists() and not rundir.pid_alive(pid)
        with pytest.raises(urllib.error.URLError):
            scrape()
    finally:
        subprocess.run([*SPP, "down"], capture_output=True, timeout=120)
        host_up(default_topology)
