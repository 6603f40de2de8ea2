"""The seed document's flow end to end on a real server: init without a uuid → attributes →
track → session/show → event/show; and the same visitor seen through /v1/query and identify."""

from __future__ import annotations

import uuid as uuidlib
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.dialects.atrack.conftest import IPHONE_UA, ORIGIN, QUERY, init, post, seed_init
from tests.support.server import Server

SESSION_KEYS = [
    "id", "uuid", "url_data", "utm_data", "query_params", "click_ids", "source", "referer",
    "ip_address", "ip_data", "device_data", "client_attributes", "user_attributes",
    "custom_data", "created_at", "updated_at",
]  # fmt: skip
STAMP = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"


def _ms(stamp: str) -> int:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def test_seed_flow_end_to_end(server: Server) -> None:
    import re

    pk, sk = server.keys["pk_live"], server.keys["sk_live"]
    # 1. init without a uuid, from the browser (a pk_ key on an allowed origin)
    r = post(server, pk, "/init", seed_init(), origin=ORIGIN)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["success"] is True and body["queued"] is False
    uuid = body["uuid"]
    assert uuidlib.UUID(uuid).version == 4
    assert r.headers["access-control-allow-origin"] == ORIGIN

    # 2. attributes (the seed's session/show shows the replaced map)
    r = post(server, pk, "/attributes", {
        "uuid": uuid, "attributes": {"crm_id": "lead_2048", "plan": "pro"}, "replace": True,
    }, origin=ORIGIN)
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "uuid": uuid, "queued": False}

    # 3. track checkout_started later, from the backend, with the saved uuid
    r = post(server, sk, "/event", {
        "uuid": uuid, "event": "checkout_started",
        "attributes": {"cart_value": 129.99, "currency": "USD", "step": "payment"},
        "timestamp": "2026-04-12T02:10:00Z",
    })
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "uuid": uuid, "queued": False}

    # 4. session/show
    r = post(server, sk, "/session/show", {"uuid": uuid})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert list(data) == ["session", "attributes", "events", "meta"]
    s = data["session"]
    assert list(s) == SESSION_KEYS
    assert s["id"] == s["uuid"] == uuid
    assert s["url_data"] == {
        "raw": "/pricing" + QUERY,
        "href": "https://a-track.io/pricing" + QUERY,
        "path": "/pricing",
        "query": QUERY,
        "query_all": {
            "utm_source": "google", "utm_campaign": "spring-launch", "campaign_id": "cmp_123",
            "gclid": "gclid_123", "fbclid": "fbclid_123", "custom_param": "test",
        },
        "source_url": "https://partner.example.com/blog/first-touch",
    }
    assert s["utm_data"] == {"utm_source": "google", "utm_campaign": "spring-launch", "campaign_id": "cmp_123"}
    assert s["query_params"] == {"custom_param": "test"}
    assert re.match(STAMP, s["created_at"]) and re.match(STAMP, s["updated_at"])
    assert s["click_ids"] == {
        "gclid": "gclid_123", "fbclid": "fbclid_123",
        "fbc": f"fb.1.{_ms(s['created_at'])}.fbclid_123",
    }
    assert s["source"] == "google"
    assert s["referer"] == "https://google.com/"
    # the default project keeps no raw IP; the geo computed at ingest stays (country only
    # without a City database)
    assert s["ip_address"] is None
    assert s["ip_data"] == {
        "ip": None,
        "city": {
            "country": {"iso_code": "US", "names": {"en": "United States"}},
            "location": {"latitude": None, "longitude": None, "time_zone": None},
        },
        "isp": {"isp": None, "organization": None},
    }
    assert s["device_data"] == {
        "model": "iPhone",
        "os": {"name": "iOS", "version": "17.2"},
        "client": {"name": "Mobile Safari", "version": "17.2"},
        "is_mobile": True,
        "is_desktop": False,
    }
    assert s["client_attributes"] == {
        "locale": "en-US", "timezone": "America/New_York", "screenWidth": 1179,
        "screenHeight": 2556, "viewportWidth": 393, "viewportHeight": 852,
    }
    assert s["user_attributes"] == {"plan": "pro", "signup_step": "landing"}
    assert s["custom_data"] == {"landing_variant": "v2", "widget_position": "hero"}
    assert data["attributes"] == {"crm_id": "lead_2048", "plan": "pro"}
    events = data["events"]
    # as in the seed: only the tracked event (the init's internal `$init` event is hidden)
    assert events == [{
        "id": events[0]["id"], "uuid": uuid, "name": "checkout_started",
        "attributes": {"cart_value": 129.99, "currency": "USD", "step": "payment"},
        "occurred_at": "2026-04-12T02:10:00.000000Z",
    }]
    assert data["meta"] == {"uuid": uuid, "events_limit": 100, "events_count": 1, "sort": "desc"}

    # 5. event/show
    r = post(server, sk, "/event/show", {"name": "checkout_started", "per_page": 100, "sort": "asc"})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["success"] is True
    mine = [row for row in page["data"] if row["uuid"] == uuid]
    assert len(mine) == 1
    row = mine[0]
    assert list(row) == [
        "id", "session_id", "uuid", "name", "attributes", "ip_address", "user_agent",
        "occurred_at", "created_at", "updated_at",
    ]  # fmt: skip
    assert row["id"] == events[0]["id"]
    assert row["session_id"] == uuid
    assert row["attributes"] == {"cart_value": 129.99, "currency": "USD", "step": "payment"}
    assert row["ip_address"] is None
    assert row["user_agent"] == IPHONE_UA
    assert row["occurred_at"] == "2026-04-12T02:10:00.000000Z"
    assert re.match(STAMP, row["created_at"]) and row["updated_at"] == row["created_at"]
    assert list(page["meta"]) == ["name", "sort", "per_page", "current_page", "last_page", "from", "to", "total"]
    assert page["meta"]["name"] == "checkout_started" and page["meta"]["sort"] == "asc"


def test_the_uuid_is_the_visitor_every_read_api_sees(server: Server) -> None:
    pk, sk, rk = server.keys["pk_live"], server.keys["sk_live"], server.keys["rk_live"]
    uuid = init(server, pk, seed_init(), origin=ORIGIN)
    assert post(server, sk, "/event", {"uuid": uuid, "event": "checkout_started"}).status_code == 200
    rows = {r["event_name"]: r for r in server.query(rk, anonymous_id=uuid)}
    assert set(rows) == {"$init", "checkout_started"}
    landing = rows["$init"]
    assert (landing["source"], landing["medium"], landing["campaign"]) == ("google", "paid", "spring-launch")
    assert landing["url"] == "https://a-track.io/pricing" + QUERY
    assert landing["path"] == "/pricing" and landing["referrer"] == "https://google.com/"
    assert (landing["country"], landing["device_type"]) == ("US", "mobile")
    # the later server-side event has no signal of its own: it takes its session's attribution
    assert rows["checkout_started"]["source"] == "google"
    assert rows["checkout_started"]["session_id"] == landing["session_id"]

    # identify elsewhere stitches the uuid to a person
    user = "user_" + uuidlib.uuid4().hex[:10]
    with server.client(sk) as c:
        r = c.post("/v1/identify", json={"anonymous_id": uuid, "user_id": user})
    assert r.status_code == 200, r.text
    names = sorted(r["event_name"] for r in server.query(rk, user_id=user))
    assert names == ["$identify", "$init", "checkout_started"]

    with server.client(rk) as c:
        r = c.get("/v1/stats", params={
            "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z",
            "event": "checkout_started", "group_by": "source",
        })
    assert r.status_code == 200, r.text
    assert any(row["source"] == "google" and row["value"] >= 1 for row in r.json()["rows"])


def test_sdk_user_shape_and_known_uuid(server: Server) -> None:
    pk, sk = server.keys["pk_live"], server.keys["sk_live"]
    sdk_uuid = str(uuidlib.uuid4())  # an SDK that made its own uuid: new → 201
    r = post(server, pk, "/init", {"user": {"uuid": sdk_uuid, "attributes": {"plan": "free"}}}, origin=ORIGIN)
    assert r.status_code == 201 and r.json()["uuid"] == sdk_uuid
    # known uuid → 200; client fields merge with the earlier init's, user attributes merge
    first: dict[str, Any] = {"uuid": sdk_uuid, "context": {"client": {"locale": "de-DE", "screenWidth": 390}}}
    r = post(server, pk, "/init", first, origin=ORIGIN)
    assert r.status_code == 200 and r.json() == {"success": True, "uuid": sdk_uuid, "queued": False}
    again: dict[str, Any] = {
        "uuid": sdk_uuid, "context": {"client": {"locale": "en-GB"}, "user": {"attributes": {"seats": 3}}},
        "custom_data": {"a": 1},
    }
    assert post(server, pk, "/init", again, origin=ORIGIN).status_code == 200
    data = post(server, sk, "/session/show", {"uuid": sdk_uuid}).json()["data"]
    assert data["session"]["client_attributes"] == {"locale": "en-GB", "screenWidth": 390}
    assert data["session"]["user_attributes"] == {"plan": "free", "seats": 3}  # the inits', merged
    assert data["attributes"] == {"plan": "free", "seats": 3}  # merged
    assert data["session"]["custom_data"] == {"a": 1}
    assert data["events"] == [] and data["meta"]["events_count"] == 0  # inits are not events
    # the three inits are still stored, and /v1/query sees them
    rows = server.query(server.keys["rk_live"], event="$init", anonymous_id=sdk_uuid)
    assert [r["event_name"] for r in rows] == ["$init"] * 3


def test_event_without_uuid_creates_an_identity(server: Server) -> None:
    sk = server.keys["sk_live"]
    r = post(server, sk, "/event", {"event": "server_side_signup", "attributes": {"plan": "pro"}})
    assert r.status_code == 200, r.text
    uuid = r.json()["uuid"]
    assert uuidlib.UUID(uuid).version == 4
    data = post(server, sk, "/session/show", {"uuid": uuid}).json()["data"]
    assert [e["name"] for e in data["events"]] == ["server_side_signup"]
    assert data["session"]["url_data"]["href"] is None and data["attributes"] == {}


def test_a_bare_re_init_keeps_the_first_touch(server: Server) -> None:
    """A-TRACK's SDKs re-init on every page load, often with a plain URL and, from a server,
    without context.client: the ad click, device and geo of the first init stay."""
    pk, sk, rk = server.keys["pk_live"], server.keys["sk_live"], server.keys["rk_live"]
    uuid = init(server, pk, seed_init(), origin=ORIGIN)
    first = post(server, sk, "/session/show", {"uuid": uuid}).json()["data"]["session"]
    assert post(server, sk, "/event", {"uuid": uuid, "event": "checkout_started"}).status_code == 200

    # the next page view, from a server SDK: plain URL, no client context, its own UA and IP
    bare = {
        "uuid": uuid,
        "context": {"url": {"href": "https://a-track.io/docs", "path": "/docs"}, "user": {"attributes": {"seats": 3}}},
        "custom_data": {"widget_position": "footer"},
    }
    r = post(server, sk, "/init", bare, ua="python-httpx/0.28")
    assert r.status_code == 200, r.text
    s = post(server, sk, "/session/show", {"uuid": uuid}).json()["data"]["session"]
    for key in ("url_data", "utm_data", "query_params", "click_ids", "source", "referer", "ip_data", "device_data", "client_attributes"):
        assert s[key] == first[key], key
    assert s["utm_data"] == {"utm_source": "google", "utm_campaign": "spring-launch", "campaign_id": "cmp_123"}
    assert s["click_ids"]["fbc"] == f"fb.1.{_ms(s['created_at'])}.fbclid_123"
    assert s["device_data"]["model"] == "iPhone" and s["ip_data"]["city"]["country"]["iso_code"] == "US"
    assert s["source"] == "google" and s["url_data"]["source_url"] == "https://partner.example.com/blog/first-touch"
    # user attributes and custom data merge; updated_at moves
    assert s["user_attributes"] == {"plan": "pro", "signup_step": "landing", "seats": 3}
    assert s["custom_data"] == {"landing_variant": "v2", "widget_position": "footer"}
    assert s["updated_at"] > first["updated_at"] and s["created_at"] == first["created_at"]
    # the re-init is still an $init event with its own landing URL
    inits = server.query(rk, event="$init", anonymous_id=uuid)
    assert sorted(r["url"] for r in inits) == ["https://a-track.io/docs", "https://a-track.io/pricing" + QUERY]

    # a later init with the visitor's own client context updates device and geo, not acquisition
    android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"
    again = {
        "uuid": uuid,
        "context": {
            "url": {"href": "https://a-track.io/?utm_source=newsletter", "referer": "https://bing.com/"},
            "client": {"userAgent": android, "ipAddress": "81.2.69.160", "locale": "en-GB"},
        },
    }
    assert post(server, sk, "/init", again).status_code == 200
    s = post(server, sk, "/session/show", {"uuid": uuid}).json()["data"]["session"]
    assert s["device_data"]["os"]["name"] == "Android"
    assert s["ip_data"]["city"]["country"]["iso_code"] != "US"
    assert s["client_attributes"]["locale"] == "en-GB" and s["client_attributes"]["screenWidth"] == 1179
    assert (s["utm_data"], s["referer"], s["source"]) == (first["utm_data"], first["referer"], "google")


def test_a_later_init_fills_an_empty_acquisition(server: Server) -> None:
    sk = server.keys["sk_live"]
    uuid = init(server, sk, {"context": {"url": {"href": "https://a-track.io/"}}})
    assert post(server, sk, "/session/show", {"uuid": uuid}).json()["data"]["session"]["source"] == "direct"
    tagged = {"uuid": uuid, "context": {"url": {"href": "https://a-track.io/?utm_source=newsletter&utm_medium=email"}}}
    assert post(server, sk, "/init", tagged).status_code == 200
    s = post(server, sk, "/session/show", {"uuid": uuid}).json()["data"]["session"]
    assert s["utm_data"] == {"utm_source": "newsletter", "utm_medium": "email"}
    assert s["source"] == "newsletter"
