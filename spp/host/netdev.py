"""Netdev and namespace operations through pyroute2 (IPRoute, netns, Ethtool)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import IPRoute, NetlinkError, netns
from pyroute2.ethtool import Ethtool

from spp.host.topology import ROOT_NS, Veth, VethEnd

XDP_FLAGS_SKB_MODE = 2
XDP_FLAGS_DRV_MODE = 4


@dataclass(frozen=True)
class LinkInfo:
    name: str
    netns: str
    index: int
    mac: str
    mtu: int
    up: bool
    ipv4: tuple[str, ...]
    xdp_prog_ids: tuple[int, ...]
    kind: str | None


def list_namespaces() -> list[str]:
    return sorted(netns.listnetns())


def ns_exists(name: str) -> bool:
    return name == ROOT_NS or name in netns.listnetns()


def create_namespace(name: str) -> None:
    netns.create(name)
    create_namespace_lo_up(name)


def create_namespace_lo_up(name: str) -> None:
    """Bring `lo` up inside namespace `name` (no-op when it already is)."""
    with ipr_in(name) as ipr:
        idx = ipr.link_lookup(ifname="lo")[0]
        if not ipr.get_links(idx)[0]["flags"] & 1:
            ipr.link("set", index=idx, state="up")


def remove_namespace(name: str) -> None:
    if name in netns.listnetns():
        netns.remove(name)


@contextlib.contextmanager
def ipr_in(ns: str) -> Iterator[IPRoute]:
    """An IPRoute socket in namespace `ns` ("root" = ours); never creates the namespace."""
    ipr = IPRoute() if ns == ROOT_NS else IPRoute(netns=ns, flags=0)
    try:
        yield ipr
    finally:
        ipr.close()


@contextlib.contextmanager
def entered(ns: str) -> Iterator[None]:
    """Run the body with this thread inside `ns` (for ioctl sockets and /proc/sys/net)."""
    if ns == ROOT_NS:
        yield
        return
    netns.pushns(ns)
    try:
        yield
    finally:
        netns.popns()


def link_index(ns: str, name: str) -> int | None:
    if not ns_exists(ns):
        return None
    with ipr_in(ns) as ipr:
        found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def link_info(ns: str, name: str) -> LinkInfo | None:
    if not ns_exists(ns):
        return None
    with ipr_in(ns) as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return None
        msg = ipr.get_links(found[0])[0]
        addrs = [
            f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"
            for a in ipr.get_addr(index=found[0], family=2)
        ]
    xdp = msg.get_attr("IFLA_XDP")
    prog_ids: list[int] = []
    if xdp is not None:
        for key in ("IFLA_XDP_PROG_ID", "IFLA_XDP_SKB_PROG_ID", "IFLA_XDP_DRV_PROG_ID"):
            value = xdp.get_attr(key)
            if value and value not in prog_ids:
                prog_ids.append(int(value))
    linkinfo = msg.get_attr("IFLA_LINKINFO")
    kind = linkinfo.get_attr("IFLA_INFO_KIND") if linkinfo is not None else None
    return LinkInfo(
        name=name,
        netns=ns,
        index=int(msg["index"]),
        mac=str(msg.get_attr("IFLA_ADDRESS")),
        mtu=int(msg.get_attr("IFLA_MTU")),
        up=bool(msg["flags"] & 1),
        ipv4=tuple(addrs),
        xdp_prog_ids=tuple(prog_ids),
        kind=kind,
    )


def create_veth(veth: Veth) -> None:
    """Create the pair from inside end a's namespace, with the peer placed in end b's."""
    a, b = veth.a, veth.b
    peer: dict[str, object] = {"ifname": b.name}
    if b.in_root:
        peer["net_ns_pid"] = os.getpid()
    else:
        peer["net_ns_fd"] = b.netns
    with ipr_in(a.netns) as ipr:
        ipr.link("add", ifname=a.name, kind="veth", peer=peer)


def delete_link(ns: str, name: str) -> bool:
    idx = link_index(ns, name)
    if idx is None:
        return False
    with ipr_in(ns) as ipr:
        try:
            ipr.link("del", index=idx)
        except NetlinkError as exc:
            if exc.code != 19:  # ENODEV: the peer went first
                raise
    return True


def _write_sysctl(path: Path, value: str) -> None:
    with contextlib.suppress(OSError):
        if path.read_text().strip() != value:
            path.write_text(value)


def quiet_ipv6(end: VethEnd) -> None:
    """No IPv6 on our veths: no DAD/RS/MLD frames in captures."""
    conf = Path("/proc/sys/net/ipv6/conf") / end.name
    with entered(end.netns):
        _write_sysctl(conf / "accept_dad", "0")
        _write_sysctl(conf / "disable_ipv6", "1")


def set_tx_checksum(end: VethEnd) -> None:
    """`ethtool -K IF tx on|off` through pyroute2's ethtool (ioctl in the end's netns)."""
    with entered(end.netns):
        eth = Ethtool()
        try:
            feats = eth.get_features(end.name)
            changed = False
            for key, feat in feats.features.items():
                if key.startswith("tx-checksum") and feat.available:
                    if feat.enable != end.tx_checksum:
                        feat.enable = end.tx_checksum
                        changed = True
            if changed:
                eth.set_features(end.name, feats)
        finally:
            eth.close()


def configure_end(end: VethEnd) -> None:
    """Bring one end to its declared MAC/MTU/IPv4/offload state, up; no-op when it already is."""
    quiet_ipv6(end)
    set_tx_checksum(end)
    info = link_info(end.netns, end.name)
    if info is None:
        raise RuntimeError(f"interface {end.name} vanished from netns {end.netns}")
    with ipr_in(end.netns) as ipr:
        changes: dict[str, object] = {}
        if end.mac is not None and info.mac.lower() != end.mac:
            changes["address"] = end.mac
        if info.mtu != end.mtu:
            changes["mtu"] = end.mtu
        if changes:
            ipr.link("set", index=info.index, **changes)
        if end.ipv4 is not None and end.ipv4 not in info.ipv4:
            address, prefix = end.ipv4.split("/")
            ipr.addr("add", index=info.index, address=address, prefixlen=int(prefix))
        if not info.up:
            ipr.link("set", index=info.index, state="up")


def xdp_off(ns: str, name: str) -> bool:
    """Detach any XDP program (generic and native), like `ip link set dev X xdp off`."""
    info = link_info(ns, name)
    if info is None or not info.xdp_prog_ids:
        return False
    with ipr_in(ns) as ipr:
        for flags in (XDP_FLAGS_SKB_MODE, XDP_FLAGS_DRV_MODE):
            with contextlib.suppress(NetlinkError):
                ipr.link(
                    "set",
                    index=info.index,
                    xdp={"attrs": [("IFLA_XDP_FD", -1), ("IFLA_XDP_FLAGS", flags)]},
                )
    return True
