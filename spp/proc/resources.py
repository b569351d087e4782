"""Resource UIDs (`phy:0`, `ring:3`, `vhost:1`), MAC addresses and VLAN values."""

from __future__ import annotations

import re
from dataclasses import dataclass

RES_TYPES = {"phy": 1, "ring": 2, "vhost": 3}
_UID = re.compile(r"^([a-z]+):(\d+)$")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


class ResourceError(ValueError):
    """A malformed or unsupported resource, MAC or VLAN value."""


@dataclass(frozen=True)
class Uid:
    kind: str
    id: int

    @property
    def type_code(self) -> int:
        return RES_TYPES[self.kind]

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


def parse_uid(text: str) -> Uid:
    m = _UID.match(str(text).strip())
    if not m:
        raise ResourceError(f"'{text}' is not a resource UID (TYPE:ID, e.g. ring:0)")
    kind, num = m.group(1), int(m.group(2))
    if kind not in RES_TYPES:
        raise ResourceError(
            f"port type '{kind}' is not supported by spp_vf (phy, ring, vhost)"
        )
    return Uid(kind, num)


def parse_mac(text: str) -> bytes:
    """Unicast MAC -> 6 bytes. Multicast and broadcast are refused (they flood)."""
    if not isinstance(text, str) or not _MAC.match(text):
        raise ResourceError(f"'{text}' is not a MAC address (xx:xx:xx:xx:xx:xx)")
    raw = bytes(int(b, 16) for b in text.split(":"))
    if raw[0] & 1:
        raise ResourceError(
            f"{text} is a multicast/broadcast address; those are flooded to every port "
            "of their VLAN and cannot be table entries"
        )
    return raw


def format_mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def check_vlan_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4094:
        raise ResourceError(f"VLAN id {value!r} is out of range (0-4094)")
    return value


def check_pcp(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 7:
        raise ResourceError(f"VLAN PCP {value!r} is out of range (0-7)")
    return value
