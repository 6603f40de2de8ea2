"""The conversions behind one attribution number (#19) beside the panel that counts it: a page of
the list behind the top conversion path, the largest time-to-convert bucket and the top row's
position-based cell, over the events `bench/queries.py` generates, through the store interface
with the server's settings.

    .venv/bin/python bench/conversion_lists.py [--events 1000000] [--repeat 5]

A list reads the same CTEs as its panel plus its own page, so it should cost about what the
panel does. Results go to `bench/results/conversion-lists-*.json`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from msgspec.structs import replace

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import save
from queries import END, START, answered, prepare

from footfall.config import Settings
from footfall.read.queries import AttributionQuery, ConversionsQuery
from footfall.store.duckdb.store import DuckDBStore


def run(n: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data, _keys, scope = prepare(tmp, n)
        settings = Settings.from_env(data=str(data))
        store = DuckDBStore(data / "events.duckdb", settings.store_threads, settings.store_memory)
        buy = AttributionQuery(scope=scope, start=START, end=END, conversion="purchase",
                               value_property="amount_cents", model="position_based", group_by=("channel",))
        path = store.conversion_paths(buy)["rows"][0]
        bucket = max(store.time_to_convert(buy)["buckets"], key=lambda b: b["conversions"])
        row = store.attribution(buy)["rows"][0]
        lists = {
            "path": ConversionsQuery(attribution=buy, behind="path", path=tuple(path["path"])),
            "bucket": ConversionsQuery(attribution=buy, behind="bucket", bucket=bucket["from_seconds"]),
            "credit": ConversionsQuery(attribution=buy, behind="credit", key=row["channel"]),
        }
        panels = {
            "path": lambda: store.conversion_paths(buy),
            "bucket": lambda: store.time_to_convert(buy),
            "credit": lambda: store.attribution(buy),
        }
        out: dict[str, Any] = {}
        for name, q in lists.items():
            got = store.conversions_behind(q)
            out[name] = {
                "listed": got["totals"]["conversions"],
                "panel": answered(panels[name], repeat),
                "first page": answered(lambda q=q: store.conversions_behind(q), repeat),  # type: ignore[misc]
                "page 20": answered(lambda q=q: store.conversions_behind(replace(q, offset=1900)), repeat),  # type: ignore[misc]
            }
        store.close()
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    results = {}
    for n in args.events:
        results[str(n)] = res = run(n, args.repeat)
        print(f"\n{n:,} events{'':12} {'p50 ms':>8} {'CPU p50':>8}")
        for name, r in res.items():
            print(f"list behind a {name} ({r['listed']:,} conversions)")
            for what in ("panel", "first page", "page 20"):
                t = r[what]
                line = f"  {t['p50_ms']:8.1f} {t['cpu_p50_ms']:8.1f}" if "error" not in t else "  " + t["error"]
                print(f"  {what:22}{line}")
        print("load average now:", " ".join(Path("/proc/loadavg").read_text().split()[:3]))
    save("conversion-lists", {"results": results})


if __name__ == "__main__":
    main()
