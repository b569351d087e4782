"""TAB completion candidates for the shell, from live controller state."""

from __future__ import annotations

import glob
import os
from typing import Any, Protocol

from spp.cli.commands import (
    MIRROR_CMDS,
    MIRROR_ROLES,
    NFV_CMDS,
    PCAP_CMDS,
    PRI_CMDS,
    ROLES,
    VF_CMDS,
)
from spp.kinds import SECONDARY_KINDS
from spp.resources import is_ascii_id

TOP_CMDS = ("bye", "cd", "config", "env", "exit", "help", "history", "ls", "mirror",
            "mkdir", "nfv", "pcap", "playback", "pri", "pwd", "record", "redo", "server",
            "status", "topo", "vf")
FILE_CMDS = ("playback", "record", "cd", "ls", "mkdir", "topo")


class Source(Protocol):
    def vf_ids(self) -> list[int]: ...
    def vf_status(self, sec_id: int) -> dict[str, Any]: ...
    def primary_status(self) -> dict[str, Any]: ...
    def nfv_ids(self) -> list[int]: ...
    def nfv_status(self, sec_id: int) -> dict[str, Any]: ...
    def mirror_ids(self) -> list[int]: ...
    def mirror_status(self, sec_id: int) -> dict[str, Any]: ...
    def pcap_ids(self) -> list[int]: ...


def _safe(fn: Any, *args: Any, default: Any) -> Any:
    try:
        return fn(*args)
    except Exception:  # completion must never break the prompt
        return default


def free_cores(st: dict[str, Any]) -> list[str]:
    return [str(c["core"]) for c in st.get("components", []) if c.get("type") == "unuse"]


def comp_names(st: dict[str, Any]) -> list[str]:
    return [c["name"] for c in st.get("components", []) if "name" in c]


def uids(src: Source, st: dict[str, Any]) -> list[str]:
    found: list[str] = list(st.get("ports", []))
    pri = _safe(src.primary_status, default={}) or {}
    found += [f"phy:{p['id']}" for p in pri.get("phy_ports", [])]
    found += [f"ring:{r['id']}" for r in pri.get("ring_ports", [])]
    for comp in st.get("components", []):
        found += [a["port"] for d in ("rx_port", "tx_port") for a in comp.get(d, [])]
    order = {"phy": 0, "ring": 1, "vhost": 2}
    def key(u: str) -> tuple[int, int]:
        kind, _, num = u.partition(":")
        return order.get(kind, 9), int(num) if is_ascii_id(num) else 0

    return sorted(set(found), key=key)


def _files(word: str, dirs_only: bool = False) -> list[str]:
    out = []
    for path in sorted(glob.glob(os.path.expanduser(word) + "*")):
        if os.path.isdir(path):
            out.append(path + "/")
        elif not dirs_only:
            out.append(path)
    return out


def candidates(line: str, src: Source, config_keys: tuple[str, ...] = ()) -> list[str]:
    """Words that may replace the last (possibly empty) word of `line`."""
    if ";" in line:
        head, _, tail = line.partition(";")
        words = tail.split()
        if tail == "" or tail[-1].isspace():
            words.append("")
        if tail == "":  # cursor right after `;`
            return []
        hw = head.split()
        if hw[:1] == ["pri"]:
            return _filter(_pri(words), words[-1])
        if hw[:1] == ["vf"] and len(hw) == 2 and is_ascii_id(hw[1]):
            return _filter(_vf(int(hw[1]), words, src), words[-1])
        if hw[:1] == ["nfv"] and len(hw) == 2 and is_ascii_id(hw[1]):
            return _filter(_nfv(int(hw[1]), words, src), words[-1])
        if hw[:1] == ["mirror"] and len(hw) == 2 and is_ascii_id(hw[1]):
            return _filter(_mirror(int(hw[1]), words, src), words[-1])
        if hw[:1] == ["pcap"] and len(hw) == 2 and is_ascii_id(hw[1]):
            return _filter(list(PCAP_CMDS) if len(words) == 1 else [], words[-1])
        return []
    words = line.split()
    if line == "" or line[-1].isspace():
        words.append("")
    cur = words[-1]
    if len(words) == 1:
        return _filter([c + ";" if c == "pri" else c for c in TOP_CMDS], cur)
    cmd, pos = words[0], len(words) - 1
    if cmd == "vf" and pos == 1:
        return _filter([f"{i};" for i in _safe(src.vf_ids, default=[])], cur)
    if cmd == "nfv" and pos == 1:
        return _filter([f"{i};" for i in _safe(src.nfv_ids, default=[])], cur)
    if cmd == "mirror" and pos == 1:
        return _filter([f"{i};" for i in _safe(src.mirror_ids, default=[])], cur)
    if cmd == "pcap" and pos == 1:
        return _filter([f"{i};" for i in _safe(src.pcap_ids, default=[])], cur)
    if cmd == "bye" and pos == 1:
        return _filter(["sec", "all"], cur)
    if cmd == "server" and pos == 1:
        return _filter(["list", "add", "del"], cur)
    if cmd == "config" and pos == 1:
        return _filter(list(config_keys), cur)
    if cmd in FILE_CMDS and pos == 1:
        return _files(cur, dirs_only=cmd in ("cd", "mkdir"))
    return []


def _filter(cands: list[str], cur: str) -> list[str]:
    return [c for c in cands if c.startswith(cur)]


def _pri(words: list[str]) -> list[str]:
    pos = len(words) - 1
    if pos == 0:
        return list(PRI_CMDS)
    if words[0] == "patch":
        if pos == 1:
            return ["reset", "SRC"]
        if pos == 2 and words[1] != "reset":
            return ["DST"]
    if words[0] == "launch" and pos == 1:
        return list(SECONDARY_KINDS)
    return []


def _vf(sec_id: int, words: list[str], src: Source) -> list[str]:
    pos = len(words) - 1
    if pos == 0:
        return list(VF_CMDS)
    cmd = words[0]
    st = _safe(src.vf_status, sec_id, default={}) or {}
    if cmd == "component":
        if pos == 1:
            return ["start", "stop"]
        if words[1] == "start":
            return {2: ["NAME"], 3: free_cores(st), 4: list(ROLES)}.get(pos, [])
        if words[1] == "stop" and pos == 2:
            return comp_names(st)
    if cmd == "port":
        return _vf_port(words, st, src)
    if cmd == "classifier_table":
        if pos == 1:
            return ["add", "del"]
        if pos == 2:
            return ["mac", "vlan"]
        if words[2] == "mac":
            return {3: ["MAC_ADDR"], 4: uids(src, st)}.get(pos, [])
        if words[2] == "vlan":
            return {3: ["VID"], 4: ["MAC_ADDR"], 5: uids(src, st)}.get(pos, [])
    return []


def _mirror(sec_id: int, words: list[str], src: Source) -> list[str]:
    """`mirror N; ...`: spp_vf's words with the one role `mirror` and no classifier table."""
    pos = len(words) - 1
    if pos == 0:
        return list(MIRROR_CMDS)
    st = _safe(src.mirror_status, sec_id, default={}) or {}
    if words[0] == "component":
        if pos == 1:
            return ["start", "stop"]
        if words[1] == "start":
            return {2: ["NAME"], 3: free_cores(st), 4: list(MIRROR_ROLES)}.get(pos, [])
        if words[1] == "stop" and pos == 2:
            return comp_names(st)
    if words[0] == "port":
        return _vf_port(words, st, src)
    return []


def _nfv(sec_id: int, words: list[str], src: Source) -> list[str]:
    """`nfv N; ...`: commands, ports to add (the primary's not yet added), ports to delete
    (added, not patched), patch sources (not patched yet) and destinations (added)."""
    pos = len(words) - 1
    if pos == 0:
        return list(NFV_CMDS)
    cmd = words[0]
    if cmd not in ("add", "del", "patch"):
        return []
    st = _safe(src.nfv_status, sec_id, default={}) or {}
    added: list[str] = list(st.get("ports", []))
    patches = st.get("patches", [])
    patched = {p["src"] for p in patches} | {p["dst"] for p in patches}
    if cmd == "add" and pos == 1:
        return [u for u in uids(src, {}) if u not in added]
    if cmd == "del" and pos == 1:
        return [u for u in added if u not in patched]
    if cmd == "patch" and pos == 1:
        free = [u for u in added if u not in {p["src"] for p in patches}]
        return free + (["reset"] if patches else [])
    if cmd == "patch" and pos == 2 and words[1] != "reset":
        return added
    return []


def _vf_port(words: list[str], st: dict[str, Any], src: Source) -> list[str]:
    pos = len(words) - 1
    if pos == 1:
        return ["add", "del"]
    if pos == 2:
        return uids(src, st)
    rest = words[3:]  # after RES_UID
    i = len(rest) - 1
    if i == 0:
        return ["nq", "rx", "tx"]
    if rest[0] == "nq":
        if i == 1:
            return ["QUEUE_ID"]
        rest, i = rest[2:], i - 2
        if i == 0:
            return ["rx", "tx"]
    if i == 1:
        return comp_names(st)
    if words[1] == "add":
        if i == 2:
            return ["add_vlantag", "del_vlantag"]
        if rest[2] == "add_vlantag":
            return {3: ["VID"], 4: ["PCP"]}.get(i, [])
    return []
