"""ClickHouse (chDB in-process) beside DuckDB in the same run: ingestion and every read.

    .venv/bin/python bench/clickhouse.py [--events 1000000 10000000] [--repeat 5] [--ingest 200000]
        [--work DIR] [--fresh] [--prepare]

* Ingestion: the loader's path (`Store.append` of 10k-event NDJSON batches with WAL positions)
  into an empty store of each backend; an append returns when its rows are stored and
  readable, so events/s is "stored and visible" (checked: a count after the run).
* Reads: every read of the `Store` protocol a route or page asks (bench/queries.py's set plus the
  dashboard's visit summary, `metric=sum`, `/v1/query` and a whole export), over the same events:
  generated inside DuckDB with SQL (bench/queries.py), then moved with `footfall store copy`'s
  code (its rate is reported too).

Resumable and cheap to re-run: the generated DuckDB files and the chDB engine live in `--work`
(default `bench/.work/clickhouse`), a size already built and copied is reused, and a size whose
reads were measured is kept (`--fresh` starts over). So a 10M run interrupted half-way loses
only the size it was on.

chDB is the ClickHouse engine in this process: a real server has its own cores and memory, so
these are figures for one small node sharing 2 cores with the benchmark (docs/scaling.md).
Results go to `bench/results/clickhouse-*.json`.
"""

from __future__ import annotations

import argparse
import json
import shutil
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
from queries import END, START, build, store_queries, timed  # noqa: E402

from footfall.model import Event, Scope  # noqa: E402
from footfall.read.queries import SessionSummaryQuery, StatsQuery  # noqa: E402
from footfall.store.base import EventQuery, ExportQuery, Store  # noqa: E402
from footfall.store.clickhouse.store import CLIENT_SETTINGS, ClickHouseStore  # noqa: E402
from footfall.store.copy import copy_to_clickhouse  # noqa: E402
from footfall.store.duckdb.store import DuckDBStore  # noqa: E402

BATCH = 10_000


def chdb(engine: Path) -> Callable[[str | None], Any]:
    """clickhouse-connect's in-process chDB client on an engine directory kept across runs."""

    def connect(database: str | None) -> Any:
        import clickhouse_connect

        return clickhouse_connect.get_client(
            interface="chdb", path=str(engine), database=database or "default", settings=CLIENT_SETTINGS
        )

    return connect


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
    events = len(payloads) * BATCH
    scope = Scope("prj_bench", "live")
    end = START + timedelta(seconds=events * 7 + 1)
    visible = sum(r["value"] for r in store.stats(StatsQuery(scope=scope, start=START, end=end)))
    assert visible == events, f"{visible} of {events} events visible after the appends"
    return {"events": events, "seconds": seconds, "events_per_s": events / seconds}


def read_set(store: Store, scope: Scope) -> dict[str, Callable[[], Any]]:
    """bench/queries.py's reads plus the rest a route or dashboard page asks the store."""
    r = dict(scope=scope, start=START, end=END)
    queries: dict[str, Callable[[], Any]] = {
        k: v for k, v in store_queries(store, scope).items() if not k.startswith("baseline")  # type: ignore[arg-type]
    }
    queries |= {
        "stats sum amount_cents by channel": lambda: store.stats(
            StatsQuery(**r, metric="sum", value_property="amount_cents", group_by=("channel",))
        ),
        "visit summary by entry page": lambda: store.session_summary(
            SessionSummaryQuery(**r, group_by="entry_path")
        ),
        "query events (100 newest)": lambda: store.query_events(EventQuery(**r, event="signup")),
    }
    return queries


def export_all(store: Store, scope: Scope) -> dict[str, float]:
    """Every event of the scope as Arrow batches (what `/v1/export` and `footfall export` read)."""
    t0 = time.perf_counter()
    rows = sum(b.num_rows for b in store.export(ExportQuery(scope=scope, table="events")))
    seconds = time.perf_counter() - t0
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}


def measure(store: Store, scope: Scope, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {name: timed(fn, repeat) for name, fn in read_set(store, scope).items()}
    out["export all events"] = export_all(store, scope)
    return out


def prepared(work: Path, n: int, scope: Scope) -> tuple[Path, ClickHouseStore, float | None]:
    """The DuckDB file and chDB database holding `n` generated events, built once and kept."""
    path = work / f"q{n}.duckdb"
    if not (work / f"q{n}.built").exists():
        path.unlink(missing_ok=True)
        build(path, n, scope.project_id).close()
        (work / f"q{n}.built").touch()
    ch = ClickHouseStore(chdb(work / "chdb"), f"benchq_{n}")
    copy_s = None
    if not (work / f"q{n}.copied").exists():
        # `store copy` resumes after the newest event already copied.
        t0 = time.perf_counter()
        copy_to_clickhouse(path, ch, lambda *_: None, chunk_rows=500_000)
        copy_s = time.perf_counter() - t0
        (work / f"q{n}.copied").write_text(json.dumps({"seconds": copy_s}))
    else:
        copy_s = json.loads((work / f"q{n}.copied").read_text())["seconds"]
    return path, ch, copy_s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ingest", type=int, default=200_000, help="events appended per backend (0: skip)")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / ".work" / "clickhouse")
    ap.add_argument("--fresh", action="store_true", help="rebuild the data and measure every size again")
    ap.add_argument("--prepare", action="store_true", help="only build and copy the data, measure nothing")
    args = ap.parse_args()
    if args.fresh:
        shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    if args.ingest:
        payloads = batches(args.ingest)
        with tempfile.TemporaryDirectory() as tmp:
            duck = DuckDBStore(Path(tmp) / "ingest.duckdb")
            ch = ClickHouseStore(chdb(args.work / "chdb"), f"bench_ingest_{int(time.time())}")
            results["ingest"] = {"duckdb": ingest(duck, payloads), "clickhouse": ingest(ch, payloads)}
            duck.close()
            ch._client().command(f"DROP DATABASE IF EXISTS {ch.database}")
            ch.close()
        for backend, r in results["ingest"].items():
            print(f"ingest {backend:10} {r['events_per_s']:10,.0f} events/s stored and visible", flush=True)
    for n in args.events:
        done = args.work / f"reads-{n}-r{args.repeat}.json"
        scope = Scope("prj_q", "live")
        if args.prepare:
            prepared(args.work, n, scope)[1].close()
            continue
        if done.exists():
            res = json.loads(done.read_text())
            print(f"\n{n:,} events: measured before ({done}); --fresh to measure again", flush=True)
        else:
            path, ch, copy_s = prepared(args.work, n, scope)
            duck = DuckDBStore(path)
            res = {
                "copy_events_per_s": n / copy_s if copy_s else None,
                "duckdb": measure(duck, scope, args.repeat),
                "clickhouse": measure(ch, scope, args.repeat),
            }
            duck.close()
            ch.close()
            done.write_text(json.dumps(res))
        results[str(n)] = res
        print(f"\n{n:,} events (copied to ClickHouse at {res['copy_events_per_s'] or 0:,.0f} events/s)")
        print(f"{'':36} {'DuckDB p50':>11} {'p95':>8} {'ClickHouse p50':>15} {'p95':>8} {'CH/Duck':>8}")
        for name, d in res["duckdb"].items():
            c = res["clickhouse"][name]
            if "rows_per_s" in d:
                print(f"{name:36} {d['rows_per_s']:>11,.0f} rows/s {c['rows_per_s']:>15,.0f} rows/s")
                continue
            ratio = c["p50_ms"] / d["p50_ms"]
            print(f"{name:36} {d['p50_ms']:11.1f} {d['p95_ms']:8.1f} {c['p50_ms']:15.1f} {c['p95_ms']:8.1f} {ratio:8.1f}")
        sys.stdout.flush()
    if not args.prepare:
        print("wrote", save("clickhouse", {"args": sys.argv[1:], "results": results}))


if __name__ == "__main__":
    main()
