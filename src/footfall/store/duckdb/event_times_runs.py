"""Closed periods of `event_times` rewritten in event-name order, so a funnel step reads only
its event's row groups, with each person's rows side by side (#19).

The loader appends `event_times` rows in time order, so every row group held every event name
and each step of a funnel scanned the whole table. Once a UTC day closes, its rows are
rewritten sorted by (project, env, name, person key, hour); once an ISO week (Monday to
Sunday) closes, its seven days are rewritten again as one run (unless it holds more than
`WEEK_ROWS` rows: the loader's pause stays bounded, the week stays in day runs). A week's rows of one name then
fill whole row groups (10M events a month: a week is ~7 row groups), so the zone maps of
`name` and `hour` skip the rest, and a person's rows lie together for the per-person
aggregate and join. Only the physical order changes, never a row: every read stays exact, and
relink, forget and the fold's merge work on the table as before.

The loader rewrites at most one closed day (and the week it ends) after committing a batch,
in its own transaction (`close_day`); `event_times_closed.upto` is the start of the first day
not rewritten yet. Rows folded later for a day already rewritten (late events, imports of old
events) are appended in arrival order and widen `late_from`..`late_to`, the span of their
hours: when the next day closes, those weeks are rewritten again, a week per batch, before
the day (the loader calls `close_day` only once a UTC day once caught up, so an import of old
events is not slowed by rewrites while it runs). Forget rebuilds its
days in this order (`event_times.REBUILD_DAYS`), one run per day.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from footfall.store.duckdb.reads import naive_utc

__all__ = ["MARK_LATE", "ORDER", "WEEK_ROWS", "backfill", "close_day", "rewrite"]

# The rows' order inside a run: a funnel step filters project, env and name (zone maps skip
# other names' row groups), then groups and joins by person.
ORDER = "project_id, env, name, person_key, hour"

_REWRITE = (
    "CREATE OR REPLACE TEMP TABLE run_times AS"
    " SELECT * FROM event_times WHERE hour >= $lo AND hour < $hi",
    "DELETE FROM event_times WHERE hour >= $lo AND hour < $hi",
    f"INSERT INTO event_times SELECT * FROM run_times ORDER BY {ORDER}",
    "DROP TABLE run_times",
)
# A bigger week stays in day runs: rewriting 844k rows (10M events a month) took 2.7 s of CPU,
# during which the loader applies nothing and reads wait for it (503 after 10 s).
WEEK_ROWS = 2_000_000
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)


def rewrite(con: duckdb.DuckDBPyConnection, lo: datetime, hi: datetime) -> None:
    """Rewrite the rows of the hours in [lo, hi) in `ORDER`, at the table's end (in the
    caller's transaction)."""
    for sql in _REWRITE:
        con.execute(sql, {"lo": lo, "hi": hi} if "$lo" in sql else None)


def _day(when: datetime) -> datetime:
    """The start of `when`'s UTC day, naive as the table's hours."""
    return naive_utc(when).replace(hour=0, minute=0, second=0, microsecond=0)


def _rows(con: duckdb.DuckDBPyConnection, lo: datetime, hi: datetime) -> int:
    row = con.execute(
        "SELECT count(*) FROM event_times WHERE hour >= $lo AND hour < $hi", {"lo": lo, "hi": hi}
    ).fetchone()
    return int(row[0]) if row else 0


def _in_transaction(
    con: duckdb.DuckDBPyConnection, lo: datetime, hi: datetime, state: str, params: dict[str, Any]
) -> None:
    """Rewrite [lo, hi) and record how far (`state`, an assignment to event_times_closed)."""
    con.execute("BEGIN")
    try:
        rewrite(con, lo, hi)
        con.execute(f"UPDATE event_times_closed SET {state}", params)
        con.execute("COMMIT")
    except Exception:
        with contextlib.suppress(duckdb.Error):  # a failed statement may have ended it
            con.execute("ROLLBACK")
        raise


def _run(
    con: duckdb.DuckDBPyConnection, lo: datetime, hi: datetime, week_rows: int, state: str,
    params: dict[str, Any],
) -> None:
    """[lo, hi) as one run when it is a whole week of at most `week_rows` rows, else a run per
    day, each in its own transaction."""
    if hi - lo == _WEEK and _rows(con, lo, hi) <= week_rows:
        _in_transaction(con, lo, hi, state, params)
        return
    while lo < hi:
        _in_transaction(con, lo, lo + _DAY, state, params)
        lo += _DAY


def close_day(
    con: duckdb.DuckDBPyConnection, now: datetime, week_rows: int = WEEK_ROWS
) -> datetime:
    """Rewrite the first closed UTC day (before `now`'s) not rewritten yet, and the ISO week
    it ends when it is a Sunday (unless it holds more than `week_rows` rows); or, first, the
    first week that rows arrived for after its rewrite (`late_from`). Returns when to look again:
    `now` while work waits, else the next UTC midnight."""
    today = _day(now)
    row = con.execute("SELECT upto, late_from, late_to FROM event_times_closed").fetchone()
    if row is not None and row[1] is not None:
        upto, late_from, late_to = row
        lo = _day(late_from) - timedelta(days=late_from.weekday())
        hi = min(lo + _WEEK, upto)
        more = hi < upto and late_to >= hi
        state = "late_from = $late, late_to = CASE WHEN $late IS NULL THEN NULL ELSE late_to END"
        _run(con, lo, hi, week_rows, state, {"late": hi if more else None})
        return now
    if row is not None and row[0] < today:
        end = row[0] + _DAY
        _in_transaction(con, row[0], end, "upto = $upto", {"upto": end})
        if end.weekday() == 0:  # the day was a Sunday: its week is closed
            _run(con, end - _WEEK, end, week_rows, "upto = $upto", {"upto": end})
        if end < today:
            return now
    return (today + _DAY).replace(tzinfo=UTC)


# The batch's rows (temp `fresh_times`) for hours before `upto` (late events, imports) widen
# the span of hours due for a rewrite again; one small statement per batch.
MARK_LATE = """
UPDATE event_times_closed SET late_from = least(late_from, l.lo), late_to = greatest(late_to, l.hi)
FROM (SELECT min(hour) AS lo, max(hour) AS hi FROM fresh_times
      WHERE hour < (SELECT upto FROM event_times_closed)) l
WHERE l.lo IS NOT NULL
"""


def backfill(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> None:
    """Rewrite every closed ISO week of the stored rows, then each closed day of the current
    week, a period per transaction (migration 17; stores built outside the loader, as
    bench/queries.py's); `upto` becomes today. Interrupted, it starts over."""
    today = _day(now or datetime.now(UTC))
    con.execute("DELETE FROM event_times_closed")
    first = con.execute("SELECT min(hour) FROM event_times").fetchone()
    week = today - timedelta(days=today.weekday())
    lo = week if first is None or first[0] is None else min(_day(first[0]), week)
    lo -= timedelta(days=lo.weekday())
    con.execute("INSERT INTO event_times_closed VALUES ($upto, NULL, NULL)", {"upto": lo})
    upto = "upto = $upto"
    while lo < week:  # no pause to bound here: a week of any size is one run
        _in_transaction(con, lo, lo + _WEEK, upto, {"upto": lo + _WEEK})
        lo += _WEEK
    while lo < today:
        _in_transaction(con, lo, lo + _DAY, upto, {"upto": lo + _DAY})
        lo += _DAY
