"""Leftovers of SPP runs: processes from pid files, pinned BPF objects, DPDK files."""

from __future__ import annotations

import shutil
from pathlib import Path

from spp import rundir
from spp.host.system import BPFFS_DIR, HUGETLBFS_DIR

DPDK_RUN_DIR = Path("/var/run/dpdk")
LIBXDP_PIN_DIR = BPFFS_DIR / "xdp"


def stop_recorded_processes(instance: str = rundir.DEFAULT_INSTANCE) -> list[str]:
    """Stop the SPP processes an instance's pid files name (spp.rundir); remove the files."""
    done = []
    for path in rundir.pid_files(instance):
        pid = rundir.stop_pidfile(path)
        if pid is not None:
            done.append(f"process {pid} ({path.name})")
    return done


def _remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_instance_pins(file_prefix: str, bpffs: Path = BPFFS_DIR) -> list[str]:
    """The XDP maps one instance pinned (/sys/fs/bpf/spp/<file prefix>/); others keep theirs."""
    from spp.xdp.pins import remove_instance

    return remove_instance(file_prefix, bpffs)


def remove_bpf_pins(prefix: str, bpffs: Path = BPFFS_DIR) -> list[str]:
    """Legacy flat pins /sys/fs/bpf/<prefix>* (builds that pinned maps by name)."""
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
