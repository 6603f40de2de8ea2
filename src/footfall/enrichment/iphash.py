"""Keyed hashes of IP addresses: the raw IP is never stored.

``ip_hash`` is HMAC-SHA256 keyed with a salt that the caller rotates (daily, per the
Millimetric spec), over the normalised address, so ``::ffff:1.2.3.4`` and ``1.2.3.4`` hash the
same. ``anonymous_id_for`` is a cookieless visitor id scoped to a project and environment.

>>> ip_hash("1.2.3.4", b"salt") == ip_hash(" ::ffff:1.2.3.4 ", b"salt")
True
>>> len(ip_hash("1.2.3.4", b"salt")), anonymous_id_for(b"s", "p", "live", "1.2.3.4", "ua")[:5]
(32, 'anon_')
"""

from __future__ import annotations

import functools
import hmac

from footfall.enrichment.geoip import normalise_ip

__all__ = ["anonymous_id_for", "ip_hash", "normalise_ip_text"]


@functools.lru_cache(maxsize=65536)
def normalise_ip_text(ip: str) -> str:
    """Canonical text of an IP (compressed IPv6, IPv4-mapped unwrapped); other input is
    stripped and lower-cased so it still hashes deterministically."""
    addr = normalise_ip(ip)
    return str(addr) if addr is not None else (ip or "").strip().lower()


def _hmac(salt: bytes, message: bytes) -> str:
    return hmac.digest(salt, message, "sha256").hex()


@functools.lru_cache(maxsize=65536)
def ip_hash(ip: str, salt: bytes) -> str:
    """HMAC-SHA256(salt, normalised ip), first 16 bytes as 32 lower-case hex chars."""
    return _hmac(salt, normalise_ip_text(ip).encode("utf-8"))[:32]


def anonymous_id_for(salt: bytes, project_id: str, env: str, ip: str, user_agent: str) -> str:
    """Cookieless visitor id: ``anon_`` + 24 hex chars of
    HMAC-SHA256(salt, project_id NUL env NUL normalised ip NUL user_agent)."""
    message = "\x00".join((project_id, env, normalise_ip_text(ip), user_agent or ""))
    return "anon_" + _hmac(salt, message.encode("utf-8"))[:24]
