"""Leftovers of SPP runs: processes from pid files, pinned BPF objects, DPDK files."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

from spp.host.state import run_dir
from spp.host.system import BPFFS_DIR, HUGETLBFS_DIR

DPDK_RUN_DIR = Path("/var/run/dpdk")
LIBXDP_PIN_DIR = BPFFS_DIR / "xdp"


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def pid_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child counts as gone
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def read_pidfile(path: Path) -> int | None:
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid > 1 else None


def is_spp_process(pid: int) -> bool:
    """Alive and its command line names spp (guards against a recycled pid)."""
    return pid != os.getpid() and pid_alive(pid) and "spp" in _cmdline(pid)


def stop_pid(pid: int, timeout: float = 3.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def stop_recorded_processes(directory: Path | None = None) -> list[str]:
    """Stop SPP processes (ctl/primary/vf) named by <run dir>/*.pid; remove the pid files."""
    done = []
    for pidfile in sorted((directory or run_dir()).glob("*.pid")):
        pid = read_pidfile(pidfile)
        if pid is not None and is_spp_process(pid):
            stop_pid(pid)
            done.append(f"process {pid} ({pidfile.name})")
        pidfile.unlink(missing_ok=True)
    return done


def _remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_bpf_pins(prefix: str, bpffs: Path = BPFFS_DIR) -> list[str]:
    """Pinned maps/programs /sys/fs/bpf/<prefix>*."""
    done = []
    for path in sorted(bpffs.glob(f"{prefix}*")):
        _remove_path(path)
        done.append(str(path))
    return done


def remove_xdp_dispatcher_pins(ifindexes: list[int], pin_dir: Path = LIBXDP_PIN_DIR) -> list[str]:
    """libxdp's multiprog dispatcher pins (dispatch-<ifindex>-<id>) of our interfaces."""
    done = []
    for ifindex in ifindexes:
        for path in sorted(pin_dir.glob(f"dispatch-{ifindex}-*")):
            _remove_path(path)
            done.append(str(path))
    return done


def remove_dpdk_files(
    file_prefix: str, huge_dir: Path = HUGETLBFS_DIR, dpdk_run: Path = DPDK_RUN_DIR
) -> list[str]:
    """Hugepage files <huge_dir>/<prefix>map_* and the runtime dir /var/run/dpdk/<prefix>/."""
    done = []
    for path in sorted(huge_dir.glob(f"{file_prefix}map_*")):
        path.unlink(missing_ok=True)
        done.append(str(path))
    runtime = dpdk_run / file_prefix
    if runtime.exists():
        _remove_path(runtime)
        done.append(str(runtime))
    return done
