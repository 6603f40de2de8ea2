"""The people-and-sessions lists over generated events: one page of sessions, of the event log
(plain, filtered, deep in the keyset) and of a person's timeline, and the CSV reads of every row
(`sessions_batches`, `event_log_batches`: 2 000 rows a batch), as the dashboard asks them.

    .venv/bin/python bench/people.py [--events 1000000 10000000] [--repeat 7]

The data is bench/queries.py's (30 days of April 2026). p50/p90 in ms of the store call (in this
process, the server's store settings). Results: bench/results/people-*.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from _results import save  # noqa: E402
from queries import prepare, timed  # noqa: E402

from footfall.config import Settings  # noqa: E402
from footfall.read.queries import EventLogQuery, SessionsQuery  # noqa: E402
from footfall.store.duckdb.store import DuckDBStore  # noqa: E402

START, END = datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)


def run(n: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data, _keys, scope = prepare(tmp, n)
        settings = Settings.from_env(data=str(data))
        store = DuckDBStore(data / "events.duckdb", settings.store_threads, settings.store_memory)
        log = EventLogQuery(scope=scope, start=START, end=END)
        deep = store.event_log(EventLogQuery(scope=scope, start=START, end=END, limit=n // 2))[-1]
        person = store.event_log(EventLogQuery(scope=scope, start=START, end=END, limit=1))[0]["person"]
        sessions = SessionsQuery(scope=scope, start=START, end=END, limit=50)
        reads = {
            "sessions page": lambda: store.sessions(sessions),
            "sessions page, filtered": lambda: store.sessions(SessionsQuery(
                scope=scope, start=START, end=END, limit=50, filters=(("country", "DE"),))),
            "event log page": lambda: store.event_log(log),
            "event log page, filtered": lambda: store.event_log(EventLogQuery(
                scope=scope, start=START, end=END, filters=(("event_name", "signup"), ("country", "DE")))),
            "event log page, half-way down": lambda: store.event_log(EventLogQuery(
                scope=scope, start=START, end=END,
                before=(datetime.fromisoformat(deep["ts"]), deep["uid"]))),
            "person timeline page": lambda: store.event_log(EventLogQuery(
                scope=scope, start=datetime(1970, 1, 1, tzinfo=UTC), end=END, person=person,
                include_bots=True, limit=200)),
        }
        out: dict[str, Any] = {name: timed(fn, repeat) for name, fn in reads.items()}
        for name, batches in (
            ("sessions CSV (sessions_batches)", lambda: store.sessions_batches(
                SessionsQuery(scope=scope, start=START, end=END), 2000)),
            ("events CSV (event_log_batches)", lambda: store.event_log_batches(log, 2000)),
        ):
            t0 = time.perf_counter()
            rows = sum(len(b) for b in batches())
            s = time.perf_counter() - t0
            out[name] = {"rows": rows, "seconds": round(s, 2), "rows_per_s": round(rows / s)}
        store.close()
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    results = {f"{n:,} events": run(n, args.repeat) for n in args.events}
    for size, table in results.items():
        print(size)
        for name, v in table.items():
            print(f"  {name:32} {v}")
    save("people", results)


if __name__ == "__main__":
    main()
