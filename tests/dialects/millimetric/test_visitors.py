"""Cookieless visitor ids and sessions, end to end."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.support.server import Server


def track(server: Server, ua: str, **body: object) -> None:
    with server.client(server.keys["sk_live"], **{"User-Agent": ua}) as c:
        r = c.post("/v1/track", json={"event": "x", **body})
    assert r.status_code == 202, r.text


def rows_for(server: Server, marker: str) -> list[dict[str, object]]:
    return [r for r in server.query(server.keys["sk_live"], event=marker)]


def test_missing_anonymous_id_is_derived_from_ip_and_user_agent(server: Server) -> None:
    marker = "derive_" + uuid.uuid4().hex[:8]
    track(server, "AgentA/1.0", event=marker)
    track(server, "AgentA/1.0", event=marker)
    track(server, "AgentB/2.0", event=marker)
    rows = rows_for(server, marker)
    ids = [r["anonymous_id"] for r in rows]
    assert len(ids) == 3
    assert all(isinstance(i, str) and i.startswith("anon_") for i in ids)
    assert len(set(ids)) == 2  # same IP + UA → same visitor; another UA → another visitor
    # the derived id never contains the IP or the user agent
    assert not any("127.0.0.1" in str(i) or "Agent" in str(i) for i in ids)


def ts(base: datetime, minutes: float) -> str:
    return (base + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_sessions_end_after_30_minutes_of_inactivity(server: Server) -> None:
    anon = "sess_" + uuid.uuid4().hex[:8]
    # 10:20 is in the bucket starting at 10:00; the visit crosses 10:30 and stays one session.
    base = datetime(2026, 5, 16, 10, 20, tzinfo=UTC)
    for minutes in (0, 15, 29, 58):  # gaps 15, 14, 29 minutes → one session
        track(server, "UA", anonymous_id=anon, timestamp=ts(base, minutes))
    for minutes in (89, 95):  # 31 minutes after the last event → a new session
        track(server, "UA", anonymous_id=anon, timestamp=ts(base, minutes))
    rows = sorted(server.query(server.keys["sk_live"], anonymous_id=anon), key=lambda r: str(r["timestamp"]))
    sessions = [r["session_id"] for r in rows]
    first_bucket = int(base.timestamp()) // 1800
    second_bucket = int((base + timedelta(minutes=89)).timestamp()) // 1800
    assert sessions == [f"{anon}-{first_bucket}"] * 4 + [f"{anon}-{second_bucket}"] * 2


def test_batch_events_are_sessionised_in_time_order(server: Server) -> None:
    anon = "sessb_" + uuid.uuid4().hex[:8]
    base = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    events = [{"event": "x", "anonymous_id": anon, "timestamp": ts(base, m)} for m in (40, 0, 20)]
    with server.client(server.keys["sk_live"]) as c:
        assert c.post("/v1/batch", json={"events": events}).status_code == 202
    sessions = {r["session_id"] for r in server.query(server.keys["sk_live"], anonymous_id=anon)}
    assert sessions == {f"{anon}-{int(base.timestamp()) // 1800}"}


def test_client_session_id_is_kept(server: Server) -> None:
    anon = "sessc_" + uuid.uuid4().hex[:8]
    track(server, "UA", anonymous_id=anon, session_id="my-session")
    (row,) = server.query(server.keys["sk_live"], anonymous_id=anon)
    assert row["session_id"] == "my-session"


def test_query_params_are_validated(server: Server) -> None:
    with server.client(server.keys["rk_live"]) as c:
        r = c.get("/v1/query")
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_params"
        assert set(r.json()["details"]["errors"]) == {"from", "to"}
        r = c.get("/v1/query", params={"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"})
        assert (r.status_code, r.json()["error"]) == (400, "invalid_params")
        r = c.get("/v1/query", params={"from": "2026-01-01", "to": "2026-02-01", "limit": "1001"})
        assert (r.status_code, r.json()["error"]) == (400, "invalid_params")
        assert "limit" in r.json()["details"]["errors"]


def test_query_range_is_from_inclusive_to_exclusive(server: Server) -> None:
    anon = "range_" + uuid.uuid4().hex[:8]
    for t in ("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"):
        track(server, "UA", anonymous_id=anon, timestamp=t)
    rows = server.query(server.keys["rk_live"], anonymous_id=anon, **{"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"})
    assert [r["timestamp"] for r in rows] == ["2026-03-01T00:00:00.000000Z"]


def test_trusted_proxy_supplies_the_client_ip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    srv = Server(tmp_path / "data", env={"FOOTFALL_TRUSTED_PROXIES": "127.0.0.1/32"}).start()
    try:
        with srv.client(srv.keys["sk_live"], **{"X-Forwarded-For": "8.8.8.8"}) as c:
            assert c.post("/v1/track", json={"event": "x", "anonymous_id": "via_proxy"}).status_code == 202
        with srv.client(srv.keys["sk_live"]) as c:
            assert c.post("/v1/track", json={"event": "x", "anonymous_id": "direct_peer"}).status_code == 202
        (proxied,) = srv.query(srv.keys["sk_live"], anonymous_id="via_proxy")
        (direct,) = srv.query(srv.keys["sk_live"], anonymous_id="direct_peer")
    finally:
        srv.stop()
    assert proxied["country"] == "US"
    assert direct["country"] is None  # loopback has no country


def test_untrusted_peer_cannot_spoof_its_ip(server: Server) -> None:
    anon = "spoof_" + uuid.uuid4().hex[:8]
    with server.client(server.keys["sk_live"], **{"X-Forwarded-For": "8.8.8.8"}) as c:
        assert c.post("/v1/track", json={"event": "x", "anonymous_id": anon}).status_code == 202
    (row,) = server.query(server.keys["sk_live"], anonymous_id=anon)
    assert row["country"] is None


def test_sessions_and_their_attribution_survive_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    srv = Server(data).start()
    keys = srv.keys
    now = datetime.now(UTC)
    with srv.client(keys["sk_live"]) as c:
        r = c.post("/v1/track", json={"event": "$pageview", "anonymous_id": "r1", "timestamp": ts(now, -10), "url": "https://shop.example/?gclid=abc"})
        assert r.status_code == 202
    srv.stop()
    srv = Server(data)
    srv.keys = keys
    srv.start()
    try:
        with srv.client(keys["sk_live"]) as c:
            assert c.post("/v1/track", json={"event": "signup", "anonymous_id": "r1", "timestamp": ts(now, 0)}).status_code == 202
        rows = {r["event_name"]: r for r in srv.query(keys["sk_live"], anonymous_id="r1")}
    finally:
        srv.stop()
    assert rows["signup"]["session_id"] == rows["$pageview"]["session_id"]
    assert (rows["signup"]["source"], rows["signup"]["medium"], rows["signup"]["source_rule_id"]) == ("google", "paid", "session_inherited")
