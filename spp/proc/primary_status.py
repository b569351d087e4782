"""The primary's status document: devices, rings, the mbuf pool, read from the C core.

Field names follow upstream spp_primary's status (`phy_ports`, `ring_ports`,
`vhost_ports`, `forwarder`) plus what this implementation adds: per-device
counters of the device, its AF_XDP socket and its netdev, the owner of each
ring side, and the mbuf pool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spp.native.limits import SPP_DEV_BRIDGED, SPP_MAX_RINGS, SPP_MAX_VHOST
from spp.resources import format_mac

DEV_STATS = ("ipackets", "opackets", "ibytes", "obytes", "imissed", "ierrors", "oerrors",
             "rx_nombuf")
XSK_STATS = ("rx_dropped", "rx_invalid_descs", "tx_invalid_descs", "rx_ring_full",
             "rx_fill_ring_empty_descs", "tx_ring_empty_descs")
NETDEV_STATS = ("rx_packets", "rx_bytes", "rx_dropped", "rx_errors", "rx_nohandler",
                "tx_packets", "tx_bytes", "tx_dropped", "tx_errors")
NO_LCORE = 0xFFFF


def netdev_stats(iface: str) -> dict[str, int]:
    """The kernel's own counters of an af_xdp port's interface (what it dropped around XDP)."""
    base = Path("/sys/class/net") / iface / "statistics"
    out = {}
    for key in NETDEV_STATS:
        try:
            out[key] = int((base / key).read_text())
        except (OSError, ValueError):
            continue
    return out


def owner(pid: int, client_id: int) -> dict[str, int] | None:
    """Who holds a port's or ring's reading or writing side (client 0: the primary)."""
    return {"pid": pid, "client_id": client_id} if pid else None


def device(ffi: Any, info: Any) -> dict[str, Any]:
    """One phy or vhost device from its `struct spp_dev_info`."""
    out: dict[str, Any] = {
        "id": info.id, "rx": info.rx, "tx": info.tx, "tx_drop": info.tx_drop,
        "rx_drop": info.rx_drop, "rx_no_reader": info.rx_no_reader,
        "drained": info.drained, "rx_queued": info.rx_queued,
        "tx_queued": info.tx_queued, "eth": format_mac(bytes(info.mac)),
        "iface": ffi.string(info.name).decode(),
        "driver": ffi.string(info.driver).decode(),
        "nof_queues": {"rx": max(1, info.nb_queues), "tx": max(1, info.nb_queues)},
        "mode": "bridged" if info.kind == SPP_DEV_BRIDGED else "direct",
        "link": "up" if info.link_up else "down",
        "promiscuous": bool(info.promiscuous),
        "lcore": None if info.lcore == NO_LCORE else info.lcore,
        "reader": owner(info.reader_pid, info.reader_client),
        "writer": owner(info.writer_pid, info.writer_client),
    }
    if info.has_stats:
        out["stats"] = {k: getattr(info.stats, k) for k in DEV_STATS}
    if info.has_xsk:
        out["xdp_socket"] = {k: getattr(info.xsk, k) for k in XSK_STATS}
        netdev = netdev_stats(out["iface"])
        if netdev:
            out["netdev"] = netdev
    return out


def devices(ffi: Any, lib: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(phy ports, vhost ports) as the C core sees them now."""
    info = ffi.new("struct spp_dev_info *")
    phys = [device(ffi, info) for i in range(lib.spp_primary_nb_phy())
            if lib.spp_primary_phy_info(i, info) == 0]
    vhosts = [device(ffi, info) for i in range(SPP_MAX_VHOST)
              if lib.spp_primary_vhost_info(i, info) == 0]
    return phys, vhosts


def rings(ffi: Any, lib: Any) -> list[dict[str, Any]]:
    """Every ring:N with its counters, fill, and the owners of its two sides."""
    r = ffi.new("struct spp_ring_info *")
    out = []
    for i in range(SPP_MAX_RINGS):
        if lib.spp_primary_ring_info(i, r) != 0:
            continue
        out.append({"id": r.id, "rx": r.rx, "rx_drop": r.rx_drop, "tx": r.tx,
                    "tx_drop": r.tx_drop, "size": r.size, "count": r.count,
                    "drained": r.drained, "reader": owner(r.reader_pid, r.reader_client),
                    "writer": owner(r.writer_pid, r.writer_client)})
    return out


def pool(ffi: Any, lib: Any) -> dict[str, Any]:
    """The shared mbuf pool: size, use, and what is withdrawn or lost."""
    p = ffi.new("struct spp_pool_info *")
    if lib.spp_primary_pool_info(p) != 0:
        return {}
    return {"name": ffi.string(p.name).decode(), "size": p.size, "in_use": p.in_use,
            "available": p.available, "reserved": p.reserved,
            "outside_umem": p.outside_umem, "lost": p.lost}


def add_fast_path(phys: list[dict[str, Any]], totals: tuple[dict[int, int], dict[int, int]],
                  base: tuple[dict[int, int], dict[int, int]]) -> None:
    """Add what the XDP fast path forwarded (since `clear`) to the phy ports' rx/tx.

    `rx`/`tx` stay the port's whole traffic; `xdp_fwd` says how much of it XDP
    forwarded, so rx - xdp_fwd.rx is what the DPDK bridge saw.
    """
    (rx, tx), (rx0, tx0) = totals, base
    for p in phys:
        pid = p["id"]
        xr = max(0, rx.get(pid, 0) - rx0.get(pid, 0))
        xt = max(0, tx.get(pid, 0) - tx0.get(pid, 0))
        p["xdp_fwd"] = {"rx": xr, "tx": xt}
        p["rx"] += xr
        p["tx"] += xt
