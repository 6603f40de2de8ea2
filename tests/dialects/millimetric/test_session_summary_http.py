"""`GET /v1/sessions/summary` end to end against a real server: the dashboard's sessions
numbers (count, bounces, total duration; per entry or exit page), filters, bots, limit, its
400s and who may read it.

The sessions live on a day nobody else writes to, so the answers are exact on the shared server.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.server import Server

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
ROUTE = "/v1/sessions/summary"


class Day:
    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.start = datetime(2045, 1, 1, tzinfo=UTC) + timedelta(days=int(tag, 16) % 40_000)
        self.base = f"https://s.example/sum-{tag}"
        self.range = {"from": self.iso(), "to": self.iso(hours=24)}

    def iso(self, hours: float = 0) -> str:
        return (self.start + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def path(self, page: str) -> str:
        return self.base.removeprefix("https://s.example") + page


def pageview(day: Day, anon: str, hours: float, page: str, query: str = "") -> dict[str, Any]:
    return {"event": "$pageview", "anonymous_id": anon, "timestamp": day.iso(hours), "url": day.base + page + query}


@pytest.fixture(scope="module")
def day(server: Server) -> Day:
    """Three human sessions and a bot's: two enter on /landing (one bounces), one on /blog;
    the two that go on leave from /pricing after 300 s and 60 s. All come from the newsletter."""
    d = Day()
    news = "?utm_source=newsletter&utm_medium=email"
    humans = [
        pageview(d, "sum_a", 10, "/landing", news), pageview(d, "sum_a", 10 + 2 / 60, "/pricing"),
        {"event": "signup", "anonymous_id": "sum_a", "timestamp": d.iso(10 + 5 / 60)},
        pageview(d, "sum_b", 11, "/landing", news),
        pageview(d, "sum_c", 12, "/blog", news), pageview(d, "sum_c", 12 + 1 / 60, "/pricing"),
    ]  # fmt: skip
    with server.client(server.keys["sk_live"], **{"User-Agent": CHROME}) as c:
        assert c.post("/v1/batch", json={"events": humans}).status_code == 202
    with server.client(server.keys["sk_live"], **{"User-Agent": BOT}) as c:
        assert c.post("/v1/track", json=pageview(d, "sum_bot", 13, "/landing", news)).status_code == 202
    return d


def get(server: Server, day: Day, key: str | None = "rk_live", **params: Any) -> Any:
    with server.client(server.keys[key] if key else None) as c:
        return c.get(ROUTE, params={**day.range, **params})


def rows(server: Server, day: Day, **params: Any) -> list[dict[str, Any]]:
    r = get(server, day, **params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert list(body) == ["rows"]
    return list(body["rows"])


def test_totals(server: Server, day: Day) -> None:
    assert rows(server, day) == [{"sessions": 3, "bounces": 1, "duration_s": 360}]
    assert rows(server, day, include_bots="true") == [{"sessions": 4, "bounces": 2, "duration_s": 360}]
    other_day = {"from": day.iso(-48), "to": day.iso(-24)}
    assert rows(server, day, **other_day) == [{"sessions": 0, "bounces": 0, "duration_s": 0}]


def test_per_entry_and_exit_page(server: Server, day: Day) -> None:
    landing, blog, pricing = day.path("/landing"), day.path("/blog"), day.path("/pricing")
    assert rows(server, day, group_by="entry_path") == [
        {"entry_path": landing, "sessions": 2, "bounces": 1, "duration_s": 300},
        {"entry_path": blog, "sessions": 1, "bounces": 0, "duration_s": 60},
    ]
    assert rows(server, day, group_by="exit_path") == [
        {"exit_path": pricing, "sessions": 2, "bounces": 0, "duration_s": 360},
        {"exit_path": landing, "sessions": 1, "bounces": 1, "duration_s": 0},
    ]
    assert rows(server, day, group_by="entry_path", limit="1") == rows(server, day, group_by="entry_path")[:1]
    assert rows(server, day, group_by="entry_path", include_bots="true")[0]["sessions"] == 3


def test_filters_as_stats_takes_them(server: Server, day: Day) -> None:
    # A session column (its first event's source), and an event column: sessions with such a page.
    assert rows(server, day, source="newsletter", medium="email") == rows(server, day)
    assert rows(server, day, source="google") == [{"sessions": 0, "bounces": 0, "duration_s": 0}]
    assert rows(server, day, path=day.path("/pricing")) == [{"sessions": 2, "bounces": 0, "duration_s": 360}]
    assert rows(server, day, group_by="entry_path", path=day.path("/blog")) == [
        {"entry_path": day.path("/blog"), "sessions": 1, "bounces": 0, "duration_s": 60}
    ]


def test_secret_keys_read_too_other_environments_see_nothing(server: Server, day: Day) -> None:
    assert rows(server, day, key="sk_live") == rows(server, day)
    assert rows(server, day, key="rk_test") == [{"sessions": 0, "bounces": 0, "duration_s": 0}]


@pytest.mark.parametrize(
    ("key", "headers", "status", "code"),
    [
        ("pk_live", {}, 403, "insufficient_scope"),
        (None, {}, 401, "missing_bearer_token"),
        (None, {"Authorization": "Basic abc"}, 401, "missing_bearer_token"),
        (None, {"Authorization": "Bearer nope"}, 401, "malformed_api_key"),
    ],
)
def test_who_may_read(server: Server, day: Day, key: str | None, headers: dict[str, str], status: int, code: str) -> None:
    with server.client(server.keys[key] if key else None, Origin="http://localhost:5173", **headers) as c:
        r = c.get(ROUTE, params=day.range)
    assert (r.status_code, r.json()["error"]) == (status, code)
    assert "details" in r.json()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": ""}, "from"),
        ({"to": "soon"}, "to"),
        ({"from": "2026-05-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}, "to"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"include_bots": "maybe"}, "include_bots"),
    ],
)
def test_bad_params_are_invalid_params(server: Server, day: Day, params: dict[str, str], field: str) -> None:
    r = get(server, day, **params)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_params"
    assert field in r.json()["details"]["errors"]


@pytest.mark.parametrize("group_by", ["browser", "entry_path,exit_path", "path"])
def test_bad_group_by_lists_the_allowed_ones(server: Server, day: Day, group_by: str) -> None:
    r = get(server, day, group_by=group_by)
    assert r.status_code == 400, r.text
    assert r.json() == {
        "error": "invalid_group_by",
        "details": {"allowed": ["entry_path", "exit_path"], "invalid": [group_by]},
    }


def test_counts_every_session_however_many(server: Server) -> None:
    """More sessions than one page of `/v1/sessions` (1000) holds: all are counted."""
    d = Day()
    events = [pageview(d, f"many_{i}", i / 100, "/a" if i % 3 else "/b") for i in range(1500)]
    with server.client(server.keys["sk_live"], **{"User-Agent": CHROME}) as c:
        for start in (0, 1000):
            assert c.post("/v1/batch", json={"events": events[start : start + 1000]}).status_code == 202
    assert rows(server, d) == [{"sessions": 1500, "bounces": 1500, "duration_s": 0}]
    assert [(r["entry_path"], r["sessions"]) for r in rows(server, d, group_by="entry_path")] == [
        (d.path("/a"), 1000), (d.path("/b"), 500)
    ]  # fmt: skip
