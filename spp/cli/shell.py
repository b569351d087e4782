"""The interactive `spp > ` shell (upstream SPP CLI grammar), also used by playback."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from spp.cli import commands as C
from spp.cli import statusfmt
from spp.cli.complete import candidates
from spp.client import Client, SppError, base_url
from spp.defaults import API_ADDR, CTL_ENV
from spp.resources import MAX_TABLE_ENTRIES, is_ascii_id

CONFIG_HELP = {
    "prompt": "Command prompt",
    "timeout": "Seconds to wait for spp ctl on each request",
}
NOT_RECORDED = ("record", "playback", "history", "redo", "bye", "exit", "help")
HELP = """Commands:
  status                      show spp ctl address, primary and secondaries
  pri; status|clear|launch vf|nfv|mirror ID EAL -- APP|patch SRC DST|patch reset|forward|stop|exit
  vf ID; status|component start NAME CORE ROLE|component stop NAME
  vf ID; port add|del RES_UID [nq Q] DIR NAME [add_vlantag VID PCP|del_vlantag]
  vf ID; classifier_table add|del mac MAC RES_UID | vlan VID MAC RES_UID
  vf ID; exit
  nfv ID; status|add RES_UID|del RES_UID|patch SRC DST|patch reset|forward|stop|exit
  mirror ID; status|component start NAME CORE mirror|component stop NAME|exit
  mirror ID; port add|del RES_UID [nq Q] DIR NAME
  pcap ID; status|start|stop|exit
  topo term | topo FILE.dot|.svg|.png|.json|.yaml [FTYPE] | topo http (live page address)
  playback FILE | record FILE | history | redo N | server [list|N|add ADDR|del N]
  config [KEY [VALUE]] | env | pwd | cd DIR | ls [DIR] | mkdir DIR
  bye (leave the shell) | bye sec (stop secondaries) | bye all (secondaries and primary)
  exit"""


def _table_add(line: str) -> tuple[int, dict[str, Any]] | None:
    """(vf id, REST body) of a `vf N; classifier_table add ...` line, else None."""
    target, sec, words = C.split_target(line)
    if target != "vf" or ";" not in line or words[:2] != ["classifier_table", "add"] \
            or sec is None or not is_ascii_id(sec):
        return None
    try:
        action = C.vf_action(int(sec), words)
    except C.CommandError:
        return None  # sent alone, it reports its own syntax error
    return int(sec), action.body


class Quit(Exception):
    """Leave the shell loop."""


def history_path() -> Path:
    return Path(os.environ.get("SPP_HISTORY", "~/.spp_history")).expanduser()


class Shell:
    def __init__(self, servers: list[str] | None = None,
                 out: Callable[[str], None] | None = None) -> None:
        self.servers = [base_url(s) for s in (servers or [API_ADDR])]
        self.cur = 0
        self.out = out or (lambda text: print(text, flush=True))
        self.config = {"prompt": "spp > ", "timeout": "10"}
        self.history: list[str] = []
        self.record_file: IO[str] | None = None
        self._cands: list[str] = []

    # -- controller access ---------------------------------------------------
    @property
    def client(self) -> Client:
        return Client(self.servers[self.cur], timeout=float(self.config["timeout"]))

    def _complete_client(self) -> Client:
        return Client(self.servers[self.cur], timeout=2.0)

    # -- one line --------------------------------------------------------------
    def run_line(self, line: str) -> None:
        """Execute one command line; raise CommandError/SppError on failure, Quit to leave."""
        line = line.strip()
        if not line or line.startswith("#"):
            return
        target, sec, words = C.split_target(line)
        if ";" in line and target in ("vf", "nfv", "mirror", "pcap", "pri"):
            self._proc_line(target, sec, words)
        else:
            parts = line.split()
            handler = getattr(self, f"do_{parts[0]}", None)
            if handler is None or parts[0] in ("vf", "nfv", "mirror", "pcap", "pri"):
                raise C.CommandError(f'Invalid command "{parts[0]}".')
            handler(parts[1:])
        if self.record_file is not None and line.split()[0] not in NOT_RECORDED:
            self.record_file.write(line + "\n")
            self.record_file.flush()

    def _proc_line(self, target: str, sec: str | None, words: list[str]) -> None:
        if target == "pri":
            if sec is not None:
                raise C.CommandError(f'Invalid command "pri {sec}".')
            action = C.pri_action(words)
        else:
            if sec is None or not is_ascii_id(sec):
                raise C.CommandError(f'Invalid secondary id "{sec or ""}".')
            build = C.nfv_action if target == "nfv" else C.vf_action
            if target == "mirror":
                build = C.mirror_action
            if target == "pcap":
                build = C.pcap_action
            action = build(int(sec), words)
        self.out(C.execute(self.client, action))

    # -- commands --------------------------------------------------------------
    def do_status(self, args: list[str]) -> None:
        cl = self.client
        self.out(statusfmt.overall_status(cl.address, cl.processes()))

    def do_topo(self, args: list[str]) -> None:
        from spp.cli.topo import shell_topo
        from spp.topo.render import RenderError

        try:
            self.out(shell_topo(self.client, args))
        except RenderError as exc:
            raise C.CommandError(str(exc)) from None

    def do_bye(self, args: list[str]) -> None:
        if not args:
            self.out("Thank you for using Soft Patch Panel")
            raise Quit
        if args not in (["sec"], ["all"]):
            raise C.CommandError(f'Invalid command "bye {" ".join(args)}".')
        cl = self.client
        if args == ["all"]:
            self.out("Closing secondary ...")
        errors = []
        for kind, ids, build in (("vf", cl.vf_ids(), C.vf_action),
                                 ("nfv", cl.nfv_ids(), C.nfv_action),
                                 ("mirror", cl.mirror_ids(), C.mirror_action),
                                 ("pcap", cl.pcap_ids(), C.pcap_action)):
            for sec_id in ids:
                try:
                    self.out(C.execute(cl, build(sec_id, ["exit"])))
                except SppError as exc:
                    errors.append(f"{kind} {sec_id}: {exc.reason}")
        if args == ["all"] and any(p["type"] == "primary" for p in cl.processes()):
            self.out("Closing primary ...")
            try:
                self.out(C.execute(cl, C.pri_action(["exit"])))
            except SppError as exc:
                errors.append(f"primary: {exc.reason}")
        if errors:
            raise SppError("; ".join(errors))

    def do_exit(self, args: list[str]) -> None:
        self.out("Thank you for using Soft Patch Panel")
        raise Quit

    def do_help(self, args: list[str]) -> None:
        self.out(HELP)

    def do_playback(self, args: list[str]) -> None:
        if len(args) != 1:
            raise C.CommandError("Invalid syntax, usage: playback FILE")
        if not self.playback(args[0]):
            raise C.CommandError(f"playback of {args[0]} stopped.")

    def playback(self, path: str, keep_going: bool = False,
                 err: Callable[[str], None] | None = None) -> bool:
        """Run a recipe; print `FILE:LINE: <command>: <reason>` for a failing line.

        Consecutive `vf N; classifier_table add ...` lines of one vf go as one
        batch (one transaction). When a batch is refused, the line of the
        entry it names is reported; with `keep_going` its lines are then
        sent one by one, as if there were no batch.
        """
        err = err or self.out
        try:
            lines = Path(path).expanduser().read_text().splitlines()
        except OSError as exc:
            err(f"{path}: cannot read recipe ({exc.strerror}).")
            return False
        ok = True
        batch: list[tuple[int, str, dict[str, Any]]] = []
        batch_vf: int | None = None

        def report(num: int, line: str, exc: C.CommandError | SppError) -> None:
            reason = exc.text if isinstance(exc, C.CommandError) else exc.reason
            err(f"{path}:{num}: {line}: {reason}")

        def run(num: int, line: str) -> bool:
            try:
                self.run_line(line)
            except (C.CommandError, SppError) as exc:
                report(num, line, exc)
                return False
            return True

        def flush() -> bool:
            if not batch:
                return True
            todo = list(batch)
            batch.clear()
            if len(todo) == 1:
                return run(todo[0][0], todo[0][1])
            try:
                self._table_batch(batch_vf, todo)
            except SppError as exc:
                if keep_going:  # each line reports its own failure
                    for num, line, _body in todo:
                        run(num, line)
                    return False
                named = re.search(r"\bentry (\d+): ", exc.reason)
                at = int(named.group(1)) if named and int(named.group(1)) < len(todo) else 0
                report(todo[at][0], todo[at][1], exc)
                return False
            return True

        for num, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            entry = _table_add(line)
            if entry is not None and (batch_vf == entry[0] or not batch) \
                    and len(batch) < MAX_TABLE_ENTRIES:
                batch_vf = entry[0]
                batch.append((num, line, entry[1]))
                continue
            if not flush():
                ok = False
                if not keep_going:
                    return False
            if entry is not None:
                batch_vf = entry[0]
                batch.append((num, line, entry[1]))
                continue
            if not run(num, line):
                ok = False
                if not keep_going:
                    return False
        if not flush():
            ok = False
        return ok

    def _table_batch(self, sec_id: int | None, todo: list[tuple[int, str, dict[str, Any]]]
                     ) -> None:
        self.client.put(f"vfs/{sec_id}/classifier_table", [body for _n, _l, body in todo])
        for _num, line, _body in todo:
            self.out("Succeeded to add")
            if self.record_file is not None:
                self.record_file.write(line + "\n")
        if self.record_file is not None:
            self.record_file.flush()

    def do_record(self, args: list[str]) -> None:
        if len(args) != 1:
            raise C.CommandError("Invalid syntax, usage: record FILE")
        if self.record_file is not None:
            self.record_file.close()
        path = Path(args[0]).expanduser()
        try:
            self.record_file = path.open("w")
        except OSError as exc:
            raise C.CommandError(f"Cannot record to {args[0]} ({exc.strerror}).") from None
        self.out(f"Recording commands to '{args[0]}'.")

    def do_history(self, args: list[str]) -> None:
        width = len(str(len(self.history)))
        self.out("\n".join(f"  {i:>{width}}  {h}" for i, h in enumerate(self.history, 1)))

    def do_redo(self, args: list[str]) -> None:
        if len(args) != 1 or not is_ascii_id(args[0]):
            raise C.CommandError("Invalid syntax, usage: redo N")
        n = int(args[0])
        if not 1 <= n <= len(self.history):
            raise C.CommandError(f"No history entry {n}.")
        line = self.history[n - 1]
        if line.split()[0] == "redo":
            raise C.CommandError(f"History entry {n} is a redo.")
        self.out(line)
        self.run_line(line)

    def do_server(self, args: list[str]) -> None:
        if not args or args == ["list"]:
            self.out("\n".join(f"  {i}: {s.split('//', 1)[1]}{' *' if i - 1 == self.cur else ''}"
                               for i, s in enumerate(self.servers, 1)))
        elif len(args) == 1 and is_ascii_id(args[0]):
            n = int(args[0])
            if not 1 <= n <= len(self.servers):
                raise C.CommandError(f"No such server {n}.")
            self.cur = n - 1
            self.out(f'Switch spp-ctl to "{n}: {self.servers[self.cur].split("//", 1)[1]}".')
        elif len(args) == 2 and args[0] == "add":
            url = base_url(args[1])
            if url in self.servers:
                raise C.CommandError(f'spp-ctl "{url.split("//", 1)[1]}" is already registered.')
            self.servers.append(url)
            self.out(f'Registered spp-ctl "{url.split("//", 1)[1]}".')
        elif len(args) == 2 and args[0] == "del" and is_ascii_id(args[1]):
            n = int(args[1])
            if not 1 <= n <= len(self.servers):
                raise C.CommandError(f"No such server {n}.")
            if n - 1 == self.cur:
                raise C.CommandError("Cannot delete the server in use, switch first.")
            url = self.servers.pop(n - 1)
            self.cur -= 1 if n - 1 < self.cur else 0
            self.out(f'Unregistered spp-ctl "{url.split("//", 1)[1]}".')
        else:
            raise C.CommandError("Invalid syntax, usage: server [list|N|add ADDR|del N]")

    def do_config(self, args: list[str]) -> None:
        if not args:
            self.out("\n".join(f'- {k}: "{v}"\t# {CONFIG_HELP[k]}' for k, v in self.config.items()))
            return
        key = args[0]
        if key not in self.config:
            raise C.CommandError(f"Invalid config key '{key}'.")
        if len(args) == 1:
            self.out(f'- {key}: "{self.config[key]}"\t# {CONFIG_HELP[key]}')
            return
        value = " ".join(args[1:])
        if key == "prompt":
            value += " "
        if key == "timeout":
            try:
                if float(value) <= 0:
                    raise ValueError
            except ValueError:
                raise C.CommandError(f"Invalid value '{value}' for timeout.") from None
        self.config[key] = value
        self.out(f'Set {key}: "{value}"')

    def do_env(self, args: list[str]) -> None:
        self.out("\n".join(f"{k}={v}" for k, v in sorted(os.environ.items())))

    def do_pwd(self, args: list[str]) -> None:
        self.out(os.getcwd())

    def do_cd(self, args: list[str]) -> None:
        path = os.path.expanduser(args[0] if args else "~")
        try:
            os.chdir(path)
        except OSError as exc:
            raise C.CommandError(f"cd: {path}: {exc.strerror}") from None

    def do_ls(self, args: list[str]) -> None:
        res = subprocess.run(["ls", *args], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise C.CommandError(res.stderr.strip() or "ls failed.")
        if res.stdout:
            self.out(res.stdout.rstrip("\n"))

    def do_mkdir(self, args: list[str]) -> None:
        if len(args) != 1:
            raise C.CommandError("Invalid syntax, usage: mkdir DIR")
        try:
            Path(args[0]).expanduser().mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise C.CommandError(f"mkdir: {args[0]}: {exc.strerror}") from None

    # -- interactive loop ----------------------------------------------------------
    def _complete(self, text: str, state: int) -> str | None:
        import readline

        if state == 0:
            buf = readline.get_line_buffer()[: readline.get_endidx()]
            found = candidates(buf, _CompleteSource(self._complete_client()),
                               tuple(self.config))
            # Python's readline appends nothing after a unique match: add the space here.
            self._cands = [c if c.endswith("/") else c + " " for c in found]
        return self._cands[state] if state < len(self._cands) else None

    def _setup_readline(self) -> Any:
        try:
            import readline
        except ImportError:
            return None
        readline.set_completer_delims(" \t\n")
        readline.set_completer(self._complete)
        readline.parse_and_bind("tab: complete")
        for h in self.history:
            readline.add_history(h)
        return readline

    def _load_history(self) -> None:
        try:
            self.history = history_path().read_text().splitlines()[-1000:]
        except OSError:
            self.history = []

    def _remember(self, line: str) -> None:
        self.history.append(line)
        try:
            with history_path().open("a") as fh:
                fh.write(line + "\n")
        except OSError:
            pass

    def loop(self) -> int:
        self._load_history()
        self._setup_readline()
        self.out("Welcome to the SPP CLI. Type `help` or `?` to list commands.\n")
        while True:
            try:
                line = input(self.config["prompt"])
            except EOFError:
                self.out("")
                return 0
            except KeyboardInterrupt:
                self.out("")
                continue
            line = line.strip()
            if not line:
                continue
            if line == "?":
                line = "help"
            self._remember(line)
            try:
                self.run_line(line)
            except Quit:
                return 0
            except C.CommandError as exc:
                self.out(exc.text)
            except SppError as exc:
                self.out(f"Error: {exc.reason}")


class _CompleteSource:
    def __init__(self, client: Client) -> None:
        self.client = client

    def vf_ids(self) -> list[int]:
        return self.client.vf_ids()

    def vf_status(self, sec_id: int) -> dict[str, Any]:
        return self.client.vf_status(sec_id)

    def primary_status(self) -> dict[str, Any]:
        return self.client.primary_status()

    def nfv_ids(self) -> list[int]:
        return self.client.nfv_ids()

    def nfv_status(self, sec_id: int) -> dict[str, Any]:
        return self.client.nfv_status(sec_id)

    def mirror_ids(self) -> list[int]:
        return self.client.mirror_ids()

    def mirror_status(self, sec_id: int) -> dict[str, Any]:
        return self.client.mirror_status(sec_id)

    def pcap_ids(self) -> list[int]:
        return self.client.pcap_ids()


def main(servers: list[str]) -> int:
    shell = Shell(servers)
    try:
        return shell.loop()
    finally:
        if shell.record_file is not None:
            shell.record_file.close()


if __name__ == "__main__":
    sys.exit(main(shlex.split(os.environ.get(CTL_ENV, API_ADDR))))
