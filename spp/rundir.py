"""The run directory: where SPP processes and tools keep pid, log and state files.

One SPP instance is a controller, a primary and its secondaries that share one
DPDK file prefix (`--file-prefix`, default `spp`). Its files live in
`<root>/<prefix>/`; the root is /run/spp unless the environment variable
SPP_RUN_DIR names another. Host topology state (`host-<topology>.json`) lives
in the root itself, since a topology is what creates an instance.

This module is the only place that knows these paths and the only place that
stops a process by its pid file: every process main, `spp up`, `spp down`,
`spp host down` and the primary's `launch` go through it. A process is only
ever signalled by the pid its own pid file names, and only while that pid
still runs a command line that is ours (a recycled pid is left alone).

Every file here is private (spp.safefile): directories 0700, files 0600, never
opened through a symlink; a pid file that fails those checks raises
`safefile.UnsafeFile` with the reason and is kept aside, never used.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from spp import safefile
from spp.defaults import FILE_PREFIX, RUN_DIR, RUN_DIR_ENV
from spp.errors import Conflict

ROOT_ENV = RUN_DIR_ENV
DEFAULT_ROOT = RUN_DIR
DEFAULT_INSTANCE = FILE_PREFIX
OURS_MARKER = "spp"


def root() -> Path:
    """The run directory root (SPP_RUN_DIR, else /run/spp)."""
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def instance_dir(instance: str = DEFAULT_INSTANCE) -> Path:
    """`<root>/<instance>`: pid and log files of one SPP instance (its DPDK file prefix)."""
    if not instance or "/" in instance or instance in (".", ".."):
        raise ValueError(f"'{instance}' is not a usable instance name (a DPDK file prefix)")
    return root() / instance


def pid_path(name: str, instance: str = DEFAULT_INSTANCE) -> Path:
    """Pid file of process `name` (ctl, primary, vf1, ...) of an instance."""
    return instance_dir(instance) / f"{name}.pid"


def token_path(api_port: int) -> Path:
    """Token of the controller whose REST API listens on `api_port` (`spp ctl --auth token`)."""
    return root() / f"ctl-{api_port}.token"


def read_token(api_port: int) -> str | None:
    """That token, or None when the controller runs without one; UnsafeFile if refused."""
    path = token_path(api_port)
    if not os.path.lexists(path):
        return None
    try:
        token = safefile.read_private(path, secret=True).decode().strip()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    return token or None


def log_path(name: str, instance: str = DEFAULT_INSTANCE) -> Path:
    """Log file of a process started in the background (`spp up`, `pri; launch`)."""
    return instance_dir(instance) / f"{name}.log"


def open_log(path: Path, truncate: bool = False) -> BinaryIO:
    """A log file of the run directory opened for appending (private, never through a link)."""
    return safefile.open_private_append(path, truncate)


def write_pid(path: Path, pid: int | None = None) -> None:
    """Record `pid` (default: this process) atomically; UnsafeFile if the file is refused."""
    safefile.write_private_atomic(path, f"{pid or os.getpid()}\n".encode())


def read_pid(path: Path) -> int | None:
    """The pid a pid file names, or None when it is missing or unreadable.

    Raises safefile.UnsafeFile (the file is set aside) when it is not a private file of ours.
    """
    try:
        pid = int(safefile.read_private(path).split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid > 1 else None


def remove_pid(path: Path, pid: int | None = None) -> None:
    """Remove a pid file, but only if it still names `pid` (default: this process)."""
    with contextlib.suppress(safefile.UnsafeFile):
        if read_pid(path) == (pid or os.getpid()):
            path.unlink(missing_ok=True)


class PidFileBusy(Conflict):
    """The pid file names another live SPP process; the message says which."""


def claim_pid(path: Path) -> None:
    """Write this process's pid into `path`, never over another live SPP process's."""
    other = read_pid(path)
    if other is not None and is_ours(other):
        raise PidFileBusy(f"{path} names running pid {other} ({cmdline(other)[:120]})")
    write_pid(path)


@contextlib.contextmanager
def pid_file(path: Path | None) -> Iterator[None]:
    """Hold a pid file for this process while the block runs (None: no file).

    PidFileBusy when the file names another live SPP process: that one keeps it.
    """
    if path is None:
        yield
        return
    claim_pid(path)
    try:
        yield
    finally:
        remove_pid(path)


def pid_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def cmdline(pid: int) -> str:
    """The command line of `pid`, words separated by spaces ('' when it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def argv(pid: int) -> list[str]:
    """The command line of `pid` word by word ([] when it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [w.decode(errors="replace") for w in raw.split(b"\0")[:-1]]


def is_ours(pid: int, marker: str = OURS_MARKER) -> bool:
    """Alive, not this process, and its command line carries `marker`."""
    return pid != os.getpid() and pid_alive(pid) and marker in cmdline(pid)


def stop_pid(pid: int, grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; returns once `pid` is gone (or 2 x grace)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + grace
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)


def stop_pidfile(path: Path, grace: float = 3.0, marker: str = OURS_MARKER) -> int | None:
    """Stop the process a pid file names if it is ours; remove the file. Returns the pid stopped.

    A refused pid file (safefile.UnsafeFile) stops nothing and is kept aside.
    """
    pid = read_pid(path)
    stopped = None
    if pid is not None and is_ours(pid, marker):
        stop_pid(pid, grace)
        stopped = pid
    path.unlink(missing_ok=True)
    return stopped


def pid_files(instance: str = DEFAULT_INSTANCE) -> list[Path]:
    """Every pid file of an instance, secondaries first, then primary, then the controller."""
    order = {"primary.pid": 1, "ctl.pid": 2}
    d = instance_dir(instance)
    files = sorted(d.glob("*.pid")) if d.is_dir() else []
    return sorted(files, key=lambda p: (order.get(p.name, 0), p.name))
