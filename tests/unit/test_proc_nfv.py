"""spp_nfv: option table, command parsing, the model (status JSON, all-or-nothing
commands) on a fake data plane, and the shell's `nfv N; ...` words, text and completion."""

from __future__ import annotations

from typing import Any

import pytest

from spp.cli import commands as C
from spp.cli import statusfmt
from spp.cli.complete import candidates
from spp.defaults import SECONDARY_ADDR
from spp.errors import Refused, UsageError
from spp.native import NativeError
from spp.proc import nfv
from spp.resources import PortRef

# ---- option table -----------------------------------------------------------


# the upstream and friendly forms: tests/unit/test_proc_skeleton.py (with spp_mirror's)


def test_bare_s_keeps_the_default_controller():
    o = nfv.parse_args(["-l", "1,2", "--", "-n", "1", "-s"])
    assert o.ctl == SECONDARY_ADDR


@pytest.mark.parametrize("argv, reason", [
    (["-l", "1,2", "--", "-s", "127.0.0.1:6666"], "-n ID is required"),
    (["-l", "1,2", "--", "-n", "x"], "-n: "),
    (["-l", "1,2", "--", "-n", "1", "--client", "1"], "unknown spp_nfv option '--client'"),
    (["-l", "1,2", "--", "-n", "1", "-s", "host:port:x"], ""),
])
def test_bad_command_lines_are_usage_errors(argv, reason):
    with pytest.raises(UsageError) as err:
        nfv.parse_args(argv)
    assert reason in err.value.reason and "\n" not in err.value.reason


def test_main_prints_one_line_and_exits_2_on_a_bad_command_line(capsys):
    assert nfv.main(["-l", "1,2", "--", "-s", "127.0.0.1:6666"]) == 2
    assert capsys.readouterr().err == "spp nfv: -n ID is required (the secondary id)\n"


# ---- command parsing ------------------------------------------------------------


@pytest.mark.parametrize("cmd, args, expected", [
    ("status", {}, ("status", {})),
    ("add ring:0", {}, ("add", {"port": "ring:0"})),
    ("add", {"port": "vhost:1"}, ("add", {"port": "vhost:1"})),
    ("del vhost:1", {}, ("del", {"port": "vhost:1"})),
    ("patch phy:0 ring:0", {}, ("patch", {"src": "phy:0", "dst": "ring:0"})),
    ("patch", {"src": "phy:0", "dst": "ring:0"}, ("patch", {"src": "phy:0", "dst": "ring:0"})),
    ("patch reset", {}, ("patch_reset", {})),
    ("patch_reset", {}, ("patch_reset", {})),
    ("forward", {}, ("forward", {})),
    ("stop", {}, ("stop", {})),
    ("exit", {}, ("exit", {})),
])
def test_commands_by_name_or_as_upstream_lines(cmd, args, expected):
    assert nfv.parse_command(cmd, args) == expected


@pytest.mark.parametrize("cmd, args, reason", [
    ("", {}, "empty command"),
    ("launch", {}, "unknown nfv command 'launch'"),
    ("patch", {}, "usage: patch SRC DST | patch reset"),
    ("patch phy:0", {}, "usage: patch SRC DST | patch reset"),
    ("add", {}, None),
    ("add ring:0 ring:1", {}, "usage: add RES_UID"),
    ("forward now", {}, "'forward' takes no arguments"),
    ("add ring:0", {"port": "ring:1"}, "not both"),
])
def test_bad_commands_are_refused_in_one_line(cmd, args, reason):
    if reason is None:  # a name without its args: the model asks for them
        model, _dp = make()
        with pytest.raises(Refused) as err:
            model.handle(cmd, args)
        assert err.value.reason == "'port' is required"
        return
    with pytest.raises(Refused) as err:
        nfv.parse_command(cmd, args)
    assert reason in err.value.reason


# ---- the model ------------------------------------------------------------------


class FakeDataPlane:
    def __init__(self) -> None:
        self.open: dict[int, PortRef] = {}
        self.applied: list[tuple[list[tuple[int, int]], bool]] = []
        self.next = 0
        self.fail_apply: str | None = None

    def open_port(self, ref: PortRef) -> int:
        if ref.uid.kind == "ring" and ref.uid.id >= 8:
            raise NativeError(f"{ref.uid} does not exist (the primary has 8 ring(s))")
        self.next += 1
        self.open[self.next] = ref
        return self.next

    def close_port(self, handle: int) -> None:
        del self.open[handle]

    def apply(self, patches: list[tuple[int, int]], forwarding: bool) -> None:
        if self.fail_apply:
            raise NativeError(self.fail_apply)
        self.applied.append((list(patches), forwarding))

    def counters(self, handle: int) -> dict[str, int]:
        return {"rx": handle, "tx": 0, "tx_drop": 0}

    def named(self) -> tuple[list[tuple[str, str]], bool]:
        patches, fwd = self.applied[-1]
        return [(str(self.open[s]), str(self.open[d])) for s, d in patches], fwd


def make(nb_phy: int = 2) -> tuple[nfv.NfvModel, FakeDataPlane]:
    dp = FakeDataPlane()
    return nfv.NfvModel(1, 4, [4, 5], nb_phy, dp), dp


def test_starts_with_every_phy_port_idling_and_no_patch():
    model, dp = make()
    assert model.status() == {
        "client-id": 1, "status": "idling", "master-lcore": 4, "lcores": [4, 5],
        "ports": ["phy:0", "phy:1"], "patches": [],
        "port_counters": {"phy:0": {"rx": 1, "tx": 0, "tx_drop": 0},
                          "phy:1": {"rx": 2, "tx": 0, "tx_drop": 0}},
    }
    assert dp.applied == []


def test_add_patch_forward_stop_reset_reach_the_data_plane():
    model, dp = make()
    model.handle("add ring:0", {})
    model.handle("add", {"port": "vhost:1"})
    model.handle("patch", {"src": "phy:0", "dst": "ring:0"})
    assert dp.named() == ([("phy:0", "ring:0")], False)
    model.handle("patch ring:0 phy:1", {})
    model.handle("forward", {})
    assert dp.named() == ([("phy:0", "ring:0"), ("ring:0", "phy:1")], True)
    st = model.status()
    assert st["status"] == "running"
    assert st["ports"] == ["phy:0", "phy:1", "ring:0", "vhost:1"]
    assert st["patches"] == [{"src": "phy:0", "dst": "ring:0"},
                             {"src": "ring:0", "dst": "phy:1"}]
    model.handle("patch", {"src": "phy:0", "dst": "vhost:1"})  # replaces phy:0's patch
    assert dp.named() == ([("phy:0", "vhost:1"), ("ring:0", "phy:1")], True)
    model.handle("stop", {})
    assert model.status()["status"] == "idling" and dp.named()[1] is False
    model.handle("patch reset", {})
    assert dp.named() == ([], False) and model.status()["patches"] == []
    model.handle("del vhost:1", {})
    assert model.status()["ports"] == ["phy:0", "phy:1", "ring:0"]


def test_phy_queue_ports_are_named_as_status_shows_them():
    model, _dp = make()
    model.handle("add", {"port": "phy:0nq1"})
    model.handle("patch", {"src": "phy:0 nq 1", "dst": "phy:1"})
    assert "phy:0 nq 1" in model.status()["ports"]
    assert model.status()["patches"] == [{"src": "phy:0 nq 1", "dst": "phy:1"}]


@pytest.mark.parametrize("cmd, args, reason", [
    ("add", {"port": "phy:0"}, "phy:0 is already added"),
    ("add", {"port": "ring:9"}, "ring:9 does not exist (the primary has 8 ring(s))"),
    ("add", {"port": "pcap:1"}, "port type 'pcap' is not supported (phy, ring, vhost)"),
    ("add", {"port": "ring:99"}, "ring:99 is out of range (ring:0-ring:63)"),
    ("del", {"port": "ring:3"}, "ring:3 is not added"),
    ("del", {"port": "phy:0"}, "phy:0 is patched (phy:0 -> phy:1); `patch reset` first"),
    ("del", {"port": "phy:1"}, "phy:1 is patched (phy:0 -> phy:1); `patch reset` first"),
    ("patch", {"src": "ring:1", "dst": "ring:2"}, "ring:1 and ring:2 not added"),
    ("patch", {"src": "phy:1", "dst": "ring:2"}, "ring:2 not added (`add` it first)"),
    ("patch", {"src": "phy:1"}, "'dst' is required"),
])
def test_refused_commands_leave_everything_as_it_was(cmd, args, reason):
    model, dp = make()
    model.handle("patch phy:0 phy:1", {})
    model.handle("forward", {})
    before, applied = model.status(), list(dp.applied)
    with pytest.raises(Refused) as err:
        model.handle(cmd, args)
    assert err.value.reason.startswith(reason) and "\n" not in err.value.reason
    assert model.status() == before and dp.applied == applied


def test_a_data_plane_refusal_leaves_the_model_as_it_was():
    model, dp = make()
    model.handle("add ring:0", {})
    dp.fail_apply = "ring:0 is read by spp_vf 1 (pid 42)"
    with pytest.raises(NativeError):
        model.handle("patch ring:0 phy:1", {})
    with pytest.raises(NativeError):
        model.handle("forward", {})
    st = model.status()
    assert st["patches"] == [] and st["status"] == "idling"


# ---- shell words, text and completion -------------------------------------------------


@pytest.mark.parametrize("words, method, path, body, text", [
    (["status"], "GET", "nfvs/2", None, None),
    (["add", "ring:0"], "PUT", "nfvs/2/ports", {"action": "add", "port": "ring:0"},
     "Add ring:0."),
    (["del", "vhost:1"], "PUT", "nfvs/2/ports", {"action": "del", "port": "vhost:1"},
     "Delete vhost:1."),
    (["patch", "phy:0", "ring:0"], "PUT", "nfvs/2/patches", {"src": "phy:0", "dst": "ring:0"},
     "Patch ports (phy:0 -> ring:0)."),
    (["patch", "phy:0", "nq", "1", "ring:0"], "PUT", "nfvs/2/patches",
     {"src": "phy:0 nq 1", "dst": "ring:0"}, "Patch ports (phy:0 nq 1 -> ring:0)."),
    (["patch", "reset"], "DELETE", "nfvs/2/patches", None, "Clear all of patches."),
    (["forward"], "PUT", "nfvs/2/forward", {"action": "start"}, "Start forwarding."),
    (["stop"], "PUT", "nfvs/2/forward", {"action": "stop"}, "Stop forwarding."),
    (["exit"], "DELETE", "nfvs/2", None, "Exit nfv 2"),
])
def test_nfv_words_become_upstream_rest_requests(words, method, path, body, text):
    a = C.nfv_action(2, words)
    assert (a.method, a.path, a.body) == (method, path, body)
    if text is not None:
        assert a.done(None) == text


@pytest.mark.parametrize("words, text", [
    (["launch"], 'Invalid command "launch".'),
    (["patch", "phy:0"], "Invalid syntax, usage: patch SRC [nq Q] DST [nq Q] | patch reset"),
    (["add"], "Port is required!"),
    (["add", "ring:x"], "Invalid resource UID 'ring:x'"),
    (["forward", "now"], "Invalid syntax, usage: forward"),
])
def test_bad_nfv_words_are_one_line(words, text):
    with pytest.raises(C.CommandError) as err:
        C.nfv_action(1, words)
    assert err.value.text.startswith(text) and "\n" not in err.value.text


def test_status_text_is_upstreams():
    st = {"client-id": 1, "status": "running", "master-lcore": 1, "lcores": [1, 2],
          "ports": ["phy:0", "phy:1", "ring:0"], "patches": [{"src": "phy:0", "dst": "ring:0"}]}
    assert statusfmt.nfv_status(st) == (
        "- status: running\n- lcore_ids:\n  - master: 1\n  - slave: 2\n"
        "- ports:\n  - phy:0 -> ring:0\n  - phy:1\n  - ring:0")
    st["lcores"] = [1, 2, 3]
    assert "  - slaves: [2, 3]\n" in statusfmt.nfv_status(st)


class Src:
    def vf_ids(self) -> list[int]:
        return []

    def vf_status(self, sec_id: int) -> dict[str, Any]:
        return {}

    def nfv_ids(self) -> list[int]:
        return [1, 2]

    def nfv_status(self, sec_id: int) -> dict[str, Any]:
        return {"ports": ["phy:0", "phy:1", "ring:0"],
                "patches": [{"src": "phy:0", "dst": "ring:0"}]}

    def primary_status(self) -> dict[str, Any]:
        return {"phy_ports": [{"id": 0}, {"id": 1}], "ring_ports": [{"id": 0}, {"id": 1}]}


@pytest.mark.parametrize("line, expected", [
    ("nf", ["nfv"]),
    ("nfv ", ["1;", "2;"]),
    ("nfv 1; ", ["status", "add", "del", "patch", "forward", "stop", "exit"]),
    ("nfv 1; f", ["forward"]),
    ("nfv 1; add ", ["ring:1"]),
    ("nfv 1; del ", ["phy:1"]),
    ("nfv 1; patch ", ["phy:1", "ring:0", "reset"]),
    ("nfv 1; patch ring:0 ", ["phy:0", "phy:1", "ring:0"]),
    ("nfv 1; patch reset ", []),
    ("nfv 1; status ", []),
])
def test_nfv_completion(line, expected):
    assert candidates(line, Src()) == expected
