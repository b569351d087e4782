"""`spp top` rates and layout from two status samples (a fake client; the real stack is
in tests/e2e/test_observability.py)."""

from __future__ import annotations

import copy
from typing import Any

from rich.console import Console

from spp.cli import top
from spp.client import SppError

PRIMARY: dict[str, Any] = {
    "phy_ports": [{"id": 0, "iface": "spp-p0", "rx": 1000, "tx": 0, "rx_drop": 0, "tx_drop": 0,
                   "xdp_socket": {"rx_ring_full": 0}}],
    "ring_ports": [{"id": 0, "rx": 0, "tx": 0, "rx_drop": 0, "tx_drop": 0, "size": 1024,
                    "count": 256}],
    "mbuf_pool": {"name": "spp_mbuf_pool", "size": 32768, "in_use": 1200},
    "tsc_hz": 1_000_000_000,
    "lcore_cycles": [{"lcore": 1, "busy": 0, "idle": 0, "packets": 0}],
}
VF: dict[str, Any] = {
    "components": [
        {"core": 3, "name": "cls", "type": "classifier",
         "counters": {"rx": 0, "tx": 0, "drop_no_entry": 0, "drop_tx_full": 0},
         "cycles": {"busy": 0, "packets": 0}},
        {"core": 4, "type": "unuse"},
    ],
    "port_counters": {"phy:0": {"rx": 0, "tx": 0, "tx_drop": 0}},
    "lcore_cycles": [{"lcore": 3, "busy": 0, "idle": 0, "packets": 0}],
}


class FakeClient:
    address = "127.0.0.1:7777"

    def __init__(self, docs: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        self.docs = docs
        self.n = -1

    def processes(self) -> list[dict[str, Any]]:
        self.n += 1
        return [{"type": "primary"}, {"type": "vf", "client-id": 1}]

    def primary_status(self) -> dict[str, Any]:
        return self.docs[self.n][0]

    def vf_status(self, cid: int) -> dict[str, Any]:
        return self.docs[self.n][1]

    def get(self, path: str) -> Any:
        assert path == "vfs/1", path
        return self.vf_status(1)


def second(dt_primary: dict[str, Any], dt_vf: dict[str, Any]) -> tuple[dict, dict]:
    p, v = copy.deepcopy(PRIMARY), copy.deepcopy(VF)
    p["phy_ports"][0].update(dt_primary.get("phy0", {}))
    p["phy_ports"][0]["xdp_socket"].update(dt_primary.get("xsk", {}))
    p["lcore_cycles"][0].update(dt_primary.get("lcore", {}))
    v["components"][0]["counters"].update(dt_vf.get("cls", {}))
    v["components"][0]["cycles"].update(dt_vf.get("cyc", {}))
    v["port_counters"]["phy:0"].update(dt_vf.get("port", {}))
    v["lcore_cycles"][0].update(dt_vf.get("lcore", {}))
    return p, v


def run_once(docs: list[tuple[dict, dict]], clock: list[float], show_all: bool = False) -> str:
    times = iter(clock)
    console = Console(record=True, width=160, force_terminal=False)
    orig = top.time.monotonic
    top.time.monotonic = lambda: next(times)  # type: ignore[assignment]
    try:
        rc = top.run(FakeClient(docs), interval=2.0, once=True, show_all=show_all,
                     console=console, sleep=lambda s: None)
    finally:
        top.time.monotonic = orig  # type: ignore[assignment]
    assert rc == 0
    return console.export_text()


def row(text: str, start: str) -> list[str]:
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│┃|").split("│")]
        if cells and cells[0] == start:
            return cells
    raise AssertionError(f"no row {start!r} in\n{text}")


def test_rates_drops_busy_share_and_cycles_per_packet_over_the_interval() -> None:
    later = second(
        {"phy0": {"rx": 1400, "rx_drop": 10}, "xsk": {"rx_ring_full": 30},
         "lcore": {"busy": 250_000_000, "idle": 750_000_000}},
        {"cls": {"rx": 400, "tx": 390, "drop_no_entry": 10}, "cyc": {"busy": 200_000,
         "packets": 400}, "port": {"rx": 400}, "lcore": {"busy": 1, "idle": 3}})
    out = run_once([(PRIMARY, VF), later], [10.0, 12.0])
    assert row(out, "phy:0 (spp-p0)")[1:4] == ["200", "0", "20"]  # (10 + 30) drops / 2 s
    assert row(out, "ring:0")[-1] == "25%"
    assert row(out, "vf:1 phy:0")[1] == "200"
    cls = row(out, "vf:1")
    assert cls[1:8] == ["cls", "classifier", "3", "200", "195", "no_entry 5", "500"]
    assert row(out, "primary")[1:] == ["1", "25.00%", "125.0"]
    assert row(out, "vf:1")[0] == "vf:1"
    assert "mbuf pool spp_mbuf_pool: 1200 of 32768 in use" in out
    assert "unuse" not in out


def test_cleared_counters_show_no_negative_rates() -> None:
    later = second({"phy0": {"rx": 0}}, {})
    out = run_once([(PRIMARY, VF), later], [0.0, 1.0], show_all=True)
    assert row(out, "phy:0 (spp-p0)")[1] == "0"
    out = run_once([(PRIMARY, VF), later], [0.0, 1.0])
    assert "phy:0 (spp-p0)" not in out and "2 idle port(s) not shown" in out
    assert row(out, "ring:0")[-1] == "25%"  # idle but filled: shown


def test_controller_down_is_one_line_and_exit_1() -> None:
    class Down(FakeClient):
        def processes(self) -> list[dict[str, Any]]:
            raise SppError("cannot reach spp ctl at 127.0.0.1:7777 (ConnectionError).")

    console = Console(record=True, width=120)
    assert top.run(Down([]), once=True, console=console, sleep=lambda s: None) == 1
    assert console.export_text().strip() == \
        "spp top: cannot reach spp ctl at 127.0.0.1:7777 (ConnectionError)."


NFV = {"client-id": 2, "status": "running", "ports": ["phy:1", "ring:0"],
       "patches": [{"src": "phy:1", "dst": "ring:0"}],
       "port_counters": {"phy:1": {"rx": 0, "tx": 0, "tx_drop": 0},
                         "ring:0": {"rx": 0, "tx": 0, "tx_drop": 0}},
       "lcore_cycles": [{"lcore": 6, "busy": 0, "idle": 0}]}
MIRROR = {"client-id": 3, "components": [
    {"core": 8, "name": "mr1", "type": "mirror",
     "counters": {"rx": 0, "tx": 0, "drop_tx_full": 0}}],
    "port_counters": {"phy:0": {"rx": 0, "tx": 0, "tx_drop": 0}},
    "lcore_cycles": [{"lcore": 8, "busy": 0, "idle": 0}]}

PCAP = {"client-id": 4, "status": "running",
        "core": [{"core": 10, "role": "receive", "rx_port": [{"port": "phy:0"}]},
                 {"core": 11, "role": "write", "written": 0, "bytes": 0}],
        "counters": {"received": 0, "written": 0, "dropped": 0}}


class FamilyClient(FakeClient):
    """A primary, an nfv, a mirror and a pcap; the second sample moved frames through all."""

    def processes(self) -> list[dict[str, Any]]:
        self.n += 1
        return [{"type": "primary"}, {"type": "nfv", "client-id": 2},
                {"type": "mirror", "client-id": 3}, {"type": "pcap", "client-id": 4}]

    def get(self, path: str) -> Any:
        nfv, mirror, pcap = copy.deepcopy(NFV), copy.deepcopy(MIRROR), copy.deepcopy(PCAP)
        if self.n:
            nfv["port_counters"]["phy:1"]["rx"] = 600
            nfv["port_counters"]["ring:0"]["tx"] = 600
            mirror["components"][0]["counters"] = {"rx": 100, "tx": 200, "drop_tx_full": 4}
            mirror["port_counters"]["phy:0"]["rx"] = 100
            pcap["counters"] = {"received": 1000, "written": 900, "dropped": 100}
        return {"nfvs/2": nfv, "mirrors/3": mirror, "pcaps/4": pcap}[path]


def test_nfv_mirror_and_pcap_ports_components_patches_and_capture_are_shown() -> None:
    console = Console(record=True, width=160, force_terminal=False)
    times = iter([0.0, 2.0])
    orig = top.time.monotonic
    top.time.monotonic = lambda: next(times)  # type: ignore[assignment]
    try:
        client = FamilyClient([(PRIMARY, {}), (PRIMARY, {})])
        assert top.run(client, interval=2.0, once=True, console=console,
                       sleep=lambda s: None) == 0
    finally:
        top.time.monotonic = orig  # type: ignore[assignment]
    out = console.export_text()
    assert row(out, "nfv:2 phy:1")[1] == "300"
    assert row(out, "nfv:2 ring:0")[2] == "300"
    assert row(out, "mirror:3 phy:0")[1] == "50"
    assert row(out, "nfv:2")[1:6] == ["phy:1->ring:0", "patch", "", "300", "-"]
    assert row(out, "mirror:3")[1:7] == ["mr1", "mirror", "8", "50", "100", "tx_full 2"]
    assert row(out, "mirror:3")[0] == "mirror:3"
    # the capture: frames taken from phy:0, written, and dropped (the writers were full)
    assert row(out, "pcap:4")[1:7] == ["capture phy:0", "pcap", "10", "500", "450",
                                       "writer_full 50"]
