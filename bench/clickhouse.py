"""ClickHouse (chDB in-process) beside DuckDB in the same run: ingestion and every read.

    .venv/bin/python bench/clickhouse.py [--events 1000000 10000000] [--repeat 5] [--ingest 200000]

* Ingestion: the loader's path (`Store.append` of 10k-event NDJSON batches with WAL positions)
  into an empty store of each backend; an append returns when its rows are stored and
  readable, so events/s is "stored and visible".
* Reads: the queries of bench/queries.py, through the `Store` interface, over the same events:
  built in DuckDB (bench/queries.py's generator), then moved with `footfall store copy`'s code
  (its rate is reported too).

chDB is the ClickHouse engine in this process: a real server has its own cores and memory, so
these are figures for one small node sharing 2 cores with the benchmark (docs/scaling.md).
Results go to `bench/results/clickhouse-*.json`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import msgspec  # noqa: E402
from _results import save  # noqa: E402
from queries import START, build, store_queries, timed  # noqa: E402
from tests.support.clickhouse import chdb_connector, new_database  # noqa: E402

from footfall.model import Event, Scope  # noqa: E402
from footfall.store.base import Store  # noqa: E402
from footfall.store.clickhouse.store import ClickHouseStore  # noqa: E402
from footfall.store.copy import copy_to_clickhouse  # noqa: E402
from footfall.store.duckdb.store import DuckDBStore  # noqa: E402

BATCH = 10_000


def batches(total: int) -> list[bytes]:
    out = []
    for b in range(total // BATCH):
        rows = []
        for i in range(BATCH):
            n = b * BATCH + i
            ts = START + timedelta(seconds=n * 7)
            rows.append(msgspec.json.encode(Event(
                project_id="prj_bench", env="live", uid=f"i{n}", name="$pageview" if n % 5 else "signup",
                ts=ts, received_at=ts, anonymous_id=f"a{n % 5000}", session_id=f"a{n % 5000}-{n // 50000}",
                url="https://shop.example/p", path="/pricing" if n % 3 else "/", source="google",
                medium="organic", channel="Organic Search", country="DE", device_type="desktop",
                properties='{"plan":"pro"}', source_rule_id="utm",
            )))  # fmt: skip
        out.append(b"\n".join(rows) + b"\n")
    return out


def ingest(store: Store, payloads: list[bytes]) -> dict[str, float]:
    store.migrate()
    t0 = time.perf_counter()
    for seq, payload in enumerate(payloads, 1):
        store.append(payload, b"", seq)
    seconds = time.perf_counter() - t0
    return {"events": len(payloads) * BATCH, "seconds": seconds, "events_per_s": len(payloads) * BATCH / seconds}


def reads(store: Store, scope: Scope, repeat: int) -> dict[str, dict[str, float]]:
    queries: dict[str, Callable[[], Any]] = {
        k: v for k, v in store_queries(store, scope).items() if not k.startswith("baseline")  # type: ignore[arg-type]
    }
    return {name: timed(fn, repeat) for name, fn in queries.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ingest", type=int, default=200_000, help="events appended per backend")
    args = ap.parse_args()
    results: dict[str, Any] = {}
    payloads = batches(args.ingest)
    with tempfile.TemporaryDirectory() as tmp:
        duck = DuckDBStore(Path(tmp) / "ingest.duckdb")
        ch = ClickHouseStore(chdb_connector(), new_database("bench"))
        results["ingest"] = {"duckdb": ingest(duck, payloads), "clickhouse": ingest(ch, payloads)}
        duck.close()
        ch.close()
        for backend, r in results["ingest"].items():
            print(f"ingest {backend:10} {r['events_per_s']:10,.0f} events/s stored and visible", flush=True)
        for n in args.events:
            scope = Scope("prj_q", "live")
            path = Path(tmp) / f"q{n}.duckdb"
            build(path, n, scope.project_id).close()
            ch = ClickHouseStore(chdb_connector(), new_database("benchq"))
            t0 = time.perf_counter()
            copy_to_clickhouse(path, ch, lambda *_: None, chunk_rows=500_000)
            copy_s = time.perf_counter() - t0
            duck = DuckDBStore(path)
            res = {
                "copy_events_per_s": n / copy_s,
                "duckdb": reads(duck, scope, args.repeat),
                "clickhouse": reads(ch, scope, args.repeat),
            }
            duck.close()
            ch.close()
            results[str(n)] = res
            print(f"\n{n:,} events (copied to ClickHouse at {n / copy_s:,.0f} events/s)", flush=True)
            print(f"{'':34} {'DuckDB p50':>11} {'p95':>8} {'ClickHouse p50':>15} {'p95':>8}")
            for name, d in res["duckdb"].items():
                c = res["clickhouse"][name]
                print(f"{name:34} {d['p50_ms']:11.1f} {d['p95_ms']:8.1f} {c['p50_ms']:15.1f} {c['p95_ms']:8.1f}", flush=True)
    save("clickhouse", {"results": results})


if __name__ == "__main__":
    main()
