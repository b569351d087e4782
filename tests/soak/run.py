"""`make soak`: 8 phy and 8 vhost ports under load while the configuration changes every second.

    phy:k -> fwd_in_k -> vhost:k -> peer (testpmd io, virtio-user pairs 0<->1, 2<->3, ...)
          -> vhost:k^1 -> fwd_out_k^1 -> phy:k^1

Frames sent on sk-ethK (namespace spp-soak) come back on sk-eth(K^1). Every
second one change is applied (the reader of a phy or vhost port leaves and
comes back, a writer comes back with its VLAN tag switched, a forwarder stops
and starts, a primary patch comes and goes, classifier entries churn). At the end, with the traffic
stopped and the rings empty:

    frames in == frames out + every counted drop

and the mbufs in use are back to where they were before the traffic. Prints a
JSON summary; exits 1 if a process died, the books do not balance, or the
pool did not come back. Not run by CI (`SOAK_SECONDS` shortens it).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from dataplane import settle, topology_up, veth_topology  # noqa: E402

from spp.client import SppError  # noqa: E402
from spp.testkit.session import E2ELock  # noqa: E402
from spp.testkit.stack import Stack, component, port, table  # noqa: E402
from spp.testkit.traffic import Flow, Traffic, iface_counter  # noqa: E402
from spp.testkit.wait import wait_for  # noqa: E402

N = 8
NS = "spp-sk"
SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
RATE = float(os.environ.get("SOAK_RATE", "5000"))  # frames/s per phy port
NOBODY = "02:00:00:00:ee:01"
VF_WORKERS = (3, 4, 5, 6)


def _peer(logdir: Path) -> subprocess.Popen[bytes]:
    """testpmd with 8 virtio-user ports on /tmp/sock0..7, io-forwarding pairs 0<->1 ..."""
    cpus = sorted(os.sched_getaffinity(0))
    argv = ["dpdk-testpmd", "--no-pci", "--in-memory", "--single-file-segments",
            "--file-prefix", "spp-soak-peer", "--lcores", f"0@{cpus[0]},1@{cpus[-1]}",
            "-m", "512", "--log-level", "warning"]
    for k in range(N):
        argv += ["--vdev", f"net_virtio_user{k},path=/tmp/sock{k}"]
    argv += ["--", "--forward-mode=io", "--auto-start", "--nb-cores=1", "--no-mlockall",
             "--total-num-mbufs=32768"]
    log = open(logdir / "peer.log", "wb")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.PIPE,
                            start_new_session=True)
    log.close()
    return proc


def _peer_stop(proc: subprocess.Popen[bytes], logdir: Path) -> dict[str, int]:
    """Stop testpmd (it prints its totals) and read its accumulated drops."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
    text = (logdir / "peer.log").read_text(errors="replace")
    block = text[text.rfind("Accumulated forward statistics"):]
    nums = {k: int(v) for k, v in re.findall(r"(RX-packets|RX-dropped|TX-packets|TX-dropped):"
                                             r"\s*(\d+)", block)}
    return nums


class Changes:
    """One configuration change per call, rotating over the kinds below."""

    def __init__(self, st: Stack) -> None:
        self.st = st
        self.i = 0
        self.ok = 0
        self.refused: list[str] = []
        self.vlan = [False] * N
        self.gone_drops = 0  # drops counted by forwarders that were stopped since

    def step(self) -> None:
        k = self.i % N
        kind = (self.i // N) % 6
        self.i += 1
        st = self.st
        try:
            if kind == 0:    # the reader of phy:k leaves and comes back
                st.vf(1, port("detach", f"phy:{k}", "rx", f"in{k}"),
                      port("attach", f"phy:{k}", "rx", f"in{k}"))
            elif kind == 1:  # the writer of phy:k comes back with the VLAN tag switched
                self.vlan[k] = not self.vlan[k]
                vlan = {"operation": "add", "id": 100 + k, "pcp": 0} if self.vlan[k] else None
                st.vf(1, port("detach", f"phy:{k}", "tx", f"out{k}"),
                      port("attach", f"phy:{k}", "tx", f"out{k}", vlan))
            elif kind == 2:  # a forwarder stops and starts again; its counters go with it
                core = VF_WORKERS[k % len(VF_WORKERS)]
                st.vf(1, port("detach", f"phy:{k}", "rx", f"in{k}"))  # idle: counters final
                self.gone_drops += sum(v for key, v in _components(st)[f"in{k}"].items()
                                       if key.startswith("drop_"))
                st.client.request("DELETE", f"/vfs/1/components/in{k}", None)
                st.vf(1, component(f"in{k}", core, "forward"),
                      port("attach", f"phy:{k}", "rx", f"in{k}"),
                      port("attach", f"vhost:{k}", "tx", f"in{k}"))
            elif kind == 3:  # primary patches come and go
                c = st.client
                if k % 2 == 0:
                    c.put("/primary/patches", {"src": "ring:0", "dst": "ring:1"})
                    c.put("/primary/forward", {"action": "start"})
                else:
                    c.put("/primary/forward", {"action": "stop"})
                    c.delete("/primary/patches")
            elif kind == 4:  # classifier entries churn
                mac = f"02:42:00:00:00:{k:02x}"
                st.vf(1, table("add", mac, "ring:3"), table("del", mac, "ring:3"))
            else:            # the reader of vhost:k leaves and comes back
                st.vf(1, port("detach", f"vhost:{k}", "rx", f"out{k}"),
                      port("attach", f"vhost:{k}", "rx", f"out{k}"))
            self.ok += 1
        except SppError as exc:
            self.refused.append(f"{kind}/{k}: {exc.reason}")


def _status(st: Stack) -> dict[str, Any]:
    return st.primary_status()


def _components(st: Stack) -> dict[str, dict[str, int]]:
    return {c["name"]: c["counters"] for c in st.vf_status(1)["components"] if "name" in c}


def _netdev(st: Stack, key: str) -> int:
    return sum(p["netdev"][key] for p in _status(st)["phy_ports"])


def _books(st: Stack, peer: dict[str, int], sent: int, out: int,
           veth_tx_dropped: int, gone_drops: int) -> dict[str, Any]:
    pst = _status(st)
    comps = _components(st)
    phys, vhosts = pst["phy_ports"], pst["vhost_ports"]
    drops = {
        "kernel_xsk_rx": sum(p["xdp_socket"]["rx_dropped"] + p["xdp_socket"]["rx_ring_full"]
                             for p in phys),
        "kernel_xsk_tx_invalid": sum(p["xdp_socket"]["tx_invalid_descs"] for p in phys),
        # sent by the af_xdp socket, dropped by the veth on the way to its peer
        "kernel_veth_tx_dropped": veth_tx_dropped,
        "bridge_rx_drop": sum(p["rx_drop"] for p in phys + vhosts),
        "bridge_tx_drop": sum(p["tx_drop"] for p in phys + vhosts),
        "drained": sum(p["drained"] for p in phys + vhosts),
        "vf_components": gone_drops + sum(v for c in comps.values() for k, v in c.items()
                                          if k.startswith("drop_")),
        "peer_rx_dropped": peer.get("RX-dropped", 0),
        "peer_tx_dropped": peer.get("TX-dropped", 0),
    }
    queued = sum(p["rx_queued"] + p["tx_queued"] for p in phys + vhosts)
    return {"in": sent, "out": out, "drops": drops, "queued": queued,
            "balance": sent - out - sum(drops.values()) - queued,
            "no_reader": sum(p["rx_no_reader"] for p in phys)}


def run() -> int:
    logdir = Path(tempfile.mkdtemp(prefix="spp-soak-"))
    topo = veth_topology("sk", N, index=0x5C)
    result: dict[str, Any] = {"seconds": SECONDS, "rate_per_port": RATE, "logs": str(logdir)}
    for k in range(N):
        Path(f"/tmp/sock{k}").unlink(missing_ok=True)
    try:
        with topology_up(topo), Stack(logdir) as st:
            peer: list[subprocess.Popen[bytes]] = []
            try:
                _soak(st, topo, logdir, peer, result)
            finally:
                for proc in peer:
                    _peer_stop(proc, logdir)
    finally:
        for k in range(N):
            Path(f"/tmp/sock{k}").unlink(missing_ok=True)
    print(json.dumps(result, indent=2))
    ok = (all(result["processes_alive"].values()) and result["books"]["balance"] == 0
          and result["mbuf_pool"]["end"] <= result["mbuf_pool"]["baseline"] + 512
          and not result["changes_refused"])
    print("soak: " + ("PASS" if ok else "FAIL"), file=sys.stderr)
    return 0 if ok else 1


def _soak(st: Stack, topo: Any, logdir: Path, peer: list[subprocess.Popen[bytes]],
          result: dict[str, Any]) -> None:
    st.start_ctl()
    st.start_primary("-l", "0,1,7", *[a for i in topo.phy_interfaces() for a in ("--phy", i)],
                     "--rings", "4", "--vhost-ports", str(N), "--bridge-ring-size", "2048")
    st.start_vf(1, "2-6")
    for k in range(N):
        core = VF_WORKERS[k % len(VF_WORKERS)]
        st.vf(1, component(f"in{k}", core, "forward"), component(f"out{k}", core, "forward"),
              port("attach", f"phy:{k}", "rx", f"in{k}"),
              port("attach", f"vhost:{k}", "tx", f"in{k}"),
              port("attach", f"vhost:{k}", "rx", f"out{k}"),
              port("attach", f"phy:{k}", "tx", f"out{k}"))
    st.vf(1, component("spare", VF_WORKERS[0], "classifier"),
          port("attach", "ring:2", "rx", "spare"), port("attach", "ring:3", "tx", "spare"))
    peer.append(_peer(logdir))
    wait_for(lambda: all(v["link"] == "up" for v in _status(st)["vhost_ports"]), 60,
             "the peer to connect every vhost port")
    base = settle(lambda: _status(st)["mbuf_pool"]["in_use"])
    out0 = {k: iface_counter(NS, f"sk-eth{k}", "rx_packets") for k in range(N)}
    refused0 = {k: iface_counter(NS, f"sk-eth{k}", "tx_dropped") for k in range(N)}
    veth0 = _netdev(st, "tx_dropped")
    st.client.delete("/primary/status")
    flows = [Flow(NS, f"sk-eth{k}", dst=NOBODY, src=f"02:00:00:00:5c:{k:02x}", tag=k)
             for k in range(N)]
    changes = Changes(st)
    peak = base
    t0 = time.monotonic()
    with Traffic(flows, rate=RATE) as gen:
        next_change = t0 + 1
        while time.monotonic() - t0 < SECONDS:
            time.sleep(max(0.0, next_change - time.monotonic()))
            next_change += 1
            changes.step()
            peak = max(peak, _status(st)["mbuf_pool"]["in_use"])
            dead = [name for name, proc in st.procs.items() if proc.poll() is not None]
            if dead:
                raise SystemExit(f"soak: {dead} died:\n{st.log(dead[0])}")
        sent_by_flow = gen.stop()
    # quiesce: every frame still in flight reaches a counter
    settle(lambda: [(p["rx"], p["tx"], p["rx_queued"], p["tx_queued"])
                    for p in _status(st)["phy_ports"] + _status(st)["vhost_ports"]],
           quiet=2.0, timeout=60)
    peer_totals = _peer_stop(peer.pop(), logdir)
    sent = sum(sent_by_flow.values()) - sum(
        iface_counter(NS, f"sk-eth{k}", "tx_dropped") - refused0[k] for k in range(N))
    out = sum(iface_counter(NS, f"sk-eth{k}", "rx_packets") - out0[k] for k in range(N))
    books = _books(st, peer_totals, sent, out, _netdev(st, "tx_dropped") - veth0,
                   changes.gone_drops)
    (logdir / "primary-status.json").write_text(json.dumps(_status(st), indent=1))
    (logdir / "vf-status.json").write_text(json.dumps(st.vf_status(1), indent=1))
    alive = {name: proc.poll() is None for name, proc in st.procs.items()}
    end = settle(lambda: _status(st)["mbuf_pool"]["in_use"], quiet=2.0)
    result.update({
        "changes_applied": changes.ok, "changes_refused": changes.refused[:10],
        "processes_alive": alive, "books": books, "peer": peer_totals,
        "mbuf_pool": {"baseline": base, "peak": peak, "end": end,
                      "size": _status(st)["mbuf_pool"]["size"]},
    })


def main() -> int:
    if os.geteuid() != 0:
        print("soak: must run as root", file=sys.stderr)
        return 1
    lock = E2ELock()
    lock.acquire()
    try:
        return run()
    finally:
        lock.release()


if __name__ == "__main__":
    sys.exit(main())
