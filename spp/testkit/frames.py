"""Tiny Ethernet/802.1Q/IPv4/ICMP/ARP parse and build helpers for tests (no scapy)."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import Any

ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
ETH_P_IPV6 = 0x86DD
BROADCAST = "ff:ff:ff:ff:ff:ff"


def mac_str(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def mac_bytes(mac: str) -> bytes:
    return bytes(int(x, 16) for x in mac.split(":"))


@dataclass(frozen=True)
class VlanTag:
    tpid: int
    vid: int
    pcp: int
    dei: int = 0


@dataclass(frozen=True)
class ParsedFrame:
    dst: str
    src: str
    vlans: tuple[VlanTag, ...] = ()
    ethertype: int = 0
    payload: bytes = b""
    ip_src: str | None = None
    ip_dst: str | None = None
    ip_proto: int | None = None
    icmp_type: int | None = None  # 8 echo request, 0 echo reply
    icmp_id: int | None = None
    icmp_seq: int | None = None
    arp_op: int | None = None  # 1 request, 2 reply
    arp_spa: str | None = None
    arp_tpa: str | None = None

    @property
    def vid(self) -> int | None:
        """VID of the outermost tag, None when untagged."""
        return self.vlans[0].vid if self.vlans else None

    @property
    def pcp(self) -> int | None:
        return self.vlans[0].pcp if self.vlans else None

    @property
    def is_icmp_echo(self) -> bool:
        return self.ip_proto == 1 and self.icmp_type in (0, 8)


def parse_frame(data: bytes) -> ParsedFrame:
    """Decode as much as is there; never raises on short or unknown frames."""
    if len(data) < 14:
        return ParsedFrame(dst="", src="", payload=data)
    dst, src = mac_str(data[0:6]), mac_str(data[6:12])
    off = 12
    vlans: list[VlanTag] = []
    ethertype = struct.unpack_from("!H", data, off)[0]
    while ethertype in (ETH_P_8021Q, ETH_P_8021AD) and len(data) >= off + 6:
        tci = struct.unpack_from("!H", data, off + 2)[0]
        vlans.append(VlanTag(ethertype, tci & 0x0FFF, tci >> 13, (tci >> 12) & 1))
        off += 4
        ethertype = struct.unpack_from("!H", data, off)[0]
    payload = data[off + 2 :]
    fields: dict[str, Any] = {}
    if ethertype == ETH_P_IP and len(payload) >= 20:
        ihl = (payload[0] & 0x0F) * 4
        fields["ip_proto"] = payload[9]
        fields["ip_src"] = str(ipaddress.IPv4Address(payload[12:16]))
        fields["ip_dst"] = str(ipaddress.IPv4Address(payload[16:20]))
        l4 = payload[ihl:]
        if payload[9] == 1 and len(l4) >= 8:
            fields["icmp_type"] = l4[0]
            fields["icmp_id"], fields["icmp_seq"] = struct.unpack_from("!HH", l4, 4)
    elif ethertype == ETH_P_ARP and len(payload) >= 28:
        fields["arp_op"] = struct.unpack_from("!H", payload, 6)[0]
        fields["arp_spa"] = str(ipaddress.IPv4Address(payload[14:18]))
        fields["arp_tpa"] = str(ipaddress.IPv4Address(payload[24:28]))
    return ParsedFrame(dst, src, tuple(vlans), ethertype, payload, **fields)


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet(
    dst: str, src: str, ethertype: int, payload: bytes, vlan: tuple[int, int] | None = None
) -> bytes:
    """An Ethernet frame; `vlan=(vid, pcp)` inserts one 802.1Q tag. Padded to 60 bytes."""
    head = mac_bytes(dst) + mac_bytes(src)
    if vlan is not None:
        vid, pcp = vlan
        head += struct.pack("!HH", ETH_P_8021Q, (pcp << 13) | (vid & 0x0FFF))
    frame = head + struct.pack("!H", ethertype) + payload
    return frame + b"\0" * max(0, 60 - len(frame))


def ipv4_icmp_echo(
    src_ip: str,
    dst_ip: str,
    ident: int = 0x5350,
    seq: int = 1,
    reply: bool = False,
    payload: bytes = b"spp-xdp",
) -> bytes:
    """IPv4 + ICMP echo request (or reply) bytes, checksums filled in."""
    icmp = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    total = 20 + len(icmp)
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        total,
        0,
        0x4000,
        64,
        1,
        0,
        ipaddress.IPv4Address(src_ip).packed,
        ipaddress.IPv4Address(dst_ip).packed,
    )
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + icmp


def icmp_echo_frame(
    dst: str,
    src: str,
    src_ip: str,
    dst_ip: str,
    vlan: tuple[int, int] | None = None,
    seq: int = 1,
    reply: bool = False,
) -> bytes:
    return ethernet(dst, src, ETH_P_IP, ipv4_icmp_echo(src_ip, dst_ip, seq=seq, reply=reply), vlan)


def arp_request_frame(
    src: str, src_ip: str, target_ip: str, vlan: tuple[int, int] | None = None
) -> bytes:
    body = struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, 1)
    body += mac_bytes(src) + ipaddress.IPv4Address(src_ip).packed
    body += b"\0" * 6 + ipaddress.IPv4Address(target_ip).packed
    return ethernet(BROADCAST, src, ETH_P_ARP, body, vlan)
