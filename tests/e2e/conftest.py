"""Fixtures for tests that run the real controller, primary and spp_vf."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from spp.host.topology import Topology  # noqa: E402
from spp.testkit.stack import Stack  # noqa: E402


@pytest.fixture
def stack(default_topology: Topology, tmp_path: Path) -> Iterator[Stack]:
    """A controller on free ports; tests start the primary and vfs they need."""
    with Stack(tmp_path) as s:
        s.start_ctl()
        yield s
