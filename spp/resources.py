"""The one home of SPP's shared value rules.

Resource UIDs (`phy:0`, `ring:3`, `vhost:1`, with an optional queue `phy:0nq1`
or `phy:0 nq 1`), MAC addresses, VLAN ids and PCPs, lcore ids, secondary
client ids and component names. REST validation (spp.ctl.validate), the
process models (spp.proc), the CLI grammar (spp.cli.commands) and the XDP API
(spp.xdp) all parse through here, so a value one of them accepts is a value
all of them accept.

Numbers are ASCII decimal digits only (`str.isdigit()` also takes '²' and
'١'), a bounded number of them, and within the range the C core can hold.
Every failure raises ResourceError with a one-line, operator-facing reason.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from spp.errors import Refused
from spp.kinds import SECONDARY_KINDS, SecondaryKind
from spp.native import limits
from spp.native.limits import SPP_MAX_LCORES as MAX_LCORES
from spp.native.limits import SPP_MAX_PHY as MAX_PHY
from spp.native.limits import SPP_MAX_RINGS as MAX_RINGS
from spp.native.limits import SPP_MAX_VHOST as MAX_VHOST
from spp.native.limits import SPP_RES_PHY, SPP_RES_RING, SPP_RES_VHOST

MAX_TABLE_ENTRIES = limits.SPP_CLS_MAX_ENTRIES  # MAC entries of a classifier table

MAX_QUEUES = 1024     # RTE_MAX_QUEUES_PER_PORT
MAX_CLIENT_ID = 255   # spp_vf --client-id 1..255
VLAN_ID_MAX = limits.SPP_VLAN_ID_MAX    # 4095 is reserved by IEEE 802.1Q
PCP_MAX = 7
NAME_MAX = 32         # component names

RES_TYPES = {"phy": SPP_RES_PHY, "ring": SPP_RES_RING, "vhost": SPP_RES_VHOST}
RES_LIMITS = {"phy": MAX_PHY, "ring": MAX_RINGS, "vhost": MAX_VHOST}

MAX_DIGITS = 10       # longer digit strings are refused before int()
_DIGITS = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")
_NUM = rf"(0|[1-9][0-9]{{0,{MAX_DIGITS - 1}}})"   # no leading zeros (as the OpenAPI patterns)
_PORT = re.compile(rf"([a-z]{{1,16}}):{_NUM}(?: ?nq ?{_NUM})?")
_MAC = re.compile(r"[0-9A-Fa-f]{1,2}([:-])[0-9A-Fa-f]{1,2}(?:\1[0-9A-Fa-f]{1,2}){4}")
_MAC_CANONICAL = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
_NAME = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_.-]{{0,{NAME_MAX - 1}}}")
DEFAULT_MAC = "default"


class ResourceError(Refused, ValueError):
    """A malformed or out-of-range UID, MAC, VLAN, PCP, lcore, client id or name."""


def _show(value: object, limit: int = 40) -> str:
    """A value for an error message: repr-like, never longer than `limit` characters."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_int(value: object, what: str, lo: int, hi: int) -> int:
    """An int, or a string of ASCII decimal digits, within [lo, hi]."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        num = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        num = value
    else:
        raise ResourceError(f"{what} '{_show(value)}' is not a number ({lo}-{hi})")
    if not lo <= num <= hi:
        raise ResourceError(f"{what} {_show(num)} is out of range ({lo}-{hi})")
    return num


@dataclass(frozen=True)
class Uid:
    """`TYPE:ID` of a port: phy, ring or vhost."""

    kind: str
    id: int

    @property
    def type_code(self) -> int:
        return RES_TYPES[self.kind]

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class PortRef:
    """A port and its queue: `phy:0` is queue 0, `phy:0nq1` / `phy:0 nq 1` queue 1."""

    uid: Uid
    queue: int = 0

    def __str__(self) -> str:
        """The form status shows: `phy:0`, `phy:0 nq 1`."""
        return str(self.uid) if self.queue == 0 else f"{self.uid} nq {self.queue}"


def parse_port(text: object) -> PortRef:
    """`phy:0`, `ring:3`, `vhost:1`, `phy:0nq1` or `phy:0 nq 1` -> PortRef."""
    if isinstance(text, str) and len(text) <= 64:
        return _parse_port(text)  # a table batch names the same few ports many times
    raise ResourceError(f"'{_show(text)}' is not a resource UID (TYPE:ID, e.g. ring:0)")


@functools.lru_cache(maxsize=1024)
def _parse_port(text: str) -> PortRef:
    m = _PORT.fullmatch(text.strip())
    if m is None:
        raise ResourceError(f"'{_show(text)}' is not a resource UID (TYPE:ID, e.g. ring:0)")
    kind = m.group(1)
    if kind not in RES_TYPES:
        raise ResourceError(f"port type '{kind}' is not supported (phy, ring, vhost)")
    limit = RES_LIMITS[kind]
    num = int(m.group(2))
    if num >= limit:
        raise ResourceError(f"{kind}:{_show(m.group(2))} is out of range "
                            f"({kind}:0-{kind}:{limit - 1})")
    queue = 0
    if m.group(3) is not None:
        if kind != "phy":
            raise ResourceError(f"a queue (nq) applies to phy ports only, not {kind}:{num}")
        queue = int(m.group(3))
        if queue >= MAX_QUEUES:
            raise ResourceError(f"queue {_show(m.group(3))} of phy:{num} is out of range "
                                f"(0-{MAX_QUEUES - 1})")
    return PortRef(Uid(kind, num), queue)


def parse_uid(text: object) -> Uid:
    """A UID without a queue (`phy:0`, `ring:3`, `vhost:1`)."""
    ref = parse_port(text)
    if ref.queue:
        raise ResourceError(f"'{_show(text)}' takes no queue here")
    return ref.uid


def parse_queue(value: object) -> int:
    return parse_int(value, "queue", 0, MAX_QUEUES - 1)


def parse_mac(text: object, unicast: bool = True) -> bytes:
    """`52:54:00:12:34:56` (or with '-', or one-digit groups) -> 6 bytes.

    With `unicast`, broadcast and multicast are refused: those are flooded to
    every port of their VLAN and cannot be table or steering entries.
    """
    if isinstance(text, str) and _MAC_CANONICAL.fullmatch(text):
        raw = bytes.fromhex(text.replace(":", ""))
    elif isinstance(text, str) and _MAC.fullmatch(text.strip()):
        raw = bytes(int(b, 16) for b in re.split(r"[:-]", text.strip()))
    else:
        raise ResourceError(f"'{_show(text)}' is not a MAC address: expected six hex pairs "
                            "like 52:54:00:12:34:56")
    if unicast and raw[0] & 1:
        raise ResourceError(f"{text} is a multicast/broadcast address; those are flooded to "
                            "every port of their VLAN and cannot be entries")
    return raw


def format_mac(raw: bytes) -> str:
    """6 bytes -> `52:54:00:12:34:56` (the one MAC formatter)."""
    return ":".join(f"{b:02x}" for b in bytes(raw))


def parse_table_mac(text: object) -> tuple[bytes | None, str]:
    """A classifier_table MAC: (6 bytes, shown) or (None, 'default') for the default entry.

    `shown` keeps the operator's spelling when it is already in xx:xx:.. form
    (clients compare it with what they sent), else the canonical form.
    """
    if text == DEFAULT_MAC:
        return None, DEFAULT_MAC
    raw = parse_mac(text)
    assert isinstance(text, str)
    if _MAC_CANONICAL.fullmatch(text):
        return raw, text
    shown = text.strip() if _MAC_CANONICAL.fullmatch(text.strip()) else format_mac(raw)
    return raw, shown


def check_vlan_id(value: object) -> int:
    return parse_int(value, "VLAN id", 0, VLAN_ID_MAX)


def check_pcp(value: object) -> int:
    return parse_int(value, "VLAN PCP", 0, PCP_MAX)


def check_lcore(value: object) -> int:
    return parse_int(value, "core", 0, MAX_LCORES - 1)


def check_client_id(value: object) -> int:
    return parse_int(value, "client id", 1, MAX_CLIENT_ID)


def check_name(value: object) -> str:
    """A component name: letters, digits, `_ . -`, up to NAME_MAX characters."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ResourceError(f"invalid component name '{_show(value)}' (letters, digits, "
                            f"_ . -; up to {NAME_MAX})")
    return value


def is_ascii_id(text: str, max_digits: int = MAX_DIGITS) -> bool:
    """True for 1..max_digits ASCII decimal digits (a REST path id)."""
    return len(text) <= max_digits and bool(_DIGITS.fullmatch(text))


# ---- `PUT /v1/primary/launch` options ------------------------------------
# The EAL and application options a launched spp_vf may carry (upstream's
# spp-ctl relays these and drops others; we refuse others with the reason).
LAUNCH_EAL_OPTS = (
    "-c", "-l", "--lcores", "--master-lcore", "--main-lcore", "-s", "-b", "--pci-blacklist",
    "-w", "--pci-whitelist", "-a", "--allow", "--block", "--vdev", "-d", "--no-pci",
    "--proc-type", "-n", "-r", "-m", "--in-memory", "--iova-mode", "--no-shconf", "--no-huge",
    "--log-level", "--file-prefix", "--create-uio-dev", "--vmware-tsc-map", "--no-hpet",
    "--vfio-intr", "--base-virtaddr", "--legacy-mem", "--socket-mem", "--socket-limit",
    "--single-file-segments", "--huge-dir", "--huge-unlink", "--match-allocations", "--syslog",
)
LAUNCH_APP_OPTS = SECONDARY_KINDS["vf"].app_opts
# every secondary type by upstream's binary name and by its short name
LAUNCH_PROC_NAMES = tuple(n for k in SECONDARY_KINDS.values() for n in (k.proc_name, k.name))
MAX_OPTS = 32           # options per group
MAX_OPT_VALUE = 256     # characters of one option value
_OPT_VALUE = re.compile(rf"[\x21-\x7e]{{0,{MAX_OPT_VALUE}}}")  # printable ASCII, no blank


def check_launch_opts(opts: object, group: str,
                      kind: SecondaryKind = SECONDARY_KINDS["vf"]) -> dict[str, str | None]:
    """`{"-l": "1,4-7", "--no-pci": null, "-m": 512}` -> option -> value (None: a flag).

    `group` is "eal" or "app" (the application options of secondary `kind`).
    Unknown options, values that are not short printable words and more than
    MAX_OPTS options are refused.
    """
    known = LAUNCH_EAL_OPTS if group == "eal" else kind.app_opts
    label = "EAL" if group == "eal" else "application"
    if not isinstance(opts, dict):
        raise ResourceError(f"{label} options must be an object of option: value")
    if len(opts) > MAX_OPTS:
        raise ResourceError(f"too many {label} options ({len(opts)}, at most {MAX_OPTS})")
    out: dict[str, str | None] = {}
    for key, value in opts.items():
        if key not in known:
            some = ", ".join(known[:6]) + (", ..." if len(known) > 6 else "")
            raise ResourceError(f"{label} option '{_show(key)}' is not one "
                                f"{kind.proc_name} takes ({some})")
        if value is None or value == "":
            out[key] = None
        elif isinstance(value, int) and not isinstance(value, bool):
            out[key] = str(value)
        elif isinstance(value, str) and _OPT_VALUE.fullmatch(value):
            out[key] = value
        else:
            raise ResourceError(f"value of {label} option {key} must be a printable word of "
                                f"at most {MAX_OPT_VALUE} characters, not '{_show(value)}'")
    return out


def opts_to_argv(opts: dict[str, str | None]) -> list[str]:
    out: list[str] = []
    for key, value in opts.items():
        out += [key] if value is None else [key, value]
    return out
