"""The controller <-> process link: protocol version, limits and line framing.

One home for what both ends must agree on (docs/protocol.md): the controller
(spp.ctl) and the processes (spp.proc.agent) import it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from typing import Any

VERSION = 2                 # checked in hello (controller) and welcome (process)
# a whole classifier table travels in one line each way (a batch, a status)
MAX_REQUEST = 16 * 1024 * 1024  # controller -> process line, bytes (the controller refuses more)
MAX_REPLY = 16 * 1024 * 1024    # process -> controller line, bytes
HEARTBEAT_S = 1.0           # the controller sends {"hb": N} this often
SILENT_AFTER = 5            # heartbeats missed before a peer counts as gone
HELLO_TIMEOUT_S = 5.0       # hello and welcome must come within this


def encode(obj: Any) -> bytes:
    """One message: compact JSON, UTF-8 (not \\u-escaped, so it is not inflated), newline."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


class LineTooLong(Exception):
    """A line longer than the limit was read and thrown away, up to its newline."""


async def read_line(reader: asyncio.StreamReader) -> bytes:
    """The next line (with its newline), b"" at EOF.

    A line longer than the reader's limit is discarded up to and including
    its newline, never parsed in pieces, then LineTooLong is raised; the
    next call returns the line after it.
    """
    discarding = False
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            return b""
        except asyncio.LimitOverrunError as exc:
            # drop what is buffered (up to, not including, a newline found past the limit)
            await reader.readexactly(exc.consumed)
            discarding = True
            continue
        if discarding:
            raise LineTooLong()
        return line


def keepalive(writer: asyncio.StreamWriter, idle: int = 5, interval: int = 2,
              count: int = 3) -> None:
    """TCP keepalive on the link, so a vanished peer is noticed even without traffic."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, interval)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, count)
