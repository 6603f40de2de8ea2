"""The loader's per-batch steps against recomputation from the stored events (real DuckDB file).

Idempotency skips a batch's later copies of an event id and every id already stored, using
`event_keys` as a filter (store/duckdb/dedupe.py); sessions and the daily rollup are folded in
batch by batch. Whatever the batches (repeated ids within and across them, timestamps out of
order within a batch, sessions spanning batches), the result must equal the reference: one row
per id (its first copy), sessions equal to aggregating their events afresh, rollup equal to
counting.

Batches also arrive out of time order (an SDK flushing late, an import): the entry page, exit
page and last user id carry their own times in `sessions` (migration 012), so they fold
exactly whatever the order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footfall.model import Event
from footfall.store.duckdb import dedupe, sessions
from footfall.store.duckdb.store import DuckDBStore

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

spec = st.tuples(
    st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "e", "f"])),  # event id
    st.sampled_from(["live", "test"]),
    st.sampled_from(["v1", "v2", "v3"]),  # visitor
    st.integers(min_value=0, max_value=49),  # minutes into the batch's own 50: out of order within it
    st.sampled_from(["$pageview", "$pageview", "signup", "$engagement"]),
    st.integers(min_value=0, max_value=3),  # received_at offset: which copy is first
)


def event(n: int, s: tuple[Any, ...], batch: int = 0) -> Event:
    event_id, env, visitor, minutes, name, received = s
    minutes += 50 * batch - 90  # batches in time order; T0 - 90 min: days' edges inside
    # Unique timestamps (n µs apart): "first event of a session" has one answer.
    ts = T0 + timedelta(minutes=minutes, microseconds=n)
    return Event(
        project_id="prj", env=env, uid=f"u{n}", event_id=event_id, name=name, ts=ts,
        received_at=T0 + timedelta(seconds=received, microseconds=n), anonymous_id=visitor,
        session_id=f"{visitor}-{(minutes + 90) // 45}", path=f"/p{n % 3}", source=["g", "b"][n % 2],
        country=["DE", "US"][n % 2], is_bot=n % 7 == 0,
    )


def reference(batches: list[list[Event]]) -> set[str]:
    """The uids a correct loader stores: every id-less event; per (project, env, id), the copy
    received first in the first batch that carries it (ties: batch order)."""
    kept: set[str] = set()
    seen: set[tuple[str, str, str]] = set()
    for batch in batches:
        firsts: dict[tuple[str, str, str], Event] = {}
        for e in batch:
            if e.event_id is None:
                kept.add(e.uid)
                continue
            key = (e.project_id, e.env, e.event_id)
            if key not in seen and (key not in firsts or e.received_at < firsts[key].received_at):
                firsts[key] = e
        seen.update(firsts)
        kept.update(e.uid for e in firsts.values())
    return kept


def ndjson(events: list[Event]) -> bytes:
    return b"".join(msgspec.json.encode(e) + b"\n" for e in events)


def differences(store: DuckDBStore, a: str, b: str) -> list[Any]:
    return store._con.execute(f"({a}) EXCEPT ALL ({b}) UNION ALL ({b}) EXCEPT ALL ({a})").fetchall()


def assert_consistent(store: DuckDBStore) -> None:
    cols = sessions.COLUMNS
    rebuilt = f"SELECT {cols} FROM ({sessions._AGGREGATE.format(source='events', where='')})"
    assert differences(store, f"SELECT {cols} FROM sessions", rebuilt) == []
    rollup = ("SELECT project_id, env, day, name, country, is_bot, sum(events)::BIGINT FROM daily_rollup"
              " GROUP BY ALL")
    counted = ("SELECT project_id, env, CAST(ts AS DATE), name, country, is_bot, count(*) FROM events"
               " GROUP BY ALL")
    assert differences(store, rollup, counted) == []
    keys = f"SELECT {dedupe.KEY} FROM events WHERE event_id IS NOT NULL"
    assert differences(store, "SELECT k FROM event_keys", keys) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(spec, min_size=1, max_size=12), min_size=1, max_size=5))
def test_batches_store_each_id_once_and_fold_exactly(tmp_path_factory: Any, raw: list[list[Any]]) -> None:
    store = DuckDBStore(tmp_path_factory.mktemp("fold") / "e.duckdb", memory="64MB")
    store.migrate()
    try:
        n = 0
        batches = []
        for k, raw_batch in enumerate(raw):
            batch = []
            for s in raw_batch:
                batch.append(event(n, s, k))
                n += 1
            batches.append(batch)
        for seq, batch in enumerate(batches, 1):
            store.append(ndjson(batch), b"", seq)
        stored = [r[0] for r in store._con.execute("SELECT uid FROM events").fetchall()]
        assert len(stored) == len(set(stored))
        assert set(stored) == reference(batches)
        assert_consistent(store)
    finally:
        store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(spec, min_size=1, max_size=12), min_size=2, max_size=5), st.randoms(use_true_random=False))
def test_batches_out_of_time_order_fold_exactly(tmp_path_factory: Any, raw: list[list[Any]], rnd: Any) -> None:
    store = DuckDBStore(tmp_path_factory.mktemp("late") / "e.duckdb", memory="64MB")
    store.migrate()
    try:
        n = 0
        batches = []
        for k, raw_batch in enumerate(raw):
            batch = []
            for s in raw_batch:
                e = event(n, s, k)
                if e.name == "signup":  # who the session's last user is depends on time order
                    e.user_id = f"user-{n % 2}"
                batch.append(e)
                n += 1
            batches.append(batch)
        rnd.shuffle(batches)  # a later batch's events may be older than a stored session's
        for seq, batch in enumerate(batches, 1):
            store.append(ndjson(batch), b"", seq)
        assert set(r[0] for r in store._con.execute("SELECT uid FROM events").fetchall()) == reference(batches)
        assert_consistent(store)
    finally:
        store.close()


def test_a_late_batch_keeps_the_earliest_page_as_the_entry(tmp_path: Path) -> None:
    """The case that was wrong: a stored page view at 11:05 on /p0, then a late batch with an
    engagement event at 11:03 and a page view at 11:13: the entry page stays /p0."""
    store = DuckDBStore(tmp_path / "e.duckdb")
    store.migrate()
    at = datetime(2026, 5, 1, 11, 5, tzinfo=UTC)
    base = {"project_id": "prj", "env": "live", "anonymous_id": "v", "session_id": "v-1"}
    stored = Event(uid="a", name="$pageview", ts=at, received_at=at, path="/p0", **base)
    late = [
        Event(uid="b", name="$engagement", ts=at - timedelta(minutes=2), received_at=at, path="/p0", **base),
        Event(uid="c", name="$pageview", ts=at + timedelta(minutes=8), received_at=at, path="/p1", **base),
    ]
    store.append(ndjson([stored]), b"", 1)
    store.append(ndjson(late), b"", 2)
    row = store._con.execute("SELECT entry_path, exit_path, start_ts FROM sessions").fetchone()
    assert row == ("/p0", "/p1", datetime(2026, 5, 1, 11, 3))
    assert_consistent(store)
    store.close()


def test_the_session_times_migration_backfills(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "e.duckdb")
    store.migrate()
    store.append(ndjson([event(i, (None, "live", "v1", i, "$pageview", 0)) for i in range(4)]), b"", 1)
    for column in ("entry_ts", "exit_ts", "user_ts"):  # as a store made before migration 12
        store._con.execute(f"ALTER TABLE sessions DROP COLUMN {column}")
    store._con.execute("DELETE FROM schema_migrations WHERE version = 12")
    store.migrate()
    assert_consistent(store)
    store.close()


def test_a_forgotten_id_can_be_stored_again_and_leaves_no_key(tmp_path: Path) -> None:
    from footfall.store.base import Scope

    store = DuckDBStore(tmp_path / "e.duckdb")
    store.migrate()
    first = event(1, ("x", "live", "v1", 0, "$pageview", 0))
    first.user_id = "person"
    store.append(ndjson([first, event(2, ("y", "live", "v2", 1, "$pageview", 0))]), b"", 1)
    assert store.append(ndjson([event(3, ("x", "live", "v1", 2, "$pageview", 0))]), b"", 2) == 0
    store.forget(Scope("prj", "live"), "person")
    assert store._con.execute("SELECT count(*) FROM event_keys").fetchone() == (1,)
    assert store.append(ndjson([event(4, ("x", "live", "v1", 3, "$pageview", 0))]), b"", 3) == 1
    assert_consistent(store)
    store.close()


def test_the_migration_fills_the_keys_of_events_stored_before_it(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "e.duckdb")
    store.migrate()
    store.append(ndjson([event(i, (f"id{i}", "live", "v1", i, "signup", 0)) for i in range(5)]), b"", 1)
    # As a store made before the migration: no key table, migration 11 not applied.
    store._con.execute("DROP TABLE event_keys")
    store._con.execute("DELETE FROM schema_migrations WHERE version = 11")
    store.migrate()
    assert_consistent(store)
    assert store.append(ndjson([event(9, ("id3", "live", "v1", 9, "signup", 0))]), b"", 2) == 0
    store.close()


def test_the_unindexed_sessions_migration_keeps_every_session(tmp_path: Path) -> None:
    """Migration 15 moves sessions off their primary-key index (#23): a store made before it
    keeps its rows, loses the index, and folds later batches exactly."""
    store = DuckDBStore(tmp_path / "e.duckdb")
    store.migrate()
    store.append(ndjson([event(i, (None, "live", f"v{i % 3}", i, "$pageview", 0)) for i in range(9)]), b"", 1)
    con = store._con
    # As a store made before the migration: the same rows under a primary key.
    con.execute("CREATE TABLE indexed AS SELECT * FROM sessions")
    con.execute("DROP TABLE sessions")
    con.execute("ALTER TABLE indexed RENAME TO sessions")
    con.execute("ALTER TABLE sessions ADD PRIMARY KEY (project_id, env, session_id)")
    con.execute("DELETE FROM schema_migrations WHERE version = 15")
    primary_keys = (
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'sessions'"
        " AND constraint_type = 'PRIMARY KEY'"
    )
    assert con.execute(primary_keys).fetchone() == (1,)
    before = con.execute("SELECT * FROM sessions ORDER BY session_id").fetchall()
    store.migrate()
    assert con.execute("SELECT * FROM sessions ORDER BY session_id").fetchall() == before
    assert con.execute(primary_keys).fetchone() == (0,)
    not_null = "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'sessions' AND constraint_type = 'NOT NULL'"
    assert con.execute(not_null).fetchone() == (8,)
    store.append(ndjson([event(20 + i, (None, "live", f"v{i % 3}", 10 + i, "$pageview", 0)) for i in range(6)]), b"", 2)
    assert_consistent(store)
    store.close()
