"""Export and import throughput and memory: rows/s and peak RSS at 1M and 10M events.

    .venv/bin/python bench/portability.py [--events 1000000 10000000]

A store of generated events (the query benchmark's shape) is served by a real server;
`footfall export --server` streams its events to NDJSON while the server's RSS is watched (the
target: unchanged within ±50 MB); `footfall export --data` writes Parquet offline; then
`footfall import --data` loads the NDJSON export into an empty data directory through the
pipeline, WAL and loader. Peak RSS of each command is its `ru_maxrss`; the server's is `VmHWM`.
The server is cold (started on the store, no request yet) when the export starts, so its
growth includes the first request's work. Results go to `bench/results/portability-*.json`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from _results import save  # noqa: E402
from queries import build, peak_rss_mb, server  # noqa: E402

from footfall.config import Settings  # noqa: E402
from footfall.service import bootstrap_default_project, create_project_with_keys, open_meta  # noqa: E402

# The command reports its own VmHWM at exit: a child's ru_maxrss also counts the memory of this
# process at fork time (the store it just built).
_WRAP = """import atexit, sys
from pathlib import Path
hwm = lambda: next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM"))
atexit.register(lambda: print("\\n" + hwm(), file=sys.stderr))
sys.argv = ["footfall", *sys.argv[1:]]
from footfall.cli import main
main()
"""


def command(*args: str) -> tuple[float, float]:
    """Run `footfall ARGS`; (seconds, its peak RSS in MB)."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _WRAP, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"footfall {' '.join(args)} failed: {done.stderr[-2000:]}")
    hwm = done.stderr.strip().splitlines()[-1].split()
    return time.perf_counter() - t0, int(hwm[1]) / 1024


def current_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data, target, out = Path(tmp) / "data", Path(tmp) / "target", Path(tmp) / "out"
        data.mkdir()
        meta = open_meta(Settings.from_env(data=str(data)))
        keys = bootstrap_default_project(meta)
        meta.close()
        assert keys is not None
        build(data / "events.duckdb", n, keys["project_id"]).close()
        result: dict[str, Any] = {}
        with server(data) as srv:
            assert srv.proc is not None
            rss_before, hwm_before = current_rss_mb(srv.proc.pid), peak_rss_mb(srv.proc.pid)
            seconds, peak = command(
                "export", "--server", srv.url, "--key", keys["rk_live"], "--what", "events",
                "--format", "ndjson", "--out", str(out / "ndjson"),
            )  # fmt: skip
            result["export_http_ndjson"] = {
                "seconds": seconds, "rows_per_s": n / seconds, "command_peak_rss_mb": peak,
                "server_rss_before_mb": rss_before, "server_rss_after_mb": current_rss_mb(srv.proc.pid),
                "server_peak_before_mb": hwm_before, "server_peak_after_mb": peak_rss_mb(srv.proc.pid),
            }  # fmt: skip
            # The ±50 MB target: the cold server's peak during the export over its RSS before.
            e = result["export_http_ndjson"]
            e["server_growth_mb"] = e["server_peak_after_mb"] - rss_before
        seconds, peak = command(
            "export", "--data", str(data), "--project", keys["project_id"], "--what", "events",
            "--format", "parquet", "--out", str(out / "parquet"),
        )  # fmt: skip
        result["export_offline_parquet"] = {"seconds": seconds, "rows_per_s": n / seconds, "command_peak_rss_mb": peak}
        meta = open_meta(Settings.from_env(data=str(target)))
        project, _ = create_project_with_keys(meta, "import", [])
        meta.close()
        seconds, peak = command(
            "import", str(out / "ndjson" / "events.ndjson"), "--data", str(target),
            "--project", project.id, "--format", "footfall",
        )  # fmt: skip
        result["import_offline_footfall"] = {"seconds": seconds, "rows_per_s": n / seconds, "command_peak_rss_mb": peak}
        return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = ap.parse_args()
    results = {str(n): run(n) for n in args.events}
    for n, res in results.items():
        print(f"\n{int(n):,} events")
        for name, r in res.items():
            print(f"  {name:26} {r['rows_per_s']:>10,.0f} rows/s  {r['seconds']:7.1f} s  peak {r['command_peak_rss_mb']:6.0f} MB")
        e = res["export_http_ndjson"]
        print(f"  server RSS during the HTTP export: {e['server_rss_before_mb']:.0f} -> {e['server_rss_after_mb']:.0f} MB"
              f" (peak {e['server_peak_before_mb']:.0f} -> {e['server_peak_after_mb']:.0f} MB,"
              f" +{e['server_growth_mb']:.0f} MB over the cold server's RSS)")  # fmt: skip
    print("wrote", save("portability", {"events": results}))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
