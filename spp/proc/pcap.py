"""`spp pcap`: the spp_pcap secondary process (packet capture to LZ4-compressed pcap files).

    spp pcap -l 2-4 -n 4 --proc-type=secondary -- --client-id 1 -s IP:PORT -c phy:0 \
        [--out-dir DIR] [--fsize BYTES] [--snaplen BYTES]
    spp pcap start --client-id 1 --ctl IP:PORT --port phy:0 -l 2-4 [--out-dir DIR] ...

The first lcore of `-l` is the master (this Python control loop), the next
one the receive lcore, every other one a writer lcore (native/src/pcap/).
`start` opens one file per writer, `DIR/spp_pcap.YYYYMMDDhhmmss.PORT.W.SEQ.pcap.lz4`
(PORT e.g. phy0, W the writer from 1, SEQ from 1, the next one begun
before a file would pass --fsize bytes), and starts taking frames from the
captured port; `stop` ends the capture with every file complete.
Commands: `status`, `start`, `stop`, `exit`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from spp.defaults import SECONDARY_ADDR, SECONDARY_PORT
from spp.errors import Refused, UsageError
from spp.native import check, eal_init, load
from spp.native.limits import SPP_PCAP_MAX_WRITERS, SPP_PCAP_PATH_MAX, SPP_PCAP_SNAPLEN_MAX
from spp.proc import cycles, skeleton
from spp.proc import eal as ealmod
from spp.proc.skeleton import APP, BOTH, EAL, Opt
from spp.resources import PortRef, ResourceError, parse_port

log = logging.getLogger("spp.pcap")

APP_USAGE = ("--client-id N -s IP:PORT -c RES_UID [--out-dir DIR] [--fsize BYTES] "
             "[--snaplen BYTES]")
COMMANDS = ("status", "start", "stop", "exit")
DEFAULT_OUT_DIR = Path("/tmp")
DEFAULT_FSIZE = 1 << 30  # 1 GiB, as upstream
MIN_FSIZE = 4096
HOLD_ENV = "SPP_PCAP_HOLD_WRITERS"  # tests: "1" holds the writers until capture stops


@dataclass
class PcapOptions:
    client_id: int | None = None
    ctl: str = SECONDARY_ADDR
    port: PortRef | None = None
    out_dir: Path = DEFAULT_OUT_DIR
    fsize: int = DEFAULT_FSIZE
    snaplen: int = SPP_PCAP_SNAPLEN_MAX
    eal: list[str] = field(default_factory=list)


def _capture_port(value: str) -> PortRef:
    try:
        ref = parse_port(value)
    except ResourceError as exc:
        raise UsageError(f"-c: {exc}") from None
    if ref.uid.kind not in ("phy", "ring"):
        raise UsageError(f"-c: spp_pcap captures phy:N or ring:N, not {ref.uid}")
    return ref


def _bytes(what: str, lo: int, hi: int) -> Callable[[str], int]:
    def read(value: str) -> int:
        try:
            num = int(value, 10)
        except ValueError:
            raise UsageError(f"{what} '{value[:40]}' is not a number") from None
        if not lo <= num <= hi:
            raise UsageError(f"{what} {num} is out of range ({lo}-{hi})")
        return num
    return read


OPTIONS: skeleton.Table = (
    *skeleton.secondary_options(vhost=False),
    Opt(("-c",), "port", APP, _capture_port),       # upstream's captured port
    Opt(("--port",), "port", EAL, _capture_port),   # the friendly form (-c is EAL's coremask)
    Opt(("--out-dir",), "out_dir", BOTH, Path),
    Opt(("--fsize",), "fsize", BOTH, _bytes("--fsize", MIN_FSIZE, 1 << 62)),
    Opt(("--snaplen",), "snaplen", BOTH, _bytes("--snaplen", 1, SPP_PCAP_SNAPLEN_MAX)),
)


def check_out_dir(path: Path) -> Path:
    """An existing directory this process may create files in, as an absolute path."""
    text = str(path)
    if not text or len(text) >= SPP_PCAP_PATH_MAX - 64:
        raise UsageError(f"--out-dir '{text[:60]}' is empty or too long")
    if not path.exists():
        raise UsageError(f"--out-dir {text}: no such directory")
    if not path.is_dir():
        raise UsageError(f"--out-dir {text}: not a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"--out-dir {text}: not writable")
    return path.resolve()


def parse_args(argv: list[str]) -> PcapOptions:
    """EAL options (and the friendly --client-id, --ctl, --port) before `--`, upstream's after."""
    opts = PcapOptions()
    skeleton.parse_secondary(argv, OPTIONS, opts, "spp_pcap", APP_USAGE)
    if opts.port is None:
        raise UsageError("-c RES_UID is required (the captured port, e.g. -c phy:0)")
    opts.out_dir = check_out_dir(opts.out_dir)
    return opts


# ---- file names -------------------------------------------------------------

def port_label(ref: PortRef) -> str:
    """The port as file names write it: phy0, ring1, phy0nq1."""
    label = f"{ref.uid.kind}{ref.uid.id}"
    return f"{label}nq{ref.queue}" if ref.queue else label


def file_stem(ref: PortRef, when: dt.datetime) -> str:
    """`spp_pcap.YYYYMMDDhhmmss.PORT`: the start of every file of one capture."""
    return f"spp_pcap.{when:%Y%m%d%H%M%S}.{port_label(ref)}"


def file_name(stem: str, writer: int, seq: int) -> str:
    """Writer `writer`'s file number `seq` (both from 1)."""
    return f"{stem}.{writer}.{seq}.pcap.lz4"


# ---- commands ---------------------------------------------------------------

def parse_command(cmd: str, args: dict[str, Any]) -> str:
    """The command's name: upstream's lines (`start`) or a relayed name with no args."""
    words = cmd.split()
    if not words:
        raise Refused("empty command")
    name = words[0]
    if name not in COMMANDS:
        raise Refused(f"unknown pcap command '{name[:64]}' (status, start, stop, exit)")
    if len(words) > 1 or args:
        raise Refused(f"'{name}' takes no arguments")
    return name


@dataclass(frozen=True)
class WriterInfo:
    lcore: int
    files: int       # SEQ of its open (or last) file; 0: none yet
    written: int
    lost: int
    bytes: int
    error: int       # errno that stopped it; 0: none
    open: bool
    stem: str


class DataPlane(Protocol):
    """What the model needs from the C core (a fake one in the unit tests)."""

    def start(self, stem: str) -> None: ...
    def stop(self) -> None: ...
    def counters(self) -> dict[str, int]: ...
    def writers(self) -> list[WriterInfo]: ...


class PcapModel:
    """Capture state of one spp_pcap, its status document and its commands."""

    def __init__(self, client_id: int, master: int, rx_lcore: int, port: PortRef,
                 out_dir: Path, fsize: int, snaplen: int, dp: DataPlane,
                 clock: Callable[[], dt.datetime] = dt.datetime.now) -> None:
        self.client_id, self.master, self.rx_lcore = client_id, master, rx_lcore
        self.port, self.out_dir, self.fsize, self.snaplen = port, out_dir, fsize, snaplen
        self.dp, self.clock = dp, clock
        self.running = False

    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        name = parse_command(cmd, args)
        handlers: dict[str, Callable[[], Any]] = {
            "status": self.status, "start": self.start, "stop": self.stop,
        }
        return handlers[name]()

    def start(self) -> None:
        if self.running:
            raise Refused("capture is already running")
        self.dp.start(file_stem(self.port, self.clock()))
        self.running = True

    def stop(self) -> None:
        if not self.running:
            raise Refused("capture is not running")
        self.running = False
        self.dp.stop()

    def writer_files(self, idx: int, w: WriterInfo) -> list[str]:
        """Paths of the files writer idx (from 1) made in this (or the last) capture."""
        if not w.stem:
            return []
        return [str(self.out_dir / file_name(w.stem, idx, seq)) for seq in range(1, w.files + 1)]

    def status(self) -> dict[str, Any]:
        """Upstream's document (client-id, status, master-lcore, core) and the counters."""
        cores: list[dict[str, Any]] = [
            {"core": self.rx_lcore, "role": "receive", "rx_port": [{"port": str(self.port)}]},
        ]
        for idx, w in enumerate(self.dp.writers(), start=1):
            files = self.writer_files(idx, w)
            entry: dict[str, Any] = {
                "core": w.lcore, "role": "write",
                "filename": files[-1] if self.running and w.open and files else "",
                "files": files, "written": w.written, "bytes": w.bytes,
            }
            if w.error:
                entry["error"] = os.strerror(w.error)
            cores.append(entry)
        return {
            "client-id": self.client_id,
            "status": "running" if self.running else "idle",
            "master-lcore": self.master,
            "core": cores,
            "counters": self.dp.counters(),
            "out-dir": str(self.out_dir),
            "fsize": self.fsize,
            "snaplen": self.snaplen,
        }


class NativeDataPlane:
    """The model's steps on the C core (native/src/pcap/)."""

    def __init__(self, ffi: Any, lib: Any, nb_writers: int) -> None:
        self.ffi, self.lib, self.nb_writers = ffi, lib, nb_writers

    def start(self, stem: str) -> None:
        check(self.lib.spp_pcap_capture_start(stem.encode()), self.ffi, self.lib)

    def stop(self) -> None:
        check(self.lib.spp_pcap_capture_stop(), self.ffi, self.lib)

    def counters(self) -> dict[str, int]:
        c = self.ffi.new("struct spp_pcap_counters *")
        self.lib.spp_pcap_counters(c)
        return {"received": int(c.received), "written": int(c.written),
                "dropped": int(c.dropped)}

    def writers(self) -> list[WriterInfo]:
        out = []
        info = self.ffi.new("struct spp_pcap_writer_info *")
        for i in range(self.nb_writers):
            check(self.lib.spp_pcap_writer_info(i, info), self.ffi, self.lib)
            out.append(WriterInfo(int(info.lcore), int(info.files), int(info.written),
                                  int(info.lost), int(info.bytes), int(info.error),
                                  bool(info.open), self.ffi.string(info.stem).decode()))
        return out


class Pcap:
    """spp_pcap: the receive and writer lcores and the commands that start and stop capture."""

    ctl_port = SECONDARY_PORT

    def __init__(self, opts: PcapOptions, ealargs: ealmod.EalArgs) -> None:
        assert opts.client_id is not None and opts.port is not None
        self.opts, self.ealargs = opts, ealargs
        self.client_id, self.port = opts.client_id, opts.port
        self.ctl, self.file_prefix = opts.ctl, ealargs.file_prefix
        self.hello = {"type": "pcap", "client_id": opts.client_id}
        self.pid_name = f"pcap{opts.client_id}"
        self.stop: asyncio.Event | None = None
        self.ffi, self.lib = load()
        self.model: PcapModel | None = None
        self.started = False

    def start(self) -> None:
        eal_init(self.ffi, self.lib, "spp-pcap", self.ealargs.args)
        self.started = True
        o, ref = self.opts, self.port
        nb = check(self.lib.spp_pcap_attach(self.client_id, ref.uid.type_code, ref.uid.id,
                                            ref.queue, str(o.out_dir).encode(), o.fsize,
                                            o.snaplen), self.ffi, self.lib)
        check(self.lib.spp_pcap_start_workers(), self.ffi, self.lib)
        if os.environ.get(HOLD_ENV) == "1":  # tests: writer rings fill up, the rest is dropped
            self.lib.spp_pcap_hold_writers(1)
        self.model = PcapModel(self.client_id, self.ealargs.main_lcore,
                               int(self.lib.spp_pcap_rx_lcore()), ref, o.out_dir, o.fsize,
                               o.snaplen, NativeDataPlane(self.ffi, self.lib, nb))

    def ready(self) -> str:
        w = self.ealargs.worker_lcores
        return (f"client-id {self.client_id} ready: capturing {self.port} into "
                f"{self.opts.out_dir}; master lcore {self.ealargs.main_lcore}, receive {w[0]}, "
                f"writers {', '.join(str(c) for c in w[1:])}; controller {self.opts.ctl}")

    def shutdown(self) -> None:
        """Stop capture (every file completed), then leave the primary."""
        if not self.started:
            return
        if self.model is not None and self.model.running:
            try:
                self.model.stop()
            except Exception as exc:
                log.warning("stopping the capture: %s", exc)
        self.lib.spp_pcap_detach()
        self.lib.spp_eal_cleanup()
        self.started = False

    def handle(self, cmd: str, args: dict[str, Any]) -> Any:
        assert self.model is not None
        if parse_command(cmd, args) == "exit":
            skeleton.request_exit(self)
            return None
        result = self.model.handle(cmd, args)
        if isinstance(result, dict):  # status: the lcores' cycles, as the other processes
            result.update(cycles.cycle_fields(self.ffi, self.lib, self.ealargs.worker_lcores))
        return result


def _check_lcores(ealargs: ealmod.EalArgs) -> None:
    workers = len(ealargs.worker_lcores)
    if workers < 2:
        raise UsageError("spp_pcap needs three lcores or more: -l MASTER,RECEIVE,WRITER[,...]")
    if workers - 1 > SPP_PCAP_MAX_WRITERS:
        raise UsageError(f"spp_pcap takes at most {SPP_PCAP_MAX_WRITERS} writer lcores")


def prepare(argv: list[str]) -> Pcap:
    """Everything that can be checked before DPDK starts, then the process."""
    opts = parse_args(argv)
    return Pcap(opts, skeleton.secondary_eal_args(opts.eal, [2, 3, 4], _check_lcores))


def main(argv: list[str]) -> int:
    return skeleton.run("spp pcap", lambda: prepare(argv))
