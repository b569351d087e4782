"""A small tmpfs of a test's own: a directory that fills up after a few KiB."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def mounted(path: Path, size_bytes: int) -> Iterator[Path]:
    """A tmpfs of `size_bytes` on `path` (created if missing) for the block; unmounted on
    the way out, also on failure (lazily when something still holds a file in it)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0755",
                    "spp-test-tmpfs", str(path)], check=True, capture_output=True)
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
