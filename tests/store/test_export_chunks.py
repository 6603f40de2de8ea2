"""`Store.export` on DuckDB read a chunk and a slice at a time (store/duckdb/export.py): no
event lost or repeated at any edge, and the block cache held near where it was (#22)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import hypothesis.strategies as st
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from footfall.store.base import ExportQuery
from footfall.store.duckdb import export
from footfall.store.duckdb.store import DuckDBStore
from tests.store.test_duckdb_store import SCOPE, ev, ndjson

MIDNIGHT = datetime(2026, 5, 2, tzinfo=UTC)
# Times piled on the edges a chunk or slice can have: UTC midnights, whole hours and minutes,
# and a microsecond either side; many events share each time.
EDGES = [MIDNIGHT + timedelta(days=d, hours=h, minutes=m) for d in (-1, 0, 1) for h in (0, 1, 23) for m in (0, 59)]
TIMES = st.builds(
    lambda edge, us: edge + timedelta(microseconds=us),
    st.sampled_from(EDGES), st.sampled_from([-1, 0, 0, 0, 1, 59_999_999]),
)  # fmt: skip
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-9, minutes=-30))])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    s = DuckDBStore(tmp_path_factory.mktemp("chunks") / "events.duckdb")
    s.migrate()
    return s


def exported(store: DuckDBStore, **kw: object) -> list[tuple[datetime, str]]:
    batches = list(store.export(ExportQuery(scope=SCOPE, table="events", batch_rows=3, **kw)))  # type: ignore[arg-type]
    return [(r["ts"], r["uid"]) for r in pa.Table.from_batches(batches).to_pylist()] if batches else []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    times=st.lists(TIMES, min_size=1, max_size=60),
    chunk_rows=st.integers(1, 8), slice_rows=st.integers(1, 8),
    bounds=st.tuples(st.none() | st.sampled_from(EDGES), st.none() | st.sampled_from(EDGES)),
    zone=ZONES, forget_rollup=st.booleans(),
)  # fmt: skip
def test_every_event_once_in_order_whatever_the_edges(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch, times: list[datetime], chunk_rows: int,
    slice_rows: int, bounds: tuple[datetime | None, datetime | None], zone: timezone, forget_rollup: bool,
) -> None:  # fmt: skip
    store._con.execute("DELETE FROM events; DELETE FROM daily_rollup")
    store.append(ndjson(*(ev(n, uid=f"u{n:03d}", ts=t) for n, t in enumerate(times))), b"", 1)
    if forget_rollup:  # the rollup only sizes the chunks: a day it lacks is still exported
        store._con.execute("DELETE FROM daily_rollup WHERE day = $d", {"d": MIDNIGHT.date()})
    monkeypatch.setattr(export, "CHUNK_ROWS", chunk_rows)
    monkeypatch.setattr(export, "SLICE_ROWS", slice_rows)
    start, end = bounds
    expected = sorted(
        (t.replace(tzinfo=None), f"u{n:03d}") for n, t in enumerate(times)
        if (start is None or t >= start) and (end is None or t < end)
    )  # fmt: skip
    span = {"start": start and start.astimezone(zone), "end": end and end.astimezone(zone)}
    assert exported(store, **span) == expected


def test_a_day_bigger_than_a_chunk_is_read_by_the_hour(store: DuckDBStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store._con.execute("DELETE FROM events; DELETE FROM daily_rollup")
    times = [MIDNIGHT + timedelta(minutes=37 * n) for n in range(60)]  # 60 events over 37 hours
    store.append(ndjson(*(ev(n, uid=f"u{n:03d}", ts=t) for n, t in enumerate(times))), b"", 1)
    monkeypatch.setattr(export, "CHUNK_ROWS", 10)
    ranges: list[export.Range] = []
    real = export.read_sorted

    def spy(*args: object) -> object:
        ranges.extend(args[7])  # type: ignore[arg-type]
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(export, "read_sorted", spy)
    assert exported(store) == [(t.replace(tzinfo=None), f"u{n:03d}") for n, t in enumerate(times)]
    naive = MIDNIGHT.replace(tzinfo=None)
    assert (naive + timedelta(hours=5), naive + timedelta(hours=6)) in ranges  # the busy day's hours
    assert ranges[0][0] is None and ranges[-1][1] is None and len(ranges) > 24


def test_export_holds_the_block_cache_and_restores_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "events.duckdb"
    s = DuckDBStore(path, memory="256MB")
    s.migrate()
    s._con.execute(
        "INSERT INTO events (project_id, env, uid, name, ts, received_at, url, properties, dialect, is_bot)"
        " SELECT 'prj_a', 'live', 'u' || i, 'e' || (i % 7), TIMESTAMP '2026-05-01' + to_seconds(i // 4),"
        " TIMESTAMP '2026-05-01', 'https://x.example/' || md5(i::VARCHAR), '{\"n\": ' || i || '}', 'millimetric', false"
        " FROM range(400000) r(i)"
    )  # fmt: skip
    s._con.execute("CHECKPOINT")
    s.close()

    def cached(s: DuckDBStore) -> int:
        return int(s.read("SELECT memory_usage_bytes FROM duckdb_memory() WHERE tag = 'BASE_TABLE'")[1][0][0])

    def peak_while_exporting(budget: int) -> tuple[int, int]:
        s = DuckDBStore(path, memory="256MB")  # a fresh cache
        limit = s.read("SELECT current_setting('memory_limit')")[1]
        monkeypatch.setattr(export, "CACHE_BUDGET", budget)
        start, peak, rows = cached(s), 0, 0
        for batch in s.export(ExportQuery(scope=SCOPE, table="events", batch_rows=2048)):
            rows += batch.num_rows
            peak = max(peak, cached(s))
        assert rows == 400_000 and s.read("SELECT current_setting('memory_limit')")[1] == limit
        s.close()
        return start, peak

    start, unbounded = peak_while_exporting(2**40)
    assert unbounded - start > 10 * 2**20, "the read must load more blocks than the budget"
    start, held = peak_while_exporting(2**20)
    # The budget, plus the blocks one slice pins before the trim that follows it.
    assert held - start < 6 * 2**20, (held - start) / 2**20
