"""What bounds ingestion on this machine: the ceiling, Footfall, and Footfall with parts removed.

    .venv/bin/python bench/bounds.py [--seconds 8] [--repeat 3]

`bench/ingest.py` measures Footfall against the ceiling. This one asks why the ratio is what it
is, with the same wrk runs, alternating sides, medians of `--repeat`:

* **request path only**: a real Footfall server whose group commit acknowledges without writing
  (`bench/hooks/request_path_only`): auth, decode, mapping, enrichment and encoding still run,
  no `fdatasync`, no store. No durable server can beat it.
* **two servers**: two complete Footfall servers (each its own data directory, loader and store)
  loaded at once with half the connections each. If the machine had CPU to spare, the total
  would approach twice one server's.

Next to each run, the share of the machine's CPU time that was busy (from `/proc/stat`). Writes
`bench/results/bounds-*.json`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _results import save  # noqa: E402
from ingest import BARE_APP, TRACK, batch_body, lua, wait_for_port, wrk  # noqa: E402
from tests.support.server import Server, free_port  # noqa: E402

REQUEST_PATH_ONLY = str(ROOT / "bench" / "hooks" / "request_path_only")


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_during(run: Callable[[], float]) -> tuple[float, float]:
    """Run `run` (returns events/s) and the fraction of CPU time that was busy meanwhile."""
    busy0, total0 = cpu_times()
    rate = run()
    busy1, total1 = cpu_times()
    return rate, (busy1 - busy0) / max(1, total1 - total0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    secs = args.seconds
    port = free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)])
    wait_for_port(port)
    ceiling = f"http://127.0.0.1:{port}"
    samples: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        real = Server(Path(tmp) / "real").start()
        bare_path = Server(Path(tmp) / "path", env={"PYTHONPATH": REQUEST_PATH_ONLY}).start()
        second = Server(Path(tmp) / "second").start()
        try:
            def one(url: str, key: str | None, body: object, conns: int, per: int) -> Callable[[], float]:
                script = lua("/", key, body)
                return lambda: wrk(url, script, secs, conns)["rps"] * per

            def both(path: str, body: object, conns: int) -> float:
                rates = [0.0, 0.0]

                def load(i: int, srv: Server) -> None:
                    rates[i] = one(srv.url + path, srv.keys["sk_live"], body, conns // 2, 1)()

                threads = [threading.Thread(target=load, args=(i, s)) for i, s in enumerate((real, second))]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                return sum(rates)

            track, batch = TRACK, batch_body(1000)
            runs: list[tuple[str, Callable[[], float]]] = [
                ("track: ceiling", one(ceiling + "/v1/track", None, track, 64, 1)),
                ("track: footfall", one(real.url + "/v1/track", real.keys["sk_live"], track, 64, 1)),
                ("track: request path only", one(bare_path.url + "/v1/track", bare_path.keys["sk_live"], track, 64, 1)),
                ("track: two footfall servers", lambda: both("/v1/track", track, 64)),
                ("batch 1000: ceiling", one(ceiling + "/v1/batch", None, batch, 8, 1000)),
                ("batch 1000: footfall", one(real.url + "/v1/batch", real.keys["sk_live"], batch, 8, 1000)),
                ("batch 1000: request path only", one(bare_path.url + "/v1/batch", bare_path.keys["sk_live"], batch, 8, 1000)),
            ]
            for _ in range(args.repeat):  # alternate: drift on the machine hits every side alike
                for name, run in runs:
                    samples.setdefault(name, []).append(busy_during(run))
        finally:
            for srv in (real, bare_path, second):
                srv.stop()
            bare.terminate()
            bare.wait()
    results = {
        name: {"events_per_s": statistics.median(r for r, _ in s), "cpu_busy": statistics.median(c for _, c in s),
               "all": [r for r, _ in s]}
        for name, s in samples.items()
    }
    print(f"medians of {args.repeat} alternating runs of {secs} s; wrk shares the machine's {os.cpu_count()} cores")
    print(f"{'run':32} {'events/s':>10} {'x ceiling':>10} {'CPU busy':>9}")
    for name, r in results.items():
        base = results[name.split(":")[0] + ": ceiling"]["events_per_s"]
        print(f"{name:32} {r['events_per_s']:10,.0f} {r['events_per_s'] / base:10.2f} {r['cpu_busy']:9.0%}")
    save("bounds", {"seconds": secs, "repeat": args.repeat, "results": results})

if __name__ == "__main__":
    main()
