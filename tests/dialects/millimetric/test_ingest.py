"""Millimetric ingestion against a real server: every documented answer and error."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.server import Server


def uid(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def post(server: Server, key: str | None, path: str, body: Any, **headers: str) -> Any:
    with server.client(key, **headers) as c:
        if isinstance(body, (bytes, str)):
            return c.post(path, content=body, headers={"content-type": "application/json"})
        return c.post(path, json=body)


# -- the seed's curl examples -----------------------------------------------------------------


def test_seed_track_answers_202_with_null_event_id(server: Server) -> None:
    anon = uid()
    r = post(server, server.keys["sk_live"], "/v1/track", {
        "event": "signup", "anonymous_id": anon, "user_id": uid("user"),
        "properties": {"plan": "free"},
    })
    assert r.status_code == 202
    assert r.json() == {"ok": True, "event_id": None}
    rows = server.query(server.keys["sk_live"], anonymous_id=anon)
    assert [row["event_name"] for row in rows] == ["signup"]
    assert rows[0]["properties"] == '{"plan":"free"}'


def test_track_echoes_event_id_and_reads_see_it_at_once(server: Server) -> None:
    anon, eid = uid(), uid("evt")
    r = post(server, server.keys["sk_live"], "/v1/track", {
        "event": "signup", "event_id": eid, "timestamp": "2026-05-16T19:00:00.000Z",
        "anonymous_id": anon, "session_id": "sess_xyz",
        "url": "https://yoursite.com/?utm_source=facebook&utm_medium=cpc&fbclid=abc",
        "path": "/", "referrer": "https://l.facebook.com/",
        "properties": {"plan": "free", "team_size": 4},
    })
    assert r.status_code == 202
    assert r.json() == {"ok": True, "event_id": eid}
    (row,) = server.query(server.keys["rk_live"], anonymous_id=anon)
    assert row["event_id"] == eid
    assert row["timestamp"] == "2026-05-16T19:00:00.000000Z"
    assert row["session_id"] == "sess_xyz"
    assert (row["source"], row["medium"], row["source_confidence"]) == ("facebook", "paid", "high")
    assert row["path"] == "/"
    assert row["referrer"] == "https://l.facebook.com/"


def test_seed_batch_classifies_each_event(server: Server) -> None:
    a = uid()
    r = post(server, server.keys["sk_live"], "/v1/batch", {"events": [
        {"event": "$pageview", "anonymous_id": a, "url": "https://yoursite.com/?utm_source=facebook&utm_medium=cpc"},
        {"event": "signup", "anonymous_id": a, "user_id": uid("user")},
    ]})
    assert r.status_code == 202
    assert r.json() == {"ok": True, "count": 2}
    rows = {row["event_name"]: row for row in server.query(server.keys["sk_live"], anonymous_id=a)}
    assert (rows["$pageview"]["source"], rows["$pageview"]["medium"]) == ("facebook", "paid")
    # the server-side signup has no signal of its own: it takes its session's attribution
    signup = rows["signup"]
    assert (signup["source"], signup["medium"], signup["source_rule_id"]) == ("facebook", "paid", "session_inherited")
    assert signup["session_id"] == rows["$pageview"]["session_id"]


def test_seed_identify_links_earlier_anonymous_events(server: Server) -> None:
    anon, user = uid(), uid("user")
    sk = server.keys["sk_live"]
    assert post(server, sk, "/v1/track", {"event": "$pageview", "anonymous_id": anon}).status_code == 202
    r = post(server, sk, "/v1/identify", {
        "anonymous_id": anon, "user_id": user,
        "traits": {"email": "matt@example.com", "plan": "pro"},
    })
    assert r.status_code == 200
    assert r.json() == {"ok": True}
    rows = server.query(sk, user_id=user)
    names = sorted(row["event_name"] for row in rows)
    assert names == ["$identify", "$pageview"]
    ident = next(row for row in rows if row["event_name"] == "$identify")
    assert ident["properties"] == '{"email":"matt@example.com","plan":"pro"}'


def test_seed_forget_deletes_the_person_and_their_anonymous_events(server: Server) -> None:
    anon, user = uid(), uid("user")
    sk = server.keys["sk_live"]
    post(server, sk, "/v1/track", {"event": "$pageview", "anonymous_id": anon})
    post(server, sk, "/v1/identify", {"anonymous_id": anon, "user_id": user})
    post(server, sk, "/v1/track", {"event": "purchase", "user_id": user, "anonymous_id": uid()})
    keep = uid()
    post(server, sk, "/v1/track", {"event": "$pageview", "anonymous_id": keep})
    r = post(server, sk, "/v1/forget", {"user_id": user})
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True and body["queued"] is False
    assert body["deleted_events"] == 3
    assert server.query(sk, user_id=user) == []
    assert server.query(sk, anonymous_id=anon) == []
    assert len(server.query(sk, anonymous_id=keep)) == 1


# -- auth --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_bearer_token"),
        ({"Authorization": "Basic abc"}, "missing_bearer_token"),
        ({"Authorization": "Bearer"}, "missing_bearer_token"),
        ({"Authorization": "Bearer nope"}, "malformed_api_key"),
        ({"Authorization": "Bearer xk_live_abcdefgh_" + "a" * 30}, "malformed_api_key"),
        ({"Authorization": "Bearer sk_prod_abcdefgh_" + "a" * 30}, "malformed_api_key"),
        ({"Authorization": "Bearer sk_live_abcdefgh_" + "a" * 30}, "invalid_api_key"),
    ],
)
def test_auth_errors_are_401_with_stable_codes(server: Server, headers: dict[str, str], code: str) -> None:
    with server.client(None, **headers) as c:
        r = c.post("/v1/track", json={"event": "x"})
    assert r.status_code == 401
    assert r.json()["error"] == code
    assert "details" in r.json()


def test_wrong_secret_for_a_real_prefix_is_invalid(server: Server) -> None:
    kind, env, prefix, _secret = server.keys["sk_live"].split("_", 3)
    r = post(server, f"{kind}_{env}_{prefix}_{'x' * 43}", "/v1/track", {"event": "x"})
    assert (r.status_code, r.json()["error"]) == (401, "invalid_api_key")


def test_key_env_must_match_its_record(server: Server) -> None:
    _kind, _env, prefix, secret = server.keys["sk_live"].split("_", 3)
    r = post(server, f"sk_test_{prefix}_{secret}", "/v1/track", {"event": "x"})
    assert (r.status_code, r.json()["error"]) == (401, "invalid_api_key")


def test_publishable_key_needs_an_allowlisted_origin(server: Server) -> None:
    pk = server.keys["pk_live"]
    r = post(server, pk, "/v1/track", {"event": "$pageview", "anonymous_id": "u_test"})
    assert r.status_code == 403
    assert r.json()["error"] == "origin_not_allowed"
    assert r.json()["origin"] is None
    r = post(server, pk, "/v1/track", {"event": "$pageview"}, Origin="https://evil.example")
    assert r.status_code == 403
    assert r.json() == {"error": "origin_not_allowed", "details": {"origin": "https://evil.example"}, "origin": "https://evil.example"}
    anon = uid()
    r = post(server, pk, "/v1/track", {"event": "$pageview", "anonymous_id": anon, "url": "https://yoursite.com/?fbclid=abc"}, Origin="http://localhost:5173")
    assert r.status_code == 202
    (row,) = server.query(server.keys["sk_live"], anonymous_id=anon)
    assert (row["source"], row["medium"], row["source_confidence"]) == ("facebook", "paid", "medium")


def test_read_key_cannot_ingest_and_publishable_key_cannot_read(server: Server) -> None:
    r = post(server, server.keys["rk_live"], "/v1/track", {"event": "x"})
    assert (r.status_code, r.json()["error"]) == (403, "insufficient_scope")
    with server.client(server.keys["pk_live"], Origin="http://localhost:5173") as c:
        r = c.get("/v1/query", params={"from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"})
    assert (r.status_code, r.json()["error"]) == (403, "insufficient_scope")


@pytest.mark.parametrize("key_name", ["pk_live", "rk_live"])
def test_forget_requires_a_secret_key(server: Server, key_name: str) -> None:
    r = post(server, server.keys[key_name], "/v1/forget", {"user_id": "user_42"}, Origin="http://localhost:5173")
    assert (r.status_code, r.json()["error"]) == (403, "forget_requires_secret_key")


# -- payload validation -------------------------------------------------------------------------

LONG = "x" * 129


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "event"),
        ({"event": ""}, "event"),
        ({"event": LONG}, "event"),
        ({"event": 5}, "event"),
        ({"event": "x", "event_id": ""}, "event_id"),
        ({"event": "x", "event_id": LONG}, "event_id"),
        ({"event": "x", "anonymous_id": LONG}, "anonymous_id"),
        ({"event": "x", "user_id": "u" * 257}, "user_id"),
        ({"event": "x", "session_id": LONG}, "session_id"),
        ({"event": "x", "url": "https://a.example/" + "a" * 2040}, "url"),
        ({"event": "x", "path": "/" * 2049}, "path"),
        ({"event": "x", "referrer": "r" * 2049}, "referrer"),
        ({"event": "x", "timestamp": "yesterday"}, "timestamp"),
        ({"event": "x", "properties": [1, 2]}, "properties"),
        ({"event": "x", "properties": {"blob": "a" * 8200}}, "properties"),
    ],
)
def test_invalid_track_payloads_are_400_naming_the_field(server: Server, body: dict[str, Any], field: str) -> None:
    r = post(server, server.keys["sk_live"], "/v1/track", body)
    assert r.status_code == 400, r.text
    payload = r.json()
    assert payload["error"] == "invalid_payload"
    assert payload["details"]["field"] == field
    assert field in payload["details"]["errors"]


def test_limits_are_inclusive(server: Server) -> None:
    anon = uid()
    props = {"k": "a" * (8 * 1024 - len('{"k":""}'))}  # exactly 8 KB as JSON
    r = post(server, server.keys["sk_live"], "/v1/track", {
        "event": "e" * 128, "anonymous_id": anon, "user_id": "u" * 256,
        "url": "https://a.example/" + "a" * (2048 - 18), "properties": props,
    })
    assert r.status_code == 202, r.text
    (row,) = server.query(server.keys["sk_live"], anonymous_id=anon)
    assert len(row["properties"]) == 8 * 1024


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b"[]", b"null", b'"event"'])
def test_bodies_that_are_not_a_json_object_are_400(server: Server, raw: bytes) -> None:
    r = post(server, server.keys["sk_live"], "/v1/track", raw)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_payload"


def test_client_sent_enrichment_is_ignored(server: Server) -> None:
    anon = uid()
    r = post(server, server.keys["sk_live"], "/v1/track", {
        "event": "x", "anonymous_id": anon, "source": "forged", "medium": "forged",
        "country": "ZZ", "device_type": "fridge", "browser": "forged",
    })
    assert r.status_code == 202
    (row,) = server.query(server.keys["sk_live"], anonymous_id=anon)
    assert (row["source"], row["medium"]) == ("direct", "direct")
    assert row["country"] != "ZZ"
    assert row["device_type"] != "fridge"


# -- batches -----------------------------------------------------------------------------------


def test_batch_is_all_or_nothing_and_names_the_bad_index(server: Server) -> None:
    anon = uid()
    events: list[dict[str, Any]] = [{"event": "ok", "anonymous_id": anon} for _ in range(5)]
    events[3] = {"anonymous_id": anon}
    r = post(server, server.keys["sk_live"], "/v1/batch", {"events": events})
    assert r.status_code == 400
    details = r.json()["details"]
    assert (details["index"], details["field"]) == (3, "event")
    events[3] = {"event": "ok", "anonymous_id": anon, "properties": {"b": "x" * 9000}}
    r = post(server, server.keys["sk_live"], "/v1/batch", {"events": events})
    assert r.status_code == 400
    assert (r.json()["details"]["index"], r.json()["details"]["field"]) == (3, "properties")
    assert server.query(server.keys["sk_live"], anonymous_id=anon) == []


@pytest.mark.parametrize("n", [0, 1001])
def test_batch_size_is_1_to_1000(server: Server, n: int) -> None:
    r = post(server, server.keys["sk_live"], "/v1/batch", {"events": [{"event": "x"}] * n})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_payload"
    assert r.json()["details"]["field"] == "events"


def test_batch_of_1000_is_accepted(server: Server) -> None:
    anon = uid()
    r = post(server, server.keys["sk_live"], "/v1/batch", {"events": [{"event": "x", "anonymous_id": anon}] * 1000})
    assert r.status_code == 202
    assert r.json() == {"ok": True, "count": 1000}
    assert len(server.query(server.keys["sk_live"], anonymous_id=anon)) == 1000


# -- idempotency ---------------------------------------------------------------------------------


def test_replayed_event_id_is_stored_once(server: Server) -> None:
    anon, eid = uid(), uid("evt")
    sk = server.keys["sk_live"]
    ev = {"event": "purchase", "event_id": eid, "anonymous_id": anon}
    r = post(server, sk, "/v1/batch", {"events": [ev, ev, {**ev, "event_id": eid + "b"}]})
    assert r.status_code == 202
    for _ in range(2):
        r = post(server, sk, "/v1/track", ev)
        assert r.status_code == 202
        assert r.json() == {"ok": True, "event_id": eid}
    rows = server.query(sk, anonymous_id=anon)
    assert sorted(row["event_id"] for row in rows) == sorted([eid, eid + "b"])


def test_same_event_id_in_another_environment_is_separate(server: Server) -> None:
    anon, eid = uid(), uid("evt")
    for key in ("sk_live", "sk_test"):
        assert post(server, server.keys[key], "/v1/track", {"event": "x", "event_id": eid, "anonymous_id": anon}).status_code == 202
    assert len(server.query(server.keys["sk_live"], anonymous_id=anon)) == 1
    assert len(server.query(server.keys["sk_test"], anonymous_id=anon)) == 1


# -- isolation ------------------------------------------------------------------------------------


def test_live_and_test_data_never_mix(server: Server) -> None:
    anon = uid()
    post(server, server.keys["sk_test"], "/v1/track", {"event": "test_only", "anonymous_id": anon})
    assert server.query(server.keys["sk_live"], anonymous_id=anon) == []
    assert server.query(server.keys["rk_live"], anonymous_id=anon) == []
    assert [r["event_name"] for r in server.query(server.keys["rk_test"], anonymous_id=anon)] == ["test_only"]


def test_projects_never_see_each_other(server: Server, other_project: dict[str, Any]) -> None:
    anon = uid()
    other = other_project["keys"]
    post(server, other["sk_live"], "/v1/track", {"event": "theirs", "anonymous_id": anon})
    post(server, server.keys["sk_live"], "/v1/track", {"event": "ours", "anonymous_id": anon})
    assert [r["event_name"] for r in server.query(other["rk_live"], anonymous_id=anon)] == ["theirs"]
    assert [r["event_name"] for r in server.query(server.keys["rk_live"], anonymous_id=anon)] == ["ours"]
    # forgetting in one project leaves the other alone
    user = uid("user")
    post(server, other["sk_live"], "/v1/track", {"event": "theirs", "user_id": user})
    post(server, server.keys["sk_live"], "/v1/track", {"event": "ours", "user_id": user})
    assert post(server, other["sk_live"], "/v1/forget", {"user_id": user}).status_code == 200
    assert len(server.query(server.keys["sk_live"], user_id=user)) == 1
    assert server.query(other["sk_live"], user_id=user) == []
