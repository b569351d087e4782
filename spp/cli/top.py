"""`spp top`: a live terminal view of packet rates, drops, lcore load and ring fill.

It reads the controller's REST API once per interval (GET /processes, /primary/status
and /vfs/{id}, /nfvs/{id}, /mirrors/{id}, /pcaps/{id}: the same documents scripts read)
and shows,
per interval:

- ports of the primary (phy, vhost, ring) and of each secondary (vf, nfv, mirror):
  rx / tx packets per second, drops per second, ring fill (ports that moved nothing in
  the interval are counted in a caption instead, unless `--all`);
- components of each vf and mirror, and patches of each nfv (type `patch`, the rate
  its source port reads): rx / tx packets per second, drops per second by reason,
  busy cycles per packet in the interval; the capture of each pcap as one row
  (`capture PORT`, type `pcap`: frames taken, written, dropped for full writers);
- worker lcores of every process: busy share and busy cycles per second.

`--once` takes two samples one interval apart, prints one view and exits (for scripts).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from spp.client import Client, SppError
from spp.kinds import SECONDARY_KINDS

Key = tuple[str, ...]


@dataclass
class Sample:
    """Counters (monotonic, rated) and facts (shown as they are) of one poll."""

    t: float
    counters: dict[Key, float] = field(default_factory=dict)
    procs: list[str] = field(default_factory=list)
    ports: list[dict[str, Any]] = field(default_factory=list)  # primary ports, in order
    vf_ports: list[tuple[str, str]] = field(default_factory=list)
    comps: list[dict[str, Any]] = field(default_factory=list)
    lcores: list[tuple[str, int]] = field(default_factory=list)
    pool: dict[str, Any] | None = None
    error: str | None = None


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _put(c: dict[Key, float], key: Key, value: Any) -> None:
    v = _num(value)
    if v is not None:
        c[key] = v


def _primary(s: Sample, st: dict[str, Any]) -> None:
    c = s.counters
    for kind in ("phy", "vhost"):
        for p in st.get(f"{kind}_ports", []) or []:
            if not isinstance(p, dict) or "id" not in p:
                continue
            uid = f"{kind}:{p['id']}"
            s.ports.append({"uid": uid, "iface": p.get("iface", "")})
            _put(c, ("port", uid, "rx"), p.get("rx"))
            _put(c, ("port", uid, "tx"), p.get("tx"))
            drops = [p.get("rx_drop"), p.get("tx_drop")]
            xsk = p.get("xdp_socket")
            if isinstance(xsk, dict):
                drops += [xsk.get("rx_dropped"), xsk.get("rx_ring_full"),
                          xsk.get("rx_fill_ring_empty_descs"), xsk.get("tx_invalid_descs")]
            stats = p.get("stats")
            if isinstance(stats, dict):
                drops += [stats.get("imissed"), stats.get("rx_nombuf")]
            _put(c, ("port", uid, "drop"), sum(_num(d) or 0 for d in drops))
    for r in st.get("ring_ports", []) or []:
        if not isinstance(r, dict) or "id" not in r:
            continue
        uid = f"ring:{r['id']}"
        size, count = _num(r.get("size")), _num(r.get("count"))
        s.ports.append({"uid": uid, "iface": "", "fill": (count / size) if size and
                        count is not None else None})
        _put(c, ("port", uid, "rx"), r.get("rx"))
        _put(c, ("port", uid, "tx"), r.get("tx"))
        _put(c, ("port", uid, "drop"), (_num(r.get("rx_drop")) or 0)
             + (_num(r.get("tx_drop")) or 0))
    if isinstance(st.get("mbuf_pool"), dict):
        s.pool = st["mbuf_pool"]
    _lcores(s, "primary", st)


def _lcores(s: Sample, proc: str, st: dict[str, Any]) -> None:
    for lc in st.get("lcore_cycles", []) or []:
        if not isinstance(lc, dict) or not isinstance(lc.get("lcore"), int):
            continue
        s.lcores.append((proc, lc["lcore"]))
        for k in ("busy", "idle"):
            _put(s.counters, ("lcore", proc, str(lc["lcore"]), k), lc.get(k))
    hz = _num(st.get("tsc_hz"))
    if hz:
        s.counters[("hz", proc)] = hz


def _capture(s: Sample, proc: str, st: dict[str, Any]) -> None:
    """A pcap's capture as one component row: `capture PORT` on its receive lcore, rx the
    frames taken from the port, tx those written to files, drop_writer_full the others."""
    counters = st.get("counters")
    if not isinstance(counters, dict) or "received" not in counters:
        return
    rx = next((c for c in st.get("core", []) or [] if isinstance(c, dict)
               and c.get("role") == "receive"), {})
    port = next((p.get("port") for p in rx.get("rx_port", []) or [] if isinstance(p, dict)), "")
    name = f"capture {port}".strip()
    s.comps.append({"vf": proc, "name": name, "type": "pcap", "core": rx.get("core", "")})
    for key, counter in (("rx", "received"), ("tx", "written"), ("drop_writer_full", "dropped")):
        _put(s.counters, ("comp", proc, name, key), counters.get(counter))


def _secondary(s: Sample, kind: str, cid: int, st: dict[str, Any]) -> None:
    """A secondary's ports, components (vf, mirror), capture (pcap) or patches (nfv), and
    lcores."""
    c, vf = s.counters, f"{kind}:{cid}"
    for name, pc in (st.get("port_counters") or {}).items():
        if not isinstance(pc, dict):
            continue
        s.vf_ports.append((vf, name))
        for k in ("rx", "tx", "tx_drop"):
            _put(c, ("vfport", vf, name, k), pc.get(k))
    for comp in st.get("components", []) or []:
        if not isinstance(comp, dict) or "name" not in comp:
            continue
        name = comp["name"]
        s.comps.append({"vf": vf, "name": name, "type": comp.get("type", ""),
                        "core": comp.get("core", "")})
        for k, v in (comp.get("counters") or {}).items():
            _put(c, ("comp", vf, name, k), v)
        cyc = comp.get("cycles")
        if isinstance(cyc, dict):
            _put(c, ("comp", vf, name, "_busy"), cyc.get("busy"))
            _put(c, ("comp", vf, name, "_pkts"), cyc.get("packets"))
    _capture(s, vf, st)
    for patch in st.get("patches", []) or []:
        if not isinstance(patch, dict) or not isinstance(patch.get("src"), str):
            continue
        name = f"{patch['src']}->{patch.get('dst')}"
        s.comps.append({"vf": vf, "name": name, "type": "patch", "core": ""})
        _put(c, ("comp", vf, name, "rx"), c.get(("vfport", vf, patch["src"], "rx")))
    _lcores(s, vf, st)


def take_sample(cl: Client) -> Sample:
    s = Sample(t=time.monotonic())
    try:
        procs = cl.processes()
    except SppError as exc:
        s.error = exc.reason
        return s
    for p in procs:
        try:
            if p.get("type") == "primary":
                s.procs.append("primary")
                _primary(s, cl.primary_status())
            elif p.get("type") in SECONDARY_KINDS and isinstance(p.get("client-id"), int):
                kind, cid = SECONDARY_KINDS[str(p["type"])], p["client-id"]
                s.procs.append(kind.label(cid))
                st = cl.get(f"{kind.rest}/{cid}")
                _secondary(s, kind.name, cid, st if isinstance(st, dict) else {})
        except SppError as exc:
            s.error = f"{p.get('type')}: {exc.reason}"
    return s


class Rates:
    """Per-second differences of two samples; None where either lacks the counter."""

    def __init__(self, prev: Sample | None, cur: Sample) -> None:
        self.prev, self.cur = prev, cur
        self.dt = (cur.t - prev.t) if prev is not None else 0.0

    def delta(self, key: Key) -> float | None:
        if self.prev is None or self.dt <= 0:
            return None
        a, b = self.prev.counters.get(key), self.cur.counters.get(key)
        if a is None or b is None:
            return None
        return max(b - a, 0.0)  # a cleared counter restarts: no negative rates

    def per_s(self, key: Key) -> float | None:
        d = self.delta(key)
        return None if d is None else d / self.dt


def _pps(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.1f}k" if v >= 1e4 else f"{v:.0f}"


def render(prev: Sample | None, cur: Sample, where: str, show_all: bool = False) -> Group:
    """The view of one interval; ports that moved nothing are left out unless `show_all`."""
    r = Rates(prev, cur)
    head = Text(f"spp top  ctl {where}  every {r.dt:.1f} s" if prev else
                f"spp top  ctl {where}  (rates after the next sample)", style="bold")
    parts: list[Any] = [head]
    if cur.error:
        parts.append(Text(f"error: {cur.error}", style="red"))
    if cur.pool:
        parts.append(Text(f"mbuf pool {cur.pool.get('name', '')}: "
                          f"{cur.pool.get('in_use', '?')} of {cur.pool.get('size', '?')} in use"))

    ports = Table(title="Ports", title_justify="left", expand=False)
    for col in ("port", "rx pps", "tx pps", "drops/s", "fill"):
        ports.add_column(col, justify="left" if col == "port" else "right")
    hidden = 0
    for p in cur.ports:
        uid = p["uid"]
        fill = p.get("fill")
        moved = [r.per_s(("port", uid, k)) for k in ("rx", "tx", "drop")]
        if not show_all and prev is not None and not any(moved) and not fill:
            hidden += 1
            continue
        ports.add_row(uid + (f" ({p['iface']})" if p.get("iface") else ""),
                      _pps(r.per_s(("port", uid, "rx"))), _pps(r.per_s(("port", uid, "tx"))),
                      _pps(r.per_s(("port", uid, "drop"))),
                      "" if fill is None else f"{fill:.0%}")
    for vf, name in cur.vf_ports:
        moved = [r.per_s(("vfport", vf, name, k)) for k in ("rx", "tx", "tx_drop")]
        if not show_all and prev is not None and not any(moved):
            hidden += 1
            continue
        ports.add_row(f"{vf} {name}", _pps(r.per_s(("vfport", vf, name, "rx"))),
                      _pps(r.per_s(("vfport", vf, name, "tx"))),
                      _pps(r.per_s(("vfport", vf, name, "tx_drop"))), "")
    if hidden:
        ports.caption = f"{hidden} idle port(s) not shown (--all shows them)"
    parts.append(ports)

    comps = Table(title="Components", title_justify="left")
    for col in ("process", "component", "type", "core", "rx pps", "tx pps", "drops/s by reason",
                "cycles/pkt"):
        comps.add_column(col, justify="right" if col in ("rx pps", "tx pps", "cycles/pkt",
                                                        "core") else "left")
    for c in cur.comps:
        key = ("comp", c["vf"], c["name"])
        reasons = sorted(k[3] for k in cur.counters if k[:3] == key and k[3].startswith("drop_"))
        drops = [(k[5:], r.per_s((*key, k))) for k in reasons]
        shown = [f"{n} {_pps(v)}" for n, v in drops if v]
        busy, pkts = r.delta((*key, "_busy")), r.delta((*key, "_pkts"))
        cpp = f"{busy / pkts:.0f}" if busy is not None and pkts else "-"
        comps.add_row(c["vf"], c["name"], str(c["type"]), str(c["core"]),
                      _pps(r.per_s((*key, "rx"))), _pps(r.per_s((*key, "tx"))),
                      ", ".join(shown) or ("0" if prev else "-"), cpp)
    parts.append(comps)

    lcores = Table(title="Worker lcores", title_justify="left")
    for col in ("process", "lcore", "busy", "busy Mcycles/s"):
        lcores.add_column(col, justify="left" if col == "process" else "right")
    for proc, lc in cur.lcores:
        busy, idle = r.delta(("lcore", proc, str(lc), "busy")), r.delta(
            ("lcore", proc, str(lc), "idle"))
        share = f"{busy / (busy + idle):.2%}" if busy is not None and idle is not None and \
            busy + idle > 0 else "-"
        mcps = r.per_s(("lcore", proc, str(lc), "busy"))
        lcores.add_row(proc, str(lc), share, "-" if mcps is None else f"{mcps / 1e6:.1f}")
    parts.append(lcores)
    return Group(*parts)


def run(cl: Client, interval: float = 1.0, once: bool = False, show_all: bool = False,
        console: Console | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    """Print one view (`once`) or refresh a live view until Ctrl-C. Returns an exit code."""
    console = console or Console()
    where = cl.address
    prev = take_sample(cl)
    if prev.error and not prev.procs:
        console.print(f"spp top: {prev.error}", style="red", markup=False)
        return 1
    if once:
        sleep(interval)
        console.print(render(prev, take_sample(cl), where, show_all))
        return 0
    try:
        with Live(render(None, prev, where, show_all), console=console, refresh_per_second=4,
                  screen=False, vertical_overflow="visible") as live:
            while True:
                sleep(interval)
                cur = take_sample(cl)
                live.update(render(prev, cur, where, show_all))
                prev = cur
    except KeyboardInterrupt:
        return 0
