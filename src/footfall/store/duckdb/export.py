"""Export reads in bounded memory: every row of a table in time order, a few thousand rows at
a time, without growing the server by the store's cache (#22).

Three things would grow a server during a whole-table read, each measured at 10M events
(docs/performance.md, "Export and import"):

* **Sorting**: an `ORDER BY` over every row sorts in memory in proportion to the table, so
  rows are read in time slices of about `SLICE_ROWS`, each sorted on its own.
* **Planning the slices**: counting every minute of the table at once scans its whole time
  column (52 MB of blocks at 10M events) in one query. So the slices are planned a chunk at a
  time: whole UTC days (sized by the daily rollup, no scan), merged up to `CHUNK_ROWS` rows, a
  busier day split into hours, and only each chunk's minutes counted.
* **DuckDB's block cache**: DuckDB keeps each block a read loads until the memory limit needs
  the room, so a read of every block fills the cache to the limit (104 MB by default) and the
  server keeps that memory; no setting of DuckDB 2.0 keeps a scan's blocks out of it. So
  between slices `BlockCache.trim` evicts what the cache gained beyond `CACHE_BUDGET`: it
  lowers the memory limit for an instant, which makes DuckDB evict unpinned blocks (least
  recently used first: the export's older slices) until the cache fits, and sets it back.

Chunks and slices are half-open ranges `[lo, hi)` of the time column that meet edge to edge
(the first and last reach the query's own bounds, or none), and rows of one timestamp fall in
one minute, so no row is read twice or skipped whatever the sizes; the sizes only bound the
memory. The rollup only sizes the chunks: a day it does not know is still inside a chunk.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import duckdb
import pyarrow as pa

__all__ = ["CACHE_BUDGET", "CHUNK_ROWS", "SLICE_ROWS", "BlockCache", "chunks", "read_sorted", "slices"]

SLICE_ROWS = 2_000  # rows sorted at once
CHUNK_ROWS = 1_000_000  # rows whose minutes are counted at once
CACHE_BUDGET = 4 * 2**20  # bytes of table blocks an export may add to the cache

_DAY, _HOUR, _MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
# Only one export at a time moves the limit (two would each set it back under the other).
_LIMIT_LOCK = threading.Lock()

Range = tuple[datetime | None, datetime | None]


class BlockCache:
    """The store's cache of table blocks (`duckdb_memory()` tag BASE_TABLE), held within
    `budget` bytes of its size when this was made (or below it)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, memory_limit: str, budget: int | None = None) -> None:
        self._probe = con.cursor()
        self._limit = memory_limit
        self._budget = CACHE_BUDGET if budget is None else budget
        self._start = self._sizes()[1]
        self.trims = 0

    def _sizes(self) -> tuple[int, int]:
        """(bytes DuckDB holds in all, of which cached table blocks)."""
        row = self._probe.execute(
            "SELECT sum(memory_usage_bytes), sum(memory_usage_bytes) FILTER (tag = 'BASE_TABLE')"
            " FROM duckdb_memory()"
        ).fetchone()
        assert row is not None
        return int(row[0] or 0), int(row[1] or 0)

    def trim(self) -> None:
        """Evict cached blocks past the budget, down to half of it (so a trim is not needed
        after every slice). Least recently used blocks go first; pinned ones stay."""
        held, cached = self._sizes()
        if cached <= self._start + self._budget:
            return
        evict = cached - (self._start + self._budget // 2)
        with _LIMIT_LOCK:
            try:
                self._probe.execute(f"SET memory_limit = '{held - evict}B'")
                self.trims += 1
            except duckdb.OutOfMemoryException:
                pass  # the rest is pinned by running queries: try again after the next slice
            finally:
                self._probe.execute(f"SET memory_limit = '{self._limit}'")

    def close(self) -> None:
        self._probe.close()


def slices(minutes: list[tuple[datetime, int]], rows: int) -> Iterator[tuple[datetime, datetime]]:
    """[lo, hi) ranges of consecutive minutes holding about `rows` rows each (a busier minute
    is a slice of its own).

    >>> m = [(datetime(2026, 1, 1, 0, i), n) for i, n in enumerate([3, 3, 9, 1])]
    >>> [(lo.minute, hi.minute) for lo, hi in slices(m, 6)]
    [(0, 2), (2, 3), (3, 4)]
    """
    lo: datetime | None = None
    count = 0
    for i, (minute, n) in enumerate(minutes):
        if lo is None:
            lo = minute
        count += n
        following = minutes[i + 1][0] if i + 1 < len(minutes) else None
        if following is None or count + minutes[i + 1][1] > rows:
            yield lo, following or minute + _MINUTE
            lo, count = None, 0


def chunks(
    days: list[tuple[datetime, int]], start: datetime | None, end: datetime | None, rows: int
) -> list[Range]:
    """Edge-to-edge ranges from `start` to `end` (None: unbounded), split at UTC midnights so
    each holds about `rows` rows by the day counts `days` (midnight, rows, ascending); a day of
    more is split at its hours (evenly spread, assumed: a size, not a bound).

    >>> d = lambda n: datetime(2026, 1, n)
    >>> [(lo and lo.day, hi and hi.day) for lo, hi in chunks([(d(1), 4), (d(2), 4), (d(5), 7)], None, None, 8)]
    [(None, 5), (5, None)]
    >>> [(lo and lo.hour, hi and hi.hour) for lo, hi in chunks([(d(1), 100)], None, None, 8)][:2]
    [(None, 1), (1, 2)]
    >>> len(chunks([(d(1), 100)], d(1) + timedelta(hours=22, minutes=30), d(3), 8))
    3
    """
    edges: list[datetime] = []
    held = 0
    for day, n in days:
        if n > rows:
            edges += [day + h * _HOUR for h in range(0 if held else 1, 25)]
            held = 0
            continue
        if held + n > rows:
            edges.append(day)
            held = 0
        held += n
    cut = sorted({e for e in edges if (start is None or e > start) and (end is None or e < end)})
    bounds: list[datetime | None] = [start, *cut, end]
    return list(pairwise(bounds))


def read_sorted(
    cursor: duckdb.DuckDBPyConnection,
    cache: BlockCache,
    table: str,
    columns: str,
    where: list[str],
    params: dict[str, Any],
    order: tuple[str, ...],
    ranges: list[Range],
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    """`SELECT {columns} FROM {table} WHERE {where} ORDER BY {order}` as Arrow batches of at
    most `batch_rows`, chunk by chunk of `ranges` (on `order[0]`, the time column) and slice
    by slice, trimming the cache after each, on `cursor` (in the caller's transaction)."""
    time_column = order[0]
    for lo, hi in ranges:
        bounded, p = list(where), dict(params)
        if lo is not None:
            bounded.append(f"{time_column} >= $chunk_lo")
            p["chunk_lo"] = lo
        if hi is not None:
            bounded.append(f"{time_column} < $chunk_hi")
            p["chunk_hi"] = hi
        condition = " AND ".join(bounded)
        minutes = cursor.execute(
            f"SELECT date_trunc('minute', {time_column}) AS m, count(*) FROM {table}"
            f" WHERE {condition} GROUP BY m ORDER BY m",
            p,
        ).fetchall()
        cache.trim()
        for s_lo, s_hi in slices(minutes, SLICE_ROWS):
            yield from cursor.sql(
                f"SELECT {columns} FROM {table} WHERE {condition}"
                f" AND {time_column} >= $lo AND {time_column} < $hi ORDER BY {', '.join(order)}",
                params={**p, "lo": s_lo, "hi": s_hi},
            ).to_arrow_reader(batch_rows)
            cache.trim()
