"""Checks of REST bodies and path ids before anything is relayed to a process.

Value rules (UIDs, MACs, VLANs, cores, names, launch options) come from
spp.resources, the one home the processes and the CLI use too; this module
adds upstream spp-ctl's shapes and messages:

- `key(X) required.` when a key is missing;
- `invalid key(X): V.` (the 400 upstream meant to send; its bug made it a 500),
  followed by our reason when the value breaks one of our bounds;
- `Not in json format.` when the body is not a JSON object.

Each function returns the exact arguments relayed to the process, built from
checked fields only, so nothing unbounded reaches the controller link.
"""

from __future__ import annotations

import json
from typing import Any

from spp import resources as R
from spp.errors import Refused
from spp.kinds import SECONDARY_KINDS, secondary_kind

VF_TYPES = ("forward", "merge", "classifier", "classifier_mac")
MIRROR_TYPES = ("mirror",)
MAX_BODY = 64 * 1024        # bytes of a REST body (413 above)
MAX_TABLE_BODY = 16 * 1024 * 1024  # bytes of a classifier_table body (a batch)


def parse_any_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused("Not in json format.") from None


def parse_json(raw: bytes) -> dict[str, Any]:
    body = parse_any_json(raw)
    if not isinstance(body, dict):
        raise Refused("Not in json format.")
    return body


def shown(value: Any) -> str:
    """A value as upstream prints it in `invalid key(X): V.`, cut to a readable length."""
    text = value if isinstance(value, str) else json.dumps(value)[:200]
    return text if len(text) <= 64 else text[:61] + "..."


def invalid(key: str, value: Any, reason: str | None = None) -> Refused:
    text = f"invalid key({key}): {shown(value)}."
    if reason:
        text += f" {reason}."
    return Refused(text)


def require(body: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if key not in body:
            raise Refused(f"key({key}) required.")


def choice(body: dict[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = body[key]
    if not isinstance(value, str) or value not in choices:
        raise invalid(key, value)
    return value


def port(body: dict[str, Any], key: str, queue: bool = True) -> R.PortRef:
    try:
        ref = R.parse_port(body[key])
    except R.ResourceError as exc:
        raise invalid(key, body[key], str(exc)) from None
    if ref.queue and not queue:
        raise invalid(key, body[key], "a queue (nq) is not taken here")
    return ref


def checked(body: dict[str, Any], key: str, check: Any, value: Any = None) -> Any:
    value = body[key] if value is None else value
    try:
        return check(value)
    except R.ResourceError as exc:
        raise invalid(key, value, str(exc)) from None


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# ---- primary -----------------------------------------------------------------

def primary_ports(body: dict[str, Any]) -> dict[str, Any]:
    require(body, "action", "port")
    action = choice(body, "action", ("add", "del"))
    return {"action": action, "port": str(port(body, "port", queue=False))}


def patches(body: dict[str, Any]) -> dict[str, Any]:
    require(body, "src", "dst")
    return {"src": str(port(body, "src", queue=False)),
            "dst": str(port(body, "dst", queue=False))}


def nfv_ports(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """PUT /v1/nfvs/N/ports -> (`add` | `del`, {"port"}), as upstream relays it."""
    require(body, "action", "port")
    action = choice(body, "action", ("add", "del"))
    return action, {"port": str(port(body, "port"))}


def nfv_patches(body: dict[str, Any]) -> dict[str, Any]:
    """PUT /v1/nfvs/N/patches: a phy port may name its queue (`phy:0 nq 1`)."""
    require(body, "src", "dst")
    return {"src": str(port(body, "src")), "dst": str(port(body, "dst"))}


def forward(body: dict[str, Any]) -> str:
    require(body, "action")
    return "forward" if choice(body, "action", ("start", "stop")) == "start" else "stop"


def xdp_offload(body: dict[str, Any]) -> dict[str, Any]:
    require(body, "action")
    return {"action": choice(body, "action", ("on", "off"))}


def launch(body: dict[str, Any]) -> dict[str, Any]:
    """PUT /v1/primary/launch: a secondary type of spp.kinds, its client id and options."""
    require(body, "client_id", "proc_name", "eal", "app")
    proc = body["proc_name"]
    kind = secondary_kind(proc)
    if kind is None:
        names = ", ".join(k.proc_name for k in SECONDARY_KINDS.values())
        raise invalid("proc_name", proc, f"this SPP launches {names}")
    cid = checked(body, "client_id", R.check_client_id)
    eal = checked(body, "eal", lambda v: R.check_launch_opts(v, "eal"))
    app = checked(body, "app", lambda v: R.check_launch_opts(v, "app", kind))
    for opt in kind.id_opts:
        if app.get(opt) not in (None, str(cid)):
            raise invalid("app", body["app"], f"{opt} differs from client_id {cid}")
    return {"proc_name": kind.proc_name, "client_id": cid, "eal": eal, "app": app}


# ---- vf ------------------------------------------------------------------------

def component_start(body: dict[str, Any], types: tuple[str, ...] = VF_TYPES) -> dict[str, Any]:
    require(body, "name", "core", "type")
    name = checked(body, "name", R.check_name)
    if not is_int(body["core"]):
        raise invalid("core", body["core"])
    core = checked(body, "core", R.check_lcore)
    return {"name": name, "core": core, "type": choice(body, "type", types)}


def component_name(name: str) -> str | None:
    """A path's component name if it could be one (else there is no such component)."""
    try:
        return R.check_name(name)
    except R.ResourceError:
        return None


def vlan_op(body: dict[str, Any]) -> dict[str, Any]:
    """Upstream's rules: an empty or missing `vlan` is no operation; `del` needs no id/pcp."""
    vlan = body.get("vlan")
    if not vlan:
        if vlan not in (None, {}):
            raise invalid("vlan", vlan)
        return {"operation": "none", "id": 0, "pcp": 0}
    if not isinstance(vlan, dict) or "operation" not in vlan:
        raise invalid("vlan", vlan)
    op = vlan["operation"]
    if op not in ("none", "add", "del"):
        raise invalid("vlan", vlan)
    if op != "add":
        return {"operation": op, "id": 0, "pcp": 0}
    if "id" not in vlan or "pcp" not in vlan:
        raise invalid("vlan", vlan)
    return {"operation": "add", "id": checked(body, "vlan", R.check_vlan_id, vlan["id"]),
            "pcp": checked(body, "vlan", R.check_pcp, vlan["pcp"])}


def component_port(body: dict[str, Any], name: str) -> dict[str, Any]:
    require(body, "action", "port", "dir")
    action = choice(body, "action", ("attach", "detach"))
    direction = choice(body, "dir", ("rx", "tx"))
    ref = port(body, "port")
    queue = ref.queue
    if "nq" in body:
        if ref.queue:
            raise invalid("nq", body["nq"], "the port already names a queue")
        queue = checked(body, "nq", R.parse_queue)
        if queue and ref.uid.kind != "phy":
            raise invalid("nq", body["nq"], "a queue applies to phy ports only")
    args: dict[str, Any] = {"action": action, "port": str(ref.uid), "dir": direction,
                            "name": name}
    if queue:
        args["nq"] = queue
    if action == "attach":  # upstream ignores `vlan` on detach
        args["vlan"] = vlan_op(body)
    return args


def classifier_table(body: dict[str, Any]) -> dict[str, Any]:
    require(body, "action", "type", "port", "mac_address")
    action = choice(body, "action", ("add", "del"))
    kind = choice(body, "type", ("mac", "vlan"))
    ref = port(body, "port")
    _raw, mac = checked(body, "mac_address", R.parse_table_mac)
    vlan = None
    if kind == "vlan":
        if "vlan" not in body:
            raise invalid("vlan", None)
        vlan = checked(body, "vlan", R.check_vlan_id)
    return {"action": action, "type": kind, "vlan": vlan, "mac_address": mac,
            "port": str(ref)}


def classifier_table_batch(body: list[Any]) -> dict[str, Any]:
    """A JSON list of classifier_table bodies: each checked as one, the first bad one named."""
    entries = []
    for i, entry in enumerate(body):
        try:
            if not isinstance(entry, dict):
                raise Refused("Not in json format.")
            entries.append(classifier_table(entry))
        except Refused as exc:
            raise type(exc)(f"entry {i}: {exc.reason}") from None
    return {"entries": entries}


# ---- pcap ----------------------------------------------------------------------

def pcap_capture(body: dict[str, Any]) -> str:
    """`{"action": "start"|"stop"}` -> the spp_pcap command."""
    require(body, "action")
    return choice(body, "action", ("start", "stop"))
