"""CPU layout from /sys (GET /v1/cpu_layout)."""

from __future__ import annotations

from pathlib import Path

SYS_CPU = Path("/sys/devices/system/cpu")


def _online(root: Path) -> list[int]:
    text = (root / "online").read_text().strip() if (root / "online").exists() else ""
    if not text:
        return sorted(int(p.name[3:]) for p in root.glob("cpu[0-9]*"))
    return parse_list(text)


def parse_list(text: str) -> list[int]:
    """Parse a kernel/EAL cpu list such as `0-3,8,10-11`."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    return out


def cpu_layout(root: Path = SYS_CPU) -> list[dict[str, object]]:
    sockets: dict[int, dict[int, list[int]]] = {}
    for lcore in _online(root):
        topo = root / f"cpu{lcore}" / "topology"
        try:
            sock = int((topo / "physical_package_id").read_text())
            core = int((topo / "core_id").read_text())
        except (OSError, ValueError):
            sock, core = 0, lcore
        sockets.setdefault(max(sock, 0), {}).setdefault(core, []).append(lcore)
    return [
        {
            "socket_id": s,
            "cores": [{"core_id": c, "lcores": sorted(ls)} for c, ls in sorted(cores.items())],
        }
        for s, cores in sorted(sockets.items())
    ]
