"""Export and import throughput and memory: rows/s and peak RSS at 1M and 10M events.

    .venv/bin/python bench/portability.py [--events 1000000 10000000]

A store of generated events (the query benchmark's shape) is served by a real server;
`footfall export --server` streams its events to NDJSON while the server's RSS is watched (the
target: unchanged within ±50 MB); `footfall export --data` writes Parquet offline; then
`footfall import --data` loads the NDJSON export into an empty data directory through the
pipeline, WAL and loader. Peak RSS of each command is its `ru_maxrss`; the server's is `VmHWM`.
The server is cold (started on the store, no request yet) when the export starts, so its
growth includes the first request's work and DuckDB's buffer cache filling up to the store's
memory limit; with `--warm` it first answers the whole-range reads of `bench/queries.py` (as a
server in use has), and the growth is also given over that warm RSS. The export then runs a
second time: its growth over the RSS the first one left is the export's own cost on a server
whose store cache already holds what a whole-table read leaves there. The imports go through
the bulk path (Footfall's own rows, offline), from the NDJSON, Parquet and CSV exports. While
the server runs, `footfall import --server` loads the NDJSON export into a new project of it
through `POST /v1/import/events` (the bulk path through its WAL); its CPU is the command's plus
the server's (`/proc/PID/stat`), and the server's peak RSS during it is sampled like the
export's. `--before-src DIR` (a checkout's `src/` of an older commit)
runs that import's client from there too, for a before/after in the same minutes.
`--server-only` runs only the first HTTP export and the `--server` import (10M in ~half an hour).
CPU is each command's user + system time (the machine is shared: prefer it to rows/s). Results
go to `bench/results/portability-*.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from _results import save  # noqa: E402
from queries import build, http_queries, server  # noqa: E402

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


def command(n: int, *args: str, src: Path | None = None, server_pid: int | None = None) -> dict[str, float]:
    """Run `footfall ARGS` over `n` rows (from `src` if given): seconds, rows/s, CPU seconds
    and µs a row (with the server's CPU meanwhile, given its pid), peak RSS."""
    t0 = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    server0 = process_cpu_s(server_pid) if server_pid else 0.0
    env = {**os.environ, "PYTHONPATH": str(src)} if src else None
    done = subprocess.run([sys.executable, "-c", _WRAP, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    server = process_cpu_s(server_pid) - server0 if server_pid else 0.0
    if done.returncode:
        raise SystemExit(f"footfall {' '.join(args)} failed: {done.stderr[-2000:]}")
    hwm = done.stderr.strip().splitlines()[-1].split()
    seconds = time.perf_counter() - t0
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    out = {
        "seconds": seconds, "rows_per_s": n / seconds, "cpu_s": cpu, "cpu_us_per_row": cpu / n * 1e6,
        "command_peak_rss_mb": int(hwm[1]) / 1024,
    }  # fmt: skip
    if server_pid:
        out |= {"server_cpu_s": server, "cpu_with_server_us_per_row": (cpu + server) / n * 1e6}
    return out


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def rss_peak(pid: int) -> Iterator[list[float]]:
    """The highest VmRSS of `pid` while the block runs, sampled every 20 ms (its VmHWM would
    also count what came before, such as the warm-up reads)."""
    peak = [current_rss_mb(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], current_rss_mb(pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()
        peak[0] = max(peak[0], current_rss_mb(pid))


def current_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(n: int, warm: bool, before_src: Path | None = None, server_only: bool = False) -> dict[str, Any]:
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
            cold = current_rss_mb(srv.proc.pid)
            if warm:
                http_queries(srv, keys["rk_live"], 1)
            before = current_rss_mb(srv.proc.pid)
            with rss_peak(srv.proc.pid) as peak:
                e = command(
                    n, "export", "--server", srv.url, "--key", keys["rk_live"], "--what", "events",
                    "--format", "ndjson", "--out", str(out / "ndjson"),
                )  # fmt: skip
            # The ±50 MB target: the server's peak during the export over its RSS before.
            e.update({
                "server_warmed": warm, "server_rss_cold_mb": cold, "server_rss_before_mb": before,
                "server_peak_mb": peak[0], "server_rss_after_mb": current_rss_mb(srv.proc.pid),
                "server_growth_mb": peak[0] - before, "server_growth_over_cold_mb": peak[0] - cold,
            })  # fmt: skip
            # The same export again: the server now holds what any whole-table read leaves in
            # DuckDB's buffer cache (up to FOOTFALL_STORE_MEMORY); what it grows by now is what
            # an export itself costs on a server in use.
            if not server_only:
                steady = current_rss_mb(srv.proc.pid)
                with rss_peak(srv.proc.pid) as again:
                    command(n, "export", "--server", srv.url, "--key", keys["rk_live"], "--what", "events", "--out", "-")
                e.update({
                    "server_rss_steady_mb": steady, "server_peak_again_mb": again[0],
                    "server_growth_steady_mb": again[0] - steady,
                })  # fmt: skip
            result["export_http_ndjson"] = e
            meta = open_meta(Settings.from_env(data=str(data)))
            sk = {name: create_project_with_keys(meta, name, [])[1]["sk_live"] for name in ("bulk", "before")}
            meta.close()
            ndjson = str(out / "ndjson" / "events.ndjson")
            # The server's bulk import (`POST /v1/import/events`): rows/s, CPU, and the server's
            # own peak RSS while it takes the rows (the command's peak is the client's).
            server_before = current_rss_mb(srv.proc.pid)
            with rss_peak(srv.proc.pid) as taking:
                imported = command(
                    n, "import", ndjson, "--server", srv.url, "--key", sk["bulk"], "--format", "footfall",
                    server_pid=srv.proc.pid,
                )  # fmt: skip
            imported |= {
                "server_rss_before_mb": server_before, "server_peak_mb": taking[0],
                "server_growth_mb": taking[0] - server_before,
            }  # fmt: skip
            result["import_server_ndjson"] = imported
            if before_src is not None:  # the same import by an older client (row by row)
                result["import_server_ndjson_before"] = command(
                    n, "import", ndjson, "--server", srv.url, "--key", sk["before"], "--format", "footfall",
                    src=before_src, server_pid=srv.proc.pid,
                )  # fmt: skip
        if server_only:
            return result
        for fmt in ("parquet", "csv"):
            result[f"export_offline_{fmt}"] = command(
                n, "export", "--data", str(data), "--project", keys["project_id"], "--what", "events",
                "--format", fmt, "--out", str(out / fmt),
            )  # fmt: skip
        meta = open_meta(Settings.from_env(data=str(target)))
        projects = {fmt: create_project_with_keys(meta, f"import-{fmt}", [])[0].id for fmt in ("ndjson", "parquet", "csv")}
        meta.close()
        for fmt in ("ndjson", "parquet", "csv"):
            result[f"import_offline_{fmt}"] = command(
                n, "import", str(out / fmt / f"events.{fmt}"), "--data", str(target),
                "--project", projects[fmt], "--format", "footfall",
            )  # fmt: skip
        return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--warm", action="store_true", help="serve whole-range reads before the export")
    ap.add_argument("--before-src", type=Path, help="an older checkout's src/ for the --server import's client")
    ap.add_argument("--server-only", action="store_true", help="only the HTTP export and the --server import")
    args = ap.parse_args()
    results = {str(n): run(n, args.warm, args.before_src, args.server_only) for n in args.events}
    for n, res in results.items():
        print(f"\n{int(n):,} events")
        for name, r in res.items():
            print(f"  {name:26} {r['rows_per_s']:>10,.0f} rows/s  {r['seconds']:7.1f} s"
                  f"  CPU {r['cpu_us_per_row']:5.1f} µs/row  peak {r['command_peak_rss_mb']:6.0f} MB"
                  + (f"  with the server's CPU {r['cpu_with_server_us_per_row']:5.1f} µs/row" if "server_cpu_s" in r else ""))  # fmt: skip
        i = res["import_server_ndjson"]
        print(f"  server RSS during the --server import: {i['server_rss_before_mb']:.0f} → peak"
              f" {i['server_peak_mb']:.0f} MB (+{i['server_growth_mb']:.0f} MB)")
        e = res["export_http_ndjson"]
        print(f"  server RSS: cold {e['server_rss_cold_mb']:.0f} MB, {e['server_rss_before_mb']:.0f} MB before the"
              f" HTTP export, peak {e['server_peak_mb']:.0f} MB during it (+{e['server_growth_mb']:.0f} MB;"
              f" +{e['server_growth_over_cold_mb']:.0f} MB over the cold server)")
        if "server_rss_steady_mb" in e:
            print(f"  a second export: {e['server_rss_steady_mb']:.0f} → {e['server_peak_again_mb']:.0f} MB"
                  f" (+{e['server_growth_steady_mb']:.0f} MB)")
    print("wrote", save("portability", {"events": results, "warm": args.warm, "server_only": args.server_only}))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
