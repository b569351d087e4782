"""Send many prepared frames fast and paced: sendmmsg(2) on an AF_PACKET socket.

    sent = send_paced("spp-remote", "r-eth0", frames, rate=25000, batch=250)

One sendmmsg call hands the kernel `batch` frames; between batches the sender
sleeps so that on average no more than `rate` frames per second leave. A batch
the device queue cannot take (ENOBUFS/EAGAIN) is retried from the first frame
not taken, so every frame of the list is sent exactly once, in list order.

`tshark_frames` reads a pcap file back with `tshark -r` and rebuilds each
frame's bytes from the fields tshark prints, for frames of an ethertype tshark
shows as plain data (traffic.ETH_P_TEST).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import subprocess
import time
from pathlib import Path

from spp.testkit.capture import open_packet_socket


class _Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [("msg_name", ctypes.c_void_p), ("msg_namelen", ctypes.c_uint32),
                ("msg_iov", ctypes.POINTER(_Iovec)), ("msg_iovlen", ctypes.c_size_t),
                ("msg_control", ctypes.c_void_p), ("msg_controllen", ctypes.c_size_t),
                ("msg_flags", ctypes.c_int)]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _Msghdr), ("msg_len", ctypes.c_uint)]


_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_sendmmsg = _libc.sendmmsg
_sendmmsg.argtypes = [ctypes.c_int, ctypes.POINTER(_Mmsghdr), ctypes.c_uint, ctypes.c_int]
_sendmmsg.restype = ctypes.c_int


def send_paced(ns: str, ifname: str, frames: list[bytes], rate: float,
               batch: int = 250, timeout: float = 120.0) -> int:
    """Send every frame of `frames` on `ifname` in `ns`, in order, at most `rate` per
    second on average, `batch` per sendmmsg call; returns how many were sent."""
    sock = open_packet_socket(ns, ifname)
    bufs = [ctypes.create_string_buffer(f, len(f)) for f in frames]
    iovs = (_Iovec * len(frames))()
    msgs = (_Mmsghdr * len(frames))()
    for i, (f, b) in enumerate(zip(frames, bufs, strict=True)):
        iovs[i].iov_base = ctypes.cast(b, ctypes.c_void_p)
        iovs[i].iov_len = len(f)
        msgs[i].msg_hdr.msg_iov = ctypes.pointer(iovs[i])
        msgs[i].msg_hdr.msg_iovlen = 1
    base = ctypes.addressof(msgs)
    size = ctypes.sizeof(_Mmsghdr)
    sent = 0
    try:
        t0 = time.monotonic()
        while sent < len(frames):
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"{sent} of {len(frames)} frames sent in {timeout}s")
            want = min(batch, len(frames) - sent)
            at = ctypes.cast(base + sent * size, ctypes.POINTER(_Mmsghdr))
            n = _sendmmsg(sock.fileno(), at, want, 0)
            if n < 0:
                err = ctypes.get_errno()
                if err in (errno.ENOBUFS, errno.EAGAIN, errno.EINTR):
                    time.sleep(0.001)
                    continue
                raise OSError(err, os.strerror(err))
            sent += n
            ahead = sent / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    finally:
        sock.close()
    return sent


def tshark_frames(pcap: Path) -> list[bytes]:
    """The frames of `pcap` as `tshark -r` lists them, each rebuilt from its Ethernet
    addresses, type and data bytes; a frame of another shape comes back as b""."""
    out = subprocess.run(["tshark", "-r", str(pcap), "-T", "fields", "-e", "frame.len",
                          "-e", "eth.dst", "-e", "eth.src", "-e", "eth.type", "-e", "data"],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"tshark -r {pcap}: {out.stderr.strip()}")
    got = []
    for line in out.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) != 5 or not fields[4]:
            got.append(b"")
            continue
        length, dst, src, etype, data = fields
        frame = (bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", ""))
                 + int(etype, 16).to_bytes(2, "big") + bytes.fromhex(data))
        got.append(frame if len(frame) == int(length) else b"")
    return got
