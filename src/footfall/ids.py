"""Server-made identifiers."""

from __future__ import annotations

import os
import time
import uuid

__all__ = ["uuid4", "uuid7"]


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): time-ordered, so rows sort by arrival."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def uuid4() -> str:
    return str(uuid.uuid4())
