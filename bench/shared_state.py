#!/usr/bin/env python3
"""What sharing the hot state in Redis costs per event: in-process vs Redis on 127.0.0.1.

Usage::

    .venv/bin/python bench/shared_state.py [--calls 20000]

Starts a throwaway `redis-server` (Debian's package) on a free port, then times, per call, each
operation the pipeline and the rate limiter do per event: session assignment, session
attribution (remember + look up) and a token-bucket take, in this process (`Sessionizer`,
`RateLimiter`: the baseline, measured in the same run) and in Redis (`RedisVisitors`,
`RedisLimiter`: one round trip per event, two for a session's first event with a signal, one
per request for the rate limit). Every Redis call blocks the
event loop for its round trip, so these figures bound the ingestion rate of one node with
`--state`.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from _results import save

from footfall.limits import Limit, RateLimiter
from footfall.pipeline.sessions import Sessionizer
from footfall.state.redis import RedisLimiter, RedisLink, RedisVisitors


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _per_call_us(fn: Callable[[int], object], calls: int) -> float:
    start = time.perf_counter()
    for i in range(calls):
        fn(i)
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (Debian package redis-server)")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="footfall-bench-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir], stdout=subprocess.DEVNULL,
    )
    try:
        link = RedisLink(f"redis://127.0.0.1:{port}/0", timeout=2)
        deadline = time.monotonic() + 10
        while True:
            try:
                link.check()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # waiting for redis-server to listen
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        limit = Limit(1e9, 1e9)
        memory_v, redis_v = Sessionizer(), RedisVisitors(link)
        memory_l, redis_l = RateLimiter(), RedisLimiter(link)
        n = args.calls

        def event(v: Sessionizer | RedisVisitors) -> Callable[[int], object]:
            """What the pipeline asks per event without an attribution signal of its own."""

            def run(i: int) -> object:
                sid = v.assign("p", "live", f"v{i % 5000}", t0 + timedelta(seconds=i))
                return v.attribution(("p", "live", sid))

            return run

        def first_signal(v: Sessionizer | RedisVisitors) -> Callable[[int], object]:
            """A session's first event with a signal: assign, then remember its attribution."""

            def run(i: int) -> object:
                sid = v.assign("p", "live", f"new{i}", t0)
                v.remember_attribution(("p", "live", sid), ("google", "cpc", None, "high"))
                return sid

            return run

        rows = {
            "event: session + attribution": (event(memory_v), event(redis_v)),
            "first signal of a session": (first_signal(memory_v), first_signal(redis_v)),
            "rate-limit take (per request)": (
                lambda i: memory_l.check("p", "track", limit),
                lambda i: redis_l.check("p", "track", limit),
            ),
        }
        results = {}
        print(f"{'operation':32} {'in-process us':>14} {'Redis us':>10}")
        for name, (mem, red) in rows.items():
            mem_us, red_us = _per_call_us(mem, n), _per_call_us(red, n)
            results[name] = {"memory_us": round(mem_us, 2), "redis_us": round(red_us, 2)}
            print(f"{name:32} {mem_us:14.2f} {red_us:10.2f}")
        assert link.fallbacks == 0
        link.close()
        print(f"results: {save('shared-state', {'calls': n, 'per_call': results})}")
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
