"""A minimal MaxMind DB writer, so tests can build the MMDB files GeoIP reads."""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path
from typing import Any

__all__ = ["write_mmdb"]

# --- minimal MaxMind DB writer (format spec: https://maxmind.github.io/MaxMind-DB/) ----------


def _ctrl(type_: int, size: int) -> bytes:
    if size < 29:
        head, ext = size, b""
    elif size < 285:
        head, ext = 29, bytes([size - 29])
    elif size < 65821:
        head, ext = 30, (size - 285).to_bytes(2, "big")
    else:
        head, ext = 31, (size - 65821).to_bytes(3, "big")
    if type_ <= 7:
        return bytes([(type_ << 5) | head]) + ext
    return bytes([head, type_ - 7]) + ext


def _uint(type_: int, value: int) -> bytes:
    """Pre-encoded unsigned int of an exact type (5 uint16, 6 uint32, 9 uint64)."""
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return _ctrl(type_, len(raw)) + raw


def _enc(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bool):
        return _ctrl(14, int(value))
    if isinstance(value, str):
        raw = value.encode()
        return _ctrl(2, len(raw)) + raw
    if isinstance(value, float):
        return _ctrl(3, 8) + struct.pack(">d", value)
    if isinstance(value, int):
        return _uint(6 if value < 2**32 else 9, value)
    if isinstance(value, dict):
        return _ctrl(7, len(value)) + b"".join(_enc(k) + _enc(v) for k, v in value.items())
    if isinstance(value, list):
        return _ctrl(11, len(value)) + b"".join(_enc(v) for v in value)
    raise TypeError(value)


def write_mmdb(path: Path, networks: dict[str, dict[str, Any]], db_type: str) -> Path:
    """IPv6 tree (IPv4 under ::/96), 32-bit records, one data blob per network."""
    nodes: list[list[Any]] = [[None, None]]
    data = b""
    for cidr, record in networks.items():
        net = ipaddress.ip_network(cidr)
        bits = int(net.network_address)  # an IPv4 network lives at ::a.b.c.d/(96 + prefix)
        plen = net.prefixlen + (96 if net.version == 4 else 0)
        offset, data = len(data), data + _enc(record)
        node = 0
        for depth in range(plen):
            bit = (bits >> (127 - depth)) & 1
            if depth == plen - 1:
                nodes[node][bit] = ("data", offset)
                break
            nxt = nodes[node][bit]
            if nxt is None:
                nodes.append([None, None])
                nxt = nodes[node][bit] = ("node", len(nodes) - 1)
            node = nxt[1]
    count = len(nodes)

    def rec(r: Any) -> int:
        if r is None:
            return count
        return r[1] if r[0] == "node" else count + 16 + r[1]

    tree = b"".join(struct.pack(">II", rec(a), rec(b)) for a, b in nodes)
    meta = {
        "node_count": _uint(6, count),
        "record_size": _uint(5, 32),
        "ip_version": _uint(5, 6),
        "database_type": db_type,
        "languages": ["en"],
        "binary_format_major_version": _uint(5, 2),
        "binary_format_minor_version": _uint(5, 0),
        "build_epoch": _uint(9, 1_700_000_000),
        "description": {"en": "footfall test db"},
    }
    path.write_bytes(tree + b"\x00" * 16 + data + b"\xab\xcd\xefMaxMind.com" + _enc(meta))
    return path


