"""`vf N; status` text against the exact shape upstream's spp_vf prints."""

import pytest

from spp.cli.statusfmt import ctl_security, overall_status, primary_status, vf_status

SEED_EMPTY = """Basic Information:
  - client-id: 1
  - ports: [phy:0, phy:1]
  - lcore_ids:
    - master: 2
    - slaves: [3, 4, 5, 6]
Classifier Table:
  No entries.
  - core:3 '' (type: unuse)
  - core:4 '' (type: unuse)
  - core:5 '' (type: unuse)
  - core:6 '' (type: unuse)"""


def _unuse(core):
    return {"core": core, "type": "unuse"}


def test_vf_status_without_components_matches_seed_003_byte_for_byte():
    st = {"client-id": 1, "ports": ["phy:0", "phy:1"], "master-lcore": 2,
          "worker-lcores": [3, 4, 5, 6], "classifier_table": [],
          "components": [_unuse(c) for c in (3, 4, 5, 6)]}
    assert vf_status(st) == SEED_EMPTY


def test_vf_status_lists_table_entries_components_ports_and_vlan_ops():
    none = {"operation": "none", "id": 0, "pcp": 0}
    st = {"client-id": 1, "ports": ["phy:0", "ring:0", "ring:1"], "master-lcore": 2,
          "worker-lcores": [3, 4],
          "classifier_table": [{"type": "mac", "value": "52:54:00:12:34:56", "port": "ring:0"},
                               {"type": "vlan", "value": "10/52:54:00:12:34:58",
                                "port": "ring:1"}],
          "components": [
              {"core": 3, "name": "cls", "type": "classifier",
               "rx_port": [{"port": "phy:0", "vlan": none}],
               "tx_port": [{"port": "ring:0", "vlan": {"operation": "add", "id": 10, "pcp": 3}},
                           {"port": "ring:1", "vlan": {"operation": "del", "id": 0, "pcp": 0}}]},
              _unuse(4)]}
    assert vf_status(st).splitlines()[6:] == [
        "Classifier Table:",
        "  - 52:54:00:12:34:56, ring:0",
        "  - 10/52:54:00:12:34:58, ring:1",
        "  - core:3 'cls' (type: classifier)",
        "    - rx: phy:0",
        "    - tx: ring:0 (vlan operation: add, id: 10, pcp: 3)",
        "    - tx: ring:1 (vlan operation: del)",
        "  - core:4 '' (type: unuse)",
    ]


def test_vf_status_slaves_fall_back_to_component_cores_without_worker_lcores():
    st = {"client-id": 2, "ports": [], "master-lcore": 1, "classifier_table": [],
          "components": [_unuse(2), _unuse(3)]}
    assert "    - slaves: [2, 3]" in vf_status(st).splitlines()


def test_overall_status_shows_address_primary_and_secondaries():
    text = overall_status("127.0.0.1:7777", [{"type": "primary"},
                                              {"type": "vf", "client-id": 1}])
    assert text.splitlines() == ["- spp-ctl:", "  - address: 127.0.0.1:7777", "- primary:",
                                 "  - status: running", "- secondary:", "  - processes:",
                                 "    1: vf:1"]


def test_primary_status_shows_ports_patches_and_forwarding():
    st = {"lcores": [1], "phy_ports": [{"id": 0, "rx": 5, "tx": 6, "tx_drop": 0,
                                        "eth": "02:00:00:00:00:00"}],
          "ring_ports": [{"id": 0, "rx": 1, "rx_drop": 0, "tx": 2, "tx_drop": 3}],
          "patches": [{"src": "phy:0", "dst": "phy:1"}], "forwarding": True}
    lines = primary_status(st).splitlines()
    assert "  - master: 1" in lines
    assert lines[lines.index("  - physical ports:") + 2].split() == [
        "0", "5", "6", "0", "02:00:00:00:00:00"]
    assert lines[lines.index("  - ring ports:") + 2].split() == ["0", "1", "2", "0", "3"]
    assert "  - phy:0 -> phy:1" in lines and lines[-1] == "- forwarding: running"


def test_control_ports_on_loopback_are_said_to_be_loopback_only() -> None:
    lines = ctl_security({"bind": "127.0.0.1", "auth": "none",
                          "ports": {"rest": 7777, "primary": 5555, "secondary": 6666}})
    assert lines == ["  - auth: none",
                     "  - control ports: primary 127.0.0.1:5555, secondary 127.0.0.1:6666 "
                     "(loopback only)"]


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "192.0.2.1"])
def test_control_ports_reachable_from_other_hosts_get_a_warning(bind: str) -> None:
    lines = ctl_security({"bind": bind, "auth": "token",
                          "ports": {"rest": 7777, "primary": 5555, "secondary": 6666}})
    assert lines[0] == "  - auth: token"
    assert lines[-1].startswith(f"warning: the control ports primary {bind}:5555, secondary "
                                f"{bind}:6666 take commands without authentication")


def test_restored_configuration_is_shown_after_the_status() -> None:
    from spp.cli.statusfmt import vf_status

    st = {"client-id": 1, "ports": [], "components": [], "classifier_table": [],
          "master-lcore": 2, "worker-lcores": [],
          "restored": {"at": 1.0, "pid": 77, "components": 4, "ports": 10,
                       "classifier_table": 2, "failed": ["port ring:9: no such ring"]}}
    assert vf_status(st).splitlines()[-2:] == [
        "Restored: 4 components, 10 ports, 2 classifier_table (pid 77)",
        "  - failed: port ring:9: no such ring"]
    del st["restored"]
    assert "Restored" not in vf_status(st)


def test_nfv_status_says_what_came_back():
    from spp.cli.statusfmt import nfv_status

    st = {"status": "running", "master-lcore": 5, "lcores": [5, 6], "ports": ["phy:0", "ring:2"],
          "patches": [{"src": "phy:0", "dst": "ring:2"}],
          "restored": {"pid": 7, "ports": 1, "ports_deleted": 1, "patches": 1, "forwarding": 1,
                       "failed": []}}
    assert nfv_status(st).splitlines()[-3:] == [
        "  - phy:0 -> ring:2", "  - ring:2",
        "Restored: 1 ports, 1 ports_deleted, 1 patches (pid 7)"]
