"""The primary's patch fast path: which patches XDP forwards, and the map writes in order.

`routes()` says which of the primary's patches XDP can forward: phy-to-phy,
both ends af_xdp ports whose steering maps are pinned, forwarding on, and
offload on. `FastPath` moves patches between the DPDK path and XDP with one
rule that keeps every frame on exactly one path:

- on:  write the destination's devmap entry (spp_tx_ports), then turn the
       ingress port's spp_patch entry on (one update);
- off: turn spp_patch off (one update), then delete the devmap entry.

A frame that finds the patch off or the entry missing goes to the AF_XDP
socket, where the primary's DPDK patch (always in place) forwards it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from spp.resources import ResourceError, parse_uid

log = logging.getLogger("spp.xdp")

XDP, DPDK = "xdp", "dpdk"


@dataclass(frozen=True)
class Route:
    """One patch forwarded in XDP: frames of `src_if` go out on `dst_if` (phy:`dst_id`)."""

    src: str
    dst: str
    src_if: str
    dst_if: str
    dst_id: int


def _phy_id(uid: str) -> int | None:
    try:
        r = parse_uid(uid)
    except ResourceError:
        return None
    return r.id if r.kind == "phy" else None


def routes(patches: list[tuple[str, str]], phys: dict[int, str], forwarding: bool,
           offload: bool) -> dict[str, Route]:
    """The patches XDP forwards, by ingress interface.

    `phys`: phy id -> interface of the af_xdp ports whose steering maps are pinned.
    """
    if not (forwarding and offload):
        return {}
    out: dict[str, Route] = {}
    for src, dst in patches:
        s, d = _phy_id(src), _phy_id(dst)
        if s is None or d is None or s not in phys or d not in phys:
            continue
        out[phys[s]] = Route(src, dst, phys[s], phys[d], d)
    return out


class MapWriter(Protocol):
    """The part of spp.xdp.XdpSteering the fast path writes through."""

    def set_tx_port(self, iface: str, port_id: int, ifindex: int) -> None: ...
    def del_tx_port(self, iface: str, port_id: int) -> bool: ...
    def set_patch(self, iface: str, port_id: int | None) -> None: ...


class FastPath:
    """The routes XDP forwards now, moved on and off in the order above.

    `prepare(route)` runs before a route goes on (e.g. the veth peer's XDP_PASS
    program) and may raise: the route then stays on the DPDK path, and
    `errors` says why.
    """

    def __init__(self, maps: Callable[[], MapWriter], ifindex: Callable[[str], int],
                 prepare: Callable[[Route], Any] | None = None) -> None:
        self._maps = maps
        self._ifindex = ifindex
        self._prepare = prepare
        self.active: dict[str, Route] = {}
        self.errors: dict[str, str] = {}

    def retire(self, keep: dict[str, Route]) -> None:
        """Before a change: active routes not in `keep` go back to the socket."""
        for src_if, r in list(self.active.items()):
            if keep.get(src_if) == r:
                continue
            m = self._maps()
            try:
                m.set_patch(src_if, None)  # from now on frames go to the socket
            except Exception as exc:
                log.warning("%s: cannot turn the fast path off: %s", src_if, exc)
            try:
                m.del_tx_port(src_if, r.dst_id)  # a missing entry also means the socket
            except Exception as exc:
                self.errors[src_if] = f"cannot leave the XDP fast path: {exc}"
                log.error("%s: %s", src_if, self.errors[src_if])
                continue
            del self.active[src_if]

    def enable(self, want: dict[str, Route]) -> None:
        """After a change: routes in `want` that are not active go to XDP."""
        for src_if in [k for k in self.errors if k not in want and k not in self.active]:
            del self.errors[src_if]
        for src_if, r in want.items():
            if self.active.get(src_if) == r:
                continue
            m = self._maps()
            try:
                if self._prepare is not None:
                    self._prepare(r)
                m.set_tx_port(src_if, r.dst_id, self._ifindex(r.dst_if))
                m.set_patch(src_if, r.dst_id)
            except Exception as exc:
                self.errors[src_if] = f"{r.src} -> {r.dst} stays on the DPDK path: {exc}"
                log.warning("%s", self.errors[src_if])
                self._undo(m, r)
                continue
            self.active[src_if] = r
            self.errors.pop(src_if, None)

    def _undo(self, m: MapWriter, r: Route) -> None:
        for step in (lambda: m.set_patch(r.src_if, None),
                     lambda: m.del_tx_port(r.src_if, r.dst_id)):
            try:
                step()
            except Exception as exc:
                log.warning("%s: undo: %s", r.src_if, exc)

    def sync(self, want: dict[str, Route]) -> None:
        self.retire(want)
        self.enable(want)

    def datapath(self, src_if: str | None) -> str:
        return XDP if src_if is not None and src_if in self.active else DPDK
