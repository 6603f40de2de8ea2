"""Funnel reads from `event_times` against the event scan, alternated on one generated store,
in this process with the server's settings (2 threads, `FOOTFALL_STORE_MEMORY`'s default): wall and CPU p50 (#19).

Three ways, alternated: the events scan; `event_times` as the loader appends it (a copy in
time order, `event_times_appended`, the layout before closed weeks were rewritten); and
`event_times` as kept now, its closed weeks in name order (store/duckdb/event_times_runs.py).

    .venv/bin/python bench/funnels.py [--events 1000000] [--repeat 5] [--store PATH]

`--store` keeps the generated store (built by bench/queries.py's `build`) for the next run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from queries import END, START, build  # noqa: E402

from footfall.config import Settings  # noqa: E402
from footfall.model import Scope  # noqa: E402
from footfall.read.queries import FunnelPeopleQuery, FunnelQuery, FunnelStep  # noqa: E402
from footfall.store.duckdb import funnels  # noqa: E402
from footfall.store.duckdb.reads import Runner  # noqa: E402
from footfall.store.duckdb.store import DuckDBStore  # noqa: E402

PROJECT = "prj_bench"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--store", type=Path)
    args = ap.parse_args()
    path = args.store or Path(tempfile.mkdtemp()) / "bench.duckdb"
    if not path.exists():
        build(path, args.events, PROJECT).close()
    store = DuckDBStore(path, memory=Settings().store_memory)
    store._con.execute(
        "CREATE TABLE IF NOT EXISTS event_times_appended AS SELECT * FROM event_times ORDER BY hour"
    )
    store.migrate()  # a store built before migration 17: its closed weeks rewritten

    def appended(sql: str, params: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
        return store.read(sql.replace("FROM event_times ", "FROM event_times_appended "), params)

    q = FunnelQuery(
        scope=Scope(PROJECT, "live"), start=START, end=END,
        steps=(FunnelStep("$pageview"), FunnelStep("signup"), FunnelStep("purchase")),
    )  # fmt: skip
    people = FunnelPeopleQuery(funnel=q, step=1, limit=100)
    reads: dict[str, Callable[[Runner, bool], Any]] = {
        "funnel 3 steps": lambda run, t: funnels.funnel(run, q, use_times=t),
        "funnel people (dropped at 1)": lambda run, t: funnels.people(run, people, use_times=t),
    }
    for name, read in reads.items():
        ways = {
            "events scan": lambda r=read: r(store.read, False),
            "times, appended": lambda r=read: r(appended, True),
            "times, in runs": lambda r=read: r(store.read, True),
        }
        answers = [way() for way in ways.values()]  # exact, and warm
        assert all(a == answers[0] for a in answers), name
        wall: dict[str, list[float]] = {w: [] for w in ways}
        cpu: dict[str, list[float]] = {w: [] for w in ways}
        for _ in range(args.repeat):
            for label, way in ways.items():  # alternated, so all see the same load
                c0, w0 = time.process_time(), time.perf_counter()
                way()
                wall[label].append((time.perf_counter() - w0) * 1000)
                cpu[label].append((time.process_time() - c0) * 1000)
        for label in ways:
            print(
                f"{name:30} {label:16} wall p50 {statistics.median(wall[label]):7.0f} ms"
                f"  CPU p50 {statistics.median(cpu[label]):7.0f} ms",
                flush=True,
            )
    store.close()


if __name__ == "__main__":
    main()
