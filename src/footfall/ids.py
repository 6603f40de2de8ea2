"""Server-made identifiers."""

from __future__ import annotations

import os
import random
import time
import uuid

__all__ = ["uuid4", "uuid7"]

_random = random.Random(os.urandom(32))


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): time-ordered, so rows sort by arrival.

    >>> u = uuid7(); (len(u), u[14], u[19] in "89ab")
    (36, '7', True)
    """
    # Row ids need uniqueness, not secrecy: a PRNG seeded from the OS per process is enough
    # and saves a syscall per event. One integer, formatted once (#23: a quarter less CPU).
    r = _random.getrandbits(74)
    value = (
        ((time.time_ns() // 1_000_000 & 0xFFFFFFFFFFFF) << 80)  # unix_ts_ms
        | (0x7 << 76)  # version 7
        | ((r >> 62) << 64)  # rand_a, 12 bits
        | (1 << 63)  # variant 10
        | (r & 0x3FFFFFFFFFFFFFFF)  # rand_b, 62 bits
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid4() -> str:
    return str(uuid.uuid4())
