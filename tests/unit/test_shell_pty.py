"""The real `spp shell` driven through a pseudo-terminal (pexpect)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import FakePrimary, FakeVf, Stack  # noqa: E402

PROMPT = "spp > "


@pytest.fixture
def stack():
    s = Stack(timeout=1.0)
    s.pri = s.add(FakePrimary())
    s.vf = s.add(FakeVf(1))
    yield s
    s.close()


@pytest.fixture
def home(tmp_path):
    return tmp_path


def spawn(stack, home, *extra):
    env = {**os.environ, "HOME": str(home), "TERM": "dumb", "SPP_HISTORY": str(home / "hist")}
    child = pexpect.spawn(sys.executable, ["-m", "spp.cli.main", "shell", "-b", stack.base,
                                           *extra],
                          env=env, encoding="utf-8", timeout=10, dimensions=(40, 200),
                          cwd=str(home))
    child.expect_exact(PROMPT)
    return child


def run(child, line):
    child.sendline(line)
    child.expect_exact(PROMPT)
    return child.before.replace("\r\n", "\n")


def bye(child):
    child.sendline("bye")
    child.expect_exact("Thank you for using Soft Patch Panel")
    child.expect(pexpect.EOF)


def test_vf_status_prints_seed_003_shape(stack, home):
    c = spawn(stack, home)
    out = run(c, "vf 1; status")
    assert "Basic Information:\n  - client-id: 1\n  - ports: [phy:0, phy:1]\n" in out
    assert "Classifier Table:\n  No entries.\n  - core:3 '' (type: unuse)\n" in out
    bye(c)


def test_invalid_sub_command_and_controller_errors_are_printed(stack, home):
    c = spawn(stack, home)
    assert 'Invalid command "compo".' in run(c, "vf 1; compo")
    assert "Error: core 9 is not a worker lcore of this process." in \
        run(c, "vf 1; component start fw1 9 forward")
    assert "Error: sec_id 4 not found." in run(c, "vf 4; status")
    assert 'Invalid command "foo".' in run(c, "foo")
    bye(c)


def test_tab_completes_each_word_of_component_start(stack, home):
    c = spawn(stack, home)
    c.send("vf \t")          # single vf: completes the id
    c.send("comp\t")         # component
    c.send("st\t\t")         # start / stop are both candidates
    c.expect(r"start\s+stop")
    c.send("a\t")            # -> start
    c.send("\t")             # placeholder NAME
    c.expect_exact("NAME")
    c.send("\x7f" * 5 + "fw1 \t\t")  # replace NAME, list free cores
    c.expect(r"3\s+4\s+5\s+6")
    c.send("5 \t\t")
    c.expect(r"classifier\s+classifier_mac\s+forward\s+merge")  # readline sorts
    c.send("fo\t\r")
    c.expect_exact("Succeeded to start component 'fw1' on core:5")
    c.expect_exact(PROMPT)
    c.send("vf 1; component start fw2 \t\t")
    c.expect(r"3\s+4\s+6")   # core 5 is taken now
    c.send("\x15\r")         # kill line
    c.expect_exact(PROMPT)
    c.send("vf 1; component stop \t\r")
    c.expect_exact("Succeeded to delete component 'fw1'")
    c.expect_exact(PROMPT)
    bye(c)


def test_tab_completes_each_word_of_port_add(stack, home):
    stack.vf.handle("component_start", {"name": "cls", "core": 3, "type": "classifier"})
    c = spawn(stack, home)
    c.send("vf 1; port \t\t")
    c.expect(r"add\s+del")
    c.send("a\t\t\t")
    c.expect(r"phy:0\s+phy:1\s+ring:0\s+ring:1\s+ring:2")
    c.send("ring:7 \t\t")
    c.expect(r"nq\s+rx\s+tx")
    c.send("t\t\t")
    c.expect_exact("cls")
    c.send("\t\t")
    c.expect(r"add_vlantag\s+del_vlantag")
    c.send("a\t\t")
    c.expect_exact("VID")
    c.send("\x7f" * 4 + "10 \t")
    c.expect_exact("PCP")
    c.send("\x7f" * 4 + "2\r")
    c.expect_exact("Succeeded to add port")
    c.expect_exact(PROMPT)
    assert stack.vf.comps["cls"]["tx_port"] == [
        {"port": "ring:7", "vlan": {"operation": "add", "id": 10, "pcp": 2}}]
    bye(c)


def test_history_persists_across_sessions_and_redo_reruns(stack, home):
    c = spawn(stack, home)
    run(c, "vf 1; component start h1 4 forward")
    run(c, "pwd")
    bye(c)
    c = spawn(stack, home)
    out = run(c, "history")
    assert "1  vf 1; component start h1 4 forward" in out and "2  pwd" in out
    run(c, "vf 1; component stop h1")
    out = run(c, "redo 1")
    assert "Succeeded to start component 'h1' on core:4" in out
    assert "h1" in stack.vf.comps
    bye(c)
    assert (home / "hist").read_text().splitlines()[:2] == [
        "vf 1; component start h1 4 forward", "pwd"]


def test_record_then_playback_replays_the_session(stack, home):
    c = spawn(stack, home)
    assert "Recording commands to 'r.rcp'." in run(c, "record r.rcp")
    run(c, "vf 1; component start r1 3 forward")
    run(c, "vf 1; port add ring:0 rx r1")
    run(c, "vf 1; compo")  # failed lines are not recorded
    bye(c)
    assert (home / "r.rcp").read_text() == ("vf 1; component start r1 3 forward\n"
                                            "vf 1; port add ring:0 rx r1\n")
    stack.vf.comps.clear()
    c = spawn(stack, home)
    out = run(c, "playback r.rcp")
    assert "Succeeded to start component 'r1' on core:3" in out
    assert "Succeeded to add port" in out
    assert stack.vf.comps["r1"]["rx_port"][0]["port"] == "ring:0"
    out = run(c, "playback r.rcp")
    assert "r.rcp:1: vf 1; component start r1 3 forward: component 'r1' already exists." in out
    bye(c)


def test_bye_sec_terminates_secondaries_and_keeps_the_shell(stack, home):
    c = spawn(stack, home)
    assert "Exit vf 1." in run(c, "bye sec")
    out = run(c, "status")
    assert "  - status: running" in out and "1: vf:1" not in out
    out = run(c, "bye all")
    assert "Closing primary ..." in out and "Exit primary." in out
    assert "  - status: not running" in run(c, "status")
    bye(c)


def test_server_add_switch_and_list(stack, home):
    c = spawn(stack, home)
    assert 'Registered spp-ctl "127.0.0.1:1".' in run(c, "server add 127.0.0.1:1")
    assert 'Switch spp-ctl to "2: 127.0.0.1:1".' in run(c, "server 2")
    assert "Error: cannot reach spp ctl at 127.0.0.1:1" in run(c, "status")
    out = run(c, "server list")
    assert "  2: 127.0.0.1:1 *" in out
    run(c, "server 1")
    assert "1: vf:1" in run(c, "status")
    bye(c)


def test_config_prompt_changes_prompt(stack, home):
    c = spawn(stack, home)
    c.sendline("config prompt spp2 >")
    c.expect_exact('Set prompt: "spp2 > "')
    c.expect_exact("spp2 > ")
    c.sendline("exit")
    c.expect(pexpect.EOF)
