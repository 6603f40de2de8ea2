"""Store bulk insert alone: rows/s into DuckDB through `DuckDBStore.append` (Arrow batches).

    .venv/bin/python bench/store_insert.py [--rows 200000]

Baseline in the same run: a bare DuckDB insert of the same Arrow table (no dedupe, sessions,
rollups or WAL position), the ceiling of the store path.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from footfall.model import Event  # noqa: E402
from footfall.store.batch import EVENT_SCHEMA, ndjson_table  # noqa: E402
from footfall.store.duckdb.store import DuckDBStore  # noqa: E402


def events(n: int) -> list[bytes]:
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    return [
        msgspec.json.encode(Event(
            project_id="p", env="live", uid=f"u{i}", name=["$pageview", "signup"][i % 2],
            ts=t0 + timedelta(seconds=i), received_at=t0, anonymous_id=f"a{i % 5000}",
            session_id=f"a{i % 5000}-{i // 20000}", url=f"https://s.example/p{i % 50}",
            path=f"/p{i % 50}", properties='{"k":1}', source=["google", "direct"][i % 2],
            medium="organic", channel="Organic Search", country="US", device_type="desktop",
        ))
        for i in range(n)
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    args = ap.parse_args()
    lines = events(args.rows)
    print(f"{'batch size':>10} {'store rows/s':>14} {'bare rows/s':>13} {'ratio':>7}")
    for size in (1_000, 10_000):
        chunks = [b"\n".join(lines[i : i + size]) + b"\n" for i in range(0, len(lines), size)]
        with tempfile.TemporaryDirectory() as tmp:
            store = DuckDBStore(Path(tmp) / "s.duckdb")
            store.migrate()
            t0 = time.perf_counter()
            for seq, chunk in enumerate(chunks, 1):
                store.append(chunk, b"", seq)
            store_rate = args.rows / (time.perf_counter() - t0)
            store.close()
            con = duckdb.connect(str(Path(tmp) / "bare.duckdb"))
            tables = [ndjson_table(c, EVENT_SCHEMA) for c in chunks]
            first = tables[0]  # noqa: F841 (read by name in SQL)
            con.execute("CREATE TABLE t AS SELECT * FROM first LIMIT 0")
            t0 = time.perf_counter()
            for table in tables:
                con.register("b", table)
                con.execute("INSERT INTO t SELECT * FROM b")
                con.unregister("b")
            bare_rate = args.rows / (time.perf_counter() - t0)
            con.close()
        print(f"{size:10d} {store_rate:14,.0f} {bare_rate:13,.0f} {store_rate / bare_rate:7.2f}")


if __name__ == "__main__":
    main()
