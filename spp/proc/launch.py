"""Secondaries a primary starts itself (upstream's `launch`), and what became of them.

Each launched process runs `spp KIND EAL -- APP` (KIND a secondary type of
spp.kinds: vf, nfv, mirror, pcap) in its own session with its output in
<run dir>/<file prefix>/KINDN.log; `launched()` tells whether it runs and,
once it has exited, its exit code and its own last word.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Any

from spp import rundir
from spp.errors import Refused
from spp.kinds import SECONDARY_KINDS, SecondaryKind, secondary_kind
from spp.resources import check_client_id, check_launch_opts, opts_to_argv
from spp.safefile import UnsafeFile

log = logging.getLogger("spp.primary")

LAST_WORD_MAX = 300


class Launcher:
    """The secondaries one primary launched, by client id (one space for all types)."""

    def __init__(self, file_prefix: str) -> None:
        self.file_prefix = file_prefix
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self.kinds: dict[int, SecondaryKind] = {}
        self.log_offsets: dict[int, int] = {}

    def launch(self, args: dict[str, Any]) -> None:
        """Start secondary CLIENT_ID of type `proc_name` in the background from a
        `launch` command's args: `spp KIND EAL -- APP`, the client id in its id option."""
        kind = secondary_kind(args.get("proc_name"))
        if kind is None:
            names = ", ".join(k.proc_name for k in SECONDARY_KINDS.values())
            raise Refused(f"cannot launch '{str(args.get('proc_name'))[:40]}': this primary "
                          f"launches {names}")
        cid = check_client_id(args.get("client_id"))
        eal = check_launch_opts(args.get("eal") or {}, "eal")
        app = check_launch_opts(args.get("app") or {}, "app", kind)
        given = [o for o in kind.id_opts if o in app]
        for opt in given:
            if app[opt] != str(cid):
                raise Refused(f"app option {opt} {app[opt]} differs from client_id {cid}")
        if not given:
            app[kind.id_opt] = str(cid)
        child = self.children.get(cid)
        if child is not None and child.poll() is None:
            was = self.kinds[cid].label(cid)
            raise Refused(f"{was} launched earlier still runs (pid {child.pid})")
        argv = opts_to_argv(eal) + ["--"] + opts_to_argv(app)
        log_file = rundir.log_path(kind.pid_name(cid), self.file_prefix)
        try:
            logf = rundir.open_log(log_file)
        except UnsafeFile as exc:
            raise Refused(str(exc)) from None
        with logf:
            self.log_offsets[cid] = logf.seek(0, os.SEEK_END)
            child = subprocess.Popen(
                [sys.executable, "-m", "spp.cli.main", kind.name, *argv],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.children[cid] = child
        self.kinds[cid] = kind
        log.info("launched %s %d (pid %d): %s", kind.proc_name, cid, child.pid, " ".join(argv))

    def launched(self) -> list[dict[str, Any]]:
        """Every secondary launched: running, or its exit code and reason."""
        out = []
        for cid, child in sorted(self.children.items()):
            code = child.poll()
            kind = self.kinds[cid]
            entry: dict[str, Any] = {"client_id": cid, "type": kind.name, "pid": child.pid,
                                     "running": code is None}
            if code is not None:
                entry["exit_code"] = code
                entry["reason"] = self._last_word(cid, kind)
            out.append(entry)
        return out

    def _last_word(self, cid: int, kind: SecondaryKind) -> str:
        """The launched process's one-line reason: its last `spp KIND:` line of this run."""
        path = rundir.log_path(kind.pid_name(cid), self.file_prefix)
        try:
            with path.open("rb") as fh:
                fh.seek(self.log_offsets.get(cid, 0))
                text = fh.read(1 << 20).decode(errors="replace")
        except OSError:
            return ""
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        ours = [ln for ln in lines if ln.startswith(f"spp {kind.name}:")]
        return ((ours or lines or [""])[-1])[:LAST_WORD_MAX]
