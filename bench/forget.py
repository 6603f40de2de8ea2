"""Forget in a 10M-event store at the server's memory limit: a person seen on every day.

    .venv/bin/python bench/forget.py [--events 10000000] [--devices 40]

Builds bench/queries.py's store (its events over April 2026), links the `--devices` anonymous
ids seen on the most days to one user, then forgets that user as `/v1/forget` does (the delete,
the rebuilt days, then the file rewritten by `purge`), each run in a process of its own on a
copy of the store, so its peak RSS (`VmHWM`) is the forget's alone:

* **spans**: the days rebuilt a span of whole hours per transaction (`FORGET_SPAN_EVENTS`), at
  the server's store settings when it was written (2 threads, 96 MB; 104 MB since #19);
* **baseline, one transaction**: every day rebuilt in one transaction (forget's old shape, with
  the current statements), at the same 96 MB and at 1 GB.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _results import save  # noqa: E402

from footfall.model import Scope  # noqa: E402
from footfall.store.duckdb import visitors  # noqa: E402
from footfall.store.duckdb.store import DuckDBStore  # noqa: E402

PROJECT = "prj_bench"
PERSON = "forgotten"


def prepare(path: Path, n: int, devices: int) -> dict[str, int]:
    from queries import build  # bench/queries.py's generator and backfills

    build(path, n, PROJECT).close()
    store = DuckDBStore(path)
    con = store._con
    con.execute(
        """INSERT INTO identities SELECT $p, 'live', anonymous_id, $who, TIMESTAMP '2026-04-01' FROM (
            SELECT anonymous_id FROM events
            WHERE anonymous_id NOT IN (SELECT anonymous_id FROM identities)
            GROUP BY 1 ORDER BY count(DISTINCT CAST(ts AS DATE)) DESC, 1 LIMIT $n)""",
        {"p": PROJECT, "who": PERSON, "n": devices},
    )
    row = con.execute(
        "SELECT count(DISTINCT CAST(ts AS DATE)), count(*) FROM events WHERE anonymous_id IN"
        " (SELECT anonymous_id FROM identities WHERE user_id = $who)",
        {"who": PERSON},
    ).fetchone()
    con.execute("CHECKPOINT")
    store.close()
    assert row is not None
    return {"days": int(row[0]), "events": int(row[1])}


def _one_transaction(store: DuckDBStore) -> None:
    """Forget's days rebuilt as before: every day whole, in one transaction."""
    con = store._con
    days = con.execute("SELECT DISTINCT project_id, env, day FROM forget_days ORDER BY ALL").fetchall()
    con.execute("BEGIN")
    for project, env, day in days:
        start = datetime.combine(day, dt_time.min)
        store._rebuild(Scope(project, env), day, (start, start + timedelta(days=1)), whole_day=True)
    con.execute("DELETE FROM forget_days")
    con.execute(visitors.FORGET_KEYS, [PROJECT, "live"])
    con.execute("COMMIT")


def child(path: Path, mode: str, memory: str) -> dict[str, Any]:
    store = DuckDBStore(path, 2, memory)
    if mode == "one transaction":
        store._finish_forgets = lambda only=None: _one_transaction(store)  # type: ignore[method-assign]
    out: dict[str, Any] = {"mode": mode, "memory": memory}
    t0 = time.perf_counter()
    try:
        result = store.forget(Scope(PROJECT, "live"), PERSON)
        out["forget_s"] = round(time.perf_counter() - t0, 1)
        out["forgotten_events"] = result.events
        t1 = time.perf_counter()
        store.purge()
        out["purge_s"] = round(time.perf_counter() - t1, 1)
        out["answer"] = "ok"
    except Exception as e:  # what the run did instead of finishing, kept as its result
        out["forget_s"] = round(time.perf_counter() - t0, 1)
        out["answer"] = f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
    # Read here, not with queries.peak_rss_mb: importing that module (httpx, the test server)
    # would add to the very peak this child measures.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            out["peak_rss_mb"] = int(line.split()[1]) // 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--devices", type=int, default=40)
    ap.add_argument("--child", nargs=3, metavar=("PATH", "MODE", "MEMORY"))
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), args.child[1], args.child[2])))
        return
    with tempfile.TemporaryDirectory() as tmp:
        built = Path(tmp) / "built.duckdb"
        person = prepare(built, args.events, args.devices)
        print(f"the person: {person['events']} events on {person['days']} days", flush=True)
        runs = []
        for mode, memory in (("spans", "96MB"), ("one transaction", "96MB"), ("one transaction", "1GB")):
            work = Path(tmp) / "work.duckdb"
            shutil.copy(built, work)
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(work), mode, memory],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            run = json.loads(done.stdout.splitlines()[-1])
            runs.append(run)
            print(run, flush=True)
            work.unlink()
            Path(str(work) + ".wal").unlink(missing_ok=True)
    ok = {r["memory"]: r for r in runs if r["mode"] == "one transaction" and r["answer"] == "ok"}
    if "1GB" in ok and runs[0]["answer"] == "ok":
        print(f"spans at 96 MB / one transaction at 1 GB: {runs[0]['forget_s'] / ok['1GB']['forget_s']:.2f}x the time")
    print(f"saved {save('forget', {'events': args.events, 'person': person, 'runs': runs})}")


if __name__ == "__main__":
    main()
