"""The observed stack of the observability tests: the classify-ICMP use case
with the XDP program in `registered` mode, a metrics exporter process, and frames sent
at a known rate from the remote namespace.

remote r-eth0 -> spp-p0 (XDP) -> phy:0 -> cls -> ring:0 -> fwd1 -> ring:2 -> mgr -> phy:1
                                             -> ring:1 -> fwd2 -> ring:3 ->   -> r-eth1
"""

from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass

from classify_icmp import MAC1, MAC2, NOBODY, REMOTE0, classify_icmp_config

from spp.testkit import frames
from spp.testkit.capture import open_packet_socket
from spp.testkit.stack import Stack
from spp.testkit.wait import free_port, wait_for


def start_observed_stack(stack: Stack) -> int:
    """Primary (registered XDP mode), vf 1 with the classify-ICMP configuration, and
    `spp metrics serve` on a free port reading this stack's controller. Returns that port.

    The XDP fast path is off: what is observed here is the userspace path (lcores, their
    cycles, the af_xdp sockets); test_xdp_vf_fastpath covers the counters of the XDP one."""
    stack.start_primary("--phy", "spp-p0", "--phy", "spp-p1", "--xdp-mode", "registered",
                        "--xdp-offload", "off")
    stack.start_vf(1, "2-6")
    classify_icmp_config(stack)
    mport = free_port()
    stack._spawn("metrics", ["metrics", "serve", "--port", str(mport), "--ctl-url",
                             f"http://127.0.0.1:{stack.api}"])
    wait_for(lambda: _http_ok(f"http://127.0.0.1:{mport}/metrics"), 15, "the exporter")
    return mport


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=3) as res:
        return bool(res.status == 200)


def echo(dst: str, seq: int) -> bytes:
    return frames.icmp_echo_frame(dst, REMOTE0, "198.18.0.1", "198.18.0.11", seq=seq)


def arp() -> bytes:
    return frames.arp_request_frame(REMOTE0, "198.18.0.1", "198.18.0.11")


@dataclass
class Sent:
    """What one paced send put on r-eth0, and when."""

    start: float
    end: float
    rate: float
    mac1: int = 0
    mac2: int = 0
    nobody: int = 0
    arp: int = 0

    @property
    def total(self) -> int:
        return self.mac1 + self.mac2 + self.nobody + self.arp

    @property
    def to_spp(self) -> int:
        """Frames the XDP program in registered mode hands to SPP."""
        return self.mac1 + self.mac2 + self.arp


# one period of the pattern: 6 x MAC1, 2 x MAC2, 1 x unregistered MAC, 1 x ARP broadcast
PATTERN = (MAC1,) * 6 + (MAC2,) * 2 + (NOBODY, "arp")


def send_pattern(seconds: float, rate: float, pattern: tuple[str, ...] = PATTERN,
                 ns: str = "spp-remote", ifname: str = "r-eth0") -> Sent:
    """Send `pattern` repeatedly at `rate` frames/s for `seconds` (paced per frame)."""
    count = int(seconds * rate)
    sock = open_packet_socket(ns, ifname)
    sent = Sent(start=time.time(), end=0.0, rate=rate)
    t0 = time.monotonic()
    try:
        for i in range(count):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            kind = pattern[i % len(pattern)]
            if kind == "arp":
                sock.send(arp())
                sent.arp += 1
            else:
                sock.send(echo(kind, i & 0xFFFF))
                if kind == MAC1:
                    sent.mac1 += 1
                elif kind == MAC2:
                    sent.mac2 += 1
                else:
                    sent.nobody += 1
    finally:
        sock.close()
    sent.end = time.time()
    return sent
