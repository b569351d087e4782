"""Private run-directory files: created 0700/0600, never read or written through a forgery."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from spp import rundir, safefile
from spp.host import state as host_state


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _aside(directory: Path, name: str) -> list[Path]:
    return sorted(directory.glob(f"{name}.refused-*"))


def test_write_creates_directory_0700_and_file_0600_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "run" / "spp" / "ctl.pid"
    safefile.write_private_atomic(path, b"1234\n")
    assert _mode(path.parent) == 0o700
    assert _mode(path.parent.parent) == 0o700
    assert _mode(path) == 0o600
    assert safefile.read_private(path) == b"1234\n"
    assert [p.name for p in path.parent.iterdir()] == ["ctl.pid"]


def test_missing_file_is_file_not_found_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        safefile.read_private(tmp_path / "nodir" / "x.pid")
    assert not (tmp_path / "nodir").exists()


def test_symlinked_pid_file_is_refused_set_aside_and_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "victim"
    target.write_text("do not touch\n")
    d = tmp_path / "spp"
    safefile.ensure_private_dir(d)
    (d / "ctl.pid").symlink_to(target)
    with pytest.raises(safefile.UnsafeFile, match=r"ctl\.pid: it is a symbolic link; kept aside"):
        safefile.read_private(d / "ctl.pid")
    assert not (d / "ctl.pid").is_symlink()
    assert len(_aside(d, "ctl.pid")) == 1 and _aside(d, "ctl.pid")[0].is_symlink()
    assert target.read_text() == "do not touch\n"


def test_write_through_a_symlink_is_refused_and_the_target_is_untouched(tmp_path: Path) -> None:
    target = tmp_path / "victim"
    target.write_text("do not touch\n")
    d = tmp_path / "spp"
    safefile.ensure_private_dir(d)
    (d / "state.json").symlink_to(target)
    with pytest.raises(safefile.UnsafeFile, match="symbolic link"):
        safefile.write_private_atomic(d / "state.json", b"forged")
    assert target.read_text() == "do not touch\n"
    assert not (d / "state.json").exists()


def test_world_writable_file_is_refused_with_its_mode(tmp_path: Path) -> None:
    d = tmp_path / "spp"
    safefile.write_private_atomic(d / "vf1.pid", b"99\n")
    os.chmod(d / "vf1.pid", 0o666)
    with pytest.raises(safefile.UnsafeFile, match=r"writable by group or others \(mode 0666\)"):
        safefile.read_private(d / "vf1.pid")
    assert not (d / "vf1.pid").exists() and len(_aside(d, "vf1.pid")) == 1


def test_foreign_owned_file_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file away")
    d = tmp_path / "spp"
    safefile.write_private_atomic(d / "primary.pid", b"99\n")
    os.chown(d / "primary.pid", 65534, 65534)
    with pytest.raises(safefile.UnsafeFile, match="belongs to uid 65534"):
        safefile.read_private(d / "primary.pid")


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    d = tmp_path / "spp"
    safefile.ensure_private_dir(d)
    os.mkfifo(d / "ctl.log", 0o600)
    with pytest.raises(safefile.UnsafeFile, match="not a regular file"):
        safefile.open_private_append(d / "ctl.log")
    os.mkfifo(d / "ctl.log", 0o600)
    with pytest.raises(safefile.UnsafeFile, match="not a regular file"):
        safefile.read_private(d / "ctl.log")


def test_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run" / "ctl.token"
    safefile.write_private_atomic(path, b"t", secret=True)
    assert safefile.read_private(path, secret=True) == b"t"
    os.chmod(path, 0o644)
    with pytest.raises(safefile.UnsafeFile, match="readable by group or others"):
        safefile.read_private(path, secret=True)


def test_directory_writable_by_others_is_refused_and_one_of_ours_is_tightened(
        tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    os.chmod(loose, 0o777)
    with pytest.raises(safefile.UnsafeFile, match="directory .*writable by group or others"):
        safefile.write_private_atomic(loose / "x", b"1")
    assert list(loose.iterdir()) == []
    readable = tmp_path / "readable"
    readable.mkdir()
    os.chmod(readable, 0o755)
    safefile.write_private_atomic(readable / "x", b"1")
    assert _mode(readable) == 0o700


def test_symlinked_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "spp").symlink_to(real)
    with pytest.raises(safefile.UnsafeFile, match="directory .*symbolic link"):
        safefile.write_private_atomic(tmp_path / "spp" / "ctl.pid", b"1")
    assert list(real.iterdir()) == []


def test_refused_pid_file_stops_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(rundir.ROOT_ENV, str(tmp_path / "run"))
    path = rundir.pid_path("ctl")
    rundir.write_pid(path, os.getpid())
    assert rundir.read_pid(path) == os.getpid()
    os.chmod(path, 0o622)
    with pytest.raises(safefile.UnsafeFile, match="ctl.pid: it is writable"):
        rundir.stop_pidfile(path)
    assert rundir.pid_files() == []


def test_forged_host_state_is_refused_not_loaded(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(rundir.ROOT_ENV, str(tmp_path / "run"))
    host_state.HostState(topology="t", namespaces=["spp-a"]).save()
    assert _mode(host_state.state_path("t")) == 0o600
    assert host_state.load_state("t").namespaces == ["spp-a"]  # type: ignore[union-attr]
    forged = tmp_path / "forged.json"
    forged.write_text('{"topology": "t", "namespaces": ["important-netns"]}')
    host_state.state_path("t").unlink()
    host_state.state_path("t").symlink_to(forged)
    with pytest.raises(safefile.UnsafeFile, match=r"host-t\.json: it is a symbolic link"):
        host_state.load_state("t")


def test_tail_reads_the_end_of_a_long_log(tmp_path: Path) -> None:
    path = tmp_path / "spp" / "ctl.log"
    safefile.write_private_atomic(path, b"x" * (2 << 20) + b"last line\n")
    assert safefile.read_private(path, tail=10) == b"last line\n"
    assert len(safefile.read_private(path)) == safefile.MAX_READ
