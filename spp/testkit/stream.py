"""A steady stream of numbered ICMP echo frames through SPP, counted where it arrives.

    with Stream(dst=MAC1, src=REMOTE0) as s:       # r-eth0 -> SPP -> r-eth1
        ... change things ...
    assert s.lost() == []             # every sequence number arrived exactly once
"""

from __future__ import annotations

import ipaddress
import struct
import threading
import time

from spp.testkit import frames
from spp.testkit.capture import Capture, open_packet_socket

STREAM_ID = 0x5353   # ICMP ident of stream frames: nothing else on the wire uses it


def _frame(dst: str, src: str, seq: int) -> bytes:
    icmp = struct.pack("!BBHHH", 8, 0, 0, STREAM_ID, seq & 0xFFFF) + struct.pack("!I", seq)
    icmp = icmp[:2] + struct.pack("!H", frames.checksum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0x4000, 64, 1, 0,
                     ipaddress.IPv4Address("198.18.0.1").packed,
                     ipaddress.IPv4Address("198.18.0.11").packed)
    ip = ip[:10] + struct.pack("!H", frames.checksum(ip)) + ip[12:]
    return frames.ethernet(dst, src, frames.ETH_P_IP, ip + icmp)


class Stream:
    """Sends `rate` frames per second from (ns, tx, MAC `src`) to `dst`, captures them on
    (ns, rx).

    With `count`, exactly that many frames are sent; `wait_sent()` waits for them.
    """

    def __init__(self, dst: str, src: str, ns: str = "spp-remote", tx: str = "r-eth0",
                 rx: str = "r-eth1", rate: int = 1000, count: int | None = None) -> None:
        self.dst, self.src, self.ns, self.tx, self.rx = dst, src, ns, tx, rx
        self.rate = rate
        self.count = count
        self.sent = 0
        self._stop = threading.Event()
        self._cap = Capture(ns, rx)
        self._thread = threading.Thread(target=self._send, daemon=True)

    def _send(self) -> None:
        sock = open_packet_socket(self.ns, self.tx)
        burst = 10
        try:
            t0 = time.monotonic()
            while not self._stop.is_set() and self.sent != self.count:
                for _ in range(burst if self.count is None else min(burst,
                                                                   self.count - self.sent)):
                    sock.send(_frame(self.dst, self.src, self.sent))
                    self.sent += 1
                ahead = self.sent / self.rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
        finally:
            sock.close()

    def start(self) -> Stream:
        self._cap.start()
        self._thread.start()
        return self

    def wait_sent(self, timeout: float = 30.0) -> None:
        """Wait until the `count` frames of a bounded stream are sent."""
        assert self.count is not None, "wait_sent() needs a stream with a count"
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"{self.sent} of {self.count} sent in {timeout}s"

    def stop(self, settle: float = 0.5) -> None:
        self._stop.set()
        self._thread.join()
        self._cap.stop(linger=settle)

    def received(self) -> list[int]:
        """Sequence numbers of stream frames that arrived, in arrival order."""
        out = []
        for f in self._cap.frames(received_only=True):
            p = f.parse()
            if p.icmp_id != STREAM_ID or p.icmp_type != 8:
                continue
            at = 14 + 4 * len(p.vlans) + 20 + 8
            if len(f.data) >= at + 4:
                out.append(struct.unpack_from("!I", f.data, at)[0])
        return out

    def lost(self) -> list[int]:
        got = set(self.received())
        return [n for n in range(self.sent) if n not in got]

    def report(self) -> tuple[list[int], int, str]:
        """(lost sequence numbers, how many arrived more than once, a one-line summary)."""
        got = self.received()
        lost, dups = self.lost(), len(got) - len(set(got))
        late = sum(1 for a, b in zip(got, got[1:], strict=False) if b < a)
        return lost, dups, (f"sent {self.sent}, received {len(got)}, lost {len(lost)}, "
                            f"duplicated {dups}, out of order {late}")

    def __enter__(self) -> Stream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if not self._stop.is_set():
            self.stop()
