"""EAL command lines: split, check and complete them before DPDK sees them.

Both process mains take upstream SPP's shape, `EAL_OPTS -- APP_OPTS`, and
make three things hold whatever the operator typed:

- the host's NICs are never probed: `--no-pci` is added unless an explicit
  allow list (`-a`/`--allow`) is given;
- lcore ids map onto CPUs that exist: `-l 2-6` on a two-CPU machine becomes
  `--lcores 2@0,3@1,...` with the first id as main lcore, so recipes written
  for big hosts still run (lcore ids stay what the operator wrote);
- hugepages and a free primary slot are checked first, so the failure is one
  clear sentence instead of EAL's log.
"""

from __future__ import annotations

import errno
import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path

from spp.defaults import FILE_PREFIX
from spp.errors import UsageError

HUGEPAGES_SYS = Path("/sys/kernel/mm/hugepages")
DPDK_RUNTIME = Path("/var/run/dpdk")
DEFAULT_FILE_PREFIX = FILE_PREFIX


class EalError(UsageError, ValueError):
    """Bad or unusable EAL options; the message names the cause."""


@dataclass
class EalArgs:
    """EAL options as a list, plus what the mains need to know about them."""

    args: list[str] = field(default_factory=list)
    lcores: list[int] = field(default_factory=list)
    file_prefix: str = DEFAULT_FILE_PREFIX

    @property
    def main_lcore(self) -> int:
        return self.lcores[0]

    @property
    def worker_lcores(self) -> list[int]:
        return self.lcores[1:]


def split_app_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split at the first `--`: (EAL part, application part)."""
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return list(argv), []


def parse_lcore_list(text: str) -> list[int]:
    """`1,4-7` -> [1, 4, 5, 6, 7], order kept, duplicates dropped."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise EalError(f"empty item in lcore list '{text}'")
        try:
            lo, _, hi = part.partition("-")
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise EalError(f"'{part}' in lcore list '{text}' is not a number or range") from None
        if first > last:
            raise EalError(f"lcore range '{part}' runs backwards")
        ids = list(range(first, last + 1))
        for i in ids:
            if i < 0 or i >= 128:
                raise EalError(f"lcore id {i} is out of range (0-127)")
            if i not in out:
                out.append(i)
    return out


def parse_coremask(text: str) -> list[int]:
    try:
        mask = int(text, 16)
    except ValueError:
        raise EalError(f"coremask '{text}' is not hexadecimal") from None
    ids = [i for i in range(128) if mask >> i & 1]
    if not ids:
        raise EalError(f"coremask '{text}' selects no lcore")
    return ids


def usable_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def lcores_option(lcores: list[int], cpus: list[int]) -> str:
    """`--lcores` value running each lcore id on an existing CPU."""
    parts = []
    for i, lcore in enumerate(lcores):
        cpu = lcore if lcore in cpus else cpus[i % len(cpus)]
        parts.append(f"{lcore}@{cpu}")
    return ",".join(parts)


def _take_value(eal: list[str], i: int, opt: str) -> tuple[str, int]:
    """Value of option eal[i] (`-x V`, `-xV` or `--opt=V`) and the next index."""
    tok = eal[i]
    if tok.startswith("--") and "=" in tok:
        return tok.split("=", 1)[1], i + 1
    if not tok.startswith("--") and len(tok) > 2:
        return tok[2:], i + 1
    if i + 1 >= len(eal):
        raise EalError(f"EAL option {opt} needs a value")
    return eal[i + 1], i + 2


def build_eal_args(
    eal: list[str],
    *,
    proc_type: str,
    default_lcores: list[int],
    extra: list[str] | None = None,
    memory_mb: int | None = None,
) -> EalArgs:
    """Complete an operator's EAL options; see the module docstring."""
    out: list[str] = []
    lcores: list[int] | None = None
    allow_list = False
    no_pci = False
    has_mem = False
    has_log = False
    file_prefix = DEFAULT_FILE_PREFIX
    i = 0
    while i < len(eal):
        tok = eal[i]
        name = tok.split("=", 1)[0] if tok.startswith("--") else tok[:2]
        if name in ("-l", "-c", "--lcores"):
            value, i = _take_value(eal, i, name)
            if name == "-c":
                lcores = parse_coremask(value)
            elif name == "-l":
                lcores = parse_lcore_list(value)
            else:
                try:
                    lcores = [int(p.split("@")[0].strip("()")) for p in value.split(",") if p]
                except ValueError:
                    raise EalError(f"--lcores '{value}' is not a list of lcore ids") from None
                if any("@" in p for p in value.split(",")):
                    out += ["--lcores", value]
            continue
        if name == "--proc-type":
            value, i = _take_value(eal, i, name)
            if value not in (proc_type, "auto"):
                raise EalError(f"--proc-type={value} given, but this process is the {proc_type}")
            continue
        if name == "--file-prefix":
            file_prefix, i = _take_value(eal, i, name)
            continue
        if name in ("-a", "--allow", "-b", "--block"):
            value, i = _take_value(eal, i, name)
            allow_list = allow_list or name in ("-a", "--allow")
            out += [name if name.startswith("--") else name, value]
            continue
        if name == "--no-pci":
            no_pci = True
        if name in ("-m", "--socket-mem"):
            has_mem = True
        if name == "--log-level":
            has_log = True
        out.append(tok)
        i += 1

    lcores = lcores or list(default_lcores)
    if len(lcores) < 2:
        raise EalError(
            f"lcore list {lcores} has no worker lcore: give the main lcore and at least one "
            "worker, e.g. -l 1,2"
        )
    if "--lcores" not in out:
        out = ["--lcores", lcores_option(lcores, usable_cpus()), *out]
    out += ["--main-lcore", str(lcores[0])]
    out.append(f"--proc-type={proc_type}")
    out.append(f"--file-prefix={file_prefix}")
    if not allow_list and not no_pci:
        out.append("--no-pci")
    if proc_type == "primary" and not has_mem and memory_mb:
        out += ["-m", str(memory_mb)]
    if not has_log:
        out.append("--log-level=warning")
    out += extra or []
    return EalArgs(args=out, lcores=lcores, file_prefix=file_prefix)


def free_hugepages() -> int:
    total = 0
    for d in HUGEPAGES_SYS.glob("hugepages-*"):
        try:
            total += int((d / "free_hugepages").read_text())
        except (OSError, ValueError):
            continue
    return total


def check_hugepages() -> None:
    if free_hugepages() == 0:
        raise EalError(
            "no free hugepages: reserve some first (`spp host up`, or "
            "echo 1024 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)"
        )
    mounts = Path("/proc/mounts").read_text()
    if " hugetlbfs " not in mounts:
        raise EalError(
            "no hugetlbfs is mounted: `spp host up`, or mount -t hugetlbfs nodev /dev/hugepages"
        )


def primary_lock_holder(file_prefix: str) -> bool:
    """True when a DPDK primary with this file prefix runs (it locks its config file)."""
    config = DPDK_RUNTIME / file_prefix / "config"
    try:
        fd = os.open(config, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        return exc.errno in (errno.EACCES, errno.EAGAIN)
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def remove_hugepage_files(file_prefix: str, huge_dirs: list[Path] | None = None) -> int:
    """Delete a stopped primary's hugepage files and runtime dir; returns files removed."""
    removed = 0
    dirs = huge_dirs or _hugetlbfs_mounts()
    for d in dirs:
        for f in d.glob(f"{file_prefix}map_*"):
            try:
                f.unlink()
                removed += 1
            except OSError:
                pass
    runtime = DPDK_RUNTIME / file_prefix
    if runtime.is_dir():
        for f in runtime.iterdir():
            try:
                f.unlink()
            except OSError:
                pass
        try:
            runtime.rmdir()
        except OSError:
            pass
    return removed


def _hugetlbfs_mounts() -> list[Path]:
    out = []
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[2] == "hugetlbfs":
            out.append(Path(fields[1]))
    return out
