"""`spp up` / `spp down` process handling (host part skipped: that is e2e)."""

from __future__ import annotations

import os
import sys
from dataclasses import replace

import pytest

from spp import rundir
from spp.cli import updown

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)  # spp"]


def test_up_failure_of_primary_reports_log_and_stops_the_controller(tmp_path, monkeypatch):
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    monkeypatch.setattr(updown, "_spawn", _spawn_with_missing_primary(updown._spawn))
    with pytest.raises(updown.UpError) as exc:
        updown.up("default", "127.0.0.2", timeout=15, echo=lambda _m: None, host=False)
    assert str(exc.value).startswith("primary exited with code 2")
    assert "not-a-module" in str(exc.value)
    inst = tmp_path / "spp"
    assert not (inst / "ctl.pid").exists() and not (inst / "primary.pid").exists()


def _spawn_with_missing_primary(real):
    def spawn(part, instance):
        # the primary part fails at once, like a primary that cannot start
        return real(replace(part, argv=["not-a-module"]) if part.name == "primary" else part,
                    instance)
    return spawn


def _part(argv: list[str]) -> updown.Part:
    return updown.Part("vf1", "vf 1", argv, lambda: True)


def test_running_is_the_pid_file_process_when_it_runs_the_parts_command(
        tmp_path, monkeypatch, exec_process):
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    proc = exec_process([sys.executable, "-m", "spp.cli.main", "vf", "--help-not", "#spp"],
                        "--help-not")
    rundir.write_pid(rundir.pid_path("vf1"), proc.pid)
    assert updown._running(_part(["vf", "--help-not", "#spp"]), "spp") == proc.pid


def test_running_refuses_a_pid_file_naming_another_spp_command(
        tmp_path, monkeypatch, exec_process):
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    proc = exec_process(SLEEPER, "# spp")
    rundir.write_pid(rundir.pid_path("vf1"), proc.pid)
    with pytest.raises(updown.UpError, match=f"names pid {proc.pid} running .*spp down"):
        updown._running(_part(["vf", "-l", "2-3"]), "spp")


def test_running_ignores_a_stale_pid_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    rundir.write_pid(rundir.pid_path("vf1"), 999999)
    assert updown._running(_part(["vf"]), "spp") is None


def test_controller_with_the_other_restore_choice_counts_as_running():
    part = updown.Part("ctl", "spp ctl", ["ctl", "-p", "5555", "--restore", "all"],
                       lambda: True, free=("--restore",))
    assert part.runs(["/x/python", "-m", "spp.cli.main", "ctl", "-p", "5555", "--restore", "on"])
    assert not part.runs(["/x/python", "-m", "spp.cli.main", "ctl", "-p", "5556"])


def test_pid_file_is_never_taken_from_a_live_spp_process(tmp_path, exec_process):
    proc = exec_process(SLEEPER, "# spp")
    path = tmp_path / "vf1.pid"
    rundir.write_pid(path, proc.pid)
    with pytest.raises(rundir.PidFileBusy, match=f"names running pid {proc.pid}"):
        with rundir.pid_file(path):
            pass
    assert rundir.read_pid(path) == proc.pid
    rundir.write_pid(path, 999999)  # a dead one is taken over
    with rundir.pid_file(path):
        assert rundir.read_pid(path) == os.getpid()
    assert not path.exists()


def test_down_after_crash_stops_processes_from_pid_files(tmp_path, monkeypatch, exec_process):
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    proc = exec_process(SLEEPER, "# spp")
    inst = tmp_path / "spp"
    inst.mkdir()
    (inst / "vf1.pid").write_text(f"{proc.pid}\n")
    (inst / "primary.pid").write_text("999999\n")  # crashed: stale pid
    problems = updown.down("127.0.0.2", host=False, echo=lambda _m: None)
    assert problems == []
    assert proc.wait(5) is not None
    assert list(inst.glob("*.pid")) == []


def test_down_stops_only_its_own_instance(tmp_path, monkeypatch, exec_process):
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    topo = tmp_path / "b.yaml"
    topo.write_text("name: other\nfile_prefix: other\n"
                    "ctl: {bind: 127.0.0.2, api_port: 17781, pri_port: 15561, sec_port: 16661}\n")
    procs = {}
    for inst in ("spp", "other"):
        (tmp_path / inst).mkdir()
        procs[inst] = exec_process(SLEEPER, "# spp")
        (tmp_path / inst / "vf1.pid").write_text(f"{procs[inst].pid}\n")
    try:
        assert updown.down(topology=str(topo), host=False, echo=lambda _m: None) == []
        assert procs["other"].wait(5) is not None
        assert procs["spp"].poll() is None  # the default instance keeps running
        assert (tmp_path / "spp" / "vf1.pid").exists()
    finally:
        procs["spp"].kill()
        procs["spp"].wait()


@pytest.mark.parametrize("forge", ["symlink", "world-writable"])
def test_down_refuses_a_forged_pid_file_in_one_line_and_stops_nothing(
        tmp_path, monkeypatch, exec_process, forge):
    monkeypatch.setenv("SPP_RUN_DIR", str(tmp_path))
    proc = exec_process(SLEEPER, "# spp")
    inst = tmp_path / "spp"
    inst.mkdir(mode=0o700)
    if forge == "symlink":
        (tmp_path / "elsewhere").write_text(f"{proc.pid}\n")
        (inst / "vf1.pid").symlink_to(tmp_path / "elsewhere")
    else:
        (inst / "vf1.pid").write_text(f"{proc.pid}\n")
        (inst / "vf1.pid").chmod(0o666)
    try:
        problems = updown.down("127.0.0.2", host=False, echo=lambda _m: None)
        assert len(problems) == 1 and "\n" not in problems[0]
        assert problems[0].startswith(f"refused {inst / 'vf1.pid'}: it is ")
        assert "kept aside as" in problems[0]
        assert proc.poll() is None  # the process the forged file names was left alone
        assert not (inst / "vf1.pid").exists() and len(list(inst.glob("vf1.pid.refused-*"))) == 1
    finally:
        proc.kill()
        proc.wait()


def test_down_waits_for_processes_told_to_exit_and_stops_one_that_stays(exec_process):
    quick = exec_process([sys.executable, "-c", "import time; time.sleep(0.5)  # spp"], "# spp")
    stays = exec_process(SLEEPER, "# spp")
    said: list[str] = []
    updown._wait_gone({"nfv2": quick.pid, "mirror3": stays.pid}, said.append, grace=2.0)
    assert quick.wait(1) == 0  # it ended by itself, within the grace
    assert stays.wait(5) != 0 and said == [f"stopped mirror3 (pid {stays.pid})"]
