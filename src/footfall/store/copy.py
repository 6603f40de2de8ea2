"""Moving an install from the embedded DuckDB store to ClickHouse (`footfall store copy`).

Events go in (ts, uid) order, in chunks that never cross a month, so each chunk is one
partition's insert: atomic, and a run that stops leaves a prefix. The next run resumes after the
newest copied event, so running twice stores nothing twice. ClickHouse derives sessions and
daily rollups from the events as they arrive (its views), which gives what DuckDB holds (the
conformance suite compares them). Links and profiles are copied whole each run (their tables
keep one row per key), then the WAL position.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from footfall.store.batch import EVENT_SCHEMA
from footfall.store.clickhouse.store import ClickHouseStore

__all__ = ["StoreInUse", "copy_to_clickhouse"]

Progress = Callable[[str, int, int], None]  # (table, done, total)
_EVENT_COLUMNS = ", ".join(f.name for f in EVENT_SCHEMA)


class StoreInUse(Exception):
    """A server holds the DuckDB store open for writing."""


def _open(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.exists():
        raise FileNotFoundError(f"no DuckDB store at {path}")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:  # the writer's lock names the holding process
        if "lock" in str(exc).lower():
            raise StoreInUse(f"{path} is in use: stop `footfall serve` on it first") from None
        raise


def _next_month(ts: datetime) -> datetime:
    return datetime(ts.year + ts.month // 12, ts.month % 12 + 1, 1)


def copy_to_clickhouse(
    source: Path, target: ClickHouseStore, progress: Progress, chunk_rows: int = 100_000
) -> dict[str, int]:
    """Copy `source` (an events.duckdb file) into `target`; returns rows copied per table."""
    src = _open(source)
    try:
        target.migrate()
        client = target._client()
        copied = {"events": 0}
        total = int(_one(src, "SELECT count(*) FROM events", {}) or 0)
        newest = client.query("SELECT ts, uid FROM events ORDER BY ts DESC, uid DESC LIMIT 1").result_rows
        done = target._count("SELECT count() FROM events")
        progress("events", done, total)
        last: tuple[datetime, str] | None = (newest[0][0], newest[0][1]) if newest else None
        while True:
            where = "" if last is None else "WHERE (ts > $ts OR (ts = $ts AND uid > $uid))"
            args = {} if last is None else {"ts": last[0], "uid": last[1]}
            head = _one(src, f"SELECT min(ts) FROM events {where}", args)
            if head is None:
                break
            bound = "AND" if where else "WHERE"
            chunk = _arrow(
                src,
                f"SELECT {_EVENT_COLUMNS} FROM events {where} {bound} ts < $month"
                " ORDER BY ts, uid LIMIT $rows",
                {**args, "month": _next_month(head), "rows": chunk_rows},
            )
            uids = chunk.column("uid")
            client.insert_arrow("events", chunk, settings={
                "deduplicate_blocks_in_dependent_materialized_views": 1,
                "insert_deduplication_token": f"copy:{uids[0]}:{uids[-1]}:{chunk.num_rows}",
            })  # fmt: skip
            last = (chunk.column("ts")[-1].as_py(), uids[-1].as_py())
            copied["events"] += chunk.num_rows
            done += chunk.num_rows
            progress("events", done, total)
        for table, columns in (
            ("identities", "project_id, env, anonymous_id, user_id, ts"),
            ("profiles", "project_id, env, kind, subject_id, attributes, context, custom_data,"
                         " enrichment, created_at, updated_at"),
        ):  # fmt: skip
            rows = _arrow(src, f"SELECT {columns}, 0::UBIGINT AS version FROM {table}", {})
            if rows.num_rows:
                client.insert_arrow(table, _utc(rows))
            copied[table] = rows.num_rows
            progress(table, rows.num_rows, rows.num_rows)
        seq = int(_one(src, "SELECT applied_seq FROM loader_state WHERE id = 1", {}) or 0)
        client.command(
            "INSERT INTO loader_state (writer, applied_seq) VALUES ({w:String}, {seq:UInt64})",
            parameters={"w": target.writer, "seq": seq},
        )
        copied["wal_position"] = seq
        return copied
    finally:
        src.close()


def _one(src: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> Any:
    rows = src.execute(sql, params).fetchall()  # fetched to the end: the connection is free
    return rows[0][0] if rows else None


def _arrow(src: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> pa.Table:
    table = src.sql(sql, params=params).to_arrow_table()
    assert table is not None
    return table


def _utc(table: pa.Table) -> pa.Table:
    """DuckDB's naive timestamps are UTC."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is None:
            table = table.set_column(i, field.name, table.column(i).cast(pa.timestamp("us", tz="UTC")))
    return table
