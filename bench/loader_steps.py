"""The loader's store transaction, step by step, in-process on a real DuckDB file.

    .venv/bin/python bench/loader_steps.py [--transactions 30] [--rows 10000] [--links 0.05]
        [--baseline-src /tmp/base/src] [--repeat 3]

Appends `--transactions` batches of `--rows` enriched events the way the loader does under load
(NDJSON of the canonical structs, one `DuckDBStore.append` each): every event carries an event
id (as SDKs send them), 200,000 visitors (`--visitors`), unique URLs and click ids, so the table, its sessions
and the id lookups grow as in a real run; with `--links`, that share of events carries a user id
and its identity link (as `/v1/batch` stores an identified event), so the relink of the
people-per-hour tables is measured too. Prints the process CPU time per event (all threads,
DuckDB's included: steadier than wall time on a shared machine) as the table grows, and the
share of wall time each SQL statement took. Writes `bench/results/loader-steps-*.json`.

The events' times start at the current UTC hour (`--start` to choose another), as the loader
sees them from `/v1/track`: events of a UTC day already closed make `event_times` rewrite their
week after every transaction (the late-events path, event_times_runs.py), which is not the
steady state. Small transactions (`--rows 50`, `--rows 300`) are what `/v1/track` makes (a
transaction every 0.2 s of what arrived); their cost is mostly fixed per transaction, so the CPU
per transaction is printed too.

With `--baseline-src DIR` (e.g. `git archive main src | tar -x -C /tmp/base`), each run is a
child process, this tree's and the other tree's alternating `--repeat` times, so a shared
machine's drift moves both alike; the summary gives each side's median CPU per transaction and
per event.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import statistics
import subprocess
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

    def __init__(self, con: Any, times: collections.Counter[str], counts: collections.Counter[str]) -> None:
        self._con, self._times, self._counts = con, times, counts

    def execute(self, sql: str, *args: Any) -> Any:
        t0 = time.perf_counter()
        result = self._con.execute(sql, *args)
        key = " ".join(sql.split())[:64]
        self._times[key] += time.perf_counter() - t0  # type: ignore[assignment]
        self._counts[key] += 1
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def batch(
    rng: random.Random, k: int, rows: int, start: datetime, links: float = 0.0, visitors: int = 200_000
) -> tuple[bytes, bytes]:
    """The events' NDJSON and, with `links`, that share of them identified (a user id on the
    event and its identity link, as `/v1/batch` stores an event with a user id)."""
    lines, linked = [], []
    for i in range(rows):
        ts = start + timedelta(milliseconds=3 * (k * rows + i))
        v = rng.randrange(visitors)
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


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """One run in this process: the figures of `--transactions` appends."""
    times: collections.Counter[str] = collections.Counter()
    counts: collections.Counter[str] = collections.Counter()
    connect = duckdb_store._connect
    duckdb_store._connect = lambda *a: Timed(connect(*a), times, counts)  # type: ignore[assignment]
    rng = random.Random(1)
    start = (datetime.fromisoformat(args.start).replace(tzinfo=UTC) if args.start
             else datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    batches = [batch(rng, k, args.rows, start, args.links, args.visitors) for k in range(args.transactions)]
    progress = []
    every = max(1, args.transactions // 5)
    with tempfile.TemporaryDirectory() as tmp:
        store = duckdb_store.DuckDBStore(Path(tmp) / "e.duckdb", threads=2, memory="96MB")
        store.migrate()
        store.append(*batches[0], 1)  # warm: the first transaction loads modules, makes tables
        times.clear()
        counts.clear()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        window_cpu = cpu0
        for k, (data, links) in enumerate(batches[1:], 2):
            store.append(data, links, k)
            if (k - 1) % every == 0:
                now = time.process_time()
                us = (now - window_cpu) / (every * args.rows) * 1e6
                window_cpu = now
                progress.append({"stored": k * args.rows, "cpu_us_per_event": us})
                print(f"{k * args.rows:>9,} events stored: last {every} transactions {us:7.1f} µs CPU/event",
                      file=sys.stderr, flush=True)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        store.close()
    n = args.transactions - 1
    total = sum(times.values())
    return {"progress": progress, "cpu_us_per_event": cpu / (n * args.rows) * 1e6,
            "cpu_us_per_transaction": cpu / n * 1e6, "events_per_s_wall": n * args.rows / wall,
            "statements_per_transaction": sum(counts.values()) / n,
            "wall_share_by_statement": {name: s / total for name, s in times.most_common()},
            "ms_per_transaction_by_statement": {name: s / n * 1e3 for name, s in times.most_common()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--transactions", type=int, default=30)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--links", type=float, default=0.0, help="share of events identified (with a link)")
    ap.add_argument("--visitors", type=int, default=200_000, help="distinct visitors (1: bench/ingest.py's /v1/track)")
    ap.add_argument("--start", help="the first event's time (ISO, UTC); default: the current hour")
    ap.add_argument("--baseline-src", help="alternate with the footfall package under this directory")
    ap.add_argument("--repeat", type=int, default=1, help="runs per side")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args)))
        return
    sides = {"this tree": None, **({"baseline": args.baseline_src} if args.baseline_src else {})}
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    own = [a for a in sys.argv[1:] if a not in ("--baseline-src", args.baseline_src or "")]
    for _ in range(args.repeat):
        for side, src in sides.items():
            env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
            out = subprocess.run([sys.executable, __file__, *own, "--child"], env=env, check=True,
                                 stdout=subprocess.PIPE, text=True).stdout
            run = json.loads(out)
            runs[side].append(run)
            print(f"{side:>10}: {run['cpu_us_per_transaction'] / 1e3:8.2f} ms CPU/transaction,"
                  f" {run['cpu_us_per_event']:7.1f} µs CPU/event, {run['statements_per_transaction']:.1f}"
                  " statements/transaction", flush=True)
    summary = {}
    for side, rs in runs.items():
        summary[side] = {
            "cpu_us_per_transaction_median": statistics.median(r["cpu_us_per_transaction"] for r in rs),
            "cpu_us_per_event_median": statistics.median(r["cpu_us_per_event"] for r in rs),
            "cpu_us_per_event_best": min(r["cpu_us_per_event"] for r in rs),
        }
        print(f"{side:>10}: median {summary[side]['cpu_us_per_transaction_median'] / 1e3:.2f} ms CPU/transaction,"
              f" {summary[side]['cpu_us_per_event_median']:.1f} µs CPU/event (best"
              f" {summary[side]['cpu_us_per_event_best']:.1f})")
        ms = runs[side][-1]["ms_per_transaction_by_statement"]
        for name, share in list(runs[side][-1]["wall_share_by_statement"].items())[:12]:
            print(f"    {share:6.1%} {ms[name]:7.2f} ms  {name}")
    save("loader-steps", {"transactions": args.transactions, "rows": args.rows, "links": args.links,
                          "load_average": os.getloadavg(), "baseline_src": args.baseline_src,
                          "summary": summary, "runs": runs})


if __name__ == "__main__":
    main()
