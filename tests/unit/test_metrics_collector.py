"""SppCollector against a fake `spp ctl` REST API (http.server on an ephemeral port)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from spp.metrics import METRIC_NAMES, SppCollector, start_server
from spp.metrics.reader import api_base
from spp.testkit.wait import free_port

PROCESSES = [{"type": "primary"}, {"type": "vf", "client-id": 1}]
DEV_STATS = {"ipackets": 101, "opackets": 91, "ibytes": 6464, "obytes": 5824, "imissed": 5,
             "ierrors": 0, "oerrors": 1, "rx_nombuf": 2}
XSK_STATS = {"rx_dropped": 11, "rx_invalid_descs": 0, "tx_invalid_descs": 3, "rx_ring_full": 9,
             "rx_fill_ring_empty_descs": 4, "tx_ring_empty_descs": 6}
PRIMARY = {
    "lcores": [0, 1],
    "process": {"pid": 42, "version": "0.1.0", "start_time": 1700000000.5},
    "tsc_hz": 2_000_000_000,
    "lcore_cycles": [{"lcore": 1, "busy": 5000, "idle": 95000, "packets": 40}],
    "mbuf_pool": {"name": "spp_mbuf_pool", "size": 32768, "in_use": 1200, "available": 31568},
    "phy_ports": [
        {"id": 0, "rx": 100, "tx": 90, "tx_drop": 3, "rx_drop": 4, "eth": "02:00:00:00:00:00",
         "iface": "spp-p0", "stats": DEV_STATS, "xdp_socket": XSK_STATS},
        {"id": 1, "rx": 7, "tx": 8, "tx_drop": 0, "eth": "02:00:00:00:00:01"},
    ],
    "vhost_ports": [{"id": 2, "rx": 1, "tx": 1, "iface": "/tmp/sock2",
                     "stats": {**DEV_STATS, "imissed": 0}}],
    "ring_ports": [
        {"id": 0, "rx": 50, "rx_drop": 1, "tx": 60, "tx_drop": 2, "size": 1024, "count": 10},
        {"id": 1, "rx": 0, "rx_drop": 0, "tx": 0, "tx_drop": 0},
    ],
    "patches": [],
    "forwarding": True,
    "xdp": {
        "spp-p0": {"to_spp_pkts": 1000, "to_kernel_pkts": 20, "dropped_pkts": 4, "rx_pkts": 1},
        "spp-p1": {"to_spp_pkts": 5, "to_kernel_pkts": 6, "dropped_pkts": 0},
    },
}
VF1 = {
    "client-id": 1,
    "process": {"pid": 43, "version": "0.1.0", "start_time": 1700000001.0},
    "tsc_hz": 2_000_000_000,
    "lcore_cycles": [{"lcore": 2, "busy": 300000, "idle": 700000, "packets": 1990},
                     {"lcore": 3, "busy": 0, "idle": 1000000, "packets": 0}],
    "ports": ["phy:0", "ring:0", "ring:1"],
    "master-lcore": 1,
    "worker-lcores": [2, 3, 4],
    "components": [
        {
            "core": 2,
            "name": "cls",
            "type": "classifier",
            "rx_port": [{"port": "phy:0", "vlan": {"operation": "none", "id": 0, "pcp": 0}}],
            "tx_port": [{"port": "ring:0", "vlan": {"operation": "none", "id": 0, "pcp": 0}}],
            "counters": {
                "rx": 1000,
                "tx": 990,
                "drop_no_entry": 7,
                "drop_tx_full": 2,
                "drop_bad_frame": 1,
                "drop_nomem": 0,
                "hit": 980,
                "flood": 5,
                "default": 8,
            },
            "cycles": {"busy": 250000, "packets": 1000, "per_packet": 250.0},
            "datapath": "xdp",
        },
        {
            "core": 3,
            "name": "fwd1",
            "type": "forward",
            "rx_port": [{"port": "ring:0", "vlan": {"operation": "none", "id": 0, "pcp": 0}}],
            "tx_port": [{"port": "ring:1", "vlan": {"operation": "none", "id": 0, "pcp": 0}}],
            "counters": {
                "rx": 990,
                "tx": 990,
                "drop_no_entry": 0,
                "drop_tx_full": 0,
                "drop_bad_frame": 0,
            },
        },
        {"core": 4, "type": "unuse"},
    ],
    "classifier_table": [
        {"type": "mac", "value": "52:54:00:12:34:56", "port": "ring:0"},
        {"type": "vlan", "value": "475/52:54:00:12:34:58", "port": "ring:1"},
    ],
    "port_counters": {
        "phy:0": {"rx": 1000, "tx": 0, "tx_drop": 0},
        "ring:0": {"rx": 990, "tx": 990, "tx_drop": 2},
    },
}


class FakeCtl:
    """Routes path -> (status, body bytes); `delay` makes every answer slow."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if fake.delay:
                    time.sleep(fake.delay)
                status, body = fake.routes.get(self.path, (404, b"not found."))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.closed = False
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def set_json(self, path: str, doc: Any, status: int = 200) -> None:
        self.routes["/v1" + path] = (status, json.dumps(doc).encode())

    def set_raw(self, path: str, body: bytes, status: int = 200) -> None:
        self.routes["/v1" + path] = (status, body)

    def standard(self) -> None:
        self.set_json("/processes", PROCESSES)
        self.set_json("/ctl", {"bind": "127.0.0.1", "auth": "none",
                               "ports": {"rest": 7777, "primary": 5555, "secondary": 6666},
                               "audit": {"accepted": 3, "refused_origin": 1}})
        self.set_json("/primary/status", PRIMARY)
        self.set_json("/vfs/1", VF1)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ctl() -> Iterator[FakeCtl]:
    fake = FakeCtl()
    yield fake
    fake.close()


def scrape(url: str, timeout: float = 1.0) -> CollectorRegistry:
    reg = CollectorRegistry()
    reg.register(SppCollector(url, timeout=timeout))
    return reg


def val(reg: CollectorRegistry, name: str, **labels: str) -> float | None:
    return reg.get_sample_value(name, labels)


def sample_names(reg: CollectorRegistry) -> set[str]:
    return {s.name for m in reg.collect() for s in m.samples}


def test_api_base() -> None:
    assert api_base("http://127.0.0.1:7777") == "http://127.0.0.1:7777/v1"
    assert api_base("http://127.0.0.1:7777/v1/") == "http://127.0.0.1:7777/v1"
    assert api_base("127.0.0.1:7777") == "http://127.0.0.1:7777/v1"


def test_up(ctl: FakeCtl) -> None:
    ctl.standard()
    reg = scrape(ctl.url)
    assert val(reg, "spp_up", process="ctl") == 1
    assert val(reg, "spp_up", process="primary") == 1
    assert val(reg, "spp_up", process="vf:1") == 1


def test_primary_ports(ctl: FakeCtl) -> None:
    ctl.standard()
    reg = scrape(ctl.url)
    p0 = {"port": "phy:0", "eth": "02:00:00:00:00:00"}
    assert val(reg, "spp_phy_rx_packets_total", **p0) == 100
    assert val(reg, "spp_phy_tx_packets_total", **p0) == 90
    assert val(reg, "spp_phy_tx_dropped_total", **p0) == 3
    assert val(reg, "spp_phy_rx_packets_total", port="phy:1", eth="02:00:00:00:00:01") == 7
    assert val(reg, "spp_ring_rx_packets_total", port="ring:0") == 50
    assert val(reg, "spp_ring_rx_dropped_total", port="ring:0") == 1
    assert val(reg, "spp_ring_tx_packets_total", port="ring:0") == 60
    assert val(reg, "spp_ring_tx_dropped_total", port="ring:0") == 2
    assert val(reg, "spp_ring_tx_packets_total", port="ring:1") == 0


def test_xdp(ctl: FakeCtl) -> None:
    ctl.standard()
    reg = scrape(ctl.url)
    assert val(reg, "spp_xdp_packets_total", iface="spp-p0", verdict="to_spp") == 1000
    assert val(reg, "spp_xdp_packets_total", iface="spp-p0", verdict="to_kernel") == 20
    assert val(reg, "spp_xdp_packets_total", iface="spp-p0", verdict="dropped") == 4
    assert val(reg, "spp_xdp_packets_total", iface="spp-p1", verdict="to_kernel") == 6
    verdicts = {
        s.labels["verdict"]
        for m in reg.collect()
        for s in m.samples
        if s.name == "spp_xdp_packets_total"
    }
    assert verdicts == {"to_spp", "to_kernel", "dropped"}


def test_no_xdp_object(ctl: FakeCtl) -> None:
    ctl.standard()
    ctl.set_json("/primary/status", {k: v for k, v in PRIMARY.items() if k != "xdp"})
    reg = scrape(ctl.url)
    assert "spp_xdp_packets_total" not in sample_names(reg)
    assert val(reg, "spp_phy_rx_packets_total", port="phy:0", eth="02:00:00:00:00:00") == 100


def test_components(ctl: FakeCtl) -> None:
    ctl.standard()
    reg = scrape(ctl.url)
    cls = {"client_id": "1", "component": "cls", "type": "classifier", "core": "2", "proc": "vf"}
    assert val(reg, "spp_component_rx_packets_total", **cls) == 1000
    assert val(reg, "spp_component_tx_packets_total", **cls) == 990
    assert val(reg, "spp_component_dropped_total", reason="no_entry", **cls) == 7
    assert val(reg, "spp_component_dropped_total", reason="tx_full", **cls) == 2
    assert val(reg, "spp_component_dropped_total", reason="bad_frame", **cls) == 1
    fwd = {"client_id": "1", "component": "fwd1", "type": "forward", "core": "3", "proc": "vf"}
    assert val(reg, "spp_component_tx_packets_total", **fwd) == 990
    components = {
        s.labels["component"]
        for m in reg.collect()
        for s in m.samples
        if s.name == "spp_component_rx_packets_total"
    }
    assert components == {"cls", "fwd1"}  # the `unuse` lcore has no series


def test_vf_ports_and_classifier(ctl: FakeCtl) -> None:
    ctl.standard()
    reg = scrape(ctl.url)
    assert val(reg, "spp_vf_port_rx_packets_total", client_id="1", port="phy:0", proc="vf") == 1000
    assert val(reg, "spp_vf_port_tx_packets_total", client_id="1", port="ring:0", proc="vf") == 990
    assert val(reg, "spp_vf_port_tx_dropped_total", client_id="1", port="ring:0", proc="vf") == 2
    assert val(reg, "spp_classifier_entries", client_id="1") == 2


NFV2 = {"client-id": 2, "status": "running", "master-lcore": 5, "lcores": [5, 6],
        "ports": ["phy:0", "phy:1", "ring:0"],
        "patches": [{"src": "phy:0", "dst": "ring:0"}],
        "port_counters": {"phy:0": {"rx": 50, "tx": 0, "tx_drop": 0},
                          "ring:0": {"rx": 0, "tx": 49, "tx_drop": 1}},
        "tsc_hz": 2_000_000_000, "lcore_cycles": [{"lcore": 6, "busy": 10, "idle": 90}]}
MIRROR3 = {"client-id": 3, "master-lcore": 7, "worker-lcores": [8],
           "components": [{"core": 8, "name": "mr1", "type": "mirror",
                           "rx_port": [{"port": "phy:1"}],
                           "tx_port": [{"port": "ring:1"}, {"port": "ring:2"}],
                           "counters": {"rx": 20, "tx": 40, "drop_tx_full": 0}}],
           "port_counters": {"phy:1": {"rx": 20, "tx": 0, "tx_drop": 0}}}


PCAP4 = {"client-id": 4, "status": "running", "master-lcore": 9,
         "core": [{"core": 10, "role": "receive", "rx_port": [{"port": "phy:0"}]},
                  {"core": 11, "role": "write", "files": ["/tmp/a"], "written": 70,
                   "bytes": 7000},
                  {"core": 12, "role": "write", "files": ["/tmp/b"], "written": 20,
                   "bytes": 2000}],
         "counters": {"received": 100, "written": 90, "dropped": 10}}


def with_the_family(ctl: FakeCtl) -> None:
    """vf 1 (standard), nfv 2, mirror 3 and pcap 4."""
    ctl.standard()
    ctl.set_json("/processes", [*PROCESSES, {"type": "nfv", "client-id": 2},
                                {"type": "mirror", "client-id": 3},
                                {"type": "pcap", "client-id": 4}])
    ctl.set_json("/nfvs/2", NFV2)
    ctl.set_json("/mirrors/3", MIRROR3)
    ctl.set_json("/pcaps/4", PCAP4)


def test_pcap_capture_counters_state_and_writer_bytes_are_exported(ctl: FakeCtl) -> None:
    with_the_family(ctl)
    reg = scrape(ctl.url)
    assert val(reg, "spp_up", process="pcap:4") == 1
    for outcome, count in (("received", 100), ("written", 90), ("dropped", 10)):
        assert val(reg, "spp_pcap_packets_total", client_id="4", port="phy:0",
                   outcome=outcome) == count
    assert val(reg, "spp_pcap_capturing", client_id="4") == 1
    assert val(reg, "spp_pcap_written_bytes_total", client_id="4", core="12") == 2000
    ctl.set_json("/pcaps/4", {**PCAP4, "status": "idle"})
    assert val(scrape(ctl.url), "spp_pcap_capturing", client_id="4") == 0


def test_nfv_and_mirror_are_exported_with_their_type(ctl: FakeCtl) -> None:
    with_the_family(ctl)
    reg = scrape(ctl.url)
    assert val(reg, "spp_up", process="nfv:2") == 1 and val(reg, "spp_up", process="mirror:3") == 1
    assert val(reg, "spp_vf_port_rx_packets_total", client_id="2", port="phy:0",
               proc="nfv") == 50
    assert val(reg, "spp_vf_port_tx_dropped_total", client_id="2", port="ring:0",
               proc="nfv") == 1
    assert val(reg, "spp_patch_info", proc="nfv", client_id="2", src="phy:0", dst="ring:0") == 1
    assert val(reg, "spp_forwarding", proc="nfv", client_id="2") == 1
    assert val(reg, "spp_forwarding", proc="primary", client_id="") == 1
    assert val(reg, "spp_lcore_busy_cycles_total", process="nfv:2", lcore="6") == 10
    mr = {"client_id": "3", "component": "mr1", "type": "mirror", "core": "8", "proc": "mirror"}
    assert val(reg, "spp_component_tx_packets_total", **mr) == 40
    assert val(reg, "spp_vf_port_rx_packets_total", client_id="3", port="phy:1",
               proc="mirror") == 20
    assert val(reg, "spp_process_lcores", process="mirror:3") == 2


def test_every_defined_metric_is_exposed(ctl: FakeCtl) -> None:
    with_the_family(ctl)
    reg = scrape(ctl.url)
    assert sample_names(reg) == set(METRIC_NAMES)
    text = generate_latest(reg).decode()
    assert "# TYPE spp_phy_rx_packets_total counter" in text or (
        "# TYPE spp_phy_rx_packets counter" in text
    )


def test_counters_follow_the_controller(ctl: FakeCtl) -> None:
    ctl.standard()
    reg = scrape(ctl.url)
    assert val(reg, "spp_ring_tx_packets_total", port="ring:0") == 60
    ctl.set_json("/primary/status", {**PRIMARY, "ring_ports": [{"id": 0, "tx": 61}]})
    assert val(reg, "spp_ring_tx_packets_total", port="ring:0") == 61
    assert val(reg, "spp_ring_rx_packets_total", port="ring:0") is None  # key missing


def test_controller_down() -> None:
    reg = scrape(f"http://127.0.0.1:{free_port()}", timeout=0.5)
    assert val(reg, "spp_up", process="ctl") == 0
    assert val(reg, "spp_up", process="primary") == 0
    assert sample_names(reg) == {"spp_up"}
    generate_latest(reg)


def test_controller_goes_away_keeps_known_processes_at_zero(ctl: FakeCtl) -> None:
    ctl.standard()
    reg = scrape(ctl.url, timeout=0.5)
    assert val(reg, "spp_up", process="vf:1") == 1
    ctl.close()
    assert val(reg, "spp_up", process="ctl") == 0
    assert val(reg, "spp_up", process="primary") == 0
    assert val(reg, "spp_up", process="vf:1") == 0


def test_vf_leaves(ctl: FakeCtl) -> None:
    ctl.standard()
    reg = scrape(ctl.url)
    assert val(reg, "spp_up", process="vf:1") == 1
    ctl.set_json("/processes", [{"type": "primary"}])
    assert val(reg, "spp_up", process="vf:1") == 0
    assert val(reg, "spp_component_rx_packets_total", client_id="1", component="cls",
               type="classifier", core="2") is None  # fmt: skip


def test_primary_absent(ctl: FakeCtl) -> None:
    ctl.standard()
    ctl.set_json("/processes", [{"type": "vf", "client-id": 1}])
    reg = scrape(ctl.url)
    assert val(reg, "spp_up", process="ctl") == 1
    assert val(reg, "spp_up", process="primary") == 0
    assert val(reg, "spp_up", process="vf:1") == 1
    assert "spp_phy_rx_packets_total" not in sample_names(reg)


def test_vf_status_error(ctl: FakeCtl) -> None:
    ctl.standard()
    ctl.set_raw("/vfs/1", b"sec_id 1 not found.", status=404)
    reg = scrape(ctl.url)
    assert val(reg, "spp_up", process="vf:1") == 0
    assert val(reg, "spp_up", process="primary") == 1


def test_string_client_id_and_other_secondary(ctl: FakeCtl) -> None:
    ctl.standard()
    ctl.set_json(
        "/processes",
        [{"type": "primary"}, {"type": "vf", "client-id": "1"}, {"type": "nfv", "client-id": 2},
         {"type": "tap", "client-id": 4}],
    )
    reg = scrape(ctl.url)
    assert val(reg, "spp_up", process="vf:1") == 1
    assert val(reg, "spp_up", process="nfv:2") == 0  # its status (/nfvs/2) is not there
    assert val(reg, "spp_up", process="tap:4") == 1  # a type with no status route: listed


@pytest.mark.parametrize("path", ["/processes", "/primary/status", "/vfs/1"])
@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"\xff\xfe", b"[" * 100000, b"null", b"42", b'"text"'],
)
def test_malformed_json(ctl: FakeCtl, path: str, body: bytes) -> None:
    ctl.standard()
    ctl.set_raw(path, body)
    reg = scrape(ctl.url)
    generate_latest(reg)
    ctl_up = 0 if path == "/processes" else 1
    assert val(reg, "spp_up", process="ctl") == ctl_up
    if path == "/primary/status":
        assert val(reg, "spp_up", process="primary") == 0
        assert val(reg, "spp_up", process="vf:1") == 1
    if path == "/vfs/1":
        assert val(reg, "spp_up", process="vf:1") == 0
        assert val(reg, "spp_up", process="primary") == 1


@pytest.mark.parametrize(
    "primary",
    [
        {},
        {"phy_ports": None, "ring_ports": "x", "xdp": []},
        {"phy_ports": [1, "a", None, {"id": None}, {"id": True, "rx": 1}]},
        {"phy_ports": [{"id": 0, "rx": "12", "tx": None, "tx_drop": -1, "eth": 5}]},
        {"ring_ports": [{"id": 0, "rx": float("nan")}, {"id": 0, "rx": 3}]},
        {"xdp": {"spp-p0": None, "spp-p1": {"to_spp_pkts": "many"}, "x": []}},
    ],
)
def test_odd_primary_shapes(ctl: FakeCtl, primary: dict[str, Any]) -> None:
    ctl.standard()
    ctl.routes["/v1/primary/status"] = (200, json.dumps(primary).encode())
    reg = scrape(ctl.url)
    generate_latest(reg)
    assert val(reg, "spp_up", process="primary") == 1


def test_odd_primary_values_are_skipped_not_guessed(ctl: FakeCtl) -> None:
    ctl.standard()
    ctl.set_json(
        "/primary/status",
        {"phy_ports": [{"id": 0, "rx": "12", "tx": 5, "tx_drop": -1, "eth": 5}]},
    )
    reg = scrape(ctl.url)
    assert val(reg, "spp_phy_rx_packets_total", port="phy:0", eth="") is None
    assert val(reg, "spp_phy_tx_packets_total", port="phy:0", eth="") == 5
    assert val(reg, "spp_phy_tx_dropped_total", port="phy:0", eth="") is None


def test_duplicate_ids_keep_first(ctl: FakeCtl) -> None:
    ctl.standard()
    ctl.set_json("/primary/status", {"ring_ports": [{"id": 0, "rx": 1}, {"id": 0, "rx": 9}]})
    reg = scrape(ctl.url)
    assert val(reg, "spp_ring_rx_packets_total", port="ring:0") == 1
    generate_latest(reg)


@pytest.mark.parametrize(
    "vf",
    [
        {},
        {"components": "x", "port_counters": [], "classifier_table": {}},
        {"components": [None, 1, {"name": "a"}, {"name": "b", "counters": None}]},
        {"components": [{"name": "c", "counters": {"rx": "1", "drop_tx_full": []}}]},
        {"port_counters": {"ring:0": None, "ring:1": {"rx": {}}}},
    ],
)
def test_odd_vf_shapes(ctl: FakeCtl, vf: dict[str, Any]) -> None:
    ctl.standard()
    ctl.set_json("/vfs/1", vf)
    reg = scrape(ctl.url)
    generate_latest(reg)
    assert val(reg, "spp_up", process="vf:1") == 1


def test_processes_odd_entries(ctl: FakeCtl) -> None:
    ctl.standard()
    ctl.set_json(
        "/processes",
        [None, 3, {"type": "vf"}, {"type": "vf", "client-id": True}, {"type": "primary"}],
    )
    reg = scrape(ctl.url)
    assert val(reg, "spp_up", process="ctl") == 1
    assert val(reg, "spp_up", process="primary") == 1


def test_slow_controller_times_out(ctl: FakeCtl) -> None:
    ctl.standard()
    ctl.delay = 1.0
    t0 = time.monotonic()
    reg = scrape(ctl.url, timeout=0.2)
    assert val(reg, "spp_up", process="ctl") == 0
    assert time.monotonic() - t0 < 1.0


def test_registering_does_not_scrape(ctl: FakeCtl) -> None:
    ctl.standard()
    ctl.delay = 2.0
    t0 = time.monotonic()
    reg = CollectorRegistry()
    reg.register(SppCollector(ctl.url, timeout=5))
    assert time.monotonic() - t0 < 0.5


def test_http_endpoint(ctl: FakeCtl) -> None:
    ctl.standard()
    srv = start_server(port=0, addr="127.0.0.1", ctl_url=ctl.url, timeout=1.0)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/metrics", timeout=5) as r:
            text = r.read().decode()
        assert 'spp_up{process="primary"} 1.0' in text
        assert 'spp_phy_rx_packets_total{eth="02:00:00:00:00:00",port="phy:0"} 100.0' in text
        assert "process_cpu_seconds_total" not in text  # only SPP metrics on this registry
    finally:
        srv.stop()
    ctl.close()
    srv = start_server(port=0, addr="127.0.0.1", ctl_url=ctl.url, timeout=0.5)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/metrics", timeout=5) as r:
            assert r.status == 200
            assert 'spp_up{process="ctl"} 0.0' in r.read().decode()
    finally:
        srv.stop()


# ---- fields of the JSON contract (issues 9 and 10): present and absent ------------

def test_process_info_lcores_and_cycles(ctl: FakeCtl) -> None:
    ctl.standard()
    reg = scrape(ctl.url)
    assert val(reg, "spp_process_info", process="primary", version="0.1.0") == 1
    assert val(reg, "spp_process_start_time_seconds", process="vf:1") == 1700000001.0
    assert val(reg, "spp_process_lcores", process="primary") == 2
    assert val(reg, "spp_process_lcores", process="vf:1") == 4  # master 1 + workers 2, 3, 4
    assert val(reg, "spp_tsc_frequency_hertz", process="primary") == 2e9
    assert val(reg, "spp_lcore_busy_cycles_total", process="primary", lcore="1") == 5000
    assert val(reg, "spp_lcore_idle_cycles_total", process="vf:1", lcore="3") == 1000000


def test_component_cycles_and_classifier_outcomes(ctl: FakeCtl) -> None:
    ctl.standard()
    reg = scrape(ctl.url)
    cls = {"client_id": "1", "component": "cls", "type": "classifier", "core": "2", "proc": "vf"}
    assert val(reg, "spp_component_busy_cycles_total", **cls) == 250000
    assert val(reg, "spp_component_cycles_per_packet", **cls) == 250.0
    for outcome, want in (("hit", 980), ("flood", 5), ("default", 8), ("no_entry", 7)):
        assert val(reg, "spp_classifier_packets_total", outcome=outcome, **cls) == want
    # any drop_* key is a reason, the accounting ones included
    assert val(reg, "spp_component_dropped_total", reason="nomem", **cls) == 0
    fwd = {"client_id": "1", "component": "fwd1", "type": "forward", "core": "3", "proc": "vf"}
    assert val(reg, "spp_classifier_packets_total", outcome="no_entry", **fwd) is None
    assert val(reg, "spp_component_busy_cycles_total", **fwd) is None  # no cycles reported


def test_devices_sockets_rings_and_pool(ctl: FakeCtl) -> None:
    ctl.standard()
    reg = scrape(ctl.url)
    p0 = {"port": "phy:0", "iface": "spp-p0"}
    assert val(reg, "spp_device_packets_total", direction="rx", **p0) == 101
    assert val(reg, "spp_device_bytes_total", direction="tx", **p0) == 5824
    assert val(reg, "spp_device_dropped_total", reason="imissed", **p0) == 5
    assert val(reg, "spp_device_dropped_total", reason="rx_nombuf", **p0) == 2
    assert val(reg, "spp_device_dropped_total", reason="imissed", port="vhost:2",
               iface="/tmp/sock2") == 0
    assert val(reg, "spp_xdp_socket_dropped_total", reason="rx_ring_full", **p0) == 9
    assert val(reg, "spp_xdp_socket_dropped_total", reason="rx_fill_ring_empty_descs", **p0) == 4
    assert val(reg, "spp_xdp_socket_dropped_total", reason="tx_invalid_descs", **p0) == 3
    assert val(reg, "spp_phy_rx_dropped_total", port="phy:0", eth="02:00:00:00:00:00") == 4
    assert val(reg, "spp_ring_entries", port="ring:0") == 10
    assert val(reg, "spp_ring_capacity", port="ring:0") == 1024
    assert val(reg, "spp_ring_entries", port="ring:1") is None
    assert val(reg, "spp_mbuf_pool_in_use", pool="spp_mbuf_pool") == 1200
    assert val(reg, "spp_mbuf_pool_size", pool="spp_mbuf_pool") == 32768


CONTRACT_FIELDS = ("process", "tsc_hz", "lcore_cycles", "mbuf_pool", "vhost_ports")


def test_status_without_the_new_fields_still_exports_the_old_metrics(ctl: FakeCtl) -> None:
    """A producer that does not report the newer fields yet (or an older process)."""
    ctl.standard()
    old_primary = {k: v for k, v in PRIMARY.items() if k not in CONTRACT_FIELDS}
    old_primary["phy_ports"] = [
        {k: v for k, v in p.items() if k not in ("stats", "xdp_socket", "rx_drop")}
        for p in PRIMARY["phy_ports"]
    ]
    old_vf = {k: v for k, v in VF1.items() if k not in CONTRACT_FIELDS}
    old_vf["components"] = [
        {**c, "counters": {k: v for k, v in c["counters"].items()
                           if k in ("rx", "tx", "drop_no_entry", "drop_tx_full",
                                    "drop_bad_frame")}}
        if "counters" in c else c
        for c in VF1["components"]
    ]
    for c in old_vf["components"]:
        c.pop("cycles", None)
    ctl.set_json("/primary/status", old_primary)
    ctl.set_json("/vfs/1", old_vf)
    reg = scrape(ctl.url)
    names = sample_names(reg)
    for gone in ("spp_process_info", "spp_lcore_busy_cycles_total", "spp_mbuf_pool_in_use",
                 "spp_device_dropped_total", "spp_xdp_socket_dropped_total",
                 "spp_component_busy_cycles_total", "spp_phy_rx_dropped_total"):
        assert gone not in names
    cls = {"client_id": "1", "component": "cls", "type": "classifier", "core": "2", "proc": "vf"}
    assert val(reg, "spp_classifier_packets_total", outcome="no_entry", **cls) == 7
    assert val(reg, "spp_classifier_packets_total", outcome="hit", **cls) is None
    assert val(reg, "spp_component_dropped_total", reason="tx_full", **cls) == 2
    assert val(reg, "spp_process_lcores", process="vf:1") == 4
    assert val(reg, "spp_up", process="primary") == 1


@pytest.mark.parametrize("bad", [
    {"lcore_cycles": [{"lcore": True, "busy": 1}, {"lcore": "x"}, 5, {"lcore": 1, "busy": -1}]},
    {"mbuf_pool": [1, 2]},
    {"mbuf_pool": {"name": 7, "in_use": "many"}},
    {"process": "me"},
    {"tsc_hz": "fast"},
    {"phy_ports": [{"id": 0, "stats": [1], "xdp_socket": "none"}]},
])
def test_odd_contract_fields_are_skipped(ctl: FakeCtl, bad: dict[str, Any]) -> None:
    ctl.standard()
    ctl.set_json("/primary/status", {**PRIMARY, **bad})
    reg = scrape(ctl.url)
    assert val(reg, "spp_up", process="primary") == 1
    assert val(reg, "spp_ring_tx_packets_total", port="ring:0") == 60


def test_a_vf_component_says_whether_xdp_carries_it(ctl: FakeCtl) -> None:
    ctl.standard()
    reg = scrape(ctl.url)
    cls = {"client_id": "1", "component": "cls", "type": "classifier", "core": "2", "proc": "vf"}
    fwd1 = {**cls, "component": "fwd1", "type": "forward", "core": "3"}
    assert val(reg, "spp_component_xdp", **cls) == 1
    assert val(reg, "spp_component_rx_packets_total", **fwd1) == 990
    assert val(reg, "spp_component_xdp", **fwd1) is None  # no datapath reported
