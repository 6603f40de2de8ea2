"""Funnel reads from `event_times` against the event scan, alternated on one generated store,
in this process with the server's settings (2 threads, 96 MB): wall and CPU p50 (#19).

    .venv/bin/python bench/funnels.py [--events 1000000] [--repeat 5] [--store PATH]

`--store` keeps the generated store (built by bench/queries.py's `build`) for the next run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from queries import END, START, build  # noqa: E402

from footfall.model import Scope  # noqa: E402
from footfall.read.queries import FunnelPeopleQuery, FunnelQuery, FunnelStep  # noqa: E402
from footfall.store.duckdb import funnels  # noqa: E402
from footfall.store.duckdb.store import DuckDBStore  # noqa: E402

PROJECT = "prj_bench"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--store", type=Path)
    args = ap.parse_args()
    path = args.store or Path(tempfile.mkdtemp()) / "bench.duckdb"
    if path.exists():
        store = DuckDBStore(path, memory="96MB")
    else:
        build(path, args.events, PROJECT).close()
        store = DuckDBStore(path, memory="96MB")
    q = FunnelQuery(
        scope=Scope(PROJECT, "live"), start=START, end=END,
        steps=(FunnelStep("$pageview"), FunnelStep("signup"), FunnelStep("purchase")),
    )  # fmt: skip
    people = FunnelPeopleQuery(funnel=q, step=1, limit=100)
    reads = {
        "funnel 3 steps": lambda t: funnels.funnel(store.read, q, use_times=t),
        "funnel people (dropped at 1)": lambda t: funnels.people(store.read, people, use_times=t),
    }
    for name, read in reads.items():
        assert read(True) == read(False), name  # exact, and warm
        wall: dict[bool, list[float]] = {True: [], False: []}
        cpu: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.repeat):
            for t in (False, True):  # alternated, so both see the same load
                c0, w0 = time.process_time(), time.perf_counter()
                read(t)
                wall[t].append((time.perf_counter() - w0) * 1000)
                cpu[t].append((time.process_time() - c0) * 1000)
        for t, label in ((False, "events scan"), (True, "event_times")):
            print(
                f"{name:30} {label:12} wall p50 {statistics.median(wall[t]):7.0f} ms"
                f"  CPU p50 {statistics.median(cpu[t]):7.0f} ms",
                flush=True,
            )
    store.close()


if __name__ == "__main__":
    main()
