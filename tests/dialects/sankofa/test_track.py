"""`POST /api/v1/track` against a real server: the seed's example, every status and body, the
validation order, enrichment, attribution and CAPTURE_PRISTINE."""

from __future__ import annotations

import json

import pytest

from tests.dialects.sankofa.helpers import EVENT_ID, IPHONE, post, rows, stats, uid
from tests.support.server import Server

OK = {"ok": True, "commands": []}
DISCARDED = {"ok": True, "status": "discarded"}


def seed_body(event: str, distinct_id: str) -> dict[str, object]:
    return {
        "event_name": event,
        "distinct_id": distinct_id,
        "timestamp": "2026-05-09T14:32:01.482Z",
        "properties": {"cart_value": 49.99, "item_count": 3, "currency": "USD", "$session_id": "sess_abc123"},
        "default_properties": {"$os": "ios", "$device_model": "iPhone 15", "$app_version": "2.4.1"},
        "lib_version": "@sankofa/[email protected]",
    }


def test_seed_example_is_stored_and_answers_ok(server: Server) -> None:
    user = uid("user")
    r = post(server, "/api/v1/track", seed_body("checkout_started", user), server.keys["sk_live"])
    assert r.status_code == 200
    assert r.json() == OK
    (row,) = rows(server, server.keys["rk_live"], user_id=user)
    assert (row["event_name"], row["anonymous_id"], row["user_id"]) == ("checkout_started", user, None)
    assert row["timestamp"] == "2026-05-09T14:32:01.482000Z"
    assert row["session_id"] == "sess_abc123"
    assert row["event_id"] is None
    props = json.loads(row["properties"])
    assert EVENT_ID.match(props.pop("$event_id"))
    assert props == {
        "cart_value": 49.99, "item_count": 3, "currency": "USD",
        "$os": "ios", "$device_model": "iPhone 15", "$app_version": "2.4.1",
        "$lib_version": "@sankofa/[email protected]",
    }


def test_every_accepted_request_gets_a_fresh_server_id(server: Server) -> None:
    user, event = uid(), uid("twice")
    for _ in range(2):  # no client id, no deduplication: a retry is a second event
        assert post(server, "/api/v1/track", seed_body(event, user), server.keys["sk_live"]).status_code == 200
    got = rows(server, server.keys["rk_live"], event=event)
    ids = {json.loads(r["properties"])["$event_id"] for r in got}
    assert len(got) == 2 and len(ids) == 2


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "Invalid request body"),
        (b"", "Invalid request body"),
        (b"[]", "Invalid request body"),
        (b'{"event_name": "e", "distinct_id": 123}', "Invalid request body"),
        (b'{"event_name": "e", "distinct_id": "user_1", "properties": [1]}', "Invalid request body"),
        (b"{}", "event_name and distinct_id are required"),
        (b'{"event_name": "e"}', "event_name and distinct_id are required"),
        (b'{"distinct_id": "user_1"}', "event_name and distinct_id are required"),
        (b'{"event_name": "", "distinct_id": "user_1"}', "event_name and distinct_id are required"),
        (b'{"event_name": "e", "distinct_id": ""}', "event_name and distinct_id are required"),
        (b'{"event_name": "e", "distinct_id": null}', "event_name and distinct_id are required"),
        (b'{"event_name": "e", "distinct_id": "user_1", "timestamp": "soon"}', "timestamp must be ISO 8601"),
    ],
)
def test_bad_requests_answer_400(server: Server, body: bytes, error: str) -> None:
    r = post(server, "/api/v1/track", body, server.keys["sk_live"])
    assert r.status_code == 400
    assert r.json() == {"ok": False, "error": error}


def test_required_fields_are_checked_before_the_garbage_check(server: Server) -> None:
    r = post(server, "/api/v1/track", {"distinct_id": "a"}, server.keys["sk_live"])
    assert (r.status_code, r.json()["error"]) == (400, "event_name and distinct_id are required")


@pytest.mark.parametrize("distinct_id", ["a", "gzip", "GZIP, deflate", "*/*", "Identity", "accept-encoding", "x_Deflate_y"])
def test_garbage_distinct_ids_are_discarded_and_nothing_is_stored(server: Server, distinct_id: str) -> None:
    event = uid("garbage")
    r = post(server, "/api/v1/track", {"event_name": event, "distinct_id": distinct_id}, server.keys["sk_live"])
    assert r.status_code == 202
    assert r.json() == DISCARDED
    assert rows(server, server.keys["rk_live"], event=event) == []


def test_two_character_ids_are_not_garbage(server: Server) -> None:
    event = uid("short")
    r = post(server, "/api/v1/track", {"event_name": event, "distinct_id": "ab"}, server.keys["sk_live"])
    assert (r.status_code, r.json()) == (200, OK)
    assert [row["anonymous_id"] for row in rows(server, server.keys["rk_live"], event=event)] == ["ab"]


def test_a_timestamp_without_offset_is_utc_and_none_means_now(server: Server) -> None:
    user = uid()
    post(server, "/api/v1/track", {"event_name": "naive", "distinct_id": user, "timestamp": "2026-03-01T10:00:00"}, server.keys["sk_live"])
    post(server, "/api/v1/track", {"event_name": "offset", "distinct_id": user, "timestamp": "2026-03-01T12:00:00+02:00"}, server.keys["sk_live"])
    post(server, "/api/v1/track", {"event_name": "server_time", "distinct_id": user}, server.keys["sk_live"])
    got = {r["event_name"]: r["timestamp"] for r in rows(server, server.keys["rk_live"], user_id=user)}
    assert got["naive"] == got["offset"] == "2026-03-01T10:00:00.000000Z"
    assert got["server_time"] > "2026-03-02"


def test_server_enrichment_overrides_client_device_and_geo(server: Server) -> None:
    event = uid("enriched")
    r = post(
        server, "/api/v1/track",
        {
            "event_name": event, "distinct_id": uid(),
            "properties": {"$city": "Paris", "$country": "FR"},
            "default_properties": {"$os": "Android", "$browser": "Chrome", "$region": "IDF", "$timezone": "Europe/Paris"},
        },
        server.keys["sk_live"], **{"user-agent": IPHONE},
    )
    assert r.status_code == 200
    # The UA says iPhone; the client (127.0.0.1, a private address) is looked up as the stand-in.
    (row,) = stats(server, server.keys["rk_live"], event=event, group_by="os,browser,device_type,country")
    assert (row["os"], row["browser"], row["device_type"], row["country"]) == ("iOS", "Mobile Safari", "mobile", "US")
    (stored,) = rows(server, server.keys["rk_live"], event=event)
    props = json.loads(stored["properties"])
    assert not {"$city", "$country", "$region", "$timezone"} & props.keys()
    assert (props["$os"], props["$browser"]) == ("Android", "Chrome")  # the client's, as a fallback only


def test_default_properties_page_drives_attribution(server: Server) -> None:
    user = uid()
    r = post(
        server, "/api/v1/track",
        {
            "event_name": "$pageview", "distinct_id": user,
            "default_properties": {
                "$current_url": "https://shop.example/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=may",
                "$referrer": "https://mail.example/", "$pathname": "/pricing",
                "$user_agent": "Mozilla/5.0", "$screen_width": "1920",
            },
        },
        server.keys["sk_live"],
    )
    assert r.status_code == 200
    (row,) = rows(server, server.keys["rk_live"], user_id=user)
    assert row["url"].startswith("https://shop.example/pricing?")
    assert (row["path"], row["referrer"]) == ("/pricing", "https://mail.example/")
    assert (row["source"], row["medium"], row["campaign"]) == ("newsletter", "email", "may")
    props = json.loads(row["properties"])
    assert "$current_url" not in props and props["$screen_width"] == "1920"


def test_events_are_counted_by_v1_stats(server: Server) -> None:
    event = uid("counted")
    for i in range(3):
        assert post(server, "/api/v1/track", {"event_name": event, "distinct_id": f"person_{i % 2}_{event}"}, server.keys["sk_live"]).status_code == 200
    assert stats(server, server.keys["rk_live"], event=event) == [{"value": 3}]
    assert stats(server, server.keys["rk_live"], event=event, metric="uniques") == [{"value": 2}]


@pytest.mark.parametrize("name", ["$screen", "$screen_view"])
def test_capture_pristine_only_the_first_time_a_screen_is_seen(server: Server, name: str) -> None:
    screen = uid("Screen")
    body = {"event_name": name, "distinct_id": uid(), "properties": {"$screen_name": screen}}
    first = post(server, "/api/v1/track", body, server.keys["sk_live"])
    assert first.status_code == 200
    assert first.json() == {"ok": True, "commands": [{"type": "CAPTURE_PRISTINE", "params": {"screen": screen}}]}
    again = post(server, "/api/v1/track", {**body, "distinct_id": uid()}, server.keys["sk_live"])
    assert again.json() == OK
    # The other screen event name shares the set: one screen, one pristine capture.
    other = "$screen_view" if name == "$screen" else "$screen"
    assert post(server, "/api/v1/track", {**body, "event_name": other}, server.keys["sk_live"]).json() == OK
    # The test environment is separate data: its first sighting is its own.
    assert post(server, "/api/v1/track", body, server.keys["sk_test"]).json()["commands"] != []


def test_ordinary_events_never_carry_commands(server: Server) -> None:
    r = post(server, "/api/v1/track", {"event_name": "clicked", "distinct_id": uid(), "properties": {"screen": uid()}}, server.keys["sk_live"])
    assert r.json() == OK


def test_a_discarded_screen_event_does_not_use_up_the_first_sighting(server: Server) -> None:
    screen = uid("Screen")
    body = {"event_name": "$screen", "distinct_id": "a", "properties": {"$screen_name": screen}}
    assert post(server, "/api/v1/track", body, server.keys["sk_live"]).status_code == 202
    r = post(server, "/api/v1/track", {**body, "distinct_id": uid()}, server.keys["sk_live"])
    assert r.json()["commands"] == [{"type": "CAPTURE_PRISTINE", "params": {"screen": screen}}]


def test_body_over_the_limit_is_413(server: Server) -> None:
    big = {"event_name": "big", "distinct_id": uid(), "properties": {"blob": "x" * (1024 * 1024)}}
    r = post(server, "/api/v1/track", big, server.keys["sk_live"])
    assert r.status_code == 413
    assert r.json() == {"ok": False, "error": "Request body too large"}
