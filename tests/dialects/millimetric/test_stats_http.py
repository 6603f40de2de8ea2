"""GET /v1/stats and /v1/sources over HTTP: the spec's parameters, defaults and errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.server import Server

RANGE = {"from": "2026-05-01T00:00:00Z", "to": "2026-06-01T00:00:00Z"}
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


@pytest.fixture(scope="module")
def signup(server: Server) -> str:
    """A unique event name with: 2 facebook/paid signups (one by a bot), 1 google/organic one."""
    name = "signup_" + uuid.uuid4().hex[:8]
    with server.client(server.keys["sk_live"], **{"User-Agent": CHROME}) as c:
        events = [
            {"event": name, "anonymous_id": "st1", "timestamp": "2026-05-03T10:00:00Z", "url": "https://s.example/?utm_source=facebook&utm_medium=cpc"},
            {"event": name, "anonymous_id": "st2", "timestamp": "2026-05-04T10:00:00Z", "url": "https://s.example/", "referrer": "https://www.google.com/"},
        ]
        assert c.post("/v1/batch", json={"events": events}).status_code == 202
    with server.client(server.keys["sk_live"], **{"User-Agent": BOT}) as c:
        bot = {"event": name, "anonymous_id": "st3", "timestamp": "2026-05-04T11:00:00Z", "url": "https://s.example/?utm_source=facebook&utm_medium=cpc"}
        assert c.post("/v1/track", json=bot).status_code == 202
    return name


def get(server: Server, path: str, key: str = "rk_live", **params: Any) -> Any:
    with server.client(server.keys[key], Origin="http://localhost:5173") as c:
        return c.get(path, params={**RANGE, **params})


def test_seed_daily_signups_by_source(server: Server, signup: str) -> None:
    r = get(server, "/v1/stats", metric="count", event=signup, group_by="source,medium", interval="day")
    assert r.status_code == 200
    assert r.json() == {"metric": "count", "rows": [
        {"bucket": "2026-05-03T00:00:00Z", "source": "facebook", "medium": "paid", "value": 1},
        {"bucket": "2026-05-04T00:00:00Z", "source": "google", "medium": "organic", "value": 1},
    ]}


def test_bots_only_on_request(server: Server, signup: str) -> None:
    assert get(server, "/v1/stats", event=signup).json()["rows"] == [{"value": 2}]
    assert get(server, "/v1/stats", event=signup, include_bots="true").json()["rows"] == [{"value": 3}]
    assert get(server, "/v1/stats", event=signup, device_type="bot", include_bots="true").json()["rows"] == [{"value": 1}]


def test_secret_keys_read_too_and_browser_keys_do_not(server: Server, signup: str) -> None:
    assert get(server, "/v1/stats", key="sk_live", event=signup).json()["rows"] == [{"value": 2}]
    r = get(server, "/v1/stats", key="pk_live", event=signup)
    assert (r.status_code, r.json()["error"]) == (403, "insufficient_scope")
    assert get(server, "/v1/stats", key="rk_test", event=signup).json()["rows"] == [{"value": 0}]


def test_invalid_group_by_lists_the_allowed_columns(server: Server) -> None:
    r = get(server, "/v1/stats", group_by="source,ip")
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "invalid_group_by"
    assert body["details"]["invalid"] == ["ip"]
    assert "channel" in body["details"]["allowed"] and "event_name" in body["details"]["allowed"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": ""}, "from"),
        ({"to": "soon"}, "to"),
        ({"metric": "median"}, "metric"),
        ({"interval": "year"}, "interval"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "\u00b2"}, "limit"),  # a digit int() refuses: was a 500
        ({"limit": "9" * 5000}, "limit"),  # past int()'s 4,300 digits: was a 500
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "America"}, "timezone"),  # a folder of the zone database: was a 500
        ({"timezone": "Europe/" + "x" * 300}, "timezone"),  # too long a file name
        ({"include_bots": "maybe"}, "include_bots"),
    ],
)
def test_invalid_stats_params(server: Server, params: dict[str, str], field: str) -> None:
    r = get(server, "/v1/stats", **params)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_params"
    assert field in r.json()["details"]["errors"]


@pytest.mark.parametrize(
    ("route", "field", "value"),
    [
        ("/v1/events", "before", "9999-12-31T23:59:59-05:00,x"),  # past the calendar in UTC: was a 500
        ("/v1/sessions", "after", "0001-01-01T00:00:00+05:00,x"),
        ("/v1/events", "before", "not a time,x"),
        ("/v1/sessions", "after", "2026-05-01T00:00:00Z"),  # no id
    ],
)
def test_invalid_page_keys(server: Server, route: str, field: str, value: str) -> None:
    r = get(server, route, **{field: value})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_params" and field in r.json()["details"]["errors"]


def test_sources_defaults_and_limits(server: Server, signup: str) -> None:
    r = get(server, "/v1/sources", **{"from": "2026-05-03T00:00:00Z", "to": "2026-05-05T00:00:00Z"})
    assert r.status_code == 200
    body = r.json()
    assert body["breakdown"] == "source_medium"
    rows = {(row["source"], row["medium"]): row for row in body["rows"]}
    assert rows[("facebook", "paid")]["paid_share"] == 1.0
    assert rows[("google", "organic")]["events"] >= 1
    for params in ({"limit": "201"}, {"limit": "0"}, {"breakdown": "channel"}):
        bad = get(server, "/v1/sources", **params)
        assert (bad.status_code, bad.json()["error"]) == (400, "invalid_params")
    assert len(get(server, "/v1/sources", limit="1").json()["rows"]) == 1
