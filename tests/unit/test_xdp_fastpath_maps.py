"""The patch fast path's pure parts: which patches XDP forwards, the order of map writes,
the counters added to the phy ports, the status line, and the commands that switch it."""

from __future__ import annotations

from typing import Any

import pytest

from spp.cli import commands as C
from spp.cli.statusfmt import primary_status
from spp.ctl import validate as v
from spp.errors import Refused
from spp.proc.primary_status import add_fast_path
from spp.xdp.fastpath import DPDK, XDP, FastPath, Route, routes
from spp.xdp.peer import attach_mode, is_veth, prog_name

PHYS = {0: "spp-p0", 1: "spp-p1", 2: "spp-p2"}


def test_only_forwarded_phy_to_phy_patches_between_steered_ports_are_routes():
    patches = [("phy:0", "phy:1"), ("phy:1", "ring:0"), ("ring:1", "phy:0"),
               ("phy:2", "phy:7"), ("vhost:0", "phy:1")]
    got = routes(patches, PHYS, forwarding=True, offload=True)
    assert got == {"spp-p0": Route("phy:0", "phy:1", "spp-p0", "spp-p1", 1)}
    assert routes(patches, PHYS, forwarding=False, offload=True) == {}
    assert routes(patches, PHYS, forwarding=True, offload=False) == {}


def test_a_hairpin_patch_is_a_route_to_its_own_port():
    assert routes([("phy:1", "phy:1")], PHYS, True, True)["spp-p1"].dst_if == "spp-p1"


class Maps:
    """Records the map writes in order; can be told to fail one kind of write."""

    def __init__(self, fail: str | None = None) -> None:
        self.ops: list[tuple[Any, ...]] = []
        self.fail = fail

    def _op(self, *op: Any) -> None:
        if op[0] == self.fail:
            raise OSError(1, f"{op[0]} refused")
        self.ops.append(op)

    def set_tx_port(self, iface: str, port_id: int, ifindex: int) -> None:
        self._op("tx", iface, port_id, ifindex)

    def del_tx_port(self, iface: str, port_id: int) -> bool:
        self._op("del_tx", iface, port_id)
        return True

    def set_patch(self, iface: str, port_id: int | None) -> None:
        self._op("patch", iface, port_id)


def fast(maps: Maps, prepare: Any = None) -> FastPath:
    return FastPath(lambda: maps, lambda ifc: 100 + int(ifc[-1]), prepare)


R01 = Route("phy:0", "phy:1", "spp-p0", "spp-p1", 1)
R02 = Route("phy:0", "phy:2", "spp-p0", "spp-p2", 2)


def test_on_writes_the_devmap_entry_before_the_patch_and_off_the_reverse():
    m = Maps()
    f = fast(m)
    f.sync({"spp-p0": R01})
    assert m.ops == [("tx", "spp-p0", 1, 101), ("patch", "spp-p0", 1)]
    assert f.datapath("spp-p0") == XDP and f.datapath("spp-p1") == DPDK
    m.ops.clear()
    f.sync({})
    assert m.ops == [("patch", "spp-p0", None), ("del_tx", "spp-p0", 1)]
    assert f.active == {} and f.datapath("spp-p0") == DPDK


def test_a_changed_destination_leaves_xdp_before_the_new_one_enters():
    m = Maps()
    f = fast(m)
    f.sync({"spp-p0": R01})
    m.ops.clear()
    f.retire({"spp-p0": R02})  # before the DPDK patch changes
    f.enable({"spp-p0": R02})  # after
    assert m.ops == [("patch", "spp-p0", None), ("del_tx", "spp-p0", 1),
                     ("tx", "spp-p0", 2, 102), ("patch", "spp-p0", 2)]


def test_an_unchanged_route_is_not_rewritten():
    m = Maps()
    f = fast(m)
    f.sync({"spp-p0": R01})
    m.ops.clear()
    f.sync({"spp-p0": R01})
    assert m.ops == []


def test_a_route_that_cannot_go_on_stays_on_dpdk_with_the_reason():
    m = Maps(fail="patch")
    f = fast(m)
    f.sync({"spp-p0": R01})
    assert f.datapath("spp-p0") == DPDK
    assert "phy:0 -> phy:1 stays on the DPDK path" in f.errors["spp-p0"]
    assert ("del_tx", "spp-p0", 1) in m.ops  # the entry written first is taken back


def test_a_failing_prepare_keeps_the_maps_untouched_by_the_route():
    m = Maps()

    def prepare(r: Route) -> None:
        raise RuntimeError("peer not ours")

    f = fast(m, prepare)
    f.sync({"spp-p0": R01})
    assert f.active == {} and "peer not ours" in f.errors["spp-p0"]
    assert ("tx", "spp-p0", 1, 101) not in m.ops
    f.sync({})
    assert f.errors == {}


def test_fast_path_counters_are_added_to_port_counters_since_clear():
    phys = [{"id": 0, "rx": 5, "tx": 1}, {"id": 1, "rx": 0, "tx": 5}]
    add_fast_path(phys, ({0: 110}, {1: 110}), ({0: 10}, {1: 10}))
    assert phys[0] == {"id": 0, "rx": 105, "tx": 1, "xdp_fwd": {"rx": 100, "tx": 0}}
    assert phys[1] == {"id": 1, "rx": 0, "tx": 105, "xdp_fwd": {"rx": 0, "tx": 100}}


def test_pri_status_names_the_datapath_of_each_patch():
    st = {"lcores": [0, 1], "phy_ports": [], "ring_ports": [], "forwarding": True,
          "patches": [{"src": "phy:0", "dst": "phy:1", "datapath": "xdp", "xdp_attach": "native"},
                      {"src": "phy:1", "dst": "phy:0", "datapath": "xdp",
                       "xdp_attach": "generic"},
                      {"src": "ring:0", "dst": "phy:0", "datapath": "dpdk"}]}
    text = primary_status(st)
    assert "  - phy:0 -> phy:1 (xdp)" in text
    assert "  - phy:1 -> phy:0 (xdp, generic)" in text
    assert "  - ring:0 -> phy:0 (dpdk)" in text


def test_offload_commands_of_shell_cli_and_rest():
    a = C.pri_action(["xdp_offload", "off"])
    assert (a.method, a.path, a.body) == ("PUT", "primary/xdp_offload", {"action": "off"})
    with pytest.raises(C.CommandError):
        C.pri_action(["xdp_offload", "maybe"])
    assert v.xdp_offload({"action": "on"}) == {"action": "on"}
    with pytest.raises(Refused):
        v.xdp_offload({"action": "yes"})


def test_link_json_readers():
    info = {"linkinfo": {"info_kind": "veth"},
            "xdp": {"mode": 2, "prog": {"id": 7, "name": "spp_xdp_steer"}}}
    assert is_veth(info) and attach_mode(info) == "generic"
    assert prog_name(info) == "spp_xdp_steer"
    assert attach_mode({}) is None and prog_name(None) is None and not is_veth({})


def test_primary_option_turns_offload_off_at_start():
    from spp.errors import UsageError
    from spp.proc.primary import parse_args

    assert parse_args(["--phy", "spp-p0"]).xdp_offload is True
    assert parse_args(["--phy", "spp-p0", "--xdp-offload", "off"]).xdp_offload is False
    with pytest.raises(UsageError, match="--xdp-offload must be 'on' or 'off'"):
        parse_args(["--xdp-offload", "maybe"])
