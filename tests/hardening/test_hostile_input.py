"""Hostile bodies: gzip bombs, deep nesting, huge bodies, bad encodings: clear 4xx, never 500."""

from __future__ import annotations

import gzip
import uuid

import pytest

from tests.support.server import Server


def post(server: Server, body: bytes, **headers: str):  # type: ignore[no-untyped-def]
    with server.client(server.keys["sk_live"]) as c:
        return c.post("/v1/track", content=body, headers={"content-type": "application/json", **headers})


def test_gzip_bodies_are_accepted(server: Server) -> None:
    anon = "gz_" + uuid.uuid4().hex[:8]
    r = post(server, gzip.compress(f'{{"event":"zipped","anonymous_id":"{anon}"}}'.encode()), **{"Content-Encoding": "gzip"})
    assert r.status_code == 202
    assert [row["event_name"] for row in server.query(server.keys["sk_live"], anonymous_id=anon)] == ["zipped"]


def test_gzip_bomb_is_cut_off_with_413(server: Server) -> None:
    bomb = gzip.compress(b"{" + b" " * (200 * 1024 * 1024) + b"}")  # 200 MB of spaces in ~200 KB
    assert len(bomb) < 1024 * 1024
    with server.client(server.keys["sk_live"]) as c:
        r = c.post("/v1/batch", content=bomb, headers={"content-type": "application/json", "Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"not gzip at all", {"Content-Encoding": "gzip"}, 400),
        (gzip.compress(b'{"event":"x"}')[:-6], {"Content-Encoding": "gzip"}, 400),
        (b'{"event":"x"}', {"Content-Encoding": "br"}, 400),
        (b'{"event":"x","properties":' + b'{"a":' * 10000 + b"1" + b"}" * 10001, {}, 400),
        (b"\xff\xfe\x00garbage", {}, 400),
        (b'{"event":"\xed\xa0\x80"}', {}, 400),  # invalid UTF-8 (an encoded surrogate)
        (b'{"event":"\\ud800"}', {}, 400),  # a lone surrogate escape
        (b'{"event":"x","pad":"' + b"a" * (70 * 1024) + b'"}', {}, 413),
    ],
)
def test_hostile_bodies_get_a_clear_4xx(server: Server, body: bytes, headers: dict[str, str], status: int) -> None:
    r = post(server, body, **headers)
    assert r.status_code == status, r.text
    assert r.json()["error"] in ("invalid_payload", "payload_too_large")
