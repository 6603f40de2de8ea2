"""Read-side latency over generated events: stats, sources, sessions, funnel (and its people),
attribution (one model, all six, paths, time to convert).

    .venv/bin/python bench/queries.py [--events 1000000 10000000] [--repeat 15]

Events are generated inside DuckDB (SQL over `range()`), so a 10M-row store takes seconds to
build. Each query runs `--repeat` times, twice over:

* through the store interface the server uses, in this process and with the server's settings
  (`FOOTFALL_STORE_THREADS`, `FOOTFALL_STORE_MEMORY`), with a full scan (`count(*)` with the
  same filters) as the baseline measured in the same run;
* over HTTP against a real server (`footfall serve`, default settings) started on that data
  directory, whose peak RSS (`VmHWM`) is what the ≤ 300 MB target is about.

Results go to `bench/results/queries-*.json`.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from msgspec.structs import replace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from _results import save  # noqa: E402
from tests.support.server import Server  # noqa: E402

from footfall.config import Settings  # noqa: E402
from footfall.errors import StoreUnavailable  # noqa: E402
from footfall.model import Scope  # noqa: E402
from footfall.read.queries import (  # noqa: E402
    AttributionQuery,
    FunnelPeopleQuery,
    FunnelQuery,
    FunnelStep,
    SessionsQuery,
    SourcesQuery,
    StatsQuery,
)
from footfall.service import bootstrap_default_project, open_meta  # noqa: E402
from footfall.store.duckdb import (  # noqa: E402
    event_times,
    event_times_runs,
    keyed_events,
    reads,
    rollups,
    session_order,
    session_people,
    visitors,
)
from footfall.store.duckdb.sessions import REBUILD_SESSIONS  # noqa: E402
from footfall.store.duckdb.store import DuckDBStore  # noqa: E402

START = datetime(2026, 4, 1, tzinfo=UTC)
END = datetime(2026, 5, 1, tzinfo=UTC)

# Realistic shape: sessions of 5 consecutive events each (n/5 sessions), visitors returning
# across the month, 1 in 10 visitors identified.
GENERATE = """
INSERT INTO events (project_id, env, uid, event_id, name, ts, received_at, anonymous_id, user_id,
    session_id, url, path, referrer, properties, dialect, source, medium, campaign, channel,
    source_confidence, source_rule_id, country, device_type, browser, os, is_bot)
SELECT $project, 'live', 'u' || i, NULL,
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


def build(path: Path, n: int, project: str) -> DuckDBStore:
    store = DuckDBStore(path)
    store.migrate()
    con = store._con
    t0 = time.perf_counter()
    con.execute(GENERATE, {"n": n, "visitors": max(1000, n // 20), "project": project})
    for sql in REBUILD_SESSIONS:
        con.execute(sql.format(where="TRUE"))
    con.execute(
        "CREATE TEMP TABLE touched_days AS SELECT DISTINCT project_id, env, CAST(ts AS DATE) FROM events"
    )
    for sql in rollups.REBUILD_DAYS:
        con.execute(sql)
    con.execute(
        "INSERT INTO identities SELECT $project, 'live', 'a' || i, 'user' || i, TIMESTAMP '2026-04-01'"
        " FROM range(0, $v, 10) r(i)",
        {"v": max(1000, n // 20), "project": project},
    )
    visitors.backfill(con)  # people per hour, with the links above (what the loader keeps)
    session_people.backfill(con)  # each session's person key (the loader keeps them too)
    event_times.backfill(con)  # funnels' times per person and hour, with those keys
    keyed_events.backfill(con)  # attribution's conversions, with those keys
    event_times_runs.backfill(con)  # both tables' closed weeks in name order, as the loader keeps them
    session_order.backfill(con)  # each session's place among its person's (the loader numbers them too)
    con.execute("CHECKPOINT")
    print(f"built {n:,} events in {time.perf_counter() - t0:.1f} s", flush=True)
    return store


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Wall p50/p95 and the p50 of this process's CPU time (DuckDB's threads included), which a
    shared machine moves far less than the wall time."""
    fn()  # warm
    samples, cpu = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    samples.sort()
    return {
        "p50_ms": statistics.median(samples),
        "p95_ms": samples[min(len(samples) - 1, int(len(samples) * 0.95))],
        "cpu_p50_ms": statistics.median(cpu),
    }


def answered(fn: Callable[[], Any], repeat: int) -> dict[str, Any]:
    """`timed`, or why the read did not answer (a read that needs more than the store's memory
    limit answers 503 `query_out_of_memory`; side by side and paths did at 10M events under
    the 96 MB default before #19's window rewrite: docs/performance.md)."""
    try:
        return timed(fn, repeat)
    except (StoreUnavailable, httpx.HTTPStatusError) as exc:
        return {"error": str(exc)[:120]}


def store_queries(store: DuckDBStore, scope: Scope) -> dict[str, Callable[[], Any]]:
    r = dict(scope=scope, start=START, end=END)
    steps = (FunnelStep("$pageview"), FunnelStep("signup"), FunnelStep("purchase"))
    buy = AttributionQuery(**r, conversion="purchase", value_property="amount_cents", model="linear")
    return {
        "baseline: count(*) scan": lambda: store.read(
            "SELECT count(*) FROM events WHERE project_id = $p AND env = 'live' AND ts >= $s AND ts < $e",
            {"p": scope.project_id, "s": START.replace(tzinfo=None), "e": END.replace(tzinfo=None)},
        ),
        "stats source,medium by day": lambda: store.stats(
            StatsQuery(**r, group_by=("source", "medium"), interval="day")
        ),
        "stats uniques by channel": lambda: store.stats(
            StatsQuery(**r, metric="uniques", group_by=("channel",))
        ),
        "stats uniques by channel, from the events": lambda: reads.stats(
            store.read, StatsQuery(**r, metric="uniques", group_by=("channel",)), use_rollup=False
        ),
        "sources": lambda: store.sources(SourcesQuery(**r)),
        "sessions (100 newest)": lambda: store.sessions(SessionsQuery(**r)),
        "funnel 3 steps": lambda: store.funnel(FunnelQuery(**r, steps=steps)),
        "funnel people (dropped at 1)": lambda: store.funnel_people(
            FunnelPeopleQuery(funnel=FunnelQuery(**r, steps=steps), step=1, limit=100)
        ),
        "attribution linear": lambda: store.attribution(buy),
        "attribution all six models": lambda: store.attribution_compared(buy),
        "conversion paths": lambda: store.conversion_paths(replace(buy, group_by=("channel",))),
        "time to convert": lambda: store.time_to_convert(buy),
    }


# The same questions as the public API asks them (README "Ask questions").
_BUY = {"conversion": "purchase", "value_property": "amount_cents"}
HTTP_QUERIES: dict[str, tuple[str, dict[str, str]]] = {
    "baseline: GET /healthz": ("/healthz", {}),
    "stats source,medium by day": ("/v1/stats", {"group_by": "source,medium", "interval": "day"}),
    "stats uniques by channel": ("/v1/stats", {"metric": "uniques", "group_by": "channel"}),
    "sources": ("/v1/sources", {}),
    "sessions (100 newest)": ("/v1/sessions", {"limit": "100"}),
    "funnel 3 steps": ("/v1/funnel", {"steps": "$pageview,signup,purchase"}),
    "funnel people (dropped at 1)": (
        "/v1/funnel/people", {"steps": "$pageview,signup,purchase", "step": "1"}
    ),
    "attribution linear": ("/v1/attribution", {**_BUY, "model": "linear"}),
    "attribution all six models": ("/v1/attribution", {**_BUY, "model": "all"}),
    "conversion paths": ("/v1/attribution/paths", _BUY),
    "time to convert": ("/v1/attribution/time_to_convert", _BUY),
}


@contextmanager
def server(data: Path) -> Iterator[Server]:
    srv = Server(data).start(timeout=120)
    try:
        yield srv
    finally:
        srv.stop()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def http_queries(srv: Server, key: str, repeat: int) -> dict[str, dict[str, float]]:
    span = {"from": START.isoformat(), "to": END.isoformat()}
    out = {}
    with httpx.Client(
        base_url=srv.url, headers={"Authorization": f"Bearer {key}"}, timeout=120
    ) as c:
        for name, (path, params) in HTTP_QUERIES.items():

            def ask(path: str = path, params: dict[str, str] = params) -> None:
                r = c.get(path, params={**span, **params} if path != "/healthz" else None)
                r.raise_for_status()

            out[name] = answered(ask, repeat)
    return out


def prepare(tmp: str, n: int) -> tuple[Path, dict[str, str], Scope]:
    """A data directory in `tmp` with the default project and `n` generated events."""
    data = Path(tmp) / "data"
    data.mkdir()
    meta = open_meta(Settings.from_env(data=str(data)))
    keys = bootstrap_default_project(meta)
    meta.close()
    assert keys is not None
    scope = Scope(keys["project_id"], "live")
    build(data / "events.duckdb", n, scope.project_id).close()
    return data, keys, scope


def run(n: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data, keys, scope = prepare(tmp, n)
        # The server's settings (threads, memory limit), so both tables measure the same store.
        settings = Settings.from_env(data=str(data))
        store = DuckDBStore(data / "events.duckdb", settings.store_threads, settings.store_memory)
        in_process = {name: answered(fn, repeat) for name, fn in store_queries(store, scope).items()}
        store.close()
        with server(data) as srv:
            assert srv.proc is not None
            idle = peak_rss_mb(srv.proc.pid)
            over_http = http_queries(srv, keys["rk_live"], repeat)
            peak = peak_rss_mb(srv.proc.pid)
        return {
            "store": in_process,
            "http": over_http,
            "server_idle_rss_mb": idle,
            "server_peak_rss_mb": peak,
        }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    results: dict[str, Any] = {}
    for n in args.events:
        res = run(n, args.repeat)
        results[str(n)] = res
        store, http = res["store"], res["http"]
        base = store["baseline: count(*) scan"]["p50_ms"]
        print(
            f"\n{n:,} events{'':20} {'store p50':>10} {'p95':>8} {'CPU p50':>8} {'x scan':>7}"
            f" {'HTTP p50':>10} {'p95':>8}"
        )
        for name in store:
            t = store[name]
            h = http["baseline: GET /healthz"] if name.startswith("baseline") else http.get(name)
            over_http = f" {h['p50_ms']:10.1f} {h['p95_ms']:8.1f}" if h and "error" not in h else ""
            if "error" in t:
                print(f"{name:34} did not answer: {t['error']}")
                continue
            print(
                f"{name:34} {t['p50_ms']:10.1f} {t['p95_ms']:8.1f} {t['cpu_p50_ms']:8.1f}"
                f" {t['p50_ms'] / base:7.1f}{over_http}"
            )
        print(
            f"server RSS: {res['server_idle_rss_mb']:.0f} MB after start, peak {res['server_peak_rss_mb']:.0f} MB"
            " (target <= 300 MB)"
        )
        print("load average now:", " ".join(Path("/proc/loadavg").read_text().split()[:3]))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process (builds the data): {rss_mb:.0f} MB")
    settings = Settings.from_env(data=tempfile.gettempdir())
    save(
        "queries",
        {
            "results": results,
            "bench_process_peak_rss_mb": rss_mb,
            # The server's and the in-process store's settings (FOOTFALL_STORE_*), which the
            # figures depend on most.
            "store_threads": settings.store_threads,
            "store_memory": settings.store_memory,
        },
    )

if __name__ == "__main__":
    main()
