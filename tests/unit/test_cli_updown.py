"""`spp up` / `spp down` process handling (host part skipped: that is e2e)."""

from __future__ import annotations

import sys

import pytest

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
    def spawn(name, argv, instance):
        # the primary part fails at once, like a primary that cannot start
        return real(name, ["not-a-module"] if name == "primary" else argv, instance)
    return spawn


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
