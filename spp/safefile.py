"""Private files of the run directory: created by us, for us, never through a link.

Every read and write of a file under the run directory (spp.rundir) goes through
this module:

- directories are created mode 0700 and must be real directories owned by this
  user that group and others cannot write (one that others can only read is
  tightened to 0700);
- files are created mode 0600, written atomically (temporary file + rename) and
  opened with O_NOFOLLOW relative to their already checked directory;
- a file that is a symlink, is not a regular file, belongs to another user or
  can be written by group or others is refused: it is renamed to
  `<name>.refused-<time>` next to where it was (kept for inspection, never used)
  and `UnsafeFile` carries the one-line reason.

A secret (`secret=True`) must moreover be unreadable by group and others.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from spp.errors import Refused

DIR_MODE = 0o700
FILE_MODE = 0o600
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MAX_READ = 1 << 20


class UnsafeFile(Refused):
    """A run-directory file or directory failed the checks; `str()` is the one-line reason."""


def _problem(st: os.stat_result, secret: bool) -> str | None:
    """Why a file with this stat cannot be trusted (None: it can)."""
    if stat.S_ISLNK(st.st_mode):
        return "it is a symbolic link"
    if not stat.S_ISREG(st.st_mode):
        return "it is not a regular file"
    if st.st_uid != os.geteuid():
        return f"it belongs to uid {st.st_uid}, not {os.geteuid()}"
    if st.st_mode & 0o022:
        return f"it is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})"
    if secret and st.st_mode & 0o077:
        return f"it is readable by group or others (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def _set_aside(dfd: int, name: str) -> str:
    """Rename `name` in directory `dfd` out of the way; returns the new name ('' if it failed)."""
    aside = f"{name}.refused-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    try:
        os.rename(name, aside, src_dir_fd=dfd, dst_dir_fd=dfd)
    except OSError:
        return ""
    return aside


def _refuse(dfd: int, path: Path, why: str) -> UnsafeFile:
    aside = _set_aside(dfd, path.name)
    kept = f"; kept aside as {path.parent / aside}" if aside else ""
    return UnsafeFile(f"refused {path}: {why}{kept}")


def _check_dir(path: Path, dfd: int) -> None:
    st = os.fstat(dfd)
    if st.st_uid != os.geteuid():
        raise UnsafeFile(f"refused directory {path}: it belongs to uid {st.st_uid}, "
                         f"not {os.geteuid()}")
    if st.st_mode & 0o022:
        raise UnsafeFile(f"refused directory {path}: it is writable by group or others "
                         f"(mode {stat.S_IMODE(st.st_mode):04o})")
    if stat.S_IMODE(st.st_mode) != DIR_MODE:
        os.fchmod(dfd, DIR_MODE)


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and missing parents) mode 0700; refuse a symlink or a foreign owner."""
    with open_private_dir(path):
        pass


@contextlib.contextmanager
def open_private_dir(path: Path) -> Iterator[int]:
    """A checked descriptor of directory `path`, created 0700 when missing."""
    path = Path(path)
    for d in [*reversed(path.parents), path]:
        if not d.exists() and not d.is_symlink():
            with contextlib.suppress(FileExistsError):
                d.mkdir(mode=DIR_MODE)
    try:
        dfd = os.open(path, _OPEN_DIR)
    except OSError as exc:
        why = "it is a symbolic link" if path.is_symlink() else (exc.strerror or str(exc))
        raise UnsafeFile(f"refused directory {path}: {why}") from None
    try:
        _check_dir(path, dfd)
        yield dfd
    finally:
        os.close(dfd)


def _open_checked(dfd: int, path: Path, flags: int, secret: bool) -> int:
    """Open `path.name` in `dfd` without following a link; refuse (and set aside) a bad file."""
    try:
        fd = os.open(path.name, flags, FILE_MODE, dir_fd=dfd)
    except FileNotFoundError:
        raise
    except OSError as exc:
        try:
            st = os.stat(path.name, dir_fd=dfd, follow_symlinks=False)
        except OSError:
            raise exc from None
        raise _refuse(dfd, path, _problem(st, secret) or (exc.strerror or str(exc))) from None
    st = os.fstat(fd)
    why = _problem(st, secret)
    if why is not None:
        os.close(fd)
        raise _refuse(dfd, path, why)
    return fd


def check_private(path: Path, secret: bool = False) -> None:
    """Refuse (and set aside) an existing file that fails the checks; a missing file is fine."""
    path = Path(path)
    with open_private_dir(path.parent) as dfd:
        try:
            st = os.stat(path.name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            return
        why = _problem(st, secret)
        if why is not None:
            raise _refuse(dfd, path, why)


def read_private(path: Path, secret: bool = False, tail: int | None = None,
                 limit: int = MAX_READ) -> bytes:
    """The contents of a private file, at most `limit` bytes (with `tail`: its last `tail`
    bytes). FileNotFoundError when missing, UnsafeFile when refused."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(path)
    with open_private_dir(path.parent) as dfd:
        fd = _open_checked(dfd, path, _OPEN_READ, secret)
        with os.fdopen(fd, "rb") as f:
            if tail is not None:
                f.seek(max(0, os.fstat(fd).st_size - tail))
            return f.read(limit if tail is None else tail)


def write_private_atomic(path: Path, data: bytes, secret: bool = False) -> None:
    """Replace `path` with `data` (mode 0600): a temporary file renamed over it.

    An existing file at `path` that fails the checks is refused (set aside, UnsafeFile):
    nothing is ever written through a link or into a file someone else controls.
    """
    path = Path(path)
    with open_private_dir(path.parent) as dfd:
        try:
            st = os.stat(path.name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            pass
        else:
            why = _problem(st, secret)
            if why is not None:
                raise _refuse(dfd, path, why)
        tmp = f".{path.name}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     FILE_MODE, dir_fd=dfd)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, path.name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dfd)
            raise


def open_private_append(path: Path, truncate: bool = False) -> BinaryIO:
    """`path` opened for appending (created 0600; emptied first with `truncate`), e.g. a log
    a child process writes to."""
    path = Path(path)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC
    with open_private_dir(path.parent) as dfd:
        fd = _open_checked(dfd, path, flags, secret=False)
    if truncate:
        os.ftruncate(fd, 0)
    return os.fdopen(fd, "ab")


def remove_private(path: Path) -> None:
    """Remove `path` (a link is removed, never followed); a missing file is fine."""
    with contextlib.suppress(FileNotFoundError):
        Path(path).unlink()
