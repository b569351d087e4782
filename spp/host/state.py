"""What `spp host up` created, recorded in <run dir>/host-<topology>.json (spp.rundir).

`down` removes exactly what is recorded here. The file is rewritten after every
creation so that a crash half-way through `up` still leaves an exact record.
It is a private file of the run directory (spp.safefile): a forged one is
refused (safefile.UnsafeFile) and set aside, never acted upon.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spp import rundir, safefile
from spp.defaults import FILE_PREFIX


def state_path(topology_name: str) -> Path:
    return rundir.root() / f"host-{topology_name}.json"


@dataclass
class LinkRecord:
    name: str
    netns: str  # "root" or a namespace name


@dataclass
class VmRecord:
    name: str
    # {"vhost": "vhost:N", "mac", "ipv4", "ifname", "socket": "/tmp/sockN"} per NIC
    nics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sockets(self) -> list[str]:
        return [str(n["socket"]) for n in self.nics if n.get("socket")]


@dataclass
class HostState:
    topology: str
    source: str | None = None
    file_prefix: str = FILE_PREFIX
    bpf_pin_prefix: str = "spp_"
    namespaces: list[str] = field(default_factory=list)
    links: list[LinkRecord] = field(default_factory=list)
    vms: list[VmRecord] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return state_path(self.topology)

    def has_namespace(self, name: str) -> bool:
        return name in self.namespaces

    def has_link(self, name: str, netns: str) -> bool:
        return any(r.name == name and r.netns == netns for r in self.links)

    def add_namespace(self, name: str) -> None:
        if name not in self.namespaces:
            self.namespaces.append(name)
            self.save()

    def add_link(self, name: str, netns: str) -> None:
        if not self.has_link(name, netns):
            self.links.append(LinkRecord(name, netns))
            self.save()

    def add_vm(self, name: str, nics: list[dict[str, Any]]) -> None:
        rec = VmRecord(name, [dict(n) for n in nics])
        if rec not in self.vms:
            self.vms = [v for v in self.vms if v.name != name] + [rec]
            self.save()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self) -> None:
        data = json.dumps(self.to_dict(), indent=2) + "\n"
        safefile.write_private_atomic(self.path, data.encode())

    def remove_file(self) -> None:
        self.path.unlink(missing_ok=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HostState:
        return cls(
            topology=str(data["topology"]),
            source=data.get("source"),
            file_prefix=str(data.get("file_prefix", FILE_PREFIX)),
            bpf_pin_prefix=str(data.get("bpf_pin_prefix", "spp_")),
            namespaces=[str(n) for n in data.get("namespaces", [])],
            links=[LinkRecord(str(r["name"]), str(r["netns"])) for r in data.get("links", [])],
            vms=[VmRecord(str(v["name"]), [dict(n) for n in v.get("nics", [])])
                 for v in data.get("vms", [])],
        )


def load_state(topology_name: str) -> HostState | None:
    """The recorded state of a topology, or None when it is not up (or unreadable).

    Raises safefile.UnsafeFile when the file is not a private file of ours.
    """
    try:
        raw = safefile.read_private(state_path(topology_name))
    except OSError:
        return None
    try:
        return HostState.from_dict(json.loads(raw))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def list_states() -> list[HostState]:
    result = []
    for path in sorted(rundir.root().glob("host-*.json")):
        state = load_state(path.stem.removeprefix("host-"))
        if state is not None:
            result.append(state)
    return result
