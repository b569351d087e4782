"""Raw frame capture/injection on an interface in a namespace (AF_PACKET), for tests.

The socket is created inside the namespace (pyroute2 `netns.create_socket`), so the
caller stays in the root netns. VLAN tags that the kernel moved into skb metadata
(veth rx-vlan-hw-parse) are put back into the frame from PACKET_AUXDATA, so a
captured frame looks like it did on the wire (as tcpdump shows it).

    with Capture("spp-remote", "r-eth0") as cap:
        send(...)
    frames = cap.frames()            # list[Frame]; each has .data and .parse()
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from dataclasses import dataclass

from pyroute2 import netns

from spp.host.topology import ROOT_NS
from spp.testkit.frames import ParsedFrame, parse_frame

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
PACKET_OUTGOING = 4
PACKET_STATISTICS = 6
SO_RCVBUFFORCE = 33
_AUX = struct.Struct("=IIIHHHH")


@dataclass(frozen=True)
class Frame:
    data: bytes
    outgoing: bool  # sent by this interface (else received)
    time: float

    def parse(self) -> ParsedFrame:
        return parse_frame(self.data)


def open_packet_socket(ns: str, ifname: str) -> socket.socket:
    """An AF_PACKET/SOCK_RAW socket bound to `ifname` inside namespace `ns`."""
    # protocol 0 until bind: no frames from other interfaces sneak in before it
    if ns == ROOT_NS:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    else:
        sock = netns.create_socket(ns, socket.AF_PACKET, socket.SOCK_RAW, 0, flags=0)
    try:
        sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        sock.bind((ifname, ETH_P_ALL))
    except OSError:
        sock.close()
        raise
    return sock


def _with_vlan(data: bytes, ancdata: list[tuple[int, int, bytes]]) -> bytes:
    for level, kind, payload in ancdata:
        if level != SOL_PACKET or kind != PACKET_AUXDATA or len(payload) < _AUX.size:
            continue
        status, _len, _snap, _mac, _net, tci, tpid = _AUX.unpack_from(payload)
        if status & TP_STATUS_VLAN_VALID or tci:
            if not status & TP_STATUS_VLAN_TPID_VALID or not tpid:
                tpid = 0x8100
            return data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
    return data


def _drain(sock: socket.socket, sink: list[Frame], stop: threading.Event) -> None:
    while True:
        ready, _, _ = select.select([sock], [], [], 0.05)
        if not ready:
            if stop.is_set():
                return
            continue
        data, anc, _flags, addr = sock.recvmsg(65536, socket.CMSG_SPACE(_AUX.size))
        sink.append(Frame(_with_vlan(data, anc), addr[2] == PACKET_OUTGOING, time.time()))


class Capture:
    """Background capture from `start()` (or `with`) to `stop()`; frames in arrival order."""

    def __init__(self, ns: str, ifname: str, rcvbuf: int | None = None) -> None:
        """`rcvbuf`: the socket's receive buffer in bytes (SO_RCVBUFFORCE), for streams
        faster than the reader thread drains them."""
        self.ns = ns
        self.ifname = ifname
        self.rcvbuf = rcvbuf
        self.dropped = 0  # frames the kernel dropped because the socket buffer was full
        self._frames: list[Frame] = []
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Capture:
        self._sock = open_packet_socket(self.ns, self.ifname)
        if self.rcvbuf is not None:
            self._sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, self.rcvbuf)
        self._thread = threading.Thread(
            target=_drain, args=(self._sock, self._frames, self._stop), daemon=True
        )
        self._thread.start()
        return self

    def stop(self, linger: float = 0.2) -> list[Frame]:
        """Keep reading for `linger` seconds (frames in flight), then close."""
        if self._thread is not None:
            time.sleep(linger)
            self._stop.set()
            self._thread.join()
            self._thread = None
        if self._sock is not None:
            # tpacket_stats {packets, drops}; reading them resets them
            _packets, drops = struct.unpack(
                "II", self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
            self.dropped += drops
            self._sock.close()
            self._sock = None
        return list(self._frames)

    def frames(self, *, received_only: bool = False) -> list[Frame]:
        return [f for f in list(self._frames) if not (received_only and f.outgoing)]

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def capture(ns: str, ifname: str, seconds: float) -> list[Frame]:
    """All frames seen on `ifname` in `ns` during the next `seconds`."""
    cap = Capture(ns, ifname).start()
    time.sleep(seconds)
    return cap.stop(linger=0)


def send_frames(ns: str, ifname: str, frames: list[bytes]) -> None:
    """Transmit raw Ethernet frames (VLAN tags inline) on `ifname` in `ns`."""
    sock = open_packet_socket(ns, ifname)
    try:
        for frame in frames:
            sock.send(frame)
    finally:
        sock.close()
