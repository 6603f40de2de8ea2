"""Stats and sources over a fixed dataset with hand-computed answers, on a real DuckDB file."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from footfall.model import Event, IdentityLink, Scope
from footfall.read.queries import SourcesQuery, StatsQuery
from footfall.store.duckdb.store import DuckDBStore

SCOPE = Scope("prj_a", "live")
START, END = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)


def e(n: int, ts: str, **kw: object) -> Event:
    fields: dict[str, object] = {
        "project_id": "prj_a", "env": "live", "uid": f"u{n:03d}", "name": "$pageview",
        "ts": datetime.fromisoformat(ts).replace(tzinfo=UTC), "received_at": START,
    }
    fields.update(kw)
    return Event(**fields)  # type: ignore[arg-type]


GOOGLE = {"source": "google", "medium": "organic", "channel": "Organic Search"}
FACEBOOK = {"source": "facebook", "medium": "paid", "channel": "Paid Social"}
DIRECT = {"source": "direct", "medium": "direct", "channel": "Direct"}
DESKTOP = {"country": "US", "device_type": "desktop", "browser": "Chrome", "os": "Windows"}
PHONE = {"country": "DE", "device_type": "mobile", "browser": "Mobile Safari", "os": "iOS"}

EVENTS = [
    e(1, "2026-05-01T10:00:00", anonymous_id="a1", session_id="s1", path="/", **GOOGLE, **DESKTOP),
    e(2, "2026-05-01T10:05:00", name="signup", anonymous_id="a1", session_id="s1", **GOOGLE, **DESKTOP),
    e(3, "2026-05-01T23:30:00", anonymous_id="a2", session_id="s2", path="/pricing", **FACEBOOK, **PHONE),
    e(4, "2026-05-02T00:10:00", name="signup", anonymous_id="a2", session_id="s2", **FACEBOOK, **PHONE),
    e(5, "2026-05-02T09:00:00", anonymous_id="a3", session_id="s3", path="/", **DIRECT, **DESKTOP),
    e(6, "2026-05-02T09:00:00", anonymous_id="bot1", session_id="s6", is_bot=True, **DIRECT),
    e(7, "2026-05-03T12:00:00", anonymous_id="a4", session_id="s4", path="/", **FACEBOOK, **DESKTOP),
    e(8, "2026-05-03T13:00:00", name="purchase", anonymous_id="a5", user_id="u1", session_id="s5", **FACEBOOK, **DESKTOP),
    # outside the scope: other environment, other project, outside the range
    e(9, "2026-05-03T13:00:00", env="test", anonymous_id="a1", **GOOGLE),
    e(10, "2026-05-03T13:00:00", project_id="prj_b", anonymous_id="a1", **GOOGLE),
    e(11, "2026-06-01T00:00:00", anonymous_id="a1", **GOOGLE),
]
LINKS = [IdentityLink(project_id="prj_a", env="live", anonymous_id="a4", user_id="u1", ts=START)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    s = DuckDBStore(tmp_path_factory.mktemp("stats") / "e.duckdb")
    s.migrate()
    enc = msgspec.json.encode
    s.append(b"".join(enc(x) + b"\n" for x in EVENTS), b"".join(enc(x) + b"\n" for x in LINKS), 1)
    return s


def stats(store: DuckDBStore, **kw: object) -> list[dict[str, object]]:
    return store.stats(StatsQuery(scope=SCOPE, start=START, end=END, **kw))  # type: ignore[arg-type]


def test_totals_per_metric(store: DuckDBStore) -> None:
    assert stats(store) == [{"value": 7}]  # 8 in range, one is a bot
    assert stats(store, include_bots=True) == [{"value": 8}]
    assert stats(store, metric="uniques") == [{"value": 4}]  # a1, a2, a3, u1 (= a4 + a5)
    assert stats(store, metric="users") == [{"value": 1}]  # u1
    assert stats(store, metric="sessions") == [{"value": 5}]


def test_group_by_source_medium(store: DuckDBStore) -> None:
    assert stats(store, group_by=("source", "medium")) == [
        {"source": "facebook", "medium": "paid", "value": 4},
        {"source": "google", "medium": "organic", "value": 2},
        {"source": "direct", "medium": "direct", "value": 1},
    ]
    assert stats(store, group_by=("source",), metric="uniques") == [
        {"source": "facebook", "value": 2},  # a2 and u1
        {"source": "direct", "value": 1},
        {"source": "google", "value": 1},
    ]


def test_every_group_by_column(store: DuckDBStore) -> None:
    assert stats(store, group_by=("channel",), limit=1) == [{"channel": "Paid Social", "value": 4}]
    assert stats(store, group_by=("event_name",)) == [
        {"event_name": "$pageview", "value": 4},
        {"event_name": "signup", "value": 2},
        {"event_name": "purchase", "value": 1},
    ]
    assert stats(store, group_by=("country", "device_type")) == [
        {"country": "US", "device_type": "desktop", "value": 5},
        {"country": "DE", "device_type": "mobile", "value": 2},
    ]
    assert stats(store, group_by=("browser", "os"), limit=1) == [{"browser": "Chrome", "os": "Windows", "value": 5}]
    assert stats(store, group_by=("path",), event="$pageview") == [
        {"path": "/", "value": 3},
        {"path": "/pricing", "value": 1},
    ]


def test_filters(store: DuckDBStore) -> None:
    assert stats(store, filters=(("country", "DE"),)) == [{"value": 2}]
    assert stats(store, filters=(("channel", "Paid Social"), ("device_type", "desktop"))) == [{"value": 2}]
    assert stats(store, event="signup", filters=(("source", "google"),)) == [{"value": 1}]


def test_daily_signups_by_source_in_utc_and_in_a_time_zone(store: DuckDBStore) -> None:
    utc = stats(store, event="signup", group_by=("source",), interval="day")
    assert utc == [
        {"bucket": "2026-05-01T00:00:00Z", "source": "google", "value": 1},
        {"bucket": "2026-05-02T00:00:00Z", "source": "facebook", "value": 1},
    ]
    # 00:10 UTC on 2 May is 20:10 on 1 May in New York: both signups fall on 1 May there.
    ny = stats(store, event="signup", group_by=("source",), interval="day", timezone="America/New_York")
    assert ny == [
        {"bucket": "2026-05-01T00:00:00", "source": "facebook", "value": 1},
        {"bucket": "2026-05-01T00:00:00", "source": "google", "value": 1},
    ]


def test_other_intervals(store: DuckDBStore) -> None:
    assert stats(store, interval="month") == [{"bucket": "2026-05-01T00:00:00Z", "value": 7}]
    assert stats(store, interval="week") == [  # ISO weeks start on Monday (27 April)
        {"bucket": "2026-04-27T00:00:00Z", "value": 7},
    ]
    hours = stats(store, interval="hour", event="signup")
    assert [r["bucket"] for r in hours] == ["2026-05-01T10:00:00Z", "2026-05-02T00:00:00Z"]


def test_range_is_from_inclusive_to_exclusive(store: DuckDBStore) -> None:
    q = StatsQuery(scope=SCOPE, start=datetime(2026, 5, 1, 10, 0, tzinfo=UTC), end=datetime(2026, 5, 1, 10, 5, tzinfo=UTC))
    assert store.stats(q) == [{"value": 1}]


def test_sources(store: DuckDBStore) -> None:
    rows = store.sources(SourcesQuery(scope=SCOPE, start=START, end=END))
    assert rows == [
        {"source": "facebook", "medium": "paid", "events": 4, "uniques": 2, "paid_share": 1.0},
        {"source": "google", "medium": "organic", "events": 2, "uniques": 1, "paid_share": 0.0},
        {"source": "direct", "medium": "direct", "events": 1, "uniques": 1, "paid_share": 0.0},
    ]
    by_source = store.sources(SourcesQuery(scope=SCOPE, start=START, end=END, breakdown="source", limit=1))
    assert by_source == [{"source": "facebook", "events": 4, "uniques": 2, "paid_share": 1.0}]


def test_sessions_rows(store: DuckDBStore) -> None:
    from footfall.read.queries import SessionsQuery

    rows = store.sessions(SessionsQuery(scope=SCOPE, start=START, end=END))
    assert [r["session_id"] for r in rows] == ["s5", "s4", "s3", "s2", "s1"]  # newest first, bot excluded
    s1 = rows[-1]
    assert s1 | {} == {
        "session_id": "s1", "anonymous_id": "a1", "user_id": None,
        "start": "2026-05-01T10:00:00.000000Z", "end": "2026-05-01T10:05:00.000000Z", "duration_s": 300.0,
        "entry_path": "/", "exit_path": "/", "pageviews": 1, "events": 2, "bounce": False,
        "source": "google", "medium": "organic", "campaign": None, "channel": "Organic Search", "referrer_host": None,
        "device_type": "desktop", "browser": "Chrome", "os": "Windows", "country": "US",
    }
    assert rows[2]["bounce"] is True  # s3: one pageview, nothing else
    people = store.sessions(SessionsQuery(scope=SCOPE, start=START, end=END, user_id="u1"))
    assert sorted(r["session_id"] for r in people) == ["s4", "s5"]  # s4 through the a4 → u1 link
    assert {r["user_id"] for r in people} == {"u1"}
