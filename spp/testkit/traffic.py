"""Paced, counted test traffic on several interfaces, for e2e tests and the soak.

Each flow sends small frames of the IEEE local-experimental ethertype 0x88b5
(no kernel answers or forwards them) from one interface in a namespace. The
payload carries the flow's tag and a sequence number, so a receiver can tell
which flow and which batch a frame came from (`frame_mark`). The sender runs
as its own process (`python -m spp.testkit.traffic`), so it does not compete
with the test for the GIL, and reports how many frames the kernel accepted
per flow when it stops:

    gen = Traffic([Flow("spp-t6", "t6-eth0", dst=MAC_A, src=MAC_B, tag=1)], rate=2000)
    gen.start()
    ...
    sent = gen.stop()        # {"t6-eth0/1": 9980}

Receivers count with the interface counters (`rx_packets`) or a Capture.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from spp.testkit.frames import mac_bytes

ETH_P_TEST = 0x88B5
MARK = struct.Struct("!4sIQ")  # magic, tag, sequence
MAGIC = b"SPPt"


@dataclass(frozen=True)
class Flow:
    ns: str
    ifname: str
    dst: str
    src: str
    tag: int = 0
    rate: float | None = None  # frames/s; None: the Traffic's rate

    @property
    def key(self) -> str:
        return f"{self.ifname}/{self.tag}"


def make_frame(dst: str, src: str, tag: int, seq: int, size: int = 64) -> bytes:
    """An Ethernet frame of `size` bytes (no FCS) marked with (tag, seq)."""
    head = mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", ETH_P_TEST)
    body = MARK.pack(MAGIC, tag, seq)
    return (head + body).ljust(size, b"\0")


def frame_mark(data: bytes) -> tuple[int, int] | None:
    """(tag, seq) of a test frame, VLAN tags skipped; None for any other frame."""
    off = 12
    while len(data) >= off + 4 and struct.unpack_from("!H", data, off)[0] in (0x8100, 0x88A8):
        off += 4
    if len(data) < off + 2 + MARK.size or struct.unpack_from("!H", data, off)[0] != ETH_P_TEST:
        return None
    magic, tag, seq = MARK.unpack_from(data, off + 2)
    return (tag, seq) if magic == MAGIC else None


def iface_counter(ns: str, ifname: str, counter: str = "rx_packets") -> int:
    """An interface statistic read inside its namespace."""
    path = f"/sys/class/net/{ifname}/statistics/{counter}"
    argv = ["cat", path] if ns == "root" else ["ip", "netns", "exec", ns, "cat", path]
    return int(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)


class Traffic:
    """The sender process; `stop()` returns frames sent per flow key."""

    def __init__(self, flows: list[Flow], rate: float, seconds: float | None = None,
                 size: int = 64) -> None:
        self.flows = flows
        self.rate = rate
        self.seconds = seconds
        self.size = size
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> Traffic:
        spec = {"flows": [asdict(f) for f in self.flows], "rate": self.rate,
                "seconds": self.seconds, "size": self.size}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "spp.testkit.traffic"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()  # "ready" once every socket is open
        if line.strip() != "ready":
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.proc.wait(5)
            raise RuntimeError(f"traffic sender failed to start: {line.strip()} {err.strip()}")
        return self

    def wait(self, timeout: float | None = None) -> dict[str, int]:
        """Until a sender with `seconds` set is done."""
        assert self.proc is not None
        out, err = self.proc.communicate(timeout=timeout)
        self.proc = None
        try:
            return dict(json.loads(out.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            raise RuntimeError(f"traffic sender said {out!r} {err!r}") from None

    def stop(self) -> dict[str, int]:
        if self.proc is None:
            return {}
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
        try:
            return self.wait(10)
        except subprocess.TimeoutExpired:
            if self.proc is not None:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
                self.proc = None
            raise

    def __enter__(self) -> Traffic:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        if self.proc is not None:
            self.stop()


def _open(ns: str, ifname: str) -> socket.socket:
    from spp.testkit.capture import open_packet_socket

    sock = open_packet_socket(ns, ifname)
    sock.setblocking(False)
    return sock


def main() -> int:
    spec = json.loads(sys.stdin.readline())
    size = int(spec["size"])
    flows = [Flow(**f) for f in spec["flows"]]
    socks = [_open(f.ns, f.ifname) for f in flows]
    rates = [float(f.rate if f.rate is not None else spec["rate"]) for f in flows]
    sent = [0] * len(flows)
    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    print("ready", flush=True)
    start = time.monotonic()
    end = start + spec["seconds"] if spec.get("seconds") else None
    tick = 0.001
    while not stop["now"]:
        now = time.monotonic()
        if end is not None and now >= end:
            break
        for i, flow in enumerate(flows):
            # at most 10 ms worth at once: a sender that fell behind stays behind
            due = min(int((now - start) * rates[i]) - sent[i], int(rates[i] / 100) + 1)
            for _ in range(max(0, due)):
                frame = make_frame(flow.dst, flow.src, flow.tag, sent[i], size)
                try:
                    socks[i].send(frame)
                except (BlockingIOError, OSError):
                    break  # device queue full: the frame was not sent; retry next tick
                sent[i] += 1
        time.sleep(tick)
    for s in socks:
        s.close()
    print(json.dumps({f.key: n for f, n in zip(flows, sent, strict=True)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
