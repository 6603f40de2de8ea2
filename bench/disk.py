"""The disk's own latency tail: `fdatasync` of small appends, alone and beside a second writer.

    .venv/bin/python bench/disk.py [--syncs 3000]

Footfall acknowledges an event after its WAL group is synced, so the p99 of `/v1/track` cannot
be better than the tail of `fdatasync` on the data directory's disk. Alone, a small append is
synced in a fraction of a millisecond. Beside a second writer (the store's loader commits and
checkpoints to the same disk), the tail is the disk's, not Footfall's. This prints both, in
the data directory's file system (`--dir`, default a temporary directory).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path


def syncs(path: Path, size: int, count: int, pause: float, out: dict[str, list[float]]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    latencies = []
    try:
        for _ in range(count):
            os.write(fd, os.urandom(size))
            t0 = time.perf_counter()
            os.fdatasync(fd)
            latencies.append((time.perf_counter() - t0) * 1000)
            time.sleep(pause)
    finally:
        os.close(fd)
        path.unlink()
    out[path.name] = sorted(latencies)


def summary(ms: list[float]) -> str:
    def at(q: float) -> float:
        return ms[min(len(ms) - 1, int(len(ms) * q))]

    return f"{at(0.5):8.2f} {at(0.99):8.2f} {at(0.999):8.2f} {ms[-1]:8.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--syncs", type=int, default=3000)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        print(f"fdatasync of 2 kB appends, 1 ms apart ({args.syncs}), ms")
        print(f"{'beside':34} {'p50':>8} {'p99':>8} {'p99.9':>8} {'max':>8}")
        # (label, second writer's bytes per sync, pause between its syncs)
        for label, size, pause in (
            ("nothing", 0, 0.0),
            ("syncs of nothing every 20 ms", 0, 0.02),
            ("300 kB synced every 20 ms", 300_000, 0.02),
            ("3 MB synced every 200 ms", 3_000_000, 0.2),
        ):
            out: dict[str, list[float]] = {}
            wal = threading.Thread(target=syncs, args=(Path(tmp) / "wal", 2000, args.syncs, 0.001, out))
            wal.start()
            other = None
            if pause:
                count = max(1, int(args.syncs * 0.0012 / pause))  # about as long as the WAL loop
                other = threading.Thread(target=syncs, args=(Path(tmp) / "other", size, count, pause, out))
                other.start()
            wal.join()
            if other is not None:
                other.join()
            print(f"{label:34} {summary(out['wal'])}", flush=True)


if __name__ == "__main__":
    main()
