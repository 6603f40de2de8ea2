"""Browser-key origin checks and the client's IP behind trusted proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

__all__ = ["client_ip", "origin_allowed"]


def _normalise(origin: str) -> str:
    origin = origin.strip().lower().rstrip("/")
    for scheme, port in (("http://", ":80"), ("https://", ":443")):
        if origin.startswith(scheme) and origin.endswith(port):
            origin = origin[: -len(port)]
    return origin


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    """Exact scheme://host[:port] matches, `*` for any, or `https://*.example.com` for subdomains.

    >>> origin_allowed("https://app.example.com", ["https://*.example.com"])
    True
    >>> origin_allowed("https://example.com.evil.org", ["https://example.com"])
    False
    """
    if not origin or origin == "null":
        return False
    got = _normalise(origin)
    for entry in allowed:
        want = _normalise(entry)
        if want == "*" or want == got:
            return True
        if "://*." in want:
            scheme, rest = want.split("://*.", 1)
            if got.startswith(scheme + "://") and got.endswith("." + rest):
                return True
    return False


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_ip(
    peer: str | None,
    headers: Sequence[tuple[bytes, bytes]],
    trusted: Sequence[Network],
) -> str | None:
    """The socket peer, or the right-most untrusted hop of X-Forwarded-For/Forwarded when the
    peer (and each hop after it) is a trusted proxy."""
    if peer is None or not trusted or not _trusted(peer, trusted):
        return peer
    hops: list[str] = []
    for name, value in headers:
        if name == b"x-forwarded-for":
            hops.extend(h.strip() for h in value.decode("latin-1").split(","))
        elif name == b"forwarded":
            for element in value.decode("latin-1").split(","):
                for pair in element.split(";"):
                    key, _, val = pair.strip().partition("=")
                    if key.lower() == "for":
                        val = val.strip('"')
                        if val.startswith("["):
                            val = val[1 : val.find("]")]
                        elif val.count(":") == 1:
                            val = val.split(":")[0]
                        hops.append(val)
    for hop in reversed(hops):
        if not hop:
            continue
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _trusted(ip: str, trusted: Sequence[Network]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in trusted)
