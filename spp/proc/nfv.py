"""`spp nfv`: the spp_nfv secondary process (patches between ports).

    spp nfv -l 1,2 -n 4 --proc-type=secondary -- -n 1 -s IP:PORT [--vhost-client]
    spp nfv start --client-id 1 --ctl IP:PORT -l 4,5

The first lcore of `-l` is the master (this Python control loop), the next
one the worker lcore that runs every patch in C (native/src/nfv/). A patch
`patch SRC DST` forwards every frame of port SRC to port DST; `forward`
starts moving frames, `stop` stops it. Ports are phy:N (all of the
primary's from the start, as upstream), ring:N and vhost:N, added and
deleted with `add` and `del`.

Commands come as the controller relays them (`{"cmd": "patch", "args":
{"src": "phy:0", "dst": "ring:0"}}`) or as upstream's spp-ctl writes them
on the secondary's connection (`{"cmd": "patch phy:0 ring:0"}`);
`parse_command` turns both into one (name, args).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from spp.defaults import SECONDARY_PORT
from spp.errors import Refused, UsageError
from spp.native import check, eal_init, load
from spp.proc import cycles, skeleton
from spp.proc import eal as ealmod
from spp.proc.skeleton import APP, Opt
from spp.resources import PortRef, parse_port

log = logging.getLogger("spp.nfv")

APP_USAGE = "-n ID -s IP:PORT [--vhost-client]"
COMMANDS = ("status", "add", "del", "patch", "patch_reset", "forward", "stop", "exit")


NfvOptions = skeleton.SecondaryOptions
OPTIONS: skeleton.Table = (
    Opt(("-n",), "client_id", APP, skeleton.client_id("-n")),  # upstream's secondary id
    *skeleton.secondary_options("-n"),  # --client-id is the friendly form, as spp vf
)


def parse_args(argv: list[str]) -> NfvOptions:
    """EAL options (and the friendly --client-id, --ctl) before `--`, upstream's after it."""
    opts = NfvOptions()
    skeleton.parse_secondary(argv, OPTIONS, opts, "spp_nfv", APP_USAGE,
                             missing="-n ID is required (the secondary id)")
    return opts


# ---- commands --------------------------------------------------------------

def _one_port(words: list[str], cmd: str) -> dict[str, Any]:
    if len(words) != 1:
        raise Refused(f"usage: {cmd} RES_UID (e.g. {cmd} ring:0)")
    return {"port": words[0]}


def parse_command(cmd: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, args) of a command, given by name with args or as an upstream line.

    `add ring:0`, `del vhost:1`, `patch phy:0 ring:0`, `patch reset`,
    `forward`, `stop`, `status`, `exit` are upstream's lines; names with
    args are what the controller relays (see COMMANDS).
    """
    words = cmd.split()
    if not words:
        raise Refused("empty command")
    name, rest = words[0], words[1:]
    if not rest:
        if name == "patch" and not args:
            raise Refused("usage: patch SRC DST | patch reset")
        if name in COMMANDS:
            return name, args
        raise Refused(f"unknown nfv command '{name[:64]}'")
    if args:
        raise Refused(f"'{name[:64]}': give the arguments in the line or in args, not both")
    if name in ("add", "del"):
        return name, _one_port(rest, name)
    if name == "patch" and rest == ["reset"]:
        return "patch_reset", {}
    if name == "patch":
        if len(rest) != 2:
            raise Refused("usage: patch SRC DST | patch reset")
        return "patch", {"src": rest[0], "dst": rest[1]}
    if name in COMMANDS:
        raise Refused(f"'{name}' takes no arguments")
    raise Refused(f"unknown nfv command '{name[:64]}'")


def _port(args: dict[str, Any], key: str) -> PortRef:
    if key not in args:
        raise Refused(f"'{key}' is required")
    return parse_port(args[key])  # a ResourceError is a Refused with its one-line reason


class DataPlane(Protocol):
    """What the model needs from the C core (a fake one in the unit tests)."""

    def open_port(self, ref: PortRef) -> int: ...
    def close_port(self, handle: int) -> None: ...
    def apply(self, patches: list[tuple[int, int]], forwarding: bool) -> None: ...
    def counters(self, handle: int) -> dict[str, int]: ...


class NfvModel:
    """Ports, patches and forwarding of one spp_nfv; each command all or nothing.

    The data plane is changed first; the model only when it succeeded, so
    a refused command leaves status and forwarding as they were.
    """

    def __init__(self, client_id: int, master: int, lcores: list[int], nb_phy: int,
                 dp: DataPlane) -> None:
        self.client_id, self.master, self.lcores = client_id, master, lcores
        self.dp = dp
        self.ports: dict[PortRef, int] = {}       # port -> handle, in the order added
        self.patches: dict[PortRef, PortRef] = {}  # src -> dst, in the order patched
        self.forwarding = False
        for i in range(nb_phy):  # upstream's spp_nfv starts with every phy port
            self.add({"port": f"phy:{i}"})

    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        name, args = parse_command(cmd, args)
        handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "status": lambda a: self.status(),
            "add": self.add, "del": self.delete,
            "patch": self.patch, "patch_reset": lambda a: self._apply({}, self.forwarding),
            "forward": lambda a: self._apply(self.patches, True),
            "stop": lambda a: self._apply(self.patches, False),
        }
        return handlers[name](args)

    def add(self, args: dict[str, Any]) -> None:
        ref = _port(args, "port")
        if ref in self.ports:
            raise Refused(f"{ref} is already added")
        self.ports[ref] = self.dp.open_port(ref)

    def delete(self, args: dict[str, Any]) -> None:
        ref = _port(args, "port")
        if ref not in self.ports:
            raise Refused(f"{ref} is not added")
        for src, dst in self.patches.items():
            if ref in (src, dst):
                raise Refused(f"{ref} is patched ({src} -> {dst}); `patch reset` first")
        self.dp.close_port(self.ports[ref])
        del self.ports[ref]

    def patch(self, args: dict[str, Any]) -> None:
        src, dst = _port(args, "src"), _port(args, "dst")
        missing = [str(r) for r in (src, dst) if r not in self.ports]
        if missing:
            raise Refused(f"{' and '.join(dict.fromkeys(missing))} not added "
                          f"(`add` it first)")
        patches = dict(self.patches)
        patches[src] = dst  # a source has one destination: a new patch replaces it
        self._apply(patches, self.forwarding)

    def _apply(self, patches: dict[PortRef, PortRef], forwarding: bool) -> None:
        self.dp.apply([(self.ports[s], self.ports[d]) for s, d in patches.items()], forwarding)
        self.patches, self.forwarding = dict(patches), forwarding

    def close(self) -> None:
        """Remove every patch (the ring sides go back to the primary)."""
        self._apply({}, False)

    def status(self) -> dict[str, Any]:
        return {
            "client-id": self.client_id,
            "status": "running" if self.forwarding else "idling",
            "master-lcore": self.master,
            "lcores": self.lcores,
            "ports": [str(r) for r in self.ports],
            "patches": [{"src": str(s), "dst": str(d)} for s, d in self.patches.items()],
            "port_counters": {str(r): self.dp.counters(h) for r, h in self.ports.items()},
        }


class NativeDataPlane:
    """The model's steps on the C core (native/src/nfv/)."""

    def __init__(self, ffi: Any, lib: Any) -> None:
        self.ffi, self.lib = ffi, lib

    def open_port(self, ref: PortRef) -> int:
        return check(self.lib.spp_nfv_port_open(ref.uid.type_code, ref.uid.id, ref.queue),
                     self.ffi, self.lib)

    def close_port(self, handle: int) -> None:
        check(self.lib.spp_nfv_port_close(handle), self.ffi, self.lib)

    def apply(self, patches: list[tuple[int, int]], forwarding: bool) -> None:
        src = self.ffi.new("uint16_t[]", [s for s, _ in patches] or [0])
        dst = self.ffi.new("uint16_t[]", [d for _, d in patches] or [0])
        check(self.lib.spp_nfv_apply(src, dst, len(patches), int(forwarding)),
              self.ffi, self.lib)

    def counters(self, handle: int) -> dict[str, int]:
        c = self.ffi.new("struct spp_port_counters *")
        check(self.lib.spp_nfv_port_counters(handle, c), self.ffi, self.lib)
        return {"rx": int(c.rx), "tx": int(c.tx), "tx_drop": int(c.tx_drop)}


class Nfv:
    """spp_nfv: its patches on the worker lcore and the commands that change them."""

    ctl_port = SECONDARY_PORT

    def __init__(self, opts: NfvOptions, ealargs: ealmod.EalArgs) -> None:
        assert opts.client_id is not None
        self.opts, self.ealargs = opts, ealargs
        self.client_id = opts.client_id
        self.ctl, self.file_prefix = opts.ctl, ealargs.file_prefix
        self.hello = {"type": "nfv", "client_id": opts.client_id}
        self.pid_name = f"nfv{opts.client_id}"
        self.stop: asyncio.Event | None = None
        self.ffi, self.lib = load()
        self.model: NfvModel | None = None
        self.started = False

    def start(self) -> None:
        eal_init(self.ffi, self.lib, "spp-nfv", self.ealargs.args)
        self.started = True
        check(self.lib.spp_nfv_attach(self.client_id, int(self.opts.vhost_client)),
              self.ffi, self.lib)
        check(self.lib.spp_nfv_start_worker(), self.ffi, self.lib)
        lcores = [self.ealargs.main_lcore, *self.ealargs.worker_lcores]
        self.model = NfvModel(self.client_id, self.ealargs.main_lcore, lcores,
                              self.lib.spp_primary_nb_phy(),
                              NativeDataPlane(self.ffi, self.lib))

    def ready(self) -> str:
        return (f"client-id {self.client_id} ready: master lcore {self.ealargs.main_lcore}, "
                f"worker {self.ealargs.worker_lcores[0]}; controller {self.opts.ctl}")

    def shutdown(self) -> None:
        if not self.started:
            return
        if self.model is not None:
            try:
                self.model.close()
            except Exception as exc:
                log.warning("removing the patches: %s", exc)
        self.lib.spp_nfv_detach()
        self.lib.spp_eal_cleanup()
        self.started = False

    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        assert self.model is not None
        if cmd.split()[:1] == ["exit"]:
            parse_command(cmd, args)
            skeleton.request_exit(self)
            return None
        result = self.model.handle(cmd, args)
        if isinstance(result, dict):  # status: the worker's cycles, as spp_vf adds them
            result.update(cycles.cycle_fields(self.ffi, self.lib, self.ealargs.worker_lcores[:1]))
        return result


def _check_lcores(ealargs: ealmod.EalArgs) -> None:
    if not ealargs.worker_lcores:
        raise UsageError("spp_nfv needs two lcores: -l MASTER,WORKER")


def prepare(argv: list[str]) -> Nfv:
    """Everything that can be checked before DPDK starts, then the process."""
    opts = parse_args(argv)
    return Nfv(opts, skeleton.secondary_eal_args(opts.eal, [4, 5], _check_lcores))


def main(argv: list[str]) -> int:
    return skeleton.run("spp nfv", lambda: prepare(argv))
