"""`spp` Typer commands: output, exit codes and one-line stderr messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import FakePrimary, FakeVf, Stack  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "recipes/usecases/spp_vf"


@pytest.fixture(scope="module")
def stack():
    s = Stack(timeout=1.0)
    s.pri = s.add(FakePrimary())
    s.vf = s.add(FakeVf(1, lcores=(0, *range(2, 14))))
    yield s
    s.close()


def spp(*args, ctl="127.0.0.1:1", env=None):
    e = {**os.environ, "SPP_CTL": ctl, **(env or {})}
    return subprocess.run([sys.executable, "-m", "spp.cli.main", *args], capture_output=True,
                          text=True, env=e, timeout=30, cwd=ROOT)


def one_line_error(res):
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    return res.stderr.strip()


def test_unreachable_controller_is_one_line_and_exit_1():
    res = spp("status")
    assert res.returncode == 1
    assert one_line_error(res) == "Error: cannot reach spp ctl at 127.0.0.1:1 (ConnectionError)."


def test_status_lists_primary_and_vf(stack):
    res = spp("status", ctl=stack.base)
    assert res.returncode == 0 and "    1: vf:1" in res.stdout


def test_vf_component_start_stop_and_refusal(stack):
    res = spp("vf", "1", "component", "start", "tfw", "13", "forward", ctl=stack.base)
    assert (res.returncode, res.stdout) == (0, "Succeeded to start component 'tfw' on core:13\n")
    res = spp("vf", "1", "component", "start", "tfw2", "99", "forward", ctl=stack.base)
    assert one_line_error(res) == "Error: core 99 is not a worker lcore of this process."
    res = spp("vf", "1", "component", "stop", "tfw", ctl=stack.base)
    assert (res.returncode, res.stdout) == (0, "Succeeded to delete component 'tfw'\n")


def test_vf_port_option_and_positional_forms_send_same_request(stack):
    spp("vf", "1", "component", "start", "tcl", "12", "classifier", ctl=stack.base)
    res = spp("vf", "1", "port", "add", "ring:8", "--nq", "0", "tx", "tcl",
              "--add-vlantag", "10", "3", ctl=stack.base)
    assert res.returncode == 0, res.stderr
    first = stack.vf.log[-1]
    res = spp("vf", "1", "port", "add", "ring:9", "nq", "0", "tx", "tcl",
              "add_vlantag", "10", "3", ctl=stack.base)
    assert res.returncode == 0, res.stderr
    second = stack.vf.log[-1]
    assert first[1] == {**second[1], "port": "ring:8"}
    assert first[1]["vlan"] == {"operation": "add", "id": 10, "pcp": 3} and "nq" not in first[1]
    spp("vf", "1", "port", "del", "ring:8", "tx", "tcl", ctl=stack.base)
    spp("vf", "1", "port", "del", "ring:9", "tx", "tcl", ctl=stack.base)
    assert spp("vf", "1", "component", "stop", "tcl", ctl=stack.base).returncode == 0


def test_vf_status_text_and_json(stack):
    res = spp("vf", "1", "status", ctl=stack.base)
    assert res.returncode == 0 and res.stdout.startswith("Basic Information:\n")
    res = spp("vf", "1", "status", "--json", ctl=stack.base)
    assert '"master-lcore": 0' in res.stdout


def test_unknown_vf_is_one_line_404_reason(stack):
    assert one_line_error(spp("vf", "7", "status", ctl=stack.base)) == \
        "Error: sec_id 7 not found."


def test_invalid_values_rejected_before_sending():
    assert one_line_error(spp("vf", "1", "component", "start", "a", "x", "forward")) == \
        "Invalid core id 'x'."


def test_vf_client_command_without_id_fails_clearly():
    assert one_line_error(spp("vf", "status")) == "Error: vf ID required, e.g. `spp vf 1 status`."


def test_usage_error_is_one_line_exit_2():
    res = spp("vf", "1", "bogus")
    assert res.returncode == 2
    assert one_line_error(res).startswith("spp vf: No such command 'bogus'")


def test_primary_patch_forward_and_status_json(stack):
    assert spp("primary", "patch", "phy:0", "phy:1", ctl=stack.base).stdout == \
        "Patch ports (phy:0 -> phy:1).\n"
    assert spp("primary", "forward", ctl=stack.base).stdout == "Start forwarding.\n"
    assert '"forwarding": true' in spp("primary", "status", "--json", ctl=stack.base).stdout
    assert spp("primary", "stop", ctl=stack.base).returncode == 0
    assert spp("primary", "patch-reset", ctl=stack.base).stdout == "Clear all of patches.\n"
    assert one_line_error(spp("primary", "patch", "phy:0", "phy:7", ctl=stack.base)) == \
        "Error: no such port phy:7."


@pytest.mark.parametrize("argv,module,expected", [
    (["primary", "start", "--phy", "spp-p0", "--", "-s", "x"], "primary",
     ["--phy", "spp-p0", "--", "-s", "x"]),
    (["primary", "-l", "1", "--proc-type=primary", "--", "-p", "0x03", "-n", "10"], "primary",
     ["-l", "1", "--proc-type=primary", "--", "-p", "0x03", "-n", "10"]),
    (["vf", "start", "--client-id", "1", "-l", "2-6"], "vf", ["--client-id", "1", "-l", "2-6"]),
    (["vf", "-l", "2-6", "--proc-type=secondary", "--", "--client-id", "1", "--help"], "vf",
     ["-l", "2-6", "--proc-type=secondary", "--", "--client-id", "1", "--help"]),
])
def test_launch_forms_call_process_main_with_args_and_its_exit_code(tmp_path, argv, module,
                                                                    expected):
    pkg = tmp_path / "spp_fake_proc"
    pkg.mkdir()
    code = ("import json, sys\n"
            "def main(argv):\n"
            "    print(json.dumps(argv))\n"
            "    return 7\n")
    (pkg / f"{module}.py").write_text(code)
    boot = (f"import sys, importlib, types; sys.path.insert(0, {str(tmp_path)!r}); "
            f"m = importlib.import_module('spp_fake_proc.{module}'); "
            f"sys.modules['spp.proc.{module}'] = m; "
            "from spp.cli.main import main; sys.exit(main(sys.argv[1:]))")
    res = subprocess.run([sys.executable, "-c", boot, *argv], capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 7, res.stderr
    import json
    assert json.loads(res.stdout) == expected


def test_help_lists_commands_with_descriptions():
    out = spp("--help").stdout
    for word in ("ctl", "shell", "status", "playback", "up", "down", "primary", "vf", "host"):
        assert f" {word} " in out
    vf_help = spp("vf", "--help").stdout
    for word in ("start", "status", "component", "port", "classifier-table", "exit"):
        assert f" {word} " in vf_help
    assert " patch-reset " in spp("primary", "--help").stdout


def test_playback_recipes_of_seed_003_run_clean(stack):
    for name in ("1-start_components", "2-add_port_path1", "3-add_port_path2",
                 "4-del_path1", "5-del_path2"):
        res = spp("playback", str(RECIPES / "ssh" / f"{name}.rcp"), ctl=stack.base)
        assert res.returncode == 0, res.stderr
    assert all(c["type"] == "unuse" for c in stack.vf.status()["components"])
    for name in ("1-start_components", "2-add_ports", "3-add_cls_table", "4-del_cls_table",
                 "5-del_ports", "6-stop_components"):
        res = spp("playback", str(RECIPES / "classify_icmp" / f"{name}.rcp"), ctl=stack.base)
        assert res.returncode == 0, res.stderr


def test_playback_stops_at_first_failing_line_with_file_and_line(stack, tmp_path):
    rcp = tmp_path / "bad.rcp"
    rcp.write_text("# comment\nvf 1; component start pb1 2 forward\n"
                   "vf 1; component start pb2 99 forward\nvf 1; component start pb3 3 forward\n")
    res = spp("playback", str(rcp), ctl=stack.base)
    assert res.returncode == 1
    assert one_line_error(res) == (f"{rcp}:3: vf 1; component start pb2 99 forward: "
                                   "core 99 is not a worker lcore of this process.")
    assert "pb3" not in stack.vf.comps
    res = spp("playback", "--keep-going", str(rcp), ctl=stack.base)
    assert res.returncode == 1 and "pb3" in stack.vf.comps
    for name in ("pb1", "pb3"):
        spp("vf", "1", "component", "stop", name, ctl=stack.base)


def _cls_line(i: int, port: str = "ring:0") -> str:
    return f"vf 1; classifier_table add mac 52:54:00:00:{i >> 8:02x}:{i & 255:02x} {port}"


def test_playback_sends_consecutive_table_adds_as_one_batch(stack, tmp_path):
    rcp = tmp_path / "table.rcp"
    rcp.write_text("\n".join([_cls_line(1), _cls_line(2), "# comment", _cls_line(3),
                              "vf 1; status", _cls_line(4)]) + "\n")
    stack.vf.log.clear()
    res = spp("playback", str(rcp), ctl=stack.base)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("Succeeded to add") == 4
    sent = [(c, len(a["entries"]) if c.endswith("batch") else 1) for c, a in stack.vf.log
            if c.startswith("classifier_table")]
    assert sent == [("classifier_table_batch", 3), ("classifier_table", 1)]
    rcp.write_text("\n".join(f"vf 1; classifier_table del mac 52:54:00:00:00:{i:02x} ring:0"
                             for i in (1, 2, 3, 4)) + "\n")
    assert spp("playback", str(rcp), ctl=stack.base).returncode == 0


def test_a_refused_batch_in_playback_names_the_line_of_the_bad_entry(stack, tmp_path):
    rcp = tmp_path / "dup.rcp"
    rcp.write_text("\n".join([_cls_line(1), _cls_line(2), _cls_line(1), _cls_line(3)]) + "\n")
    res = spp("playback", str(rcp), ctl=stack.base)
    assert res.returncode == 1
    assert one_line_error(res) == (f"{rcp}:3: {_cls_line(1)}: entry 2: entry "
                                   "52:54:00:00:00:01 already exists.")
    assert stack.vf.status()["classifier_table"] == []
    res = spp("playback", "--keep-going", str(rcp), ctl=stack.base)
    assert res.returncode == 1
    assert len(stack.vf.status()["classifier_table"]) == 3
    stack.vf.table.clear()


def test_launch_reports_the_launched_process_own_reason_when_it_exits(stack):
    stack.pri.outcomes[9] = {"client_id": 9, "pid": 99, "running": False, "exit_code": 2,
                             "reason": "spp vf: lcore 99 does not exist"}
    res = spp("primary", "launch", "vf", "9", "-l", "2,99", "--", "-s", "127.0.0.1:6666",
              ctl=stack.base)
    assert one_line_error(res) == \
        "Error: vf:9 exited with code 2: spp vf: lcore 99 does not exist"
    assert res.stdout == ""


def test_launch_waits_until_the_new_vf_registers(stack):
    import threading
    import time

    sent = len(stack.pri.launched)

    def register_once_launched() -> None:  # the vf comes up after the primary launched it
        for _ in range(300):
            if len(stack.pri.launched) > sent:
                time.sleep(0.3)
                stack.add(FakeVf(7))
                return
            time.sleep(0.05)

    late = threading.Thread(target=register_once_launched)
    late.start()
    try:
        res = spp("primary", "launch", "vf", "7", "-l", "2,3", "--", "-s", "127.0.0.1:6666",
                  ctl=stack.base)
    finally:
        late.join()
    assert (res.returncode, res.stdout) == (0, "Send request to launch vf:7.\nvf:7 is up.\n")
    assert stack.pri.launched[-1]["app"] == {"-s": "127.0.0.1:6666", "--client-id": "7"}


def test_launch_of_a_running_vf_is_refused_before_sending(stack):
    before = len(stack.pri.launched)
    res = spp("primary", "launch", "vf", "1", "-l", "2,3", "--", ctl=stack.base)
    assert one_line_error(res) == "Cannot launch vf:1: it is already running."
    assert len(stack.pri.launched) == before
