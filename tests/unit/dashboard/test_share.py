"""The share-link unlock cookie: opens only its own link, only while recent, only untampered."""

from __future__ import annotations

import time

from starlette.requests import Request

from footfall.dashboard import share
from footfall.store.meta.sharing import ShareLink


def _link(link_id: str, password_hash: str | None = "scrypt$32768$8$1$salt$hash") -> ShareLink:
    return ShareLink(link_id, "prj_1", "live", "", password_hash, (), "a@example.com",
                     "2026-01-01T00:00:00Z", None, None, None)


def _request(cookie: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [(b"cookie", f"footfall_share={cookie}".encode())]})


def test_cookie_opens_its_link_only() -> None:
    a, b = _link("shr_a"), _link("shr_b")
    value = share.unlock_value(a)
    assert share.unlocked(_request(value), a)
    assert not share.unlocked(_request(value), b)
    # Same id, new password (another hash): the old cookie no longer opens it.
    assert not share.unlocked(_request(value), _link("shr_a", "scrypt$32768$8$1$salt$other"))


def test_cookie_lapses_and_cannot_be_forged() -> None:
    a = _link("shr_a")
    old = share.unlock_value(a, now=time.time() - share.UNLOCK_LIFETIME.total_seconds() - 5)
    assert not share.unlocked(_request(old), a)
    issued, mac = share.unlock_value(a).split(".")
    assert not share.unlocked(_request(f"{int(issued) + 1}.{mac}"), a)  # a later stamp, same MAC
    assert not share.unlocked(_request(f"{issued}.{'0' * 64}"), a)
    assert not share.unlocked(_request(""), a) and not share.unlocked(_request("x.y"), a)
    assert share.unlocked(_request(""), _link("shr_open", None))  # no password: always open
