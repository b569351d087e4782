"""Text rendering of status JSON, in the shapes upstream SPP users know."""

from __future__ import annotations

import ipaddress
from typing import Any


def _port_line(direction: str, attr: dict[str, Any]) -> str:
    vlan = attr.get("vlan") or {}
    op = vlan.get("operation", "none")
    if op == "add":
        return (
            f"    - {direction}: {attr['port']} (vlan operation: add, "
            f"id: {vlan.get('id')}, pcp: {vlan.get('pcp')})"
        )
    if op == "del":
        return f"    - {direction}: {attr['port']} (vlan operation: del)"
    return f"    - {direction}: {attr['port']}"


def restored_lines(st: dict[str, Any]) -> list[str]:
    """`Restored: ...` when the controller gave a restarted process its configuration back."""
    r = st.get("restored")
    if not isinstance(r, dict):
        return []
    counts = ", ".join(f"{r[k]} {k}" for k in ("components", "ports", "ports_deleted",
                                               "classifier_table", "patches") if k in r)
    lines = [f"Restored: {counts} (pid {r.get('pid')})"]
    lines += [f"  - failed: {f}" for f in r.get("failed") or []]
    return lines


def vf_status(st: dict[str, Any]) -> str:
    """`vf N; status` exactly in upstream spp_vf's shape (no `Components:` header)."""
    comps = st.get("components", [])
    slaves = st.get("worker-lcores")
    if slaves is None:
        slaves = list(dict.fromkeys(c["core"] for c in comps))
    lines = [
        "Basic Information:",
        f"  - client-id: {st.get('client-id')}",
        f"  - ports: [{', '.join(st.get('ports', []))}]",
        "  - lcore_ids:",
        f"    - master: {st.get('master-lcore')}",
        f"    - slaves: [{', '.join(str(c) for c in slaves)}]",
        "Classifier Table:",
    ]
    table = st.get("classifier_table", [])
    if not table:
        lines.append("  No entries.")
    lines += [f"  - {e['value']}, {e['port']}" for e in table]
    for comp in comps:
        if "name" not in comp or comp.get("type") == "unuse":
            lines.append(f"  - core:{comp['core']} '' (type: unuse)")
            continue
        lines.append(f"  - core:{comp['core']} '{comp['name']}' (type: {comp['type']})")
        for direction in ("rx", "tx"):
            lines += [_port_line(direction, a) for a in comp.get(f"{direction}_port", [])]
    return "\n".join(lines + restored_lines(st))


def mirror_status(st: dict[str, Any]) -> str:
    """`mirror N; status` in upstream spp_mirror's shape (tx ports in one list)."""
    comps = st.get("components", [])
    slaves = st.get("worker-lcores")
    if slaves is None:
        slaves = [c["core"] for c in comps]
    lines = [
        "Basic Information:",
        f"  - client-id: {st.get('client-id')}",
        f"  - ports: [{', '.join(st.get('ports', []))}]",
        "  - lcore_ids:",
        f"    - master: {st.get('master-lcore')}",
        f"    - slave: {slaves[0]}" if len(slaves) == 1
        else f"    - slaves: [{', '.join(str(c) for c in slaves)}]",
        "Components:",
    ]
    for comp in comps:
        if "name" not in comp or comp.get("type") == "unuse":
            lines.append(f"  - core:{comp['core']} '' (type: unuse)")
            continue
        lines.append(f"  - core:{comp['core']} '{comp['name']}' (type: {comp['type']})")
        rx = comp.get("rx_port", [])
        lines.append(f"    - rx: {rx[0]['port'] if rx else ''}")
        tx = [a["port"] for a in comp.get("tx_port", [])]
        lines.append(f"    - tx: [{', '.join(tx)}]" if tx else "    - tx: ")
        if comp.get("waiting"):  # short of ports: why it forwards nothing yet
            lines.append(f"    - waiting: {comp['waiting']}")
    return "\n".join(lines + restored_lines(st))


def pcap_status(st: dict[str, Any]) -> str:
    """`pcap N; status` in upstream's shape, then the counters of the capture."""
    cores = st.get("core", [])
    lines = [
        "Basic Information:",
        f"  - client-id: {st.get('client-id')}",
        f"  - status: {st.get('status')}",
        "  - lcore_ids:",
        f"    - master: {st.get('master-lcore')}",
        f"    - slaves: [{', '.join(str(c.get('core')) for c in cores)}]",
        "Components:",
    ]
    for core in cores:
        lines.append(f"  - core:{core.get('core')} {core.get('role')}")
        if core.get("role") == "receive":
            rx = core.get("rx_port", [])
            lines.append(f"    - rx: {rx[0]['port'] if rx else ''}")
        else:
            lines.append(f"    - filename: {core.get('filename', '')}")
            if core.get("error"):  # the write error that stopped this writer's files
                lines.append(f"    - error: {core['error']}")
    c = st.get("counters")
    if isinstance(c, dict):
        lines.append(f"Counters: received {c.get('received')}, written {c.get('written')}, "
                     f"dropped {c.get('dropped')}")
    return "\n".join(lines)


def nfv_status(st: dict[str, Any]) -> str:
    """`nfv N; status` in upstream spp_nfv's shape: a patched port shows `-> DST`."""
    master = st.get("master-lcore")
    slaves = [c for c in st.get("lcores", []) if c != master]
    dst = {p["src"]: p["dst"] for p in st.get("patches", [])}
    lines = [f"- status: {st.get('status')}", "- lcore_ids:", f"  - master: {master}"]
    if len(slaves) == 1:
        lines.append(f"  - slave: {slaves[0]}")
    else:
        lines.append(f"  - slaves: [{', '.join(str(c) for c in slaves)}]")
    lines.append("- ports:")
    for port in st.get("ports", []):
        lines.append(f"  - {port} -> {dst[port]}" if port in dst else f"  - {port}")
    return "\n".join(lines + restored_lines(st))


def _datapath(patch: dict[str, Any]) -> str:
    """` (xdp)`, ` (xdp, generic)` or ` (dpdk)`: who forwards a patch's frames."""
    path = patch.get("datapath")
    if not path:
        return ""
    attach = patch.get("xdp_attach")
    return f" ({path}, {attach})" if path == "xdp" and attach == "generic" else f" ({path})"


def primary_status(st: dict[str, Any]) -> str:
    """`pri; status`: lcores, port stats, then patches and forwarding state."""
    lcores = st.get("lcores", [])
    lines = ["- lcore_ids:", f"  - master: {st.get('master-lcore', lcores[0] if lcores else '')}"]
    if len(lcores) > 1:
        lines.append(f"  - slaves: [{', '.join(str(c) for c in lcores[1:])}]")
    lines += [
        "- stats",
        "  - physical ports:",
        f"      {'ID':>2}{'rx':>12}{'tx':>12}{'tx_drop':>12}  mac_addr",
    ]
    for p in st.get("phy_ports", []):
        lines.append(
            f"      {p['id']:>2}{p.get('rx', 0):>12}{p.get('tx', 0):>12}"
            f"{p.get('tx_drop', 0):>12}  {p.get('eth', '')}"
        )
    lines += [
        "  - ring ports:",
        f"      {'ID':>2}{'rx':>12}{'tx':>12}{'rx_drop':>12}{'tx_drop':>12}",
    ]
    for r in st.get("ring_ports", []):
        lines.append(
            f"      {r['id']:>2}{r.get('rx', 0):>12}{r.get('tx', 0):>12}"
            f"{r.get('rx_drop', 0):>12}{r.get('tx_drop', 0):>12}"
        )
    if "patches" in st:
        lines.append("- patches:")
        lines += [f"  - {p['src']} -> {p['dst']}{_datapath(p)}"
                  for p in st["patches"]] or ["  No patches."]
    if "forwarding" in st:
        lines.append(f"- forwarding: {'running' if st['forwarding'] else 'idling'}")
    return "\n".join(lines + restored_lines(st))


def overall_status(address: str, processes: list[dict[str, Any]]) -> str:
    """Top-level `status`: controller address, primary state, secondaries."""
    has_pri = any(p.get("type") == "primary" for p in processes)
    secs = [p for p in processes if p.get("type") != "primary"]
    lines = [
        "- spp-ctl:",
        f"  - address: {address}",
        "- primary:",
        f"  - status: {'running' if has_pri else 'not running'}",
        "- secondary:",
        "  - processes:",
    ]
    lines += [f"    {p['client-id']}: {p['type']}:{p['client-id']}" for p in secs]
    return "\n".join(lines)


def is_loopback(addr: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`; False for a wildcard or any other address."""
    if addr == "localhost":
        return True
    try:
        return ipaddress.ip_address(addr.strip("[]")).is_loopback
    except ValueError:
        return False


def ctl_security(info: dict[str, Any]) -> list[str]:
    """`spp status` lines on the controller's listeners (GET /v1/ctl): REST authentication,
    and whether the primary's and secondaries' control ports (no authentication there)
    are reachable from other hosts."""
    bind = str(info.get("bind", ""))
    ports = info.get("ports") or {}
    pri, sec = ports.get("primary"), ports.get("secondary")
    lines = [f"  - auth: {info.get('auth', 'none')}"]
    where = f"primary {bind}:{pri}, secondary {bind}:{sec}"
    if is_loopback(bind):
        lines.append(f"  - control ports: {where} (loopback only)")
    else:
        lines.append(f"  - control ports: {where}")
        lines.append(f"warning: the control ports {where} take commands without "
                     "authentication from other hosts; run `spp ctl -b 127.0.0.1` "
                     "(docs/security.md).")
    return lines
