from __future__ import annotations

import pytest

from footfall.auth.origins import client_ip, origin_allowed
from footfall.config import parse_cidrs


@pytest.mark.parametrize(
    ("origin", "allowed", "ok"),
    [
        ("http://localhost:5173", ["http://localhost:5173"], True),
        ("HTTP://LOCALHOST:5173", ["http://localhost:5173/"], True),
        ("https://example.com:443", ["https://example.com"], True),
        ("http://localhost:5174", ["http://localhost:5173"], False),
        ("https://example.com", ["http://example.com"], False),
        ("https://app.example.com", ["https://*.example.com"], True),
        ("https://example.com", ["https://*.example.com"], False),
        ("https://evilexample.com", ["https://*.example.com"], False),
        ("https://example.com.evil.org", ["https://example.com"], False),
        ("https://anything.test", ["*"], True),
        (None, ["*"], False),
        ("null", ["*"], False),
    ],
)
def test_origin_allowed(origin: str | None, allowed: list[str], ok: bool) -> None:
    assert origin_allowed(origin, allowed) is ok


TRUSTED = parse_cidrs("10.0.0.0/8,::1/128")


def test_forwarded_headers_are_ignored_unless_the_peer_is_trusted() -> None:
    headers = [(b"x-forwarded-for", b"203.0.113.9")]
    assert client_ip("198.51.100.1", headers, TRUSTED) == "198.51.100.1"
    assert client_ip("198.51.100.1", headers, ()) == "198.51.100.1"
    assert client_ip("10.1.2.3", headers, TRUSTED) == "203.0.113.9"


def test_right_most_untrusted_hop_wins() -> None:
    headers = [(b"x-forwarded-for", b"1.1.1.1, 203.0.113.9, 10.0.0.7")]
    assert client_ip("10.0.0.1", headers, TRUSTED) == "203.0.113.9"


def test_forwarded_header_forms() -> None:
    assert client_ip("::1", [(b"forwarded", b'for="[2001:db8::1]:4711";proto=https')], TRUSTED) == "2001:db8::1"
    assert client_ip("::1", [(b"forwarded", b"for=203.0.113.5:8080")], TRUSTED) == "203.0.113.5"
    assert client_ip("::1", [(b"x-forwarded-for", b"garbage")], TRUSTED) == "::1"
