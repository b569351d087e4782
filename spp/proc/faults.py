"""Fault injection for end-to-end tests of command transactions.

A process started with `SPP_FAULT_FILE=PATH` checks PATH before each
data-plane step of a command (open_port, update_component, set_lcore, steer,
clear_component, close_port, and the primary's steps). When the file holds the
name of that step, the file is emptied and the step fails once with
"injected fault in STEP" instead of running. Without the variable nothing is
read. This is how a test makes the real process fail at a chosen step and
then checks that its model, status and forwarding are exactly as before.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "SPP_FAULT_FILE"


class InjectedFault(RuntimeError):
    pass


def hit(step: str) -> None:
    """Raise InjectedFault if the fault file names `step` (and clear it)."""
    path = os.environ.get(ENV)
    if not path:
        return
    try:
        want = Path(path).read_text().strip()
    except OSError:
        return
    if want == step:
        Path(path).write_text("")
        raise InjectedFault(f"injected fault in {step}")
