"""`/api/v1/people`, `/api/v1/alias` and `/api/v1/batch` against a real server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import msgspec
import pytest

from tests.dialects.sankofa.helpers import post, rows, uid
from tests.support.server import Server, cli

OK = {"ok": True}
DISCARDED = {"ok": True, "status": "discarded"}


def op(kind: str, **payload: Any) -> dict[str, Any]:
    return {"type": kind, "payload": payload}


# -- people and alias ---------------------------------------------------------------------------


def test_people_answers_ok_and_checks_its_body(server: Server) -> None:
    key = server.keys["sk_live"]
    r = post(server, "/api/v1/people", {"distinct_id": uid(), "properties": {"$name": "Ama", "$email": "ama@example.com"}}, key)
    assert (r.status_code, r.json()) == (200, OK)
    assert post(server, "/api/v1/people", {"distinct_id": uid()}, key).json() == OK  # nothing to merge
    r = post(server, "/api/v1/people", {"distinct_id": "gzip", "properties": {"a": 1}}, key)
    assert (r.status_code, r.json()) == (202, DISCARDED)
    r = post(server, "/api/v1/people", {"properties": {"a": 1}}, key)
    assert (r.status_code, r.json()) == (400, {"ok": False, "error": "distinct_id is required"})
    r = post(server, "/api/v1/people", {"distinct_id": uid(), "properties": "x"}, key)
    assert (r.status_code, r.json()) == (400, {"ok": False, "error": "Invalid request body"})


def test_alias_answers_ok_and_checks_its_body(server: Server) -> None:
    key = server.keys["sk_live"]
    r = post(server, "/api/v1/alias", {"alias_id": uid("anon"), "distinct_id": uid("user")}, key)
    assert (r.status_code, r.json()) == (200, OK)
    same = uid()
    assert post(server, "/api/v1/alias", {"alias_id": same, "distinct_id": same}, key).json() == OK
    for body in ({"alias_id": "a", "distinct_id": uid()}, {"alias_id": uid(), "distinct_id": "*/*"}):
        r = post(server, "/api/v1/alias", body, key)
        assert (r.status_code, r.json()) == (202, DISCARDED)
    r = post(server, "/api/v1/alias", {"alias_id": uid()}, key)
    assert (r.status_code, r.json()) == (400, {"ok": False, "error": "alias_id and distinct_id are required"})


def test_alias_stitches_earlier_anonymous_events_to_the_person(server: Server) -> None:
    key, anon, person = server.keys["sk_live"], uid("anon"), uid("user")
    post(server, "/api/v1/track", {"event_name": "landing_viewed", "distinct_id": anon, "timestamp": "2026-05-01T10:00:00Z"}, key)
    post(server, "/api/v1/track", {"event_name": "pricing_viewed", "distinct_id": anon, "timestamp": "2026-05-01T10:01:00Z"}, key)
    assert [r["event_name"] for r in rows(server, server.keys["rk_live"], user_id=person)] == []
    assert post(server, "/api/v1/alias", {"alias_id": anon, "distinct_id": person}, key).json() == OK
    post(server, "/api/v1/track", {"event_name": "signed_up", "distinct_id": person, "timestamp": "2026-05-01T10:02:00Z"}, key)
    got = rows(server, server.keys["rk_live"], user_id=person)
    assert [(r["event_name"], r["anonymous_id"]) for r in got] == [
        ("landing_viewed", anon), ("pricing_viewed", anon), ("signed_up", person),
    ]
    # The link is per environment.
    assert rows(server, server.keys["rk_test"], user_id=person) == []


# -- batch --------------------------------------------------------------------------------------


def test_batch_mixes_op_types_in_one_write_and_counts_them(server: Server) -> None:
    key, anon, person, screen = server.keys["sk_live"], uid("anon"), uid("user"), uid("Screen")
    body = {"operations": [
        op("track", event_name="$pageview", distinct_id=anon, default_properties={"$current_url": "https://shop.example/?utm_source=ads&utm_medium=cpc"}),
        op("track", event_name="$screen", distinct_id=anon, properties={"$screen_name": screen}),
        op("track", event_name="$screen", distinct_id=anon, properties={"$screen_name": screen}),
        op("alias", alias_id=anon, distinct_id=person),
        op("people", distinct_id=person, properties={"$email": "p@example.com"}),
        op("track", event_name="signed_up", distinct_id=person),
        op("track", event_name="noise", distinct_id="a"),  # garbage: skipped, not an error
    ]}
    r = post(server, "/api/v1/batch", body, key)
    assert r.status_code == 200
    assert r.json() == {
        "ok": True,
        "project_id": server.keys["project_id"],
        "project_name": "default",
        "environment": "live",
        "operations_received": 7,
        "events_received": 4,
        "people_received": 1,
        "aliases_received": 1,
        "discarded": 1,
        "commands": [{"type": "CAPTURE_PRISTINE", "params": {"screen": screen}}],  # once
    }
    got = rows(server, server.keys["rk_live"], user_id=person)
    assert sorted(r["event_name"] for r in got) == ["$pageview", "$screen", "$screen", "signed_up"]
    (page,) = [r for r in got if r["event_name"] == "$pageview"]
    assert (page["source"], page["medium"]) == ("ads", "paid")


def test_an_all_garbage_batch_is_discarded_all(server: Server) -> None:
    event = uid("all_garbage")
    body = {"operations": [
        op("track", event_name=event, distinct_id="a"),
        op("people", distinct_id="deflate"),
        op("alias", alias_id="identity", distinct_id=uid()),
    ]}
    r = post(server, "/api/v1/batch", body, server.keys["sk_live"])
    assert (r.status_code, r.json()) == (202, {"ok": True, "status": "discarded_all"})
    assert rows(server, server.keys["rk_live"], event=event) == []


def test_an_empty_batch_stores_nothing_and_says_so(server: Server) -> None:
    r = post(server, "/api/v1/batch", {"operations": []}, server.keys["sk_live"])
    assert r.status_code == 200
    body = r.json()
    assert (body["operations_received"], body["events_received"], body["commands"]) == (0, 0, [])


@pytest.mark.parametrize(
    ("operations", "error"),
    [
        ([op("track", event_name="e", distinct_id="user_1"), op("identify", distinct_id="user_1")], "operations[1]: type must be track, people or alias"),
        ([{"payload": {"event_name": "e", "distinct_id": "user_1"}}], "operations[0]: type must be track, people or alias"),
        ([{"type": "track"}], "operations[0]: payload is required"),
        ([{"type": "track", "payload": [1, 2]}], "operations[0]: Invalid request body"),
        ([op("track", event_name="e", distinct_id=7)], "operations[0]: Invalid request body"),
        ([op("track", distinct_id="user_1")], "operations[0]: event_name and distinct_id are required"),
        ([op("track", event_name="e", distinct_id="a", timestamp="later")], "operations[0]: timestamp must be ISO 8601"),
        ([op("people", properties={})], "operations[0]: distinct_id is required"),
        ([op("alias", alias_id="anon_1")], "operations[0]: alias_id and distinct_id are required"),
    ],
)
def test_a_bad_operation_rejects_the_whole_batch(server: Server, operations: list[Any], error: str) -> None:
    event = uid("rejected")
    body = {"operations": [op("track", event_name=event, distinct_id=uid()), *operations]}
    r = post(server, "/api/v1/batch", body, server.keys["sk_live"])
    assert r.status_code == 400
    index = int(error.split("[")[1].split("]")[0])
    assert r.json() == {"error": error.replace(f"[{index}]", f"[{index + 1}]")}
    assert rows(server, server.keys["rk_live"], event=event) == []  # nothing of it stored


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{oops", "Invalid request body"),
        (b"[]", "Invalid request body"),
        (b'{"operations": {}}', "Invalid request body"),
        (b"{}", "operations is required"),
        (msgspec.json.encode({"operations": [op("people", distinct_id="user_1")] * 1001}), "at most 1000 operations per batch"),
    ],
)
def test_a_batch_that_can_never_succeed_is_400(server: Server, body: bytes, error: str) -> None:
    r = post(server, "/api/v1/batch", body, server.keys["sk_live"])
    assert (r.status_code, r.json()) == (400, {"error": error})


def test_batch_auth_errors_keep_the_sankofa_envelope(server: Server) -> None:
    r = post(server, "/api/v1/batch", {"operations": []})
    assert (r.status_code, r.json()) == (401, {"ok": False, "error": "Missing API Key"})
    r = post(server, "/api/v1/batch", {"operations": []}, server.keys["rk_live"])
    assert (r.status_code, r.json()) == (403, {"ok": False, "error": "Invalid API Key"})


# -- durability: what is on disk, and overload ----------------------------------------------------


def test_people_properties_merge_into_the_persons_profile(fresh_data: Path) -> None:
    srv = Server(fresh_data).start()
    person, other = uid("user"), uid("user")
    try:
        key = srv.keys["sk_live"]
        assert post(srv, "/api/v1/people", {"distinct_id": person, "properties": {"$name": "Ama", "plan": "free"}}, key).status_code == 200
        batch = {"operations": [
            op("people", distinct_id=person, properties={"plan": "pro", "$avatar": "https://img.example/a.png"}),
            op("people", distinct_id=other, properties={"$email": "o@example.com"}),
        ]}
        assert post(srv, "/api/v1/batch", batch, key).status_code == 200
        assert post(srv, "/api/v1/people", {"distinct_id": person, "properties": {"x": 1}}, srv.keys["sk_test"]).status_code == 200
    finally:
        assert srv.stop() == 0
    with duckdb.connect(str(fresh_data / "events.duckdb"), read_only=True) as con:
        got = con.execute(
            "SELECT env, subject_id, attributes FROM profiles WHERE kind = 'person' ORDER BY env, subject_id"
        ).fetchall()
    profiles = {(env, subject): msgspec.json.decode(attrs) for env, subject, attrs in got}
    assert profiles[("live", person)] == {"$name": "Ama", "plan": "pro", "$avatar": "https://img.example/a.png"}
    assert profiles[("live", other)] == {"$email": "o@example.com"}
    assert profiles[("test", person)] == {"x": 1}


def test_overload_is_503_with_retry_after_and_nothing_stored(fresh_data: Path) -> None:
    srv = Server(fresh_data, env={"FOOTFALL_MAX_LAG": "-1"}).start()
    try:
        key = srv.keys["sk_live"]
        for path, body in (
            ("/api/v1/track", {"event_name": "e", "distinct_id": uid()}),
            ("/api/v1/people", {"distinct_id": uid(), "properties": {"a": 1}}),
            ("/api/v1/alias", {"alias_id": uid(), "distinct_id": uid()}),
            ("/api/v1/batch", {"operations": [op("track", event_name="e", distinct_id=uid())]}),
        ):
            r = post(srv, path, body, key)
            assert r.status_code == 503, path
            assert r.headers["retry-after"] == "1"
            assert r.headers["access-control-allow-origin"] == "*"
            assert r.json() == {"ok": False, "error": "write queue is full, retry shortly"}
        assert srv.query(srv.keys["rk_live"]) == []
    finally:
        assert srv.stop() == 0


def test_rate_limit_is_429_with_retry_after_in_the_sankofa_envelope(fresh_data: Path) -> None:
    project = json.loads(cli(fresh_data, "project", "create", "p", "--json").stdout)
    cli(fresh_data, "project", "limit", project["project_id"], "--route", "track", "--rate", "0.5", "--burst", "2")
    srv = Server(fresh_data, env={"FOOTFALL_RATE_LIMITS": "on"}).start()
    try:
        key = project["keys"]["sk_live"]
        codes = [post(srv, "/api/v1/track", {"event_name": "e", "distinct_id": uid()}, key).status_code for _ in range(2)]
        assert codes == [200, 200]
        r = post(srv, "/api/v1/people", {"distinct_id": uid()}, key)  # people shares track's bucket
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert r.json() == {"ok": False, "error": "Too many requests, retry later"}
        # batch has its own bucket
        assert post(srv, "/api/v1/batch", {"operations": [op("track", event_name="e", distinct_id=uid())]}, key).status_code == 200
    finally:
        assert srv.stop() == 0


def test_reads_follow_a_chain_of_aliases(server: Server) -> None:
    key, a, b, person = server.keys["sk_live"], uid("dev_a"), uid("dev_b"), uid("user")
    post(server, "/api/v1/track", {"event_name": "on_a", "distinct_id": a}, key)
    post(server, "/api/v1/track", {"event_name": "on_b", "distinct_id": b}, key)
    post(server, "/api/v1/alias", {"alias_id": a, "distinct_id": b}, key)
    post(server, "/api/v1/alias", {"alias_id": b, "distinct_id": person}, key)
    got = sorted(r["event_name"] for r in rows(server, server.keys["rk_live"], user_id=person))
    assert got == ["on_a", "on_b"]
