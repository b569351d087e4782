"""One parser for `pri; ...`, `vf N; ...` and `nfv N; ...` command words -> REST request.

Used by the shell, playback and the Typer subcommands so all build the same
request and print the same message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spp import resources as R
from spp.cli import statusfmt
from spp.client import Client
from spp.errors import ProcessGone, Refused, Timeout
from spp.kinds import SECONDARY_KINDS, secondary_kind

VF_CMDS = ("status", "component", "port", "classifier_table", "exit")
NFV_CMDS = ("status", "add", "del", "patch", "forward", "stop", "exit")
MIRROR_CMDS = ("status", "component", "port", "exit")
MIRROR_ROLES = ("mirror",)
PCAP_CMDS = ("status", "start", "stop", "exit")
PRI_CMDS = ("status", "clear", "launch", "patch", "forward", "stop", "xdp_offload", "exit")
ROLES = ("forward", "merge", "classifier", "classifier_mac")


class CommandError(Refused):
    """A command line that cannot be sent; `text` is printed as is."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass
class Action:
    method: str
    path: str
    body: Any = None
    done: Callable[[Any], str] = field(default=lambda _res: "")
    before: Callable[[Client], None] | None = None   # checks against live state
    after: Callable[[Client], str] | None = None     # waits for the outcome, adds its line


def _int(word: str, what: str) -> int:
    if not R.is_ascii_id(word):
        raise CommandError(f"Invalid {what} '{word}'.")
    return int(word)


def _uid(word: str, queue: bool = True) -> str:
    """A resource UID as the shared parser reads it (`phy:0`, `ring:3`, `phy:0nq1`)."""
    try:
        ref = R.parse_port(word)
    except R.ResourceError as exc:
        raise CommandError(f"Invalid resource UID '{word}': {exc}.") from None
    if ref.queue and not queue:
        raise CommandError(f"Invalid resource UID '{word}': no queue here.")
    return word


def _syntax(usage: str) -> CommandError:
    return CommandError(f"Invalid syntax, usage: {usage}")


PORT_USAGE = "port add|del RES_UID [nq Q] DIR NAME [add_vlantag VID PCP | del_vlantag]"
CLS_USAGE = "classifier_table add|del mac MAC RES_UID | vlan VID MAC RES_UID"


def _host_action(kind: str, sec_id: int, words: list[str], status: Callable[[Any], str],
                 cmds: tuple[str, ...], roles: tuple[str, ...] = ROLES) -> Action:
    """A command of a process on the component host (spp_vf, spp_mirror): `kind` N;
    status|component ...|port ...|exit, and classifier_table ... where `cmds` has it."""
    if not words:
        raise CommandError('Invalid command "".')
    cmd, args = words[0], words[1:]
    base = f"{kind}s/{sec_id}"
    if cmd == "status" and not args:
        return Action("GET", base, done=status)
    if cmd == "exit" and not args:
        return Action("DELETE", base, done=lambda _r: f"Exit {kind} {sec_id}.")
    if cmd == "component":
        return _component(base, args, roles)
    if cmd == "port":
        return _port(base, args)
    if cmd == "classifier_table" and cmd in cmds:
        return _cls_table(base, args)
    if cmd in cmds:
        raise _syntax(cmd)
    raise CommandError(f'Invalid command "{cmd}".')


def vf_action(sec_id: int, words: list[str]) -> Action:
    return _host_action("vf", sec_id, words, statusfmt.vf_status, VF_CMDS)


def mirror_action(sec_id: int, words: list[str]) -> Action:
    """`mirror N; status|component start NAME CORE mirror|component stop NAME|port ...|exit`."""
    return _host_action("mirror", sec_id, words, statusfmt.mirror_status, MIRROR_CMDS,
                        MIRROR_ROLES)


def pcap_action(sec_id: int, words: list[str]) -> Action:
    """`pcap N; status|start|stop|exit`."""
    if not words:
        raise CommandError('Invalid command "".')
    cmd, args = words[0], words[1:]
    base = f"pcaps/{sec_id}"
    if cmd in PCAP_CMDS and args:
        raise _syntax(cmd)
    if cmd == "status":
        return Action("GET", base, done=statusfmt.pcap_status)
    if cmd in ("start", "stop"):
        return Action("PUT", f"{base}/capture", {"action": cmd},
                      lambda _r: "Start packet capture." if cmd == "start"
                      else "Stop packet capture.")
    if cmd == "exit":
        return Action("DELETE", base, done=lambda _r: f"Exit pcap {sec_id}.")
    raise CommandError(f'Invalid command "{cmd}".')


def nfv_action(sec_id: int, words: list[str]) -> Action:
    """`nfv N; status|add RES_UID|del RES_UID|patch SRC DST|patch reset|forward|stop|exit`."""
    if not words:
        raise CommandError('Invalid command "".')
    cmd, args = words[0], words[1:]
    base = f"nfvs/{sec_id}"
    if cmd == "status" and not args:
        return Action("GET", base, done=statusfmt.nfv_status)
    if cmd in ("add", "del") and len(args) == 1:
        uid = _uid(args[0])
        return Action("PUT", f"{base}/ports", {"action": cmd, "port": uid},
                      lambda _r: f"{'Add' if cmd == 'add' else 'Delete'} {uid}.")
    if cmd in ("add", "del") and not args:
        raise CommandError("Port is required!")
    if cmd == "patch" and args == ["reset"]:
        return Action("DELETE", f"{base}/patches", done=lambda _r: "Clear all of patches.")
    if cmd == "patch" and len(args) in (2, 4, 6):
        src, dst = _patch_ends(args)
        return Action("PUT", f"{base}/patches", {"src": src, "dst": dst},
                      lambda _r: f"Patch ports ({src} -> {dst}).")
    if cmd in ("forward", "stop") and not args:
        return Action("PUT", f"{base}/forward",
                      {"action": "start" if cmd == "forward" else "stop"},
                      lambda _r: "Start forwarding." if cmd == "forward" else "Stop forwarding.")
    if cmd == "exit" and not args:
        return Action("DELETE", base, done=lambda _r: f"Exit nfv {sec_id}")
    if cmd in NFV_CMDS:
        raise _syntax({"patch": "patch SRC [nq Q] DST [nq Q] | patch reset",
                       "add": "add RES_UID", "del": "del RES_UID"}.get(cmd, cmd))
    raise CommandError(f'Invalid command "{cmd}".')


def _patch_ends(args: list[str]) -> tuple[str, str]:
    """`SRC [nq Q] DST [nq Q]` -> the two UIDs as status shows them (`phy:0 nq 1`)."""
    ends: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        if args[i + 1:i + 2] == ["nq"] and i + 2 < len(args):
            word = f"{word} nq {_int(args[i + 2], 'queue id')}"
            i += 3
        else:
            i += 1
        ends.append(str(R.parse_port(_uid(word))))
    if len(ends) != 2:
        raise _syntax("patch SRC [nq Q] DST [nq Q] | patch reset")
    return ends[0], ends[1]


def _component(base: str, args: list[str], roles: tuple[str, ...] = ROLES) -> Action:
    if len(args) == 4 and args[0] == "start":
        name, core, role = args[1], _int(args[2], "core id"), args[3]
        if role not in roles:
            raise CommandError(f"Invalid role '{role}', choose from {', '.join(roles)}.")
        return Action("POST", f"{base}/components",
                      {"name": name, "core": core, "type": role},
                      lambda _r: f"Succeeded to start component '{name}' on core:{core}")
    if len(args) == 2 and args[0] == "stop":
        name = args[1]
        return Action("DELETE", f"{base}/components/{name}",
                      done=lambda _r: f"Succeeded to delete component '{name}'")
    raise _syntax("component start NAME CORE_ID ROLE | component stop NAME")


def _port(base: str, args: list[str]) -> Action:
    if len(args) < 4 or args[0] not in ("add", "del"):
        raise _syntax(PORT_USAGE)
    op, uid, rest = args[0], _uid(args[1]), args[2:]
    body: dict[str, Any] = {"action": "attach" if op == "add" else "detach", "port": uid}
    if rest[0] == "nq":
        if len(rest) < 3:
            raise _syntax(PORT_USAGE)
        body["nq"] = _int(rest[1], "queue id")
        rest = rest[2:]
    if len(rest) < 2 or rest[0] not in ("rx", "tx"):
        raise _syntax(PORT_USAGE)
    body["dir"], name, opts = rest[0], rest[1], rest[2:]
    vlan: dict[str, Any] = {"operation": "none", "id": 0, "pcp": 0}
    if opts[:1] == ["add_vlantag"] and len(opts) == 3 and op == "add":
        vlan = {"operation": "add", "id": _int(opts[1], "vlan id"),
                "pcp": _int(opts[2], "pcp")}
    elif opts == ["del_vlantag"] and op == "add":
        vlan = {"operation": "del", "id": 0, "pcp": 0}
    elif opts:
        raise _syntax(PORT_USAGE)
    body["vlan"] = vlan
    return Action("PUT", f"{base}/components/{name}/ports", body,
                  lambda _r: f"Succeeded to {op} port")


def _cls_table(base: str, args: list[str]) -> Action:
    body: dict[str, Any]
    if len(args) == 4 and args[0] in ("add", "del") and args[1] == "mac":
        body = {"action": args[0], "type": "mac", "vlan": None,
                "mac_address": args[2], "port": args[3]}
    elif len(args) == 5 and args[0] in ("add", "del") and args[1] == "vlan":
        body = {"action": args[0], "type": "vlan", "vlan": _int(args[2], "vlan id"),
                "mac_address": args[3], "port": args[4]}
    else:
        raise _syntax(CLS_USAGE)
    return Action("PUT", f"{base}/classifier_table", body,
                  lambda _r: f"Succeeded to {args[0]}")


def _opts(tokens: list[str]) -> dict[str, str]:
    """`-l 1,4-7 -m 512 --proc-type=secondary --vhost-client` -> dict of strings."""
    out: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("-"):
            raise CommandError(f"Invalid option '{tok}'.")
        if "=" in tok:
            key, val = tok.split("=", 1)
            out[key] = val
        elif i + 1 < len(tokens) and not tokens[i + 1].startswith("-"):
            out[tok] = tokens[i + 1]
            i += 1
        else:
            out[tok] = ""
        i += 1
    return out


def _launch(args: list[str]) -> Action:
    """`launch TYPE [SEC_ID] EAL -- APP` as upstream: TYPE a secondary type of spp.kinds
    (`nfv` or `spp_nfv`); without SEC_ID the id is the one the application options give
    (`-n` of spp_nfv, else `--client-id`)."""
    names = "|".join(SECONDARY_KINDS)
    usage = f"launch {names} SEC_ID EAL_OPTS -- APP_OPTS"
    kind = secondary_kind(args[0]) if args else None
    if kind is None or len(args) < 2 or "--" not in args:
        raise _syntax(usage)
    sep = args.index("--")
    given = None if args[1].startswith("-") else args[1]
    eal = _opts(args[1 if given is None else 2:sep])
    app = _opts(args[sep + 1:])
    raw_id = given if given is not None else next(
        (app[o] for o in kind.id_opts if app.get(o)), None)
    if raw_id is None:
        raise CommandError(f"Secondary ID is required: launch {kind.name} SEC_ID ... "
                           f"or {kind.id_opt} SEC_ID after --.")
    sec_id = _int(raw_id, "secondary id")
    eal.setdefault("--proc-type", "secondary")
    for opt in kind.id_opts:  # the id options given follow SEC_ID, as upstream's CLI does
        if opt in app:
            app[opt] = str(sec_id)
    if not any(o in app for o in kind.id_opts):
        app[kind.id_opt] = str(sec_id)
    body = {"proc_name": kind.proc_name, "client_id": str(sec_id), "eal": eal, "app": app}
    label = kind.label(sec_id)

    def not_running(client: Client) -> None:
        for p in client.processes():
            if p.get("type") == kind.name and p.get("client-id") == sec_id:
                raise CommandError(f"Cannot launch {label}: it is already running.")
            if p.get("type") != "primary" and p.get("client-id") == sec_id:
                raise CommandError(f"Cannot launch {label}: secondary id {sec_id} is "
                                   f"already used by {p.get('type')}:{sec_id}.")

    return Action("PUT", "primary/launch", body,
                  lambda _r: f"Send request to launch {label}.",
                  before=not_running,
                  after=lambda client: wait_launched(client, sec_id, kind=kind.name))


LAUNCH_WAIT_S = 20.0


def _registered(client: Client, kind: str, sec_id: int) -> bool:
    return any(p.get("type") == kind and p.get("client-id") == sec_id
               for p in client.processes())


def wait_launched(client: Client, sec_id: int, timeout: float = LAUNCH_WAIT_S,
                  interval: float = 0.25, kind: str = "vf") -> str:
    """Wait (bounded) until secondary `kind` `sec_id` registers, or the primary reports it
    exited.

    Returns the success line; raises SppError with the launched process's own
    one-line reason when it exited, or with a time-out when neither happened.
    """
    deadline = time.monotonic() + timeout
    label = f"{kind}:{sec_id}"
    while True:
        if _registered(client, kind, sec_id):
            return f"{label} is up."
        launched = (client.primary_status() or {}).get("launched") or []
        entry = next((e for e in launched if isinstance(e, dict)
                      and e.get("client_id") == sec_id), None)
        if entry is not None and not entry.get("running", True):
            reason = entry.get("reason") or "no reason given"
            raise ProcessGone(f"{label} exited with code {entry.get('exit_code')}: {reason}")
        if time.monotonic() >= deadline:
            pid = f" (pid {entry['pid']} still runs)" if entry else ""
            raise Timeout(f"{label} did not register with spp ctl within {timeout:g} s"
                           f"{pid}.")
        time.sleep(interval)


def pri_action(words: list[str]) -> Action:
    if not words:
        raise CommandError('Invalid command "".')
    cmd, args = words[0], words[1:]
    if cmd == "status" and not args:
        return Action("GET", "primary/status", done=statusfmt.primary_status)
    if cmd == "clear" and not args:
        return Action("DELETE", "primary/status", done=lambda _r: "Clear port statistics.")
    if cmd == "launch":
        return _launch(args)
    if cmd == "patch" and args == ["reset"]:
        return Action("DELETE", "primary/patches", done=lambda _r: "Clear all of patches.")
    if cmd == "patch" and len(args) == 2:
        src, dst = _uid(args[0], queue=False), _uid(args[1], queue=False)
        return Action("PUT", "primary/patches", {"src": src, "dst": dst},
                      lambda _r: f"Patch ports ({src} -> {dst}).")
    if cmd == "forward" and not args:
        return Action("PUT", "primary/forward", {"action": "start"},
                      lambda _r: "Start forwarding.")
    if cmd == "stop" and not args:
        return Action("PUT", "primary/forward", {"action": "stop"},
                      lambda _r: "Stop forwarding.")
    if cmd == "xdp_offload" and args in (["on"], ["off"]):
        return xdp_offload(args[0])
    if cmd == "exit" and not args:
        return Action("DELETE", "primary", done=lambda _r: "Exit primary.")
    if cmd in PRI_CMDS:
        raise _syntax({"patch": "patch SRC DST | patch reset",
                        "xdp_offload": "xdp_offload on|off"}.get(cmd, cmd))
    raise CommandError(f'Invalid command "{cmd}".')


def xdp_offload(state: str) -> Action:
    """`pri; xdp_offload on|off`, `spp xdp offload on|off`: the primary's patch fast path."""
    return Action("PUT", "primary/xdp_offload", {"action": state},
                  lambda _r: f"XDP offload of phy patches {state}.")


def execute(client: Client, action: Action) -> str:
    """Send the request (and wait for its outcome); return the success text.

    Raises spp.client.SppError, or CommandError when a check against the live
    state refuses the line before anything is sent.
    """
    if action.before is not None:
        action.before(client)
    text = action.done(client.request(action.method, action.path, action.body))
    if action.after is not None:
        text = "\n".join(t for t in (text, action.after(client)) if t)
    return text


def split_target(line: str) -> tuple[str, str | None, list[str]]:
    """`vf 1; port add ..` -> ("vf", "1", ["port", "add", ..]); `pri; ..` -> ("pri", None, ..)."""
    head, _, tail = line.partition(";")
    hw = head.split()
    return hw[0] if hw else "", hw[1] if len(hw) > 1 else None, tail.split()
