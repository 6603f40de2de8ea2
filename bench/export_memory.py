"""A server's resident memory during `GET /v1/export` of every event: the first export after
start (a cold store cache) and the same export again (the cache holding what a whole-table read
leaves there, up to FOOTFALL_STORE_MEMORY), without the rest of `bench/portability.py`.

    .venv/bin/python bench/export_memory.py --events 1000000 [--keep /tmp/store-1m]

RSS is sampled every 20 ms while a client streams the export with gzip; the growth of each
export is its peak over the RSS before it. `--keep DIR` keeps the generated store there and
reuses it on the next run (a 10M store takes minutes to build). Results go to
`bench/results/export-memory-*.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from _results import save  # noqa: E402
from queries import build, server  # noqa: E402

from footfall.config import Settings  # noqa: E402
from footfall.service import bootstrap_default_project, open_meta  # noqa: E402
from portability import current_rss_mb, rss_peak  # noqa: E402


def store(base: Path, n: int) -> dict[str, str]:
    """A data directory of `n` generated events under `base` (reused if already there)."""
    keys_file = base / "keys.json"
    if not keys_file.exists():
        (base / "data").mkdir(parents=True, exist_ok=True)
        meta = open_meta(Settings.from_env(data=str(base / "data")))
        keys = bootstrap_default_project(meta)
        meta.close()
        assert keys is not None
        build(base / "data" / "events.duckdb", n, keys["project_id"]).close()
        keys_file.write_text(json.dumps(keys))
    keys: dict[str, str] = json.loads(keys_file.read_text())
    return keys


def run(base: Path, n: int, once: bool = False) -> dict[str, Any]:
    keys = store(base, n)
    out: dict[str, Any] = {}
    with server(base / "data") as srv:
        assert srv.proc is not None
        pid = srv.proc.pid
        out["cold_mb"] = current_rss_mb(pid)
        for name in ("first",) if once else ("first", "again"):
            before = current_rss_mb(pid)
            t0 = time.perf_counter()
            with rss_peak(pid) as peak, httpx.Client(
                base_url=srv.url, timeout=3600,
                headers={"Authorization": f"Bearer {keys['rk_live']}", "Accept-Encoding": "gzip"},
            ) as c, c.stream("GET", "/v1/export", params={"what": "events"}) as r:  # fmt: skip
                sent = sum(len(b) for b in r.iter_raw())
            out[name] = {
                "before_mb": before, "peak_mb": peak[0], "growth_mb": peak[0] - before,
                "seconds": time.perf_counter() - t0, "gzip_bytes": sent,
            }  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, help="keep (and reuse) the generated store here")
    ap.add_argument("--once", action="store_true", help="only the first export (a 10M one takes minutes)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.keep or Path(tmp), args.events, args.once)
    print(f"{args.events:,} events: cold {result['cold_mb']:.0f} MB")
    for name in ("first", "again")[: 1 if args.once else 2]:
        r = result[name]
        print(f"  {name:5} export: {r['before_mb']:.0f} → peak {r['peak_mb']:.0f} MB (+{r['growth_mb']:.0f} MB), {r['seconds']:.0f} s")
    print("wrote", save("export-memory", {"events": args.events, **result}))


if __name__ == "__main__":
    main()
