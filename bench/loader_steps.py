"""The loader's store transaction, step by step, in-process on a real DuckDB file.

    .venv/bin/python bench/loader_steps.py [--transactions 30] [--rows 10000] [--links 0.05]
    PYTHONPATH=/tmp/base/src .venv/bin/python bench/loader_steps.py   # another source tree

Appends `--transactions` batches of `--rows` enriched events the way the loader does under load
(NDJSON of the canonical structs, one `DuckDBStore.append` each): every event carries an event
id (as SDKs send them), 200,000 visitors, unique URLs and click ids, so the table, its sessions
and the id lookups grow as in a real run; with `--links`, that share of events carries a user id
and its identity link (as `/v1/batch` stores an identified event), so the relink of the
people-per-hour tables is measured too. Prints the process CPU time per event (all threads,
DuckDB's included: steadier than wall time on a shared machine) as the table grows, and the
share of wall time each SQL statement took. Writes `bench/results/loader-steps-*.json`.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import save

import footfall.store.duckdb.store as duckdb_store
from footfall.model import Event

_encode = msgspec.json.Encoder().encode


class Timed:
    """A DuckDB connection whose statements are timed by their first words."""

    def __init__(self, con: Any, times: collections.Counter[str]) -> None:
        self._con, self._times = con, times

    def execute(self, sql: str, *args: Any) -> Any:
        t0 = time.perf_counter()
        result = self._con.execute(sql, *args)
        self._times[" ".join(sql.split())[:48]] += time.perf_counter() - t0  # type: ignore[assignment]
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def batch(rng: random.Random, k: int, rows: int, start: datetime, links: float = 0.0) -> tuple[bytes, bytes]:
    """The events' NDJSON and, with `links`, that share of them identified (a user id on the
    event and its identity link, as `/v1/batch` stores an event with a user id)."""
    lines, linked = [], []
    for i in range(rows):
        ts = start + timedelta(milliseconds=3 * (k * rows + i))
        v = rng.randrange(200_000)
        user = f"u{v}" if rng.random() < links else None
        if user:
            linked.append(_encode({"project_id": "prj_bench", "env": "live", "anonymous_id": f"v{v}",
                                   "user_id": user, "ts": ts}))
        page = f"/p/{k}x{i}"
        lines.append(_encode(Event(
            project_id="prj_bench", env="live", uid=str(uuid.uuid4()), event_id=f"e{k}x{i}",
            name=rng.choice(["$pageview"] * 6 + ["signup", "purchase"]), ts=ts, received_at=ts,
            anonymous_id=f"v{v}", user_id=user, session_id=f"v{v}-{int(ts.timestamp()) // 1800}",
            url=f"https://shop.example{page}?utm_source=google&gclid=k{k}x{i}", path=page,
            referrer="https://www.google.com/", properties='{"plan":"pro"}', source="google",
            medium="cpc", campaign=f"c{rng.randrange(60)}", click_id_type="gclid", click_id=f"k{k}x{i}",
            channel="Paid Search", referrer_host="www.google.com", country=rng.choice(["DE", "FR", "US"]),
            device_type="mobile", browser="Safari", os="iOS", ip_hash=f"{rng.getrandbits(64):x}",
        )))
    return b"\n".join(lines) + b"\n", (b"\n".join(linked) + b"\n") if linked else b""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--transactions", type=int, default=30)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--links", type=float, default=0.0, help="share of events identified (with a link)")
    args = ap.parse_args()
    times: collections.Counter[str] = collections.Counter()
    connect = duckdb_store._connect
    duckdb_store._connect = lambda *a: Timed(connect(*a), times)  # type: ignore[assignment]
    rng = random.Random(1)
    start = datetime(2026, 12, 3, 10, tzinfo=UTC)
    batches = [batch(rng, k, args.rows, start, args.links) for k in range(args.transactions)]
    progress = []
    with tempfile.TemporaryDirectory() as tmp:
        store = duckdb_store.DuckDBStore(Path(tmp) / "e.duckdb", threads=2, memory="96MB")
        store.migrate()
        times.clear()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        window_cpu = cpu0
        for k, (data, links) in enumerate(batches, 1):
            store.append(data, links, k)
            if k % 10 == 0:
                now = time.process_time()
                us = (now - window_cpu) / (10 * args.rows) * 1e6
                window_cpu = now
                progress.append({"stored": k * args.rows, "cpu_us_per_event": us})
                print(f"{k * args.rows:>9,} events stored: last 10 transactions {us:5.1f} µs CPU/event", flush=True)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        store.close()
    events = args.transactions * args.rows
    print(f"all: {cpu / events * 1e6:.1f} µs CPU/event, {events / wall:,.0f} events/s wall")
    total = sum(times.values())
    steps = {name: seconds / total for name, seconds in times.most_common()}
    for name, share in list(steps.items())[:10]:
        print(f"{share:6.1%}  {name}")
    save("loader-steps", {"transactions": args.transactions, "rows": args.rows, "links": args.links,
                          "progress": progress,
                          "cpu_us_per_event": cpu / events * 1e6, "events_per_s_wall": events / wall,
                          "wall_share_by_statement": steps})


if __name__ == "__main__":
    main()
