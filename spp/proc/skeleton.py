"""What every SPP process is built from: options, controller link, signals, exit.

An SPP process (primary, spp_vf, and the next secondaries) is started as
upstream's are, `EAL_OPTS -- APP_OPTS`, or in the friendly form
`spp NAME start OPTS` where the friendly options sit among the EAL ones.
A process file holds only what that process is:

- its option table: a tuple of `Opt`, one per option, saying where it may
  appear (before `--`, after it, or both), whether it takes a value and how
  that value is read; `parse_options` fills a dataclass from it, passes
  unknown options before `--` on to EAL and refuses unknown ones after it;
- a `Process`: how it starts, what it says in its hello, how it handles a
  command, how it shuts down.

`run` does the rest the same way for every process: the one-line reason and
exit code of a failure before start (spp.errors: 2 for a wrong command line,
1 otherwise), the pid file, the controller link with its command loop
(spp.proc.agent), SIGINT/SIGTERM, the `exit` command, and shutdown on every
path out.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from spp import rundir
from spp.defaults import SECONDARY_ADDR
from spp.errors import SppError, UsageError
from spp.proc import eal as ealmod
from spp.proc.agent import Rejected, parse_addr, serve_controller
from spp.resources import ResourceError, check_client_id

EAL = "eal"    # before `--`, among EAL's own options
APP = "app"    # after `--`: upstream's application options
BOTH = "both"


def text(value: str) -> str:
    return value


def number(what: str, base: int = 10) -> Callable[[str], int]:
    """A reader of a decimal (or `base`) number; a bad one is a UsageError naming `what`."""
    def read(value: str) -> int:
        try:
            return int(value, base)
        except ValueError:
            raise UsageError(f"{what} '{value}' is not a number") from None
    return read


def address(value: str) -> str:
    """`IP[:PORT]` of the controller, checked now rather than when connecting."""
    parse_addr(value, 1)
    return value


@dataclass(frozen=True)
class Opt:
    """One command-line option of a process.

    `read` turns the value into the field's value (None: a flag, which sets
    `const`); `append` collects repeated values into a list; `bare` lets a
    valued option stand alone, at the end or before another option
    (upstream recipes write `-s` with no address: the default stays).
    """

    names: tuple[str, ...]
    dest: str
    where: str = BOTH
    read: Callable[[str], Any] | None = text
    const: Any = True
    append: bool = False
    bare: bool = False
    help: str = ""

    def matches(self, name: str, part: str) -> bool:
        return name in self.names and self.where in (part, BOTH)


@dataclass(frozen=True)
class Skip:
    """An EAL option this process drops with its value (e.g. memory, the primary's)."""

    names: tuple[str, ...]


Table = Sequence[Opt | Skip]


def parse_options(argv: Sequence[str], table: Table, into: Any, name: str,
                  app_usage: str) -> list[str]:
    """Fill `into` from `argv` by `table`; returns the EAL options left over.

    A leading `start` (the friendly form) is dropped. Values are given as
    `--opt VALUE` or `--opt=VALUE`; unknown options after `--` are refused,
    naming the process (`name`) and its application options (`app_usage`).
    """
    if argv and argv[0] == "start":
        argv = argv[1:]
    head, app = ealmod.split_app_args(list(argv))
    tokens = [(EAL, t) for t in head] + [(APP, t) for t in app]
    eal: list[str] = []
    i = 0
    while i < len(tokens):
        part, tok = tokens[i]
        opt, eq, inline = tok.partition("=")
        entry = next((e for e in table if isinstance(e, Opt) and e.matches(opt, part)), None)
        if isinstance(entry, Opt):
            i = _take(entry, opt, eq, inline, tokens, i, into)
            continue
        if part == EAL and any(isinstance(e, Skip) and opt in e.names for e in table):
            i += 1 if eq else 2
            continue
        if part == APP:
            raise UsageError(f"unknown {name} option '{tok}' (after --: {app_usage})")
        eal.append(tok)
        i += 1
    return eal


def _take(opt: Opt, name: str, eq: str, inline: str, tokens: list[tuple[str, str]], i: int,
          into: Any) -> int:
    """Apply one option at tokens[i] to `into`; the index after it."""
    if opt.read is None:
        setattr(into, opt.dest, opt.const)
        return i + 1
    if eq:
        value, nxt = inline, i + 1
    elif i + 1 < len(tokens) and not (opt.bare and tokens[i + 1][1].startswith("-")):
        value, nxt = tokens[i + 1][1], i + 2
    elif opt.bare:
        return i + 1
    else:
        raise UsageError(f"{name} needs a value")
    got = opt.read(value)
    if opt.append:
        getattr(into, opt.dest).append(got)
    else:
        setattr(into, opt.dest, got)
    return nxt


# ---- what the secondaries share ---------------------------------------------

def client_id(flag: str) -> Callable[[str], int]:
    """A reader of a secondary's client id; a bad one is a UsageError naming `flag`."""
    def read(value: str) -> int:
        try:
            return check_client_id(value)
        except ResourceError as exc:
            raise UsageError(f"{flag}: {exc}") from None
    return read


NO_MEMORY = Skip(("-m", "--socket-mem"))  # memory belongs to the primary


def secondary_options(id_flag: str = "--client-id", vhost: bool = True) -> tuple[Opt | Skip, ...]:
    """The options every secondary takes: --client-id, --ctl / -s, --vhost-client, no memory.

    `id_flag` names the option a bad client id is reported under; `vhost`
    False leaves --vhost-client out (a process without vhost ports).
    """
    return (
        Opt(("--client-id",), "client_id", BOTH, client_id(id_flag)),
        Opt(("--ctl",), "ctl", EAL, address),
        Opt(("-s",), "ctl", APP, address, bare=True),
        *((Opt(("--vhost-client",), "vhost_client", BOTH, None),) if vhost else ()),
        NO_MEMORY,
    )


@dataclass
class SecondaryOptions:
    """The command line of a secondary with the common options only (spp_vf, spp_nfv, ...)."""

    client_id: int | None = None
    ctl: str = SECONDARY_ADDR
    vhost_client: bool = False
    eal: list[str] = field(default_factory=list)


def parse_secondary(argv: Sequence[str], table: Table, into: Any, name: str, app_usage: str,
                    missing: str = "--client-id is required") -> None:
    """`parse_options` into `into` (its `eal` the EAL options left); `missing` if no client id."""
    into.eal = parse_options(argv, table, into, name, app_usage)
    if into.client_id is None:
        raise UsageError(missing)


def secondary_eal_args(eal: list[str], default_lcores: list[int],
                       check: Callable[[ealmod.EalArgs], None] | None = None) -> ealmod.EalArgs:
    """A secondary's EAL arguments, checked before DPDK starts.

    Hugepages first, then `check` (the process's own lcore rules), then that
    a primary holds the file prefix.
    """
    ealmod.check_hugepages()
    ealargs = ealmod.build_eal_args(eal, proc_type="secondary", default_lcores=default_lcores)
    if check is not None:
        check(ealargs)
    if not ealmod.primary_lock_holder(ealargs.file_prefix):
        raise UsageError(f"no SPP primary is running with file prefix "
                         f"'{ealargs.file_prefix}': start `spp primary` first")
    return ealargs


class Process(Protocol):
    """What `run` needs from a process; the process file says what it is."""

    stop: asyncio.Event | None

    @property
    def ctl(self) -> str: ...           # the controller, IP[:PORT]
    @property
    def ctl_port(self) -> int: ...      # its default port
    @property
    def hello(self) -> dict[str, Any]: ...
    @property
    def pid_name(self) -> str: ...      # pid and log file name in the run directory
    @property
    def file_prefix(self) -> str: ...
    def start(self) -> None: ...
    def ready(self) -> str: ...         # the log line once it serves
    def handle(self, cmd: str, args: dict[str, Any]) -> Any: ...
    def shutdown(self) -> None: ...


def request_exit(proc: Process) -> None:
    """The `exit` command: stop serving once the reply is on its way."""
    if proc.stop is not None:
        asyncio.get_running_loop().call_later(0.1, proc.stop.set)


TICK_S = 0.2  # period of a process's `tick()`, if it has one


async def _ticks(tick: Callable[[], None]) -> None:
    """Call `tick()` every TICK_S on the loop's thread (never alongside a command)."""
    while True:
        await asyncio.sleep(TICK_S)
        try:
            tick()
        except Exception:  # noqa: BLE001 - a failed tick must not end the process
            logging.getLogger("spp.proc").exception("periodic check failed")


async def _serve(proc: Process) -> None:
    proc.stop = asyncio.Event()
    tick = getattr(proc, "tick", None)
    ticker = asyncio.create_task(_ticks(tick)) if callable(tick) else None
    try:
        await serve_controller(proc.ctl, proc.ctl_port, proc.hello, proc.handle, proc.stop)
    finally:
        if ticker is not None:
            ticker.cancel()


def run(label: str, prepare: Callable[[], Process]) -> int:
    """Run a process: `prepare` parses and checks everything before start.

    `label` (e.g. `spp vf`) begins every line it prints; the exit code is 0
    after a normal stop, an SppError's `exit_code`, or 1 if the controller
    refused the process.
    """
    logging.basicConfig(level=logging.INFO,
                        format=f"{label.replace(' ', '-')}: %(message)s")
    try:
        proc = prepare()
    except SppError as exc:
        print(f"{label}: {exc.reason}", file=sys.stderr)
        return exc.exit_code
    try:
        proc.start()
        logging.getLogger(f"spp.{label.split()[-1]}").info("%s", proc.ready())
        with rundir.pid_file(rundir.pid_path(proc.pid_name, proc.file_prefix)):
            asyncio.run(_serve(proc))
        return 0
    except Rejected as exc:
        print(f"{label}: controller refused this process: {exc.reason}", file=sys.stderr)
        return 1
    except SppError as exc:
        print(f"{label}: {exc.reason}", file=sys.stderr)
        return 1
    finally:
        proc.shutdown()
