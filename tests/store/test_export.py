"""`Store.export` and imported appends on a real DuckDB file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pyarrow as pa
import pytest

from footfall.model import Event, IdentityLink, ProfileUpdate
from footfall.store.base import EXPORT_ORDER, ExportQuery, Scope
from footfall.store.duckdb.store import DuckDBStore
from tests.store.test_duckdb_store import SCOPE, T0, ev, ndjson


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    s = DuckDBStore(tmp_path / "events.duckdb")
    s.migrate()
    return s


def rows(store: DuckDBStore, table: str, **kw: object) -> list[dict[str, object]]:
    batches = list(store.export(ExportQuery(scope=SCOPE, table=table, **kw)))  # type: ignore[arg-type]
    return pa.Table.from_batches(batches).to_pylist() if batches else []


def test_export_streams_every_column_in_order_in_bounded_batches(store: DuckDBStore) -> None:
    events = [ev(n, uid=f"u{n:03d}", ts=T0 + timedelta(minutes=(7 * n) % 50)) for n in range(50)]
    store.append(ndjson(*events, ev(99, project_id="prj_b")), b"", 1)
    batches = list(store.export(ExportQuery(scope=SCOPE, table="events", batch_rows=8)))
    assert max(b.num_rows for b in batches) <= 8
    got = pa.Table.from_batches(batches).to_pylist()
    assert [f.name for f in batches[0].schema] == [f.name for f in msgspec.structs.fields(Event)]
    assert len(got) == 50 and {r["project_id"] for r in got} == {"prj_a"}
    assert [(r["ts"], r["uid"]) for r in got] == sorted((r["ts"], r["uid"]) for r in got)
    assert got[0]["properties"] == "{}" and got[0]["is_bot"] is False


def test_export_range_is_inclusive_exclusive_per_table(store: DuckDBStore) -> None:
    link = IdentityLink(project_id="prj_a", env="live", anonymous_id="a9", user_id="u9", ts=T0 + timedelta(minutes=5))
    profile = ProfileUpdate(project_id="prj_a", env="live", kind="person", subject_id="u9", ts=T0, attributes={"k": "v"})
    store.append(ndjson(*(ev(n) for n in range(10))), ndjson(link), 1, [msgspec.json.encode(profile)])
    start, end = T0 + timedelta(minutes=2), T0 + timedelta(minutes=5)
    assert [r["uid"] for r in rows(store, "events", start=start, end=end)] == ["uid-2", "uid-3", "uid-4"]
    assert rows(store, "links", start=start, end=end) == []
    assert [r["user_id"] for r in rows(store, "links")] == ["u9"]
    (p,) = rows(store, "profiles")
    assert tuple(p) == ("project_id", "env", "kind", "subject_id", "attributes", "context",
                        "custom_data", "enrichment", "created_at", "updated_at")  # fmt: skip
    assert p["attributes"] == '{"k":"v"}' and EXPORT_ORDER["profiles"][0] == "updated_at"


def test_export_sees_one_snapshot_while_the_loader_writes(store: DuckDBStore) -> None:
    store.append(ndjson(*(ev(n) for n in range(20))), b"", 1)
    stream = store.export(ExportQuery(scope=SCOPE, table="events", batch_rows=5))
    first = next(stream)
    store.append(ndjson(*(ev(n, uid=f"late-{n}") for n in range(20))), b"", 2)
    rest = list(stream)
    assert first.num_rows + sum(b.num_rows for b in rest) == 20


def test_imported_events_are_stored_once_and_fold_like_live_ones(tmp_path: Path) -> None:
    live, imported = DuckDBStore(tmp_path / "a.duckdb"), DuckDBStore(tmp_path / "b.duckdb")
    for s in (live, imported):
        s.migrate()
    events = [ev(n, session_id="s1" if n < 5 else "s2", name="$pageview", path=f"/{n}") for n in range(10)]
    assert live.append(ndjson(*events), b"", 1) == 10
    # Out of order, across two transactions, then again (a resumed or repeated import).
    assert imported.append(b"", b"", 1, imported=ndjson(*events[5:], events[7])) == 5
    assert imported.append(b"", b"", 2, imported=ndjson(*events[:5])) == 5
    assert imported.append(b"", b"", 3, imported=ndjson(*events)) == 0
    # A session's keys number the sessions (and their values) in the order the store saw them,
    # and its place among its person's may wait for the loader (session_order.py).
    for table, internal in (("sessions", ", session_key, dims_key, seq"), ("daily_rollup", "")):
        sql = f"SELECT * EXCLUDE (events{internal}), sum(events) FROM {table} GROUP BY ALL ORDER BY ALL"
        assert live.read(sql)[1] == imported.read(sql)[1], table
    # A new uid with an event_id already stored is a copy too (the source's own id).
    both = ndjson(ev(1, uid="n1", event_id="e1"), ev(2, uid="n2", event_id="e1"))
    assert imported.append(b"", b"", 4, imported=both) == 1
    assert imported.append(b"", b"", 5, imported=ndjson(ev(3, uid="n3", event_id="e1"))) == 0
    assert imported.applied_seq() == 5
    for s in (live, imported):
        s.close()


def test_export_of_an_empty_scope_is_empty(store: DuckDBStore) -> None:
    assert rows(store, "events", start=datetime(2020, 1, 1, tzinfo=UTC)) == []
    assert list(store.export(ExportQuery(scope=Scope("nope", "live"), table="links"))) == []
