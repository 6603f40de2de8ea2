"""Every benchmark, one after another: `python3 dev.py bench` (or `.venv/bin/python bench/run.py`).

Each prints its own table with a baseline measured in the same run; JSON results land in
`bench/results/`. `--quick` uses smaller sizes (1M events for queries, 4 s per load run).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    quick = "--quick" in sys.argv
    steps = [
        ("enrichment per event", ["enrichment.py"]),
        ("store bulk insert", ["store_insert.py"]),
        ("ingestion over HTTP", ["ingest.py", "--seconds", "4" if quick else "8",
                                 "--sustained-seconds", "10" if quick else "30"]),
        ("the request path's CPU per request, in-process", ["request_path.py", *(["--requests", "5000", "--repeat", "3"] if quick else [])]),
        ("the loader's store transaction", ["loader_steps.py", *(["--transactions", "10"] if quick else [])]),
        ("the Plausible adapter beside /v1/track", ["plausible.py", "--seconds", "4" if quick else "8"]),
        ("what bounds ingestion", ["bounds.py", "--seconds", "4" if quick else "8"]),
        ("shared state in Redis per event", ["shared_state.py", *(["--calls", "5000"] if quick else [])]),
        ("PostHog capture beside Millimetric", ["posthog.py", "--seconds", "4" if quick else "8"]),
        ("the Segment adapter beside Millimetric", ["segment.py", "--seconds", "3" if quick else "5"]),
        ("the disk's sync latency", ["disk.py", *(["--syncs", "1000"] if quick else [])]),
        ("queries", ["queries.py", "--events", *(["1000000"] if quick else ["1000000", "10000000"])]),
        ("ClickHouse beside DuckDB", ["clickhouse.py", "--events", *(["1000000"] if quick else ["1000000", "10000000"])]),
        ("dashboard", ["dashboard.py", "--events", *(["1000000"] if quick else ["1000000", "10000000"])]),
        ("funnels in the dashboard", ["funnels.py", "--events", "1000000" if quick else "10000000"]),
        ("the conversions behind a count", ["conversion_lists.py", "--events", "1000000" if quick else "10000000"]),
        ("people and sessions", ["people.py", "--events", *(["1000000"] if quick else ["1000000", "10000000"])]),
        ("forget at the server's memory", ["forget.py", "--events", "1000000" if quick else "10000000"]),
        ("export and import", ["portability.py", "--events", "1000000"]),
        *([] if quick else [("export and import at 10M", ["portability.py", "--events", "10000000", "--server-only"])]),
    ]
    for title, cmd in steps:
        print(f"\n=== {title} ===", flush=True)
        subprocess.run([sys.executable, str(HERE / cmd[0]), *cmd[1:]], check=True)


if __name__ == "__main__":
    main()
