"""GET /v1/cpu_usage entries: upstream's shape plus the cycle accounting a process reports."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from spp.ctl.rest import cpu_usage_entry

VF_STATUS: dict[str, Any] = {
    "master-lcore": 2, "worker-lcores": [3, 4],
    "tsc_hz": 2_600_000_000,
    "lcore_cycles": [{"lcore": 3, "busy": 900, "idle": 100, "packets": 3},
                     {"lcore": 4, "busy": 0, "idle": 1000, "packets": 0}],
    "components": [
        {"core": 3, "name": "cls", "type": "classifier", "counters": {"rx": 3},
         "cycles": {"busy": 600, "packets": 3, "per_packet": 200.0}},
        {"core": 4, "type": "unuse"},
    ],
}


def conn(kind: str, client_id: int | None = None) -> Any:
    return SimpleNamespace(kind=kind, client_id=client_id)


def test_vf_entry_carries_lcore_and_component_cycles() -> None:
    e = cpu_usage_entry(conn("vf", 1), VF_STATUS)
    assert (e["proc-type"], e["client-id"], e["master-lcore"], e["lcores"]) == \
        ("vf", 1, 2, [2, 3, 4])
    assert e["tsc_hz"] == 2_600_000_000
    assert e["lcore_cycles"][0] == {"lcore": 3, "busy": 900, "idle": 100, "packets": 3}
    assert e["components"] == [{"name": "cls", "core": 3, "type": "classifier", "busy": 600,
                                "packets": 3, "cycles_per_packet": 200.0}]


def test_primary_entry_carries_its_bridge_lcore_cycles() -> None:
    st = {"lcores": [0, 1], "tsc_hz": 10,
          "lcore_cycles": [{"lcore": 1, "busy": 5, "idle": 5, "packets": 1}]}
    e = cpu_usage_entry(conn("primary"), st)
    assert e == {"proc-type": "primary", "master-lcore": 0, "lcores": [0, 1], "tsc_hz": 10,
                 "lcore_cycles": [{"lcore": 1, "busy": 5, "idle": 5, "packets": 1}]}


def test_a_process_without_cycles_keeps_upstreams_shape() -> None:
    assert cpu_usage_entry(conn("primary"), {"lcores": [1]}) == \
        {"proc-type": "primary", "master-lcore": 1, "lcores": [1]}
    e = cpu_usage_entry(conn("vf", 2), {"master-lcore": 2, "worker-lcores": [3],
                                        "components": [{"core": 3, "type": "unuse"}],
                                        "tsc_hz": "fast", "lcore_cycles": {}})
    assert e == {"proc-type": "vf", "client-id": 2, "master-lcore": 2, "lcores": [2, 3]}
