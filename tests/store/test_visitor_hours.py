"""`visitor_hours`, `page_hours` and `event_hours` count people exactly as the events do:
random events loaded in several batches, devices identified and aliased after the fact, forget
and reclassify, a batch that fails half-way and is loaded again, stores migrated from before
the tables existed, and both ways of counting (bit sets, `count(DISTINCT)`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footfall.model import Event, IdentityLink, Scope
from footfall.read.queries import SourcesQuery, StatsQuery
from footfall.store.duckdb import reads, visitors
from footfall.store.duckdb.store import DuckDBStore

SCOPE = Scope("prj_a", "live")
T0 = datetime(2026, 3, 27, tzinfo=UTC)
BUDGET = reads.PEOPLE_SETS_BYTES  # the days around Europe/Berlin's switch to summer time
enc = msgspec.json.encode


def lines(items: list[Any]) -> bytes:
    return b"".join(enc(x) + b"\n" for x in items)


event = st.builds(
    lambda n, minutes, anon, user, env, project, source, country, bot, name, path: Event(
        project_id=project, env=env, uid=f"u{n}", name=name, path=path,
        ts=T0 + timedelta(minutes=minutes), received_at=T0,
        anonymous_id=None if anon is None else f"a{anon}",
        user_id=None if user is None else f"{'a' if user % 3 == 0 else 'p'}{user}",
        session_id=None if anon is None else f"a{anon}-{minutes // 30}",
        source=source, medium=None if source is None else ("paid" if n % 3 else "organic"), country=country, is_bot=bot,
    ),
    st.integers(0, 10**9), st.integers(0, 5 * 24 * 60),
    st.one_of(st.none(), st.integers(0, 8)), st.one_of(st.none(), st.integers(0, 6)),
    st.sampled_from(["live"] * 5 + ["test"]), st.sampled_from(["prj_a"] * 5 + ["prj_b"]),
    st.sampled_from([None, "google", "bing"]), st.sampled_from(["US", "DE", None]),
    st.sampled_from([False] * 5 + [True]),
    st.sampled_from(["$pageview"] * 3 + ["signup", "buy"]), st.sampled_from(["/", "/a", None]),
)  # fmt: skip
link = st.builds(
    lambda anon, user, env: IdentityLink(
        project_id="prj_a", env=env, anonymous_id=f"a{anon}", user_id=f"{'a' if user % 3 == 0 else 'p'}{user}", ts=T0
    ),
    st.integers(0, 8), st.integers(0, 6), st.sampled_from(["live"] * 5 + ["test"]),
)  # fmt: skip
# Batches of events and links, in load order: links often arrive after the events they stitch.
batches = st.lists(
    st.tuples(st.lists(event, min_size=8, max_size=30), st.lists(link, min_size=1, max_size=4)), min_size=2, max_size=4
)
hours = st.integers(0, 5 * 24).map(lambda h: T0 + timedelta(hours=h))
query = st.builds(
    lambda start, length, group_by, interval, tz, country, bots: StatsQuery(
        scope=SCOPE, start=start, end=start + timedelta(hours=length), metric="uniques",
        group_by=tuple(group_by), interval=interval, timezone=tz,
        filters=(("country", country),) if country else (), include_bots=bots, limit=1000,
    ),
    hours, st.integers(1, 5 * 24), st.lists(st.sampled_from(["source", "medium", "country"]), unique=True, max_size=2),
    st.sampled_from([None, "hour", "day", "week", "month"]),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
    st.sampled_from([None, "US", "DE"]), st.booleans(),
)  # fmt: skip


# What the pages and events tables answer: people by path among page views, by event name,
# and of one event (the dashboard's top pages, goals and events, conversions).
page_query = st.builds(
    lambda q, pages, grouped, name, path: msgspec.structs.replace(
        q, event="$pageview" if pages else (name if grouped else name or "signup"), filters=(("path", path),) if pages and path else (),
        group_by=(("path",) if pages else ("event_name",)) if grouped else (),
    ),
    query, st.booleans(), st.booleans(), st.sampled_from([None, "signup", "$pageview"]),
    st.sampled_from([None, "/", "/a"]),
)  # fmt: skip


def fresh(path: Path) -> DuckDBStore:
    s = DuckDBStore(path)
    s.migrate()
    return s


def load(s: DuckDBStore, loaded: list[tuple[list[Event], list[IdentityLink]]]) -> None:
    for seq, (events, links) in enumerate(loaded, s.applied_seq() + 1):
        s.append(lines(events), lines(links), seq)


def same(s: DuckDBStore, q: StatsQuery) -> list[dict[str, Any]]:
    fast = reads.stats(s.read, q)
    assert fast == reads.stats(s.read, q, use_rollup=False), q
    return fast


@pytest.fixture
def store(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    return fresh(tmp_path_factory.mktemp("visitors") / "e.duckdb")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    loaded=batches, queries=st.lists(query, min_size=1, max_size=6),
    pages=st.lists(page_query, min_size=1, max_size=6), sets=st.booleans(),
)
def test_visitor_hours_count_people_as_the_events_do(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
    loaded: list[tuple[list[Event], list[IdentityLink]]], queries: list[StatsQuery],
    pages: list[StatsQuery], sets: bool,
) -> None:
    # Bit sets when they fit the budget (here, always), else count(DISTINCT): both exact.
    monkeypatch.setattr(reads, "PEOPLE_SETS_BYTES", BUDGET if sets else 0)
    s = fresh(tmp_path_factory.mktemp("prop") / "e.duckdb")
    try:
        load(s, loaded)
        whole = StatsQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=6), metric="uniques", group_by=("source",))
        for q in (whole, *queries):
            assert visitors.covers(q)
            same(s, q)
        for q in pages:
            assert visitors.table_for(q) in (visitors.PAGES, visitors.EVENTS), q
            same(s, q)
    finally:
        s.close()


def test_an_identify_after_the_fact_moves_the_device_and_its_alias_chain(store: DuckDBStore) -> None:
    at = T0 + timedelta(hours=1)
    evs = [
        Event(project_id="prj_a", env="live", uid=f"u{i}", name="$pageview", ts=at, received_at=at,
              anonymous_id=anon, user_id=user, source=src)
        for i, (anon, user, src) in enumerate([
            ("d1", None, "google"), ("d2", None, "google"), ("d3", "alice", "bing"), ("d4", None, "bing"),
        ])
    ]  # fmt: skip
    q = StatsQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=1), metric="uniques", group_by=("source",))
    load(store, [(evs, [])])
    assert same(store, q) == [{"source": "bing", "value": 2}, {"source": "google", "value": 2}]

    def link(anon: str, user: str) -> IdentityLink:
        return IdentityLink(project_id="prj_a", env="live", anonymous_id=anon, user_id=user, ts=at)

    load(store, [([], [link("d1", "d2")])])  # d1 is d2 now
    assert same(store, q) == [{"source": "bing", "value": 2}, {"source": "google", "value": 1}]
    load(store, [([], [link("d2", "alice")])])  # the chain d1 → d2 → alice: one person everywhere
    load(store, [([], [link("d4", "alice")])])
    assert same(store, q) == [{"source": "bing", "value": 1}, {"source": "google", "value": 1}]
    assert same(store, StatsQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=1), metric="uniques")) == [
        {"value": 1}
    ]
    for q in (
        StatsQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=1), metric="uniques", event="$pageview", group_by=("path",)),
        StatsQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=1), metric="uniques", group_by=("event_name",)),
    ):
        assert visitors.table_for(q) in (visitors.PAGES, visitors.EVENTS)
        assert [r["value"] for r in same(store, q)] == [1]  # every device is alice's now


def test_forget_and_reclassify_keep_it_exact_and_leave_no_key(store: DuckDBStore) -> None:
    evs = [
        Event(project_id="prj_a", env="live", uid=f"u{i}", name="$pageview",
              ts=T0 + timedelta(hours=i * 7), received_at=T0, anonymous_id=f"d{i % 4}",
              url="https://shop.example/", source="google" if i % 2 else None)
        for i in range(20)
    ]  # fmt: skip
    gone = IdentityLink(project_id="prj_a", env="live", anonymous_id="d1", user_id="gone", ts=T0)
    load(store, [(evs, [gone])])
    q = StatsQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=8), metric="uniques", group_by=("source",), interval="day")
    pages = msgspec.structs.replace(q, event="$pageview", group_by=("path",))
    before, pages_before = same(store, q), same(store, pages)
    assert store.forget(SCOPE, "gone").events == 5
    assert same(store, q) != before
    assert same(store, pages) != pages_before
    ids = {r[0] for r in store.read("SELECT id FROM visitor_keys", None)[1]}
    assert "gone" not in ids and "d1" not in ids and "d2" in ids
    store.reclassify(T0 + timedelta(days=3), lambda p, u, r: {"source": "again", "source_rule_id": "referral"}, ("source",))
    assert any(r["source"] == "again" for r in same(store, q))


def test_a_batch_that_fails_half_way_is_loaded_again_exactly(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    evs = [
        Event(project_id="prj_a", env="live", uid=f"u{i}", name="$pageview", ts=T0 + timedelta(minutes=i),
              received_at=T0, anonymous_id=f"d{i % 3}", source="google", path="/")
        for i in range(9)
    ]  # fmt: skip
    links = [IdentityLink(project_id="prj_a", env="live", anonymous_id="d0", user_id="bob", ts=T0)]
    load(store, [(evs[:4], [])])
    real = visitors.relink

    def crash(con: Any) -> None:
        real(con)  # the read model is written, then the process "dies" before the commit
        raise RuntimeError("killed")

    monkeypatch.setattr(visitors, "relink", crash)
    with pytest.raises(RuntimeError):
        store.append(lines(evs[4:]), lines(links), 2)
    assert store.applied_seq() == 1
    monkeypatch.setattr(visitors, "relink", real)
    store.append(lines(evs[4:]), lines(links), 2)  # the loader replays from its WAL position
    q = StatsQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=1), metric="uniques", interval="hour")
    assert same(store, q) == [{"bucket": "2026-03-27T00:00:00Z", "value": 3}]
    assert store.read("SELECT count(*) FROM visitor_hours", None)[1] == [(3,)]  # no row twice
    assert store.read("SELECT count(*) FROM event_hours", None)[1] == [(3,)]
    assert store.read("SELECT count(*) FROM page_hours", None)[1] == [(3,)]


def test_the_migration_backfills_an_existing_store(tmp_path: Path) -> None:
    s = fresh(tmp_path / "e.duckdb")
    evs = [
        Event(project_id="prj_a", env="live", uid=f"u{i}", name="$pageview", ts=T0 + timedelta(hours=i),
              received_at=T0, anonymous_id=f"d{i % 5}", user_id="carol" if i == 7 else None,
              source=["google", "bing", None][i % 3], country=["US", "DE"][i % 2])
        for i in range(40)
    ]  # fmt: skip
    load(s, [(evs, [IdentityLink(project_id="prj_a", env="live", anonymous_id="d1", user_id="carol", ts=T0)])])
    # The store as the previous release left it: no visitor tables, migration 6 not applied.
    for sql in ("DROP TABLE visitor_hours", "DROP TABLE visitor_keys", "DELETE FROM schema_migrations WHERE version = 6"):
        s._con.execute(sql)
    s.close()
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    assert s.read("SELECT count(*) FROM schema_migrations WHERE version = 6", None)[1] == [(1,)]
    q = StatsQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=3), metric="uniques", group_by=("source", "country"), interval="day")
    migrated = same(s, q)
    assert migrated and sum(r["value"] for r in migrated) > 5
    assert s.read("SELECT count(*) FROM visitor_hours", None)[1] == [(40,)]
    visitors.backfill(s._con)  # again, over the rows it filled: the same answers
    assert same(s, q) == migrated
    s.close()


def test_the_migration_fills_pages_and_events_in_an_existing_store(tmp_path: Path) -> None:
    s = fresh(tmp_path / "e.duckdb")
    evs = [
        Event(project_id="prj_a", env="live", uid=f"u{i}", name=["$pageview", "$pageview", "signup"][i % 3],
              ts=T0 + timedelta(hours=i), received_at=T0, anonymous_id=f"d{i % 5}",
              user_id="carol" if i == 7 else None, path=["/", "/a", None, "/b"][i % 4])
        for i in range(40)
    ]  # fmt: skip
    load(s, [(evs, [IdentityLink(project_id="prj_a", env="live", anonymous_id="d1", user_id="carol", ts=T0)])])
    queries = [
        StatsQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=3), metric="uniques", event="$pageview", group_by=("path",)),
        StatsQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=3), metric="uniques", group_by=("event_name",), interval="day"),
    ]
    loaded = [same(s, q) for q in queries]
    # The store as the previous release left it: migration 13 not applied.
    for sql in ("DROP TABLE page_hours", "DROP TABLE event_hours", "DELETE FROM schema_migrations WHERE version = 13"):
        s._con.execute(sql)
    s.close()
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    assert s.read("SELECT count(*) FROM schema_migrations WHERE version = 13", None)[1] == [(1,)]
    assert [same(s, q) for q in queries] == loaded
    assert all(len(rows) > 1 for rows in loaded)
    s.close()


def test_bit_sets_count_people_while_they_fit_the_budget(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    evs = [
        Event(project_id="prj_a", env="live", uid=f"u{i}", name="$pageview", ts=T0 + timedelta(minutes=i),
              received_at=T0, anonymous_id=f"d{i % 7}", source=["google", "bing"][i % 2], region=f"r{i % 3}")
        for i in range(30)
    ]  # fmt: skip
    load(store, [(evs, [])])
    for group_by in ((), ("source",), ("region",)):  # region: groups counted in the table itself
        q = StatsQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=1), metric="uniques", group_by=group_by, interval="hour")
        assert "bitstring_agg" in reads._count_people(store.read, q, "visitor_hours")
        fast = same(store, q)
        monkeypatch.setattr(reads, "PEOPLE_SETS_BYTES", 64)  # a set per group no longer fits
        assert reads._count_people(store.read, q, "visitor_hours") == "count(DISTINCT person_key)"
        assert same(store, q) == fast
        monkeypatch.setattr(reads, "PEOPLE_SETS_BYTES", BUDGET)
    empty = StatsQuery(scope=SCOPE, start=T0 - timedelta(days=9), end=T0 - timedelta(days=8), metric="uniques")
    assert same(store, empty) == [{"value": 0}]
    # A key outside the sets' range (statistics bound every stored key, but never a failed
    # read if not): the count without sets.
    q = StatsQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=1), metric="uniques", group_by=("source",))
    monkeypatch.setattr(reads, "_count_people", lambda *a: "coalesce(bit_count(bitstring_agg(person_key, 1, 2)), 0)")
    assert reads.stats(store.read, q) == reads.stats(store.read, q, use_rollup=False)


def test_what_it_does_not_cover_reads_the_events() -> None:
    q = StatsQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=1), metric="uniques")
    assert visitors.covers(q)
    assert not visitors.covers(msgspec.structs.replace(q, event="$pageview"))
    assert not visitors.covers(msgspec.structs.replace(q, group_by=("path",)))
    assert not visitors.covers(msgspec.structs.replace(q, metric="count"))
    assert not visitors.covers(msgspec.structs.replace(q, start=T0 + timedelta(minutes=30)))
    # Kolkata is UTC+5:30: its days start on half hours
    assert not visitors.covers(msgspec.structs.replace(q, interval="day", timezone="Asia/Kolkata"))
    assert visitors.covers(msgspec.structs.replace(q, timezone="Asia/Kolkata"))  # one total: any zone
    assert visitors.covers(msgspec.structs.replace(q, interval="day", timezone="Europe/Berlin"))
    pages = msgspec.structs.replace(q, event="$pageview", group_by=("path",))
    assert visitors.table_for(pages) is visitors.PAGES
    assert visitors.table_for(msgspec.structs.replace(q, group_by=("event_name",))) is visitors.EVENTS
    assert visitors.table_for(msgspec.structs.replace(q, event="signup")) is visitors.EVENTS
    assert visitors.table_for(msgspec.structs.replace(pages, event="signup")) is None  # path of other events
    assert visitors.table_for(msgspec.structs.replace(pages, filters=(("source", "x"),))) is None
    assert visitors.table_for(msgspec.structs.replace(pages, start=T0 + timedelta(minutes=30))) is None


days = st.integers(0, 5).map(lambda d: T0 + timedelta(days=d))


@settings(max_examples=15, deadline=None)
@given(
    loaded=batches, start=days, length=st.integers(1, 6),
    breakdown=st.sampled_from(["source_medium", "source"]), bots=st.booleans(),
)
def test_sources_over_whole_days_answer_as_the_events_do(
    tmp_path_factory: pytest.TempPathFactory, loaded: list[tuple[list[Event], list[IdentityLink]]],
    start: datetime, length: int, breakdown: str, bots: bool,
) -> None:
    s = fresh(tmp_path_factory.mktemp("sources") / "e.duckdb")
    try:
        load(s, loaded)
        q = SourcesQuery(scope=SCOPE, start=start, end=start + timedelta(days=length), breakdown=breakdown, include_bots=bots, limit=100)
        assert reads.sources(s.read, q) == reads.sources(s.read, q, use_rollup=False)
    finally:
        s.close()


any_range = st.tuples(st.integers(-60, 5 * 24 * 60), st.integers(1, 6 * 24 * 60)).map(
    lambda r: (T0 + timedelta(minutes=r[0]), T0 + timedelta(minutes=r[0] + r[1]))
)


@settings(max_examples=20, deadline=None)
@given(loaded=batches, ranges=st.lists(any_range, min_size=1, max_size=5), bots=st.booleans())
def test_visits_from_the_sessions_table_count_as_the_events_do(
    tmp_path_factory: pytest.TempPathFactory, loaded: list[tuple[list[Event], list[IdentityLink]]],
    ranges: list[tuple[datetime, datetime]], bots: bool,
) -> None:
    s = fresh(tmp_path_factory.mktemp("visits") / "e.duckdb")
    try:
        load(s, loaded)
        for start, end in ranges:  # any range: only the sessions crossing its edges read events
            q = StatsQuery(scope=SCOPE, start=start, end=end, metric="sessions", include_bots=bots)
            assert reads._visits(s.read, q) is not None
            same(s, q)
    finally:
        s.close()


def test_visits_after_forget_reclassify_and_the_migration(tmp_path: Path) -> None:
    s = fresh(tmp_path / "e.duckdb")
    evs = [
        Event(project_id="prj_a", env="live", uid=f"u{i}", name="$pageview", ts=T0 + timedelta(minutes=40 * i),
              received_at=T0, anonymous_id=f"d{i % 4}", session_id=f"d{i % 4}-{i // 8}", is_bot=i % 5 == 0,
              user_id="gone" if i % 4 == 1 else None, url="https://shop.example/")
        for i in range(60)
    ]  # fmt: skip
    load(s, [(evs[:30], []), (evs[30:], [])])
    queries = [
        StatsQuery(scope=SCOPE, start=T0 + timedelta(hours=h), end=T0 + timedelta(hours=h + n), metric="sessions")
        for h, n in ((0, 48), (3, 5), (7, 1))
    ]
    before = [same(s, q) for q in queries]
    assert before[0][0]["value"] > 3
    s._con.execute("UPDATE sessions SET humans = NULL")  # as the previous release left them
    s._con.execute("DELETE FROM schema_migrations WHERE version = 13")
    s._con.execute("DROP TABLE page_hours")
    s._con.execute("DROP TABLE event_hours")
    assert reads._visits(s.read, queries[0]) is None  # unknown: the events answer
    s.close()
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    assert [same(s, q) for q in queries] == before
    assert s.read("SELECT count(*) FROM sessions WHERE humans IS NULL", None)[1] == [(0,)]
    s.forget(SCOPE, "gone")
    s.reclassify(T0, lambda p, u, r: {"source": "again", "source_rule_id": "referral"}, ("source",))
    after = [same(s, q) for q in queries]
    assert after[0][0]["value"] < before[0][0]["value"]
    s.close()
