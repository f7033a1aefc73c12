"""Crafted Ethernet frames for BPF_PROG_TEST_RUN: IPv4 or IPv6, TCP (a SYN), UDP or SCTP, with
valid lengths and the IPv4 header checksum (an XDP program may check them)."""

from __future__ import annotations

import ipaddress
import struct

PROTO_NUMBERS = {"TCP": 6, "UDP": 17, "SCTP": 132, "ICMP": 1}
_SRC_MAC, _DST_MAC = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _l4(protocol: str, sport: int, dport: int) -> bytes:
    if protocol == "TCP":
        return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x02, 64240, 0, 0)
    if protocol == "UDP":
        payload = b"kubeward"
        return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if protocol == "SCTP":
        return struct.pack("!HHII", sport, dport, 0, 0)
    return struct.pack("!BBHHH", 8, 0, 0, 1, 1)  # ICMP echo request


def frame(src: str, dst: str, protocol: str, dport: int, sport: int = 40000) -> bytes:
    """One Ethernet frame from ``src`` to ``dst`` (same address family) on ``protocol``/``dport``."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version != d.version:
        raise ValueError(f"{src} and {dst} are of different address families")
    l4 = _l4(protocol, sport, dport)
    number = PROTO_NUMBERS[protocol]
    if s.version == 4:
        head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, number, 0, s.packed, d.packed)
        head = head[:10] + struct.pack("!H", _checksum(head)) + head[12:]
        return _DST_MAC + _SRC_MAC + b"\x08\x00" + head + l4
    head6 = struct.pack("!IHBB16s16s", 0x60000000, len(l4), number, 64, s.packed, d.packed)
    return _DST_MAC + _SRC_MAC + b"\x86\xdd" + head6 + l4
