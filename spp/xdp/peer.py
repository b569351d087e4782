"""The netdevs around the patch fast path: XDP attach mode, veth peers, their XDP_PASS program.

A veth drops frames redirected to it in XDP (ndo_xdp_xmit) unless its peer
runs NAPI, which it does while the peer has an XDP program. Before the fast
path sends to a veth in native mode, the primary puts `build/bpf/xdp_pass.o`
on the peer, if the peer has no program of its own and was created by
`spp host up` (it is a link of a host state file, <run dir>/host-*.json);
otherwise the route stays on the DPDK path. The program stays until the
primary exits (removing it under traffic would drop what the peer's NAPI
ring still holds).

Everything here reads and changes links through iproute2 (`ip -j`), which
reaches links in other namespaces by name (`ip -n NS`).
"""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spp import rundir, safefile
from spp.xdp.errors import XdpError

log = logging.getLogger("spp.xdp")

ROOT_NS = "root"
PASS_PROG_NAME = "spp_xdp_pass"
PASS_OBJECT = Path(__file__).resolve().parents[2] / "build" / "bpf" / "xdp_pass.o"
# IFLA_XDP_ATTACHED values as `ip -j -d link` reports them in xdp.mode
ATTACH_MODES = {1: "native", 2: "generic", 3: "offload", 4: "multi"}


@dataclass(frozen=True)
class Peer:
    """The other end of a veth: its name and namespace (ROOT_NS for the caller's)."""

    ifname: str
    netns: str


def _ip(ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = ["ip", *([] if ns == ROOT_NS else ["-n", ns]), *args]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def link(ifname: str, ns: str = ROOT_NS) -> dict[str, Any] | None:
    """`ip -j -d link show dev IFNAME` in `ns`, None when there is no such link."""
    res = _ip(ns, "-j", "-d", "link", "show", "dev", ifname)
    if res.returncode != 0:
        return None
    try:
        rows = json.loads(res.stdout)
    except ValueError:
        return None
    return rows[0] if rows and isinstance(rows[0], dict) else None


def attach_mode(info: dict[str, Any] | None) -> str | None:
    """native / generic / offload of a link's XDP program, None without one."""
    xdp = (info or {}).get("xdp") or {}
    mode = xdp.get("mode") if isinstance(xdp, dict) else None
    return ATTACH_MODES.get(mode) if isinstance(mode, int) else None


def prog_name(info: dict[str, Any] | None) -> str | None:
    """Name of a link's (single) XDP program, None without one."""
    xdp = (info or {}).get("xdp") or {}
    prog = xdp.get("prog") if isinstance(xdp, dict) else None
    return str(prog.get("name")) if isinstance(prog, dict) and prog.get("name") else None


def is_veth(info: dict[str, Any] | None) -> bool:
    kind = ((info or {}).get("linkinfo") or {}).get("info_kind")
    return kind == "veth"


def _netns_names() -> dict[int, str]:
    res = _ip(ROOT_NS, "-j", "netns", "list")
    try:
        rows = json.loads(res.stdout) if res.returncode == 0 and res.stdout.strip() else []
    except ValueError:
        rows = []
    return {int(r["id"]): str(r["name"]) for r in rows if isinstance(r, dict) and "id" in r}


def veth_peer(ifname: str) -> Peer | None:
    """The peer of veth `ifname` (caller's netns), None when it is not a veth or is unknown."""
    info = link(ifname)
    if not is_veth(info) or info is None or "link_index" not in info:
        return None
    nsid = info.get("link_netnsid")
    ns = ROOT_NS if nsid is None else _netns_names().get(int(nsid))
    if ns is None:
        return None
    res = _ip(ns, "-j", "link", "show")
    try:
        rows = json.loads(res.stdout) if res.returncode == 0 else []
    except ValueError:
        rows = []
    for row in rows:
        if isinstance(row, dict) and row.get("ifindex") == info["link_index"]:
            return Peer(str(row["ifname"]), ns)
    return None


def topology_links(run_dir: Path | None = None) -> set[Peer]:
    """Links `spp host up` created, from the host state files of the run directory."""
    root = run_dir or rundir.root()
    out: set[Peer] = set()
    if not root.is_dir():
        return out
    for path in sorted(root.glob("host-*.json")):
        try:
            data = json.loads(safefile.read_private(path))
        except (OSError, ValueError, safefile.UnsafeFile):
            continue
        for rec in data.get("links", []) if isinstance(data, dict) else []:
            if isinstance(rec, dict) and isinstance(rec.get("name"), str):
                out.add(Peer(rec["name"], str(rec.get("netns") or ROOT_NS)))
    return out


class PeerPrograms:
    """XDP_PASS programs this primary put on veth peers; `release_all` removes them."""

    def __init__(self, obj: Path = PASS_OBJECT, run_dir: Path | None = None) -> None:
        self.obj = obj
        self.run_dir = run_dir
        self.attached: list[Peer] = []

    def ensure(self, dst_ifname: str, ingress_mode: str | None) -> str:
        """Make XDP redirects to `dst_ifname` deliverable; what was found or done, one word.

        Raises XdpError when the fast path must not send there.
        """
        if ingress_mode != "native":
            return "not-needed"  # generic XDP redirects through dev_queue_xmit
        if not is_veth(link(dst_ifname)):
            return "not-veth"
        peer = veth_peer(dst_ifname)
        if peer is None:
            raise XdpError(f"cannot find the veth peer of {dst_ifname}")
        if peer in self.attached:
            return "attached"
        name = prog_name(link(peer.ifname, peer.netns))
        ours = peer in topology_links(self.run_dir)
        if name == PASS_PROG_NAME and ours:
            self.attached.append(peer)  # left by a primary that died: removed at our exit
            return "attached"
        if name is not None:
            return "peer-has-xdp"  # its program runs NAPI already
        if not ours:
            raise XdpError(f"the peer of {dst_ifname} ({peer.ifname} in {peer.netns}) has no "
                           "XDP program and was not created by `spp host up`: not touching it")
        if not self.obj.is_file():
            raise XdpError(f"{self.obj} not found: run `make build`")
        res = _ip(peer.netns, "link", "set", "dev", peer.ifname, "xdpdrv", "obj", str(self.obj),
                  "sec", "xdp")
        if res.returncode != 0:
            raise XdpError(f"cannot attach XDP_PASS to {peer.ifname} in {peer.netns}: "
                           f"{res.stderr.strip()}")
        self.attached.append(peer)
        log.info("attached %s to %s in %s (veth NAPI for redirects to %s)", PASS_PROG_NAME,
                 peer.ifname, peer.netns, dst_ifname)
        return "attached"

    def release_peers_of(self, ifnames: list[str]) -> None:
        """Remove XDP_PASS from the peers of `ifnames` that `spp host up` created.

        spp_vf puts it there for its chains' fast path and leaves it (another
        path may still send there); the primary, which owns the ports, takes
        it away when it exits.
        """
        links = topology_links(self.run_dir)
        for ifname in ifnames:
            peer = veth_peer(ifname)
            if peer is None or peer not in links:
                continue
            if prog_name(link(peer.ifname, peer.netns)) == PASS_PROG_NAME:
                _ip(peer.netns, "link", "set", "dev", peer.ifname, "xdpdrv", "off")

    def release_all(self) -> None:
        """Remove our XDP_PASS programs (only where ours still runs)."""
        for peer in self.attached:
            if prog_name(link(peer.ifname, peer.netns)) == PASS_PROG_NAME:
                _ip(peer.netns, "link", "set", "dev", peer.ifname, "xdpdrv", "off")
        self.attached = []
