"""The ClickHouse store's own guarantees: versioned migrations, exactly-once loading across a
crash and a retry, the store setting, and a clear failure at start (on in-process chDB)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from footfall.read.queries import SessionsQuery, StatsQuery
from footfall.store.clickhouse.store import ClickHouseStore
from footfall.store.factory import StoreConfigError, open_store, parse_store_url
from tests.store.conformance import END, SCOPE, START, WAL_BATCHES, fill
from tests.support.clickhouse import chdb_connector, new_database
from tests.support.server import free_port


@pytest.fixture
def store() -> Iterator[ClickHouseStore]:
    s = ClickHouseStore(chdb_connector(), new_database("own"))
    yield s
    s.close()


def counts(store: ClickHouseStore) -> tuple[object, ...]:
    """Events, rollup days, sessions and their event totals: what a duplicate would inflate."""
    q = {"scope": SCOPE, "start": START, "end": END, "include_bots": True}
    sessions = store.sessions(SessionsQuery(**q, limit=1000))  # type: ignore[arg-type]
    return (
        store._count("SELECT count() FROM events"),
        store.stats(StatsQuery(**q, interval="day")),  # type: ignore[arg-type]  # from the rollup
        len(sessions), sum(s["events"] for s in sessions),
        store._count("SELECT count() FROM identities FINAL"),
    )  # fmt: skip


def test_migrations_are_versioned_and_rerunnable(store: ClickHouseStore) -> None:
    store.migrate()
    assert store.schema_version() == 5
    store.migrate()  # nothing pending: no error, nothing applied twice
    assert store._count("SELECT count() FROM schema_migrations") == 5
    engines = dict(store.read("SELECT name, engine FROM system.tables WHERE database = currentDatabase()")[1])
    assert engines["events"] == "MergeTree" and engines["sessions"] == "AggregatingMergeTree"
    assert engines["daily_rollup"] == "SummingMergeTree"


def test_a_replay_after_a_crash_stores_nothing_twice(store: ClickHouseStore) -> None:
    fill(store)
    before = counts(store)
    assert before[0] > 500
    # A crash after the inserts but before the WAL position: the position is lost, and on restart
    # the loader replays the last batches as one (a range no insert had).
    store._client().command("TRUNCATE TABLE loader_state")
    restarted = ClickHouseStore(chdb_connector(), store.database)
    try:
        assert restarted.applied_seq() == 0
        tail = WAL_BATCHES[-2:]
        restarted.append(b"".join(b[0] for b in tail), b"", tail[-1][3])
        assert counts(restarted) == before
        assert restarted.applied_seq() == tail[-1][3]
    finally:
        restarted.close()


def test_a_retried_insert_is_deduplicated_with_its_views(store: ClickHouseStore) -> None:
    store.migrate()
    events, _links, _profiles, seq = WAL_BATCHES[0]
    store.append(events, b"", seq)
    once = counts(store)
    # The loader retries a batch whose insert reached ClickHouse but whose answer did not: the
    # same WAL range gives the same dedup token, so events, sessions and rollups keep one copy.
    store._applied = 0
    store._check_replay = False  # no uid check: the token alone must do it
    store.append(events, b"", seq)
    assert counts(store) == once


def test_a_replayed_event_id_is_stored_once(store: ClickHouseStore) -> None:
    store.migrate()
    line = (
        b'{"project_id":"prj_c","env":"live","uid":"x1","event_id":"order-1","name":"purchase",'
        b'"ts":"2026-03-21T10:00:00Z","received_at":"2026-03-21T10:00:00Z","is_bot":false}\n'
    )
    assert store.append(line, b"", 1) == 1
    assert store.append(line.replace(b'"x1"', b'"x2"'), b"", 2) == 0
    assert store._count("SELECT count() FROM events WHERE event_id = 'order-1'") == 1


def test_store_setting() -> None:
    assert parse_store_url("duckdb") is None
    t = parse_store_url("clickhouses://u%40x:p%2Fw@ch.example/stats")
    assert t is not None
    assert (t.host, t.port, t.username, t.password, t.database, t.secure) == (
        "ch.example", 8443, "u@x", "p/w", "stats", True,
    )
    for bad in ("postgres://x/y", "clickhouse:///db", "clickhouse://h/bad-name", "clickhouse://h:99999/x"):
        with pytest.raises(StoreConfigError):
            parse_store_url(bad)


def test_an_unreachable_store_fails_at_start_with_a_clear_message(tmp_path: Path) -> None:
    url = f"clickhouse://default:secret@127.0.0.1:{free_port()}/footfall"
    with pytest.raises(StoreConfigError, match="cannot reach the ClickHouse store"):
        open_store(url, tmp_path).migrate()
    proc = subprocess.run(
        [sys.executable, "-m", "footfall", "serve", "--data", str(tmp_path / "d"), "--store", url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "cannot reach the ClickHouse store at clickhouse://default@127.0.0.1" in proc.stderr
    assert "secret" not in proc.stderr
