"""The loader's memory, in-process on a real DuckDB file: RSS and DuckDB's own accounting.

    .venv/bin/python bench/loader_memory.py [--transactions 24] [--rows 10000] [--links 0.05]
        [--set checkpoint_threshold=32MB ...]

Appends `bench/loader_steps.py`'s batches (200,000 visitors, unique URLs and click ids, that
share of events identified) one `DuckDBStore.append` each, generating each batch just before
it is stored (so the process holds one at a time, as the loader does), and prints after every
few transactions the process's RSS, anonymous RSS and peak (`VmHWM`), and DuckDB's memory by
tag and spilled bytes (`duckdb_memory()`). `--set` changes a DuckDB setting after connecting,
to compare (old and new alternated in the same minutes: the machine's load moves CPU time).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loader_steps import batch

import footfall.store.duckdb.store as duckdb_store


def status() -> dict[str, int]:
    """VmRSS, RssAnon and VmHWM of this process, in MB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS", "RssAnon", "VmHWM")):
            out[line.split(":")[0]] = int(line.split()[1]) // 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--transactions", type=int, default=24)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--links", type=float, default=0.05)
    ap.add_argument("--set", action="append", default=[], help="a DuckDB setting, name=value")
    args = ap.parse_args()
    rng = random.Random(1)
    start = datetime(2026, 12, 3, 10, tzinfo=UTC)
    every = max(1, args.transactions // 6)
    with tempfile.TemporaryDirectory() as tmp:
        store = duckdb_store.DuckDBStore(Path(tmp) / "e.duckdb", threads=2, memory="96MB")
        store.migrate()
        con = store._con
        for setting in args.set:
            name, value = setting.split("=", 1)
            con.execute(f"SET {name} = '{value}'")
        print("after migrating:", status())
        cpu0 = time.process_time()
        for k in range(1, args.transactions + 1):
            data, links = batch(rng, k, args.rows, start, args.links)
            store.append(data, links, k)
            del data, links
            if k % every == 0:
                used, spilled = con.execute(
                    "SELECT sum(memory_usage_bytes) // 1000000, sum(temporary_storage_bytes) // 1000000"
                    " FROM duckdb_memory()"
                ).fetchone() or (0, 0)
                tags = con.execute(
                    "SELECT tag, memory_usage_bytes // 1000000 FROM duckdb_memory()"
                    " WHERE memory_usage_bytes >= 2000000 ORDER BY 2 DESC"
                ).fetchall()
                print(f"{k * args.rows:>9,} events: {status()} DuckDB {used} MB ({dict(tags)}),"
                      f" spilled {spilled} MB", flush=True)
        cpu = time.process_time() - cpu0
        store.close()
    print(f"CPU {cpu / (args.transactions * args.rows) * 1e6:.1f} µs/event; peak {status()['VmHWM']} MB")


if __name__ == "__main__":
    main()
