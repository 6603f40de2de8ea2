"""CPU per request of Footfall's own request path, in-process, without HTTP (#23).

    .venv/bin/python bench/request_path.py [--requests 20000] [--concurrency 64] [--repeat 5]
        [--route track|batch] [--rate-limits on|off] [--baseline-src /tmp/base/src] [--profile N]

Builds the real ASGI application (`create_app`) on a fresh data directory, runs its lifespan
(store, loader, WAL, group commit: everything a served request meets) and calls it directly
with ASGI messages, `--concurrency` requests in flight, as uvicorn would after parsing HTTP.
What it measures is the CPU time of the **event loop's thread** per request (middleware, auth,
decode, mapping, enrichment, WAL encoding, group commit's bookkeeping, the answer), the part
Footfall's code decides; the loader's and the WAL thread's CPU is printed beside it as the
process's total. CPU time, not wall time, so a busy machine moves it little.

With `--baseline-src DIR` (e.g. `git archive main src | tar -x -C /tmp/base`), the same runs are
made with that tree's `footfall` on `PYTHONPATH`, alternating with this tree's, and both medians
printed. `--profile N` prints cProfile's top N functions of one run instead (by own time);
`--child` makes one run in this process and prints it as JSON (for a sampling profiler:
`py-spy record -f raw -- .venv/bin/python bench/request_path.py --child`).
Writes `bench/results/request-path-*.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from ingest import TRACK, UA, batch_body  # noqa: E402

BATCH_EVENTS = 100


def _body(route: str) -> bytes:
    return json.dumps(TRACK if route == "track" else batch_body(BATCH_EVENTS)).encode()


async def _drive(data: Path, route: str, requests: int, concurrency: int, rate_limits: bool,
                 profile: int) -> dict[str, Any]:
    from footfall.app import create_app
    from footfall.config import Settings
    from footfall.service import bootstrap_default_project, open_meta

    # No refusals: a 503 costs less than a write and would flatter the figure (the loader can
    # fall behind on a busy machine); the bench measures the path of an accepted request.
    settings = Settings.from_env(data=str(data), rate_limits="on" if rate_limits else "off",
                                 max_pending=10**9, max_lag=10**9, max_lag_bytes=10**12)
    meta = open_meta(settings)
    keys = bootstrap_default_project(meta)
    meta.close()
    assert keys is not None
    app = create_app(settings)

    # The lifespan, as uvicorn runs it: started before the first request, stopped after.
    startup: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await startup.put({"type": "lifespan.startup"})

    async def lifespan_send(message: dict[str, Any]) -> None:
        await events.put(message)

    life = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                   startup.get, lifespan_send))
    started = await events.get()
    assert started["type"] == "lifespan.startup.complete", started

    body = _body(route)
    headers = [
        (b"host", b"127.0.0.1"),
        (b"user-agent", UA.encode()),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {keys['sk_live']}".encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    statuses: dict[int, int] = {}

    async def one() -> None:
        scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": f"/v1/{route}", "raw_path": f"/v1/{route}".encode(),
            "query_string": b"", "root_path": "", "headers": headers, "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8787), "state": {},
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # a client that stays connected
            raise AssertionError

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app(scope, receive, send)

    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await one()

    # A warm-up (caches, first group commits), then the measured run.
    await asyncio.gather(*(one() for _ in range(concurrency)))
    statuses.clear()
    profiler = cProfile.Profile() if profile else None
    wall, thread_cpu, process_cpu = time.perf_counter(), time.thread_time(), time.process_time()
    if profiler:
        profiler.enable()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - wall
    thread_cpu = time.thread_time() - thread_cpu
    process_cpu = time.process_time() - process_cpu

    await startup.put({"type": "lifespan.shutdown"})
    await life
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(profile)
    ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
    assert ok == requests, statuses
    return {
        "loop_us_per_request": thread_cpu / requests * 1e6,
        "process_us_per_request": process_cpu / requests * 1e6,
        "wall_requests_per_s": requests / wall,
    }


def _one_run(args: argparse.Namespace) -> dict[str, Any]:
    import uvloop

    with tempfile.TemporaryDirectory() as tmp:
        return uvloop.run(_drive(Path(tmp) / "data", args.route, args.requests, args.concurrency,
                                 args.rate_limits == "on", args.profile))


def _child(args: argparse.Namespace, src: str | None) -> dict[str, Any]:
    """One run in a fresh interpreter (this tree's footfall, or the baseline's)."""
    env = {**os.environ, "FOOTFALL_LOG_LEVEL": "warning"}
    if src:
        env["PYTHONPATH"] = src
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--route", args.route, "--requests", str(args.requests),
         "--concurrency", str(args.concurrency), "--rate-limits", args.rate_limits],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--route", choices=("track", "batch"), default="track")
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rate-limits", choices=("on", "off"), default="off")
    ap.add_argument("--baseline-src", help="also measure the footfall package under this directory")
    ap.add_argument("--profile", type=int, default=0, help="print cProfile's top N of one run")
    ap.add_argument("--child", action="store_true", help="one run in this process, printed as JSON")
    args = ap.parse_args()
    if args.child or args.profile:
        if args.profile:
            os.environ.setdefault("FOOTFALL_LOG_LEVEL", "warning")
        print(json.dumps(_one_run(args)))
        return
    sides = {"this tree": None, **({"baseline": args.baseline_src} if args.baseline_src else {})}
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    for _ in range(args.repeat):  # alternate, so drift on a shared machine hits both sides
        for side, src in sides.items():
            runs[side].append(_child(args, src))
    per = "event" if args.route == "batch" else "request"
    scale = BATCH_EVENTS if args.route == "batch" else 1
    print(f"/v1/{args.route}: {args.requests} requests, {args.concurrency} in flight, "
          f"medians of {args.repeat} alternating runs (CPU µs per {per})")
    print(f"{'side':12} {'event loop':>11} {'best':>7} {'process':>9} {'wall req/s':>11}  event loop, every run")
    summary: dict[str, Any] = {}
    for side, results in runs.items():
        loop = statistics.median(r["loop_us_per_request"] for r in results) / scale
        proc = statistics.median(r["process_us_per_request"] for r in results) / scale
        rate = statistics.median(r["wall_requests_per_s"] for r in results)
        # the least disturbed run: a neighbour on the machine only ever adds CPU time
        best = min(r["loop_us_per_request"] for r in results) / scale
        every = " ".join(f"{r['loop_us_per_request'] / scale:.1f}" for r in results)
        print(f"{side:12} {loop:11.1f} {best:7.1f} {proc:9.1f} {rate:11.0f}  {every}")
        summary[side] = {"loop_us": loop, "loop_us_best": best, "process_us": proc,
                         "wall_requests_per_s": rate, "runs": results}
    from _results import save

    save("request-path", {"route": args.route, "requests": args.requests, "concurrency": args.concurrency,
                          "rate_limits": args.rate_limits, "per": per, **summary})


if __name__ == "__main__":
    main()
