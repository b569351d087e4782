"""Interface names/indexes and MAC/VLAN parsing for the XDP steering API."""

from __future__ import annotations

import re
import socket

from spp.xdp.errors import XdpValueError

_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}([:-])(?:[0-9a-fA-F]{2}\1){4}[0-9a-fA-F]{2}$")


def ifindex_of(iface: str | int) -> int:
    """Index of ``iface`` (name, or index as int or digit string) in this netns."""
    if isinstance(iface, int) or (isinstance(iface, str) and iface.isdigit()):
        idx = int(iface)
        if idx <= 0:
            raise XdpValueError(f"bad interface index {iface}: must be > 0")
        return idx
    try:
        return socket.if_nametoindex(iface)
    except OSError:
        raise XdpValueError(f"no such interface: {iface!r}") from None


def ifname_of(ifindex: int) -> str | None:
    """Name of ``ifindex`` in this netns, or None (gone, or in another netns)."""
    try:
        return socket.if_indextoname(ifindex)
    except OSError:
        return None


def parse_mac(mac: str) -> bytes:
    """``aa:bb:cc:dd:ee:ff`` (or with ``-``) -> 6 bytes; XdpValueError with the reason."""
    if not isinstance(mac, str) or not _MAC_RE.match(mac.strip()):
        raise XdpValueError(
            f"bad MAC address {mac!r}: expected six hex pairs like 02:00:00:00:00:01"
        )
    raw = bytes(int(x, 16) for x in re.split(r"[:-]", mac.strip()))
    if raw[0] & 1:
        raise XdpValueError(
            f"bad MAC address {mac}: multicast/broadcast destinations always go to SPP; "
            "only unicast MACs are registered"
        )
    return raw


def format_mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def check_vlan(vlan: int) -> int:
    if not isinstance(vlan, int) or not 0 <= vlan <= 4094:
        raise XdpValueError(f"bad VLAN id {vlan!r}: expected 0 (untagged) .. 4094")
    return vlan
