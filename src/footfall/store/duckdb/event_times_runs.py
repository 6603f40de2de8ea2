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
not rewritten yet. Rows arriving later for a day already rewritten (late events, imports of
old events) are appended in arrival order and stay there: reads stay exact, only slower for
those days. Forget rebuilds its days already in this order (`event_times.REBUILD_DAYS`).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import duckdb

from footfall.store.duckdb.reads import naive_utc

__all__ = ["ORDER", "WEEK_ROWS", "backfill", "close_day", "rewrite"]

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


def _in_transaction(con: duckdb.DuckDBPyConnection, lo: datetime, hi: datetime, upto: datetime) -> None:
    con.execute("BEGIN")
    try:
        rewrite(con, lo, hi)
        con.execute("UPDATE event_times_closed SET upto = $upto", {"upto": upto})
        con.execute("COMMIT")
    except Exception:
        with contextlib.suppress(duckdb.Error):  # a failed statement may have ended it
            con.execute("ROLLBACK")
        raise


def close_day(
    con: duckdb.DuckDBPyConnection, now: datetime, week_rows: int = WEEK_ROWS
) -> datetime:
    """Rewrite the first closed UTC day (before `now`'s) not rewritten yet, and the ISO week
    it ends when it is a Sunday (unless it holds more than `week_rows` rows), each in its own
    transaction. Returns when to look again: `now` while closed days wait, else the next UTC
    midnight."""
    today = _day(now)
    row = con.execute("SELECT upto FROM event_times_closed").fetchone()
    day = today if row is None else row[0]
    if day < today:
        end = day + _DAY
        _in_transaction(con, day, end, end)
        if end.weekday() == 0 and _rows(con, end - _WEEK, end) <= week_rows:
            _in_transaction(con, end - _WEEK, end, end)  # the day was a Sunday: a closed week
        if end < today:
            return now
    return (today + _DAY).replace(tzinfo=UTC)


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
    con.execute("INSERT INTO event_times_closed VALUES ($upto)", {"upto": lo})
    while lo < week:  # no pause to bound here: a week of any size is one run
        _in_transaction(con, lo, lo + _WEEK, lo + _WEEK)
        lo += _WEEK
    while lo < today:
        _in_transaction(con, lo, lo + _DAY, lo + _DAY)
        lo += _DAY
