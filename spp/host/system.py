"""Host prerequisites for DPDK multi-process and XDP: hugepages, hugetlbfs, bpffs.

Plain file writes and mount(8); no pyroute2. Mirrors the same steps in scripts/setup.sh.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HUGEPAGES = 1024
HUGEPAGE_KB = 2048
HUGETLBFS_DIR = Path("/dev/hugepages")
BPFFS_DIR = Path("/sys/fs/bpf")
_NR_HUGEPAGES = Path(f"/sys/kernel/mm/hugepages/hugepages-{HUGEPAGE_KB}kB/nr_hugepages")


class HostPrepError(RuntimeError):
    """Hugepages or a filesystem mount could not be set up."""


@dataclass(frozen=True)
class PrepReport:
    hugepages: int
    hugetlbfs: str
    bpffs: str


def mounts() -> dict[str, str]:
    """Mount point -> filesystem type, from /proc/self/mounts (last mount wins)."""
    result: dict[str, str] = {}
    for line in Path("/proc/self/mounts").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3:
            result[parts[1].replace("\\040", " ")] = parts[2]
    return result


def hugepages_reserved() -> int:
    try:
        return int(_NR_HUGEPAGES.read_text().strip())
    except (OSError, ValueError):
        return 0


def ensure_hugepages(count: int = DEFAULT_HUGEPAGES) -> int:
    """Reserve at least `count` 2 MiB pages; never lower a larger reservation."""
    current = hugepages_reserved()
    if current >= count:
        return current
    try:
        _NR_HUGEPAGES.write_text(f"{count}\n")
    except OSError as exc:
        raise HostPrepError(f"cannot reserve {count} hugepages: {exc.strerror}") from None
    got = hugepages_reserved()
    if got < count:
        # the kernel may grant fewer when memory is fragmented; a partial grant is usable
        if got == 0:
            raise HostPrepError(f"kernel granted no 2 MiB hugepages (asked {count})")
    return got


def _mount(fstype: str, target: Path, options: list[str]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    cmd = [
        "mount",
        "-t",
        fstype,
        *options,
        fstype if fstype != "hugetlbfs" else "nodev",
        str(target),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        why = (proc.stderr or proc.stdout).strip().splitlines()
        raise HostPrepError(f"cannot mount {fstype} at {target}: {why[-1] if why else '?'}")


def ensure_hugetlbfs(target: Path = HUGETLBFS_DIR) -> None:
    if mounts().get(str(target)) != "hugetlbfs":
        _mount("hugetlbfs", target, ["-o", "pagesize=2M"])


def ensure_bpffs(target: Path = BPFFS_DIR) -> None:
    if mounts().get(str(target)) != "bpf":
        _mount("bpf", target, ["-o", "mode=0700"])


def prepare_host(hugepages: int = DEFAULT_HUGEPAGES) -> PrepReport:
    """Hugepages + hugetlbfs + bpffs: everything `spp host up` needs besides netdevs."""
    if os.geteuid() != 0:
        raise HostPrepError("must run as root")
    got = ensure_hugepages(hugepages)
    ensure_hugetlbfs()
    ensure_bpffs()
    return PrepReport(hugepages=got, hugetlbfs=str(HUGETLBFS_DIR), bpffs=str(BPFFS_DIR))
