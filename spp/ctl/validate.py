"""Shape checks of REST bodies; the process checks meaning (protocol.md).

Every failure raises BadRequest with the plain-text reason returned as a 400.
"""

from __future__ import annotations

import json
import re
from typing import Any

UID_RE = re.compile(r"^(phy|ring|vhost):(0|[1-9][0-9]*)$")
MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
VF_TYPES = ("forward", "merge", "classifier", "classifier_mac")


class BadRequest(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("Not in json format.") from None
    if not isinstance(body, dict):
        raise BadRequest("Not in json format.")
    return body


def _invalid(key: str, value: Any) -> BadRequest:
    return BadRequest(f"invalid key({key}) value({value}).")


def require(body: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if key not in body:
            raise BadRequest(f"key({key}) required.")


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_uid(body: dict[str, Any], key: str) -> None:
    v = body[key]
    if not isinstance(v, str) or not UID_RE.match(v):
        raise _invalid(key, v)


def check_choice(body: dict[str, Any], key: str, choices: tuple[str, ...]) -> None:
    if body[key] not in choices:
        raise _invalid(key, body[key])


def int_in(body: dict[str, Any], key: str, lo: int, hi: int) -> int:
    """Accept an int (or a decimal string, as upstream clients send) within [lo, hi]."""
    v = body[key]
    if isinstance(v, str) and re.fullmatch(r"[0-9]+", v):
        v = int(v)
    if not is_int(v) or not lo <= v <= hi:
        raise _invalid(key, body[key])
    return v


def primary_ports(body: dict[str, Any]) -> dict[str, Any]:
    require(body, "action", "port")
    check_choice(body, "action", ("add", "del"))
    check_uid(body, "port")
    return body


def patches(body: dict[str, Any]) -> dict[str, Any]:
    require(body, "src", "dst")
    check_uid(body, "src")
    check_uid(body, "dst")
    return {"src": body["src"], "dst": body["dst"]}


def forward(body: dict[str, Any]) -> str:
    require(body, "action")
    check_choice(body, "action", ("start", "stop"))
    return "forward" if body["action"] == "start" else "stop"


def launch(body: dict[str, Any]) -> dict[str, Any]:
    require(body, "proc_name", "client_id", "eal", "app")
    if not isinstance(body["proc_name"], str) or not body["proc_name"]:
        raise _invalid("proc_name", body["proc_name"])
    int_in(body, "client_id", 0, 1 << 31)
    for key in ("eal", "app"):
        if not isinstance(body[key], dict):
            raise _invalid(key, body[key])
    return body


def component_start(body: dict[str, Any]) -> dict[str, Any]:
    require(body, "name", "core", "type")
    name = body["name"]
    if not isinstance(name, str) or not name or "/" in name or name.strip() != name:
        raise _invalid("name", name)
    if not is_int(body["core"]) or body["core"] < 0:
        raise _invalid("core", body["core"])
    check_choice(body, "type", VF_TYPES)
    return {"name": name, "core": body["core"], "type": body["type"]}


def component_port(body: dict[str, Any], name: str) -> dict[str, Any]:
    require(body, "action", "port", "dir")
    check_choice(body, "action", ("attach", "detach"))
    check_uid(body, "port")
    check_choice(body, "dir", ("rx", "tx"))
    vlan = body.get("vlan")
    if vlan is None:
        vlan = {"operation": "none", "id": 0, "pcp": 0}
    if not isinstance(vlan, dict):
        raise _invalid("vlan", vlan)
    require(vlan, "operation")
    check_choice(vlan, "operation", ("add", "del", "none"))
    if vlan["operation"] == "add":
        require(vlan, "id", "pcp")
        vlan = {
            "operation": "add",
            "id": int_in(vlan, "id", 0, 4095),
            "pcp": int_in(vlan, "pcp", 0, 7),
        }
    else:
        vlan = {"operation": vlan["operation"], "id": 0, "pcp": 0}
    args: dict[str, Any] = {
        "action": body["action"],
        "port": body["port"],
        "dir": body["dir"],
        "name": name,
        "vlan": vlan,
    }
    if "nq" in body:
        args["nq"] = int_in(body, "nq", 0, 1023)
    return args


def classifier_table(body: dict[str, Any]) -> dict[str, Any]:
    require(body, "action", "type", "mac_address", "port")
    check_choice(body, "action", ("add", "del"))
    check_choice(body, "type", ("mac", "vlan"))
    mac = body["mac_address"]
    if not isinstance(mac, str) or not (mac == "default" or MAC_RE.match(mac)):
        raise _invalid("mac_address", mac)
    check_uid(body, "port")
    vlan = None
    if body["type"] == "vlan":
        require(body, "vlan")
        vlan = int_in(body, "vlan", 0, 4095)
    return {
        "action": body["action"],
        "type": body["type"],
        "vlan": vlan,
        "mac_address": mac,
        "port": body["port"],
    }
