"""GDPR forget: the person is gone from every read and from every byte of the data directory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.support.server import Server

USER = "user_forget_me_7f3a"
ANONS = ["anon_forget_device_a1", "anon_forget_device_b2"]
OTHER = "user_keep_me_91c2"


def scan(data: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())


def test_forget_leaves_no_byte_of_the_person(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = Server(data).start()
    sk = srv.keys["sk_live"]
    try:
        with srv.client(sk) as c:
            for anon in ANONS:  # two devices, browsing before identify, then identified
                events = [{"event": "$pageview", "anonymous_id": anon, "url": f"https://shop.example/p/{i}?utm_source=news"} for i in range(30)]
                assert c.post("/v1/batch", json={"events": events}).status_code == 202
                assert c.post("/v1/identify", json={"anonymous_id": anon, "user_id": USER, "traits": {"email": "forget@example.com"}}).status_code == 200
            assert c.post("/v1/track", json={"event": "purchase", "user_id": USER, "properties": {"amount_cents": 4900}}).status_code == 202
            assert c.post("/v1/track", json={"event": "purchase", "anonymous_id": "anon_keep", "user_id": OTHER}).status_code == 202
        before = scan(data)
        assert USER.encode() in before and ANONS[0].encode() in before  # the scan sees them
        with srv.client(sk) as c:
            r = c.post("/v1/forget", json={"user_id": USER})
        assert r.status_code == 200
        body = r.json()
        assert body["ok"] is True and body["queued"] is False
        assert (body["deleted_events"], body["deleted_identities"]) == (63, 2)
        assert body["deleted_sessions"] >= 2
        assert srv.query(sk, user_id=USER) == []
        for anon in ANONS:
            assert srv.query(sk, anonymous_id=anon) == []
        assert len(srv.query(sk, user_id=OTHER)) == 1
        # immediately, with the server still running
        live = scan(data)
        for needle in (USER, *ANONS, "forget@example.com"):
            assert needle.encode() not in live, needle
    finally:
        srv.stop()
    after = scan(data)  # and after the shutdown checkpoint
    for needle in (USER, *ANONS, "forget@example.com"):
        assert needle.encode() not in after, needle
    assert OTHER.encode() in after
    (audit,) = sqlite3.connect(data / "meta.sqlite").execute(
        "SELECT subject_hash, events, identities, key_prefix FROM forget_audit"
    ).fetchall()
    assert len(audit[0]) == 64 and audit[1:] == (63, 2, sk.split("_")[2])


def test_forget_of_an_unknown_user_is_a_quiet_success(server: Server) -> None:
    with server.client(server.keys["sk_live"]) as c:
        r = c.post("/v1/forget", json={"user_id": "never_seen"})
    assert r.status_code == 200
    assert r.json()["deleted_events"] == 0
