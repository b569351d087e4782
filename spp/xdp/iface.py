"""Interface names/indexes and MAC/VLAN parsing for the XDP steering API."""

from __future__ import annotations

import socket

from spp import resources
from spp.xdp.errors import XdpValueError


def ifindex_of(iface: str | int) -> int:
    """Index of ``iface`` (name, or index as int or digit string) in this netns."""
    if isinstance(iface, int) or (isinstance(iface, str) and resources.is_ascii_id(iface)):
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
    """``aa:bb:cc:dd:ee:ff`` (or with ``-``) -> 6 bytes of a unicast MAC (spp.resources rules)."""
    try:
        return resources.parse_mac(mac.strip() if isinstance(mac, str) else mac)
    except resources.ResourceError as exc:
        raise XdpValueError(f"bad MAC address {mac!r}: {exc}") from None


format_mac = resources.format_mac


def check_vlan(vlan: int) -> int:
    """0 (untagged) .. 4094, an int (spp.resources rules)."""
    if not isinstance(vlan, int):
        raise XdpValueError(f"bad VLAN id {vlan!r}: expected 0 (untagged) .. 4094")
    try:
        return resources.check_vlan_id(vlan)
    except resources.ResourceError as exc:
        raise XdpValueError(f"bad VLAN id {vlan!r}: {exc}") from None
