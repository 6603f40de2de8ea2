"""`footfall store copy`: a DuckDB install moves to ClickHouse (over real HTTP, chDB behind the
test server), gives every read the same answer there, resumes without duplicates, and refuses
while a server holds the store."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from footfall.store.clickhouse.store import ClickHouseStore
from footfall.store.duckdb.store import DuckDBStore
from footfall.store.factory import node_id
from tests.store.conformance import assert_same, fill
from tests.store.test_conformance import READS
from tests.support.clickhouse import ClickHouseHTTP, chdb_connector, new_database


@pytest.fixture
def clickhouse() -> Iterator[ClickHouseHTTP]:
    http = ClickHouseHTTP().start()
    yield http
    http.stop()


def copy(data: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "footfall", "store", "copy", "--to", url, "--data", str(data), "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_copy_gives_the_same_answers_and_is_idempotent(tmp_path: Path, clickhouse: ClickHouseHTTP) -> None:
    data = tmp_path / "data"
    fill(DuckDBStore(data / "events.duckdb")).close()
    database = new_database("copy")
    url = clickhouse.url(database)

    source = DuckDBStore(data / "events.duckdb")
    expected = {read: READS[read](source) for read in READS}
    events = source.read("SELECT count(*) FROM events")[1][0][0]
    links = source.read("SELECT count(*) FROM identities")[1][0][0]
    source.close()  # a copy refuses while the store is held open

    first = copy(data, url)
    assert first.returncode == 0, first.stderr
    copied = json.loads(first.stdout)
    assert copied["events"] == events > 500 and copied["wal_position"] == expected["applied_seq"]
    # The copy records its WAL position as this node's (the writer a server on `data` is).
    target = ClickHouseStore(chdb_connector(), database, writer=node_id(data))
    try:
        for read in READS:  # sessions and rollups included: ClickHouse derived the same
            assert_same(expected[read], READS[read](target))
        again = copy(data, url)  # a second run (or a resumed one) stores nothing twice
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["events"] == 0
        assert target._count("SELECT count() FROM events") == events
        assert target._count("SELECT count() FROM identities FINAL") == links
        for read in ("stats_sessions", "sessions", "stats_day_rollup", "profile_visitor"):
            assert_same(expected[read], READS[read](target))
    finally:
        target.close()


def test_copy_refuses_while_a_server_holds_the_store(tmp_path: Path, clickhouse: ClickHouseHTTP) -> None:
    data = tmp_path / "data"
    held = fill(DuckDBStore(data / "events.duckdb"))  # as `footfall serve` holds it
    try:
        proc = copy(data, clickhouse.url(new_database("copy")))
    finally:
        held.close()
    assert proc.returncode == 1
    assert "in use: stop `footfall serve` on it first" in proc.stderr


def test_an_interrupted_copy_resumes_where_it_stopped(tmp_path: Path) -> None:
    from footfall.store.copy import copy_to_clickhouse

    path = tmp_path / "events.duckdb"
    fill(DuckDBStore(path)).close()
    target = ClickHouseStore(chdb_connector(), new_database("resume"))
    seen: list[int] = []

    def stop_after_three_chunks(table: str, done: int, total: int) -> None:
        seen.append(done)
        if table == "events" and len(seen) > 3:
            raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            copy_to_clickhouse(path, target, stop_after_three_chunks, chunk_rows=50)
        partial = target._count("SELECT count() FROM events")
        assert partial == 150
        copied = copy_to_clickhouse(path, target, lambda *_: None, chunk_rows=50)
        total = target._count("SELECT count() FROM events")
        assert copied["events"] == total - partial and total == target._count(
            "SELECT uniqExact(uid) FROM events")
        assert total == copied["events"] + 150 > 500
    finally:
        target.close()
