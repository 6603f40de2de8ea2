"""Read-side latency over generated events: stats, sources, sessions, funnel, attribution.

    .venv/bin/python bench/queries.py [--events 1000000 10000000] [--repeat 15]

Events are generated inside DuckDB (SQL over `range()`), so a 10M-row store takes seconds to
build. Each query runs `--repeat` times through the store interface the server uses; the table
shows p50/p95 per query, with a full scan (`count(*)` with the same filters) as the baseline
measured in the same run. Results go to `bench/results/queries-*.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from footfall.model import Scope  # noqa: E402
from footfall.read.queries import (  # noqa: E402
    AttributionQuery,
    FunnelQuery,
    FunnelStep,
    SessionsQuery,
    SourcesQuery,
    StatsQuery,
)
from footfall.store.duckdb import rollups  # noqa: E402
from footfall.store.duckdb.sessions import REBUILD_SESSIONS  # noqa: E402
from footfall.store.duckdb.store import DuckDBStore  # noqa: E402

SCOPE = Scope("prj_bench", "live")
START = datetime(2026, 4, 1, tzinfo=UTC)
END = datetime(2026, 5, 1, tzinfo=UTC)

# Realistic shape: sessions of 5 consecutive events each (n/5 sessions), visitors returning
# across the month, 1 in 10 visitors identified.
GENERATE = """
INSERT INTO events (project_id, env, uid, event_id, name, ts, received_at, anonymous_id, user_id,
    session_id, url, path, referrer, properties, dialect, source, medium, campaign, channel,
    source_confidence, source_rule_id, country, device_type, browser, os, is_bot)
SELECT 'prj_bench', 'live', 'u' || i, NULL,
       CASE WHEN hash(i) % 100 < 80 THEN '$pageview' WHEN hash(i) % 100 < 97 THEN 'signup'
            ELSE 'purchase' END,
       TIMESTAMP '2026-04-01' + to_seconds((s * 2592000 // ($n // 5))::BIGINT + (i % 5) * 60),
       TIMESTAMP '2026-04-01', 'a' || v, NULL, 'a' || v || '-' || s,
       'https://shop.example/p', ['/', '/pricing', '/docs', '/blog'][1 + (hash(i * 3) % 4)::INT], NULL,
       '{"amount_cents": ' || (hash(i) % 10000) || '}', 'millimetric',
       ['google', 'facebook', 'direct', 'newsletter', 'bing', 'chatgpt'][1 + (hash(s * 11) % 6)::INT],
       ['organic', 'paid', 'direct', 'email', 'paid', 'referral'][1 + (hash(s * 11) % 6)::INT],
       ['spring', NULL, NULL, 'may', NULL, NULL][1 + (hash(s * 11) % 6)::INT],
       ['Organic Search', 'Paid Social', 'Direct', 'Email', 'Paid Search', 'AI Assistant'][1 + (hash(s * 11) % 6)::INT],
       'high', 'bench',
       ['US', 'DE', 'GB', 'FR', 'JP'][1 + (hash(v * 13) % 5)::INT],
       ['desktop', 'mobile', 'tablet'][1 + (hash(v * 17) % 3)::INT],
       ['Chrome', 'Mobile Safari', 'Firefox'][1 + (hash(v * 17) % 3)::INT],
       ['Windows', 'iOS', 'Linux'][1 + (hash(v * 17) % 3)::INT],
       hash(v * 19) % 50 = 0
FROM (SELECT i, i // 5 AS s, hash(i // 5) % $visitors AS v FROM range($n) r(i))
"""


def build(path: Path, n: int) -> DuckDBStore:
    store = DuckDBStore(path)
    store.migrate()
    con = store._con
    t0 = time.perf_counter()
    con.execute(GENERATE, {"n": n, "visitors": max(1000, n // 20)})
    con.execute(REBUILD_SESSIONS.format(where="TRUE"))
    con.execute(
        "CREATE TEMP TABLE touched_days AS SELECT DISTINCT project_id, env, CAST(ts AS DATE) FROM events"
    )
    for sql in rollups.REBUILD_DAYS:
        con.execute(sql)
    con.execute(
        "INSERT INTO identities SELECT 'prj_bench', 'live', 'a' || i, 'user' || i, TIMESTAMP '2026-04-01'"
        " FROM range(0, $v, 10) r(i)",
        {"v": max(1000, n // 20)},
    )
    con.execute("CHECKPOINT")
    print(f"built {n:,} events in {time.perf_counter() - t0:.1f} s", flush=True)
    return store


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    fn()  # warm
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {
        "p50_ms": statistics.median(samples),
        "p95_ms": samples[min(len(samples) - 1, int(len(samples) * 0.95))],
    }


def run(n: int, repeat: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        store = build(Path(tmp) / "bench.duckdb", n)
        r = dict(scope=SCOPE, start=START, end=END)
        queries: dict[str, Callable[[], Any]] = {
            "baseline: count(*) scan": lambda: store.read(
                "SELECT count(*) FROM events WHERE project_id = $p AND env = 'live' AND ts >= $s AND ts < $e",
                {"p": SCOPE.project_id, "s": START.replace(tzinfo=None), "e": END.replace(tzinfo=None)},
            ),
            "stats source,medium by day": lambda: store.stats(StatsQuery(**r, group_by=("source", "medium"), interval="day")),
            "stats uniques by channel": lambda: store.stats(StatsQuery(**r, metric="uniques", group_by=("channel",))),
            "sources": lambda: store.sources(SourcesQuery(**r)),
            "sessions (100 newest)": lambda: store.sessions(SessionsQuery(**r)),
        }
        try:
            store.funnel(FunnelQuery(**r, steps=(FunnelStep("$pageview"), FunnelStep("signup"))))
            store.attribution(AttributionQuery(**r, conversion="purchase"))
            queries["funnel 3 steps"] = lambda: store.funnel(
                FunnelQuery(**r, steps=(FunnelStep("$pageview"), FunnelStep("signup"), FunnelStep("purchase")))
            )
            queries["attribution linear"] = lambda: store.attribution(
                AttributionQuery(**r, conversion="purchase", value_property="amount_cents", model="linear")
            )
        except Exception as err:
            print(f"funnel/attribution skipped: {err}")
        out = {name: timed(fn, repeat) for name, fn in queries.items()}
        store.close()
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    results: dict[str, Any] = {}
    for n in args.events:
        res = run(n, args.repeat)
        results[str(n)] = res
        base = res["baseline: count(*) scan"]["p50_ms"]
        print(f"\n{n:,} events{'':18} {'p50 ms':>9} {'p95 ms':>9} {'x scan':>8}")
        for name, t in res.items():
            print(f"{name:32} {t['p50_ms']:9.1f} {t['p95_ms']:9.1f} {t['p50_ms'] / base:8.1f}")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {rss_mb:.0f} MB")
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (out_dir / f"queries-{stamp}.json").write_text(json.dumps({
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "results": results, "peak_rss_mb": rss_mb,
    }, indent=2))


if __name__ == "__main__":
    main()
