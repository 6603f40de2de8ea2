"""WAL records holding a whole table of imported events (`POST /v1/import/events`): replayed
by a loader after a crash, alongside imported NDJSON records, each row stored once."""

from __future__ import annotations

import json
from pathlib import Path

from footfall.portability.bulk import parse
from footfall.store.duckdb.store import DuckDBStore
from footfall.writer.loader import KIND_IMPORTED, KIND_IMPORTED_TABLE, Loader, table_record
from footfall.writer.wal import WriteAheadLog


def _line(i: int) -> bytes:
    """A row of Footfall's events export."""
    return json.dumps({
        "project_id": "p", "env": "live", "uid": f"u{i}", "name": "e", "ts": f"2026-01-01T00:{i:02d}:00Z",
        "received_at": "2026-01-02T00:00:00Z", "anonymous_id": "v", "properties": json.dumps({"i": i}),
    }).encode() + b"\n"  # fmt: skip


def test_a_crashed_servers_table_records_are_replayed_and_stored_once(tmp_path: Path) -> None:
    lines = [_line(i) for i in range(30)]
    table = parse(None, list(range(20)), lines[:20]).table
    assert table.num_rows == 20
    wal = WriteAheadLog(tmp_path / "wal")
    # Two bodies overlapping by ten rows, and one row also as a row-by-row import record.
    wal.append([(KIND_IMPORTED_TABLE, table_record(table)), (KIND_IMPORTED_TABLE, table_record(parse(None, list(range(20)), lines[10:]).table)),
                (KIND_IMPORTED, lines[29].rstrip(b"\n"))])  # fmt: skip
    wal.close()
    store = DuckDBStore(tmp_path / "e.duckdb")
    store.migrate()
    loader = Loader(store, WriteAheadLog(tmp_path / "wal"))  # start-up after the crash
    assert loader.recover() == 3
    _names, rows = store.read("SELECT uid, json_extract(properties, '$.i')::INT FROM events ORDER BY 2", {})
    assert [r[1] for r in rows] == list(range(30)) and len({r[0] for r in rows}) == 30
    assert store.applied_seq() == 3
    store.close()
