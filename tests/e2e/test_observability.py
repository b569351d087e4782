"""Observability end to end: the real stack, a real `spp metrics serve` process, Debian's
real Prometheus scraping it every second, and frames sent at a known rate through the
classify-ICMP path (see observe.py).

Tolerances, stated once:
- the difference of a counter between two raw samples (`m @ t1 - m @ t0`) equals the
  frames sent exactly;
- `increase(m[W])` over a window W that covers the whole send is within 10% of it
  (Prometheus extrapolates from the first and last sample to the window's edges);
- `rate(m[4s])` in the middle of the send is within 10% of the frames per second sent
  (scrape timestamps jitter by tens of milliseconds over a 3 s sample span).
"""

from __future__ import annotations

import math
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from classify_icmp import MAC1, MAC2
from observe import Sent, send_pattern, start_observed_stack
from promserver import Prometheus

from spp.host.topology import Topology
from spp.testkit.capture import Capture
from spp.testkit.stack import Stack

pytestmark = pytest.mark.e2e

RATE = 200.0  # frames/s on r-eth0
SECONDS = 8.0


@dataclass
class Observed:
    stack: Stack
    prom: Prometheus
    metrics_port: int
    sent: Sent | None = None
    on_r_eth1: list[Any] | None = None


@pytest.fixture(scope="module")
def observed(default_topology: Topology,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    tmp = tmp_path_factory.mktemp("observed")
    with Stack(tmp) as stack:
        stack.start_ctl()
        mport = start_observed_stack(stack)
        with Prometheus(tmp, [f"127.0.0.1:{mport}"]) as prom:
            prom.wait_up()
            yield Observed(stack, prom, mport)


@pytest.fixture(scope="module")
def traffic(observed: Observed) -> Observed:
    """One paced send of SECONDS at RATE (with scrapes on both sides), captured on r-eth1."""
    time.sleep(2.5)  # a few scrapes before the first frame
    with Capture("spp-remote", "r-eth1") as cap:
        observed.sent = send_pattern(SECONDS, RATE)
        time.sleep(0.5)
    observed.on_r_eth1 = [f.parse() for f in cap.frames(received_only=True)]
    observed.prom.wait_scraped_after(observed.sent.end + 1.5)
    return observed


def _comp(metric: str, name: str) -> str:
    return f'{metric}{{client_id="1",component="{name}"}}'


def _expected(s: Sent) -> dict[str, int]:
    """Frames each series must count for one send (ARP is flooded to both forwarders)."""
    return {
        'spp_xdp_packets_total{iface="spp-p0",verdict="to_spp"}': s.to_spp,
        'spp_xdp_packets_total{iface="spp-p0",verdict="to_kernel"}': s.nobody,
        'spp_xdp_packets_total{iface="spp-p0",verdict="dropped"}': 0,
        'spp_phy_rx_packets_total{port="phy:0"}': s.to_spp,
        'spp_phy_tx_packets_total{port="phy:1"}': s.mac1 + s.mac2 + 2 * s.arp,
        'spp_vf_port_rx_packets_total{client_id="1",port="phy:0"}': s.to_spp,
        'spp_vf_port_tx_packets_total{client_id="1",port="phy:1"}': s.mac1 + s.mac2 + 2 * s.arp,
        'spp_ring_tx_packets_total{port="ring:0"}': s.mac1 + s.arp,
        'spp_ring_rx_packets_total{port="ring:1"}': s.mac2 + s.arp,
        _comp("spp_component_rx_packets_total", "cls"): s.to_spp,
        _comp("spp_component_tx_packets_total", "cls"): s.mac1 + s.mac2 + 2 * s.arp,
        _comp("spp_component_rx_packets_total", "fwd1"): s.mac1 + s.arp,
        _comp("spp_component_tx_packets_total", "fwd2"): s.mac2 + s.arp,
        _comp("spp_component_tx_packets_total", "mgr"): s.mac1 + s.mac2 + 2 * s.arp,
        'sum(spp_component_dropped_total{client_id="1"})': 0,
    }


def _fn(series: str, template: str) -> str:
    """`template` applied to the selector of `series`, inside its `sum(...)` if it has one."""
    if series.startswith("sum(") and series.endswith(")"):
        return "sum(" + template.format(series[4:-1]) + ")"
    return template.format(series)


def test_rate_and_increase_in_prometheus_match_the_frames_sent(traffic: Observed) -> None:
    s, prom = traffic.sent, traffic.prom
    assert s is not None and s.total == int(SECONDS * RATE)
    # the frames really went where the counters will say
    echoes = [f for f in traffic.on_r_eth1 or [] if f.icmp_type == 8]
    assert (sum(f.dst == MAC1 for f in echoes), sum(f.dst == MAC2 for f in echoes)) == \
        (s.mac1, s.mac2)
    assert sum(f.dst == "ff:ff:ff:ff:ff:ff" for f in traffic.on_r_eth1 or []) == 2 * s.arp

    before, after = s.start - 1.5, time.time()
    window = math.ceil(after - before)
    mid = s.start + SECONDS * 0.75  # rate window [mid - 4 s, mid] lies inside the send
    problems = []
    for series, want in _expected(s).items():
        exact = prom.value(_fn(series, f"{{}} @ {after:.3f}") + " - "
                           + _fn(series, f"{{}} @ {before:.3f}"), at=after)
        inc = prom.value(_fn(series, f"increase({{}}[{window}s])"), at=after)
        rate = prom.value(_fn(series, "rate({}[4s])"), at=mid)
        want_rate = want / (s.end - s.start)
        if exact != want:
            problems.append(f"{series}: raw difference {exact:g}, sent {want}")
        if abs(inc - want) > 0.10 * want:
            problems.append(f"{series}: increase[{window}s] {inc:.1f}, sent {want}")
        if abs(rate - want_rate) > 0.10 * want_rate:
            problems.append(f"{series}: rate[4s] {rate:.1f}/s, sent {want_rate:.1f}/s")
    assert not problems, "\n".join(problems) + "\n" + traffic.stack.log("metrics")


def test_promtool_check_metrics_is_clean_on_the_live_exposition(traffic: Observed) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{traffic.metrics_port}/metrics",
                                timeout=5) as res:
        text = res.read()
    for name in ("spp_lcore_busy_cycles_total", "spp_component_busy_cycles_total",
                 "spp_classifier_packets_total", "spp_process_info", "spp_ring_entries"):
        assert name.encode() in text
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           timeout=30)
    assert check.returncode == 0 and check.stdout == check.stderr == b"", \
        (check.stdout + check.stderr).decode()


def _busy(usage: list[dict[str, Any]]) -> dict[tuple[str, int], int]:
    out = {}
    for proc in usage:
        who = proc["proc-type"] if proc["proc-type"] == "primary" else f"vf:{proc['client-id']}"
        for lc in proc.get("lcore_cycles", []):
            out[(who, lc["lcore"])] = lc["busy"]
    return out


def test_cpu_usage_busy_cycles_rise_on_the_lcores_that_carry_traffic_only(
        observed: Observed) -> None:
    """Frames to MAC1 cross the bridge (lcore 1), cls (3), fwd1 (4) and mgr (6); fwd2's
    lcore 5 carries none of them."""
    cl = observed.stack.client
    before = _busy(cl.get("cpu_usage"))
    send_pattern(2.0, 200.0, pattern=(MAC1,))
    time.sleep(0.3)
    usage = cl.get("cpu_usage")
    after = _busy(usage)
    assert set(after) == {("primary", 1), ("vf:1", 3), ("vf:1", 4), ("vf:1", 5), ("vf:1", 6)}
    for key in (("primary", 1), ("vf:1", 3), ("vf:1", 4), ("vf:1", 6)):
        assert after[key] > before[key], (key, before, after)
    assert after[("vf:1", 5)] == before[("vf:1", 5)], (before, after)
    vf = next(p for p in usage if p["proc-type"] == "vf")
    comps = {c["name"]: c for c in vf["components"]}
    assert comps["fwd1"]["packets"] >= 400 and comps["fwd1"]["cycles_per_packet"] > 0
    idle = {lc["lcore"]: lc["idle"] for lc in vf["lcore_cycles"]}
    assert idle[5] > 0 and vf["tsc_hz"] > 0


# metric -> the status field (the status JSON) it is made from
PRODUCED_BY = {
    "spp_mbuf_pool_in_use": "mbuf_pool",
    "spp_mbuf_pool_size": "mbuf_pool",
    "spp_device_packets_total": "stats",
    "spp_device_bytes_total": "stats",
    "spp_device_dropped_total": "stats",
    "spp_xdp_socket_dropped_total": "xdp_socket",
}


def _reported(primary: dict[str, Any], field: str) -> bool:
    if field == "mbuf_pool":
        return isinstance(primary.get("mbuf_pool"), dict)
    return any(isinstance(p.get(field), dict) for p in primary.get("phy_ports", []))


def test_every_dashboard_query_returns_series_from_the_real_prometheus(
        traffic: Observed) -> None:
    from spp.metrics.dashboards import all_queries

    s, prom = traffic.sent, traffic.prom
    assert s is not None
    at = s.start + SECONDS * 0.75  # rate windows inside the send
    primary = traffic.stack.primary_status()
    empty, not_yet = [], []
    count = 0
    for name, title, expr in all_queries():
        promql = expr.replace("$__rate_interval", "4s").replace("$client_id", ".*")
        count += 1
        if prom.query(promql, at=at):
            continue
        fields = {PRODUCED_BY[m] for m in PRODUCED_BY if m in expr}
        if "spp_pcap_" in expr:  # this stack runs no spp_pcap (test_updown_family does)
            not_yet.append(f"{name} '{title}': no spp_pcap in this stack")
        elif fields and not any(_reported(primary, f) for f in fields):
            not_yet.append(f"{name} '{title}': the primary reports no {sorted(fields)} yet")
        else:
            empty.append(f"{name} '{title}': {promql}")
    assert count >= 25
    assert not empty, "panels without series:\n" + "\n".join(empty)
    values = prom.api("label/client_id/values", **{"match[]": "spp_classifier_entries"})
    assert values == ["1"]  # the dashboards' `client_id` variable
    if not_yet:
        import warnings

        warnings.warn("; ".join(not_yet), stacklevel=1)


def _row(screen: str, first: str) -> list[str]:
    """Cells of the table row whose first cell is `first` (rich's box characters)."""
    for line in screen.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃").split("│")]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} on the screen:\n{screen}")


def _near(shown: str, want: float, tol: float = 0.15) -> bool:
    return abs(float(shown) - want) <= tol * want


def test_spp_top_shows_the_rates_sent(observed: Observed) -> None:
    """`spp top` in a real terminal (tmux) and `spp top --once`, while 150 frames/s go to
    MAC1 (fwd1) and 50 frames/s to MAC2 (fwd2); each rate within 15%."""
    import os
    import sys
    import threading

    api = observed.stack.api
    session = f"spp-top-{os.getpid()}"
    env = f"SPP_CTL=127.0.0.1:{api}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "60",
                    f"env {env} {sys.executable} -m spp.cli.main top"], check=True)
    subprocess.run(["tmux", "resize-window", "-t", session, "-x", "160", "-y", "60"],
                   capture_output=True)
    sender = threading.Thread(target=send_pattern, args=(6.0, 200.0),
                              kwargs={"pattern": (MAC1, MAC1, MAC1, MAC2)})
    try:
        sender.start()
        time.sleep(3.5)
        screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                capture_output=True, text=True, check=True).stdout
        once = subprocess.run([sys.executable, "-m", "spp.cli.main", "top", "--once"],
                              env={**os.environ, "SPP_CTL": f"127.0.0.1:{api}",
                                   "COLUMNS": "200"},
                              capture_output=True, text=True, timeout=30)
    finally:
        sender.join()
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert once.returncode == 0, once.stderr
    for view in (screen, once.stdout):
        assert _near(_row(view, "phy:0 (spp-p0)")[1], 200), view
        assert _near(_row(view, "phy:1 (spp-p1)")[2], 200), view
        assert _near(_row(view, "vf:1 phy:0")[1], 200), view
        comps = {}
        for line in view.splitlines():
            cells = [c.strip() for c in line.strip().strip("│").split("│")]
            if len(cells) >= 8 and cells[0] == "vf:1":
                comps[cells[1]] = cells
        assert _near(comps["cls"][4], 200) and _near(comps["cls"][5], 200), view
        assert _near(comps["fwd1"][4], 150) and _near(comps["fwd2"][4], 50), view
        assert _near(comps["mgr"][5], 200), view
        assert comps["cls"][6] == "0" and comps["fwd1"][7] != "-", view
        lcore = {}
        for line in view.splitlines():
            cells = [c.strip() for c in line.strip().strip("│").split("│")]
            if len(cells) == 4 and cells[1].isdigit():
                lcore[(cells[0], int(cells[1]))] = float(cells[3])
        for key in (("primary", 1), ("vf:1", 3), ("vf:1", 4), ("vf:1", 6)):
            assert lcore[key] > 0, view  # busy Mcycles/s of lcores on the path
        assert "idle port(s) not shown" in view  # ring:4.. moved nothing
