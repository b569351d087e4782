"""One scrape's view of the controller: which processes exist and their status JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from spp.kinds import SECONDARY_KINDS


class JsonGetter(Protocol):
    def get(self, path: str) -> Any | None: ...


@dataclass
class Snapshot:
    """`ctl_up`: /processes answered with a list. A status is None when it could not be read
    (process absent, controller error, malformed JSON); otherwise it is a dict."""

    ctl_up: bool = False
    ctl: dict[str, Any] | None = None
    primary_listed: bool = False
    primary: dict[str, Any] | None = None
    # (type, client id) -> status, for the types of spp.kinds (vf, nfv, mirror, pcap)
    secondaries: dict[tuple[str, int], dict[str, Any] | None] = field(default_factory=dict)
    others: list[str] = field(default_factory=list)  # listed types with no status route

    @property
    def vfs(self) -> dict[int, dict[str, Any] | None]:
        return {cid: st for (kind, cid), st in self.secondaries.items() if kind == "vf"}


def client_id_of(entry: dict[str, Any]) -> int | None:
    """`client-id` of a GET /processes entry (int, or a decimal string), else None."""
    raw = entry.get("client-id", entry.get("client_id"))
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return None


def _as_dict(doc: Any) -> dict[str, Any] | None:
    return doc if isinstance(doc, dict) else None


def take_snapshot(reader: JsonGetter) -> Snapshot:
    """Read /processes and /ctl, then /primary/status and /vfs/{id}, /nfvs/{id}, ... (the
    secondary's REST collection) for each listed process."""
    snap = Snapshot()
    procs = reader.get("/processes")
    if not isinstance(procs, list):
        return snap
    snap.ctl_up = True
    snap.ctl = _as_dict(reader.get("/ctl"))
    for entry in procs:
        if not isinstance(entry, dict):
            continue
        ptype = entry.get("type")
        if ptype == "primary":
            snap.primary_listed = True
            continue
        cid = client_id_of(entry)
        if cid is None or not isinstance(ptype, str):
            continue
        if ptype in SECONDARY_KINDS:
            snap.secondaries[(ptype, cid)] = None
        else:
            snap.others.append(f"{ptype}:{cid}")
    if snap.primary_listed:
        snap.primary = _as_dict(reader.get("/primary/status"))
    for kind, cid in snap.secondaries:
        rest = SECONDARY_KINDS[kind].rest
        snap.secondaries[(kind, cid)] = _as_dict(reader.get(f"/{rest}/{cid}"))
    return snap
