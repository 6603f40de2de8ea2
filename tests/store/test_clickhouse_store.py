"""The ClickHouse store's own guarantees: versioned migrations, exactly-once loading across a
crash and a retry, the store setting, and a clear failure at start (on in-process chDB)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from footfall.errors import StoreUnavailable
from footfall.read.queries import (
    AttributionQuery,
    ConversionsQuery,
    FunnelPeopleQuery,
    FunnelQuery,
    FunnelStep,
    SessionsQuery,
    SessionSummaryQuery,
    StatsQuery,
)
from footfall.store.base import ExportQuery
from footfall.store.clickhouse import journeys
from footfall.store.clickhouse.store import ClickHouseStore, http_connector
from footfall.store.duckdb.store import DuckDBStore
from footfall.store.factory import StoreConfigError, open_store, parse_store_url
from tests.store.conformance import END, SCOPE, START, WAL_BATCHES, fill
from tests.support.clickhouse import ClickHouseHTTP, chdb_connector, new_database
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


def _files_holding(root: Path, needle: bytes) -> list[str]:
    """The files under `root` that hold `needle`. `os.walk` skips a part directory ClickHouse
    removed between listing its parent and reading it (`Path.rglob` raised)."""
    paths = (Path(folder, name) for folder, _dirs, names in os.walk(root) for name in names)
    return sorted(str(p.relative_to(root)) for p in paths if needle in _bytes_of(p))


def _bytes_of(path: Path) -> bytes:
    """A file's bytes; b"" for a directory or a part ClickHouse merged away while we walked
    (the engine keeps working under the scan: other tests' databases share it)."""
    try:
        return path.read_bytes() if path.is_file() else b""
    except (FileNotFoundError, NotADirectoryError):
        return b""


@pytest.mark.slow
def test_after_a_forget_no_byte_of_the_person_remains(store: ClickHouseStore) -> None:
    """The person's rows leave the active parts before forget returns; the replaced parts are
    deleted by ClickHouse's cleanup, and no mutation text or log on disk names the person."""
    from tests.support.clickhouse import engine_path

    store.migrate()
    person = f"forget-me-{new_database()}"
    lines = b"".join(
        b'{"project_id":"prj_c","env":"live","uid":"fm%d","name":"signup","user_id":"%s",'
        b'"anonymous_id":"%s-anon","session_id":"%s-anon-1","ts":"2026-03-2%dT10:00:00Z",'
        b'"received_at":"2026-03-21T10:00:00Z","properties":"{}"}\n'
        % (i, person.encode(), person.encode(), person.encode(), i)
        for i in range(1, 4)
    )
    # Someone else in the same parts: the rewritten parts stay (an emptied part would be
    # replaced once more, and cleaned a cleanup period later).
    others = lines.replace(person.encode(), b"someone-else").replace(b'"uid":"fm', b'"uid":"se')
    store.append(lines + others, b"", 1)
    root = Path(engine_path())
    assert _files_holding(root, person.encode()), "the id must be on disk before the forget"
    for table in ("events", "sessions", "profiles", "identities"):  # no 60 s wait in a test
        store._client().command(f"ALTER TABLE {table} MODIFY SETTING old_parts_lifetime = 1")
    done = store.forget(SCOPE, person)
    assert (done.events, done.sessions) == (3, 1)
    assert store._count("SELECT count() FROM events WHERE user_id = {p:String}", {"p": person}) == 0
    deadline = time.monotonic() + 120
    while store._count(
        "SELECT count() FROM system.parts WHERE database = currentDatabase() AND NOT active"
        " AND table IN ('events', 'sessions', 'profiles', 'identities')"
    ):
        assert time.monotonic() < deadline, "ClickHouse never cleaned the replaced parts up"
        time.sleep(1)  # ClickHouse's cleanup thread runs on its own period
    assert _files_holding(root, person.encode()) == []
    assert store._count("SELECT count() FROM events WHERE user_id = 'someone-else'") == 3


def test_nodes_sharing_the_store_keep_their_own_wal_positions(store: ClickHouseStore) -> None:
    """Two nodes' WALs both start at 1: node B's batch 1-n is not node A's repeat, and each
    node restarts from its own position."""
    store.migrate()
    first, second = WAL_BATCHES[0], WAL_BATCHES[1]
    a = ClickHouseStore(chdb_connector(), store.database, writer="node-a")
    b = ClickHouseStore(chdb_connector(), store.database, writer="node-b")
    try:
        a.append(first[0], b"", 3)
        b.append(second[0], b"", 3)  # the same WAL range, other events
        solo = ClickHouseStore(chdb_connector(), new_database("solo"))  # one node, two ranges
        try:
            solo.migrate()
            solo.append(first[0], b"", 3)
            solo.append(second[0], b"", 6)
            expected = solo._count("SELECT count() FROM events")
        finally:
            solo.close()
        assert expected > first[0].count(b"\n")
        assert store._count("SELECT count() FROM events") == expected
        b.append(b"", b"", 7)
        assert (a.applied_seq(), b.applied_seq()) == (3, 7)
    finally:
        a.close()
        b.close()


def test_the_node_id_is_made_once_per_data_directory(tmp_path: Path) -> None:
    from footfall.store.factory import node_id

    made = node_id(tmp_path / "data")
    assert made == node_id(tmp_path / "data") and made != node_id(tmp_path / "other")


# Strings DuckDB's list-to-text cast quotes or keeps bare (the tie-break between paths).
_AWKWARD = [
    "Paid Social", None, "", " ", "NULL", "Null", "NULLx", "a,b", "x'y", 'q"q', "back\\slash",
    "[x]", "{y}", "(z)", "k:v", "k=v", " lead", "trail ", "tab\tin", "\nlead", "é", "a\u00a0",
]


def test_path_text_is_duckdbs_list_text(store: ClickHouseStore) -> None:
    store.migrate()
    ref = duckdb.connect()
    for path in [[v] for v in _AWKWARD] + [_AWKWARD, ["google", None, "direct"]]:
        expected = ref.execute("SELECT ?::VARCHAR[]::VARCHAR", [path]).fetchall()[0][0]
        _names, rows = store.read(
            f"SELECT {journeys.path_text('{p:Array(Nullable(String))}')}", {"p": path}
        )
        assert rows[0][0] == expected, path


def test_nearest_rank_is_quantile_disc_on_ties_and_even_counts(store: ClickHouseStore) -> None:
    store.migrate()
    ref = duckdb.connect()
    for n in range(1, 26):
        values = [float(v // 3) for v in range(n)]  # ties, odd and even counts
        for level in (0.25, 0.5, 0.75, 0.9):
            expected = ref.execute("SELECT quantile_disc(v, ?) FROM unnest(?) t(v)", [level, values]).fetchall()[0][0]
            rank = journeys.nearest_rank("arraySort({v:Array(Float64)})", "length({v:Array(Float64)})", level)
            assert store.read(f"SELECT {rank}", {"v": values})[1][0][0] == expected, (n, level)


def test_export_streams_one_snapshot_and_releases_its_client(store: ClickHouseStore) -> None:
    store.migrate()
    for events, links, profiles, seq in WAL_BATCHES[:3]:
        store.append(events, links, seq, profiles)
    before = store._count("SELECT count() FROM events WHERE project_id = 'prj_c' AND env = 'live'")
    stream = store.export(ExportQuery(scope=SCOPE, table="events", batch_rows=50))
    first = next(stream)
    for events, links, profiles, seq in WAL_BATCHES[3:]:  # the loader goes on meanwhile
        store.append(events, links, seq, profiles)
    assert first.num_rows + sum(b.num_rows for b in stream) == before
    assert store._count("SELECT count() FROM events WHERE project_id = 'prj_c' AND env = 'live'") > before
    stream = store.export(ExportQuery(scope=SCOPE, table="events", batch_rows=10))
    assert next(stream).num_rows == 10
    stream.close()  # stopped early: its client is closed, the store reads on
    assert len(store.stats(StatsQuery(scope=SCOPE, start=START, end=END, group_by=("source",)))) > 1


def test_large_bind_parameters_travel_as_a_form_over_http(tmp_path: Path) -> None:
    """A first append checks every uid of its batch: 700 of them pass clickhouse-connect's
    ~4 KB URL budget, so the parameters go in a multipart form (the test server reads it too)."""
    events = b"".join(batch[0] for batch in WAL_BATCHES[:6])
    ref = DuckDBStore(tmp_path / "events.duckdb")
    ref.migrate()
    http = ClickHouseHTTP().start()
    try:
        target = parse_store_url(http.url(new_database("form")))
        assert target is not None
        store = ClickHouseStore(http_connector(target), target.database)
        store.migrate()
        inserted = store.append(events, b"", 1)
        assert inserted == ref.append(events, b"", 1) and inserted > 600
        store.close()
    finally:
        http.stop()
        ref.close()


def test_batches_of_an_unreachable_clickhouse_are_store_unavailable(tmp_path: Path) -> None:
    """The CSV downloads' reads say the store cannot be reached (a 503 before any byte, as the
    dashboard reads the first batch before answering), not a transport error (a 500)."""
    http = ClickHouseHTTP().start()
    try:
        target = parse_store_url(http.url(new_database("down")))
        assert target is not None
        store = fill(ClickHouseStore(http_connector(target), target.database))
        q = {"scope": SCOPE, "start": START, "end": END}
        a = AttributionQuery(**q, conversion="purchase")  # type: ignore[arg-type]
        funnel = FunnelQuery(**q, steps=(FunnelStep("$pageview"), FunnelStep("purchase")))  # type: ignore[arg-type]
        readers = {
            "stats": lambda: store.stats_batches(StatsQuery(**q, group_by=("path",))),  # type: ignore[arg-type]
            "summary": lambda: store.session_summary_batches(SessionSummaryQuery(**q, group_by="entry_path")),  # type: ignore[arg-type]
            "people": lambda: store.funnel_people_batches(FunnelPeopleQuery(funnel=funnel, step=1)),
            "conversions": lambda: store.conversions_behind_batches(ConversionsQuery(attribution=a, behind="bucket")),
            "sessions": lambda: store.sessions_batches(SessionsQuery(**q)),  # type: ignore[arg-type]
        }
        assert all(next(read()) for read in readers.values())
        http.down = True
        for read in readers.values():
            with pytest.raises(StoreUnavailable, match="cannot be reached"):
                next(read())
        store.close()
    finally:
        http.stop()
