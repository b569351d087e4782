"""Secondaries a primary starts itself (upstream's `launch`), and what became of them.

Each launched process runs `spp vf EAL -- APP` in its own session with its
output in <run dir>/<file prefix>/vfN.log; `launched()` tells whether it
runs and, once it has exited, its exit code and its own last word.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Any

from spp import rundir
from spp.errors import Refused
from spp.resources import LAUNCH_PROC_NAMES, check_client_id, check_launch_opts, opts_to_argv
from spp.safefile import UnsafeFile

log = logging.getLogger("spp.primary")

LAST_WORD_MAX = 300


class Launcher:
    """The secondaries one primary launched, by client id."""

    def __init__(self, file_prefix: str) -> None:
        self.file_prefix = file_prefix
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self.log_offsets: dict[int, int] = {}

    def launch(self, args: dict[str, Any]) -> None:
        """Start spp_vf CLIENT_ID in the background from a `launch` command's args."""
        proc = args.get("proc_name")
        if proc not in LAUNCH_PROC_NAMES:
            raise Refused(f"cannot launch '{str(proc)[:40]}': this primary launches "
                          "spp_vf only")
        cid = check_client_id(args.get("client_id"))
        eal = check_launch_opts(args.get("eal") or {}, "eal")
        app = check_launch_opts(args.get("app") or {}, "app")
        if app.get("--client-id") not in (None, str(cid)):
            raise Refused(f"app option --client-id {app['--client-id']} differs from "
                          f"client_id {cid}")
        app["--client-id"] = str(cid)
        child = self.children.get(cid)
        if child is not None and child.poll() is None:
            raise Refused(f"vf {cid} launched earlier still runs (pid {child.pid})")
        argv = opts_to_argv(eal) + ["--"] + opts_to_argv(app)
        log_file = rundir.log_path(f"vf{cid}", self.file_prefix)
        try:
            logf = rundir.open_log(log_file)
        except UnsafeFile as exc:
            raise Refused(str(exc)) from None
        with logf:
            self.log_offsets[cid] = logf.seek(0, os.SEEK_END)
            child = subprocess.Popen(
                [sys.executable, "-m", "spp.cli.main", "vf", *argv],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.children[cid] = child
        log.info("launched spp_vf %d (pid %d): %s", cid, child.pid, " ".join(argv))

    def launched(self) -> list[dict[str, Any]]:
        """Every spp_vf launched: running, or its exit code and reason."""
        out = []
        for cid, child in sorted(self.children.items()):
            code = child.poll()
            entry: dict[str, Any] = {"client_id": cid, "pid": child.pid,
                                     "running": code is None}
            if code is not None:
                entry["exit_code"] = code
                entry["reason"] = self._last_word(cid)
            out.append(entry)
        return out

    def _last_word(self, cid: int) -> str:
        """The launched process's one-line reason: its last `spp vf:` line of this run."""
        path = rundir.log_path(f"vf{cid}", self.file_prefix)
        try:
            with path.open("rb") as fh:
                fh.seek(self.log_offsets.get(cid, 0))
                text = fh.read(1 << 20).decode(errors="replace")
        except OSError:
            return ""
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        ours = [ln for ln in lines if ln.startswith("spp vf:")]
        return ((ours or lines or [""])[-1])[:LAST_WORD_MAX]
