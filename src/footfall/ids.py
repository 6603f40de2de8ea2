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
    ms = time.time_ns() // 1_000_000
    # Row ids need uniqueness, not secrecy: a PRNG seeded from the OS per process is enough
    # and saves a syscall per event.
    r = _random.getrandbits(74)
    rand_a = r >> 62
    rand_b = (r & ((1 << 62) - 1)) | (1 << 63)  # variant 10
    h = f"{ms & 0xFFFFFFFFFFFF:012x}7{rand_a:03x}{rand_b:016x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid4() -> str:
    return str(uuid.uuid4())
