"""Closed periods of `event_times` and `keyed_events` rewritten in event-name order, so a funnel
step reads only its event's row groups, with each person's rows side by side, and attribution
only its conversions' (#19).

The loader appends `event_times` rows in time order, so every row group held every event name
and each step of a funnel scanned the whole table. Once a UTC day closes, its rows are
rewritten sorted by (project, env, name, person key, hour); once an ISO week (Monday to
Sunday) closes, its seven days are rewritten again as one run (unless it holds more than
`WEEK_ROWS` rows: the loader's pause stays bounded, the week stays in day runs). A week's rows of one name then
fill whole row groups (10M events a month: a week is ~7 row groups), so the zone maps of
`name` and `hour` skip the rest, and a person's rows lie together for the per-person
aggregate and join. Only the physical order changes, never a row: every read stays exact, and
relink, forget and the fold's merge work on the table as before.

`keyed_events` (attribution's conversions, `keyed_events.py`) is rewritten with it, period for
period, sorted by (project, env, name, time): its rows were appended in time order too, so
reading a month's conversions scanned every event but page views of the month (10M events:
2M rows for 294k conversions). The late span (`late_from`..`late_to`) is widened by the hours
of every event of a batch, with or without a person, so it covers both tables' late rows.

The loader rewrites at most one closed day (and the week it ends) after committing a batch,
in its own transaction (`close_day`); `event_times_closed.upto` is the start of the first day
not rewritten yet. Rows folded later for a day already rewritten (late events, imports of old
events) are appended in arrival order and widen `late_from`..`late_to`, the span of their
hours: when the next day closes, those weeks are rewritten again, a week per batch, before
the day (the loader calls `close_day` only once a UTC day once caught up, so an import of old
events is not slowed by rewrites while it runs). Forget rebuilds its
days of `event_times` a span of hours at a time, each span a run in this order
(`event_times.REBUILD_DAYS`), and deletes its `keyed_events` rows in place; it does not mark
the days late: one late span from a person's first day to their last would have every closed
week between rewritten again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from footfall.store.duckdb.reads import naive_utc

__all__ = [
    "KEYED_ORDER", "MARK_LATE", "ORDER", "TABLES", "WEEK_ROWS", "backfill", "backfill_keyed",
    "close_day", "rewrite",
]  # fmt: skip

# The rows' order inside a run: a funnel step filters project, env and name (zone maps skip
# other names' row groups), then groups and joins by person.
ORDER = "project_id, env, name, person_key, hour"
# Attribution reads one name's rows in a time range, then joins them by person key (in no
# order: sorted by person within the name, the reads were no faster).
KEYED_ORDER = "project_id, env, name, ts"

# Each table rewritten in runs: the column a period is cut by, and the order in a run.
TABLES = {"event_times": ("hour", ORDER), "keyed_events": ("ts", KEYED_ORDER)}


def _rewrite(table: str) -> tuple[str, ...]:
    at, order = TABLES[table]
    return (
        f"CREATE OR REPLACE TEMP TABLE run_rows AS SELECT * FROM {table} WHERE {at} >= $lo AND {at} < $hi",
        f"DELETE FROM {table} WHERE {at} >= $lo AND {at} < $hi",
        f"INSERT INTO {table} SELECT * FROM run_rows ORDER BY {order}",
        "DROP TABLE run_rows",
    )


# A bigger week (both tables' rows) stays in day runs: rewriting 844k rows of `event_times`
# and 467k of `keyed_events` (a week of 10M events a month) took ~3.4 s (2.3 + 1.1; ~2.2 s
# warm), during which the loader applies nothing and reads wait for it (503 after 10 s).
WEEK_ROWS = 3_000_000
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)


def rewrite(
    con: duckdb.DuckDBPyConnection, lo: datetime, hi: datetime, tables: tuple[str, ...] = tuple(TABLES)
) -> None:
    """Rewrite the rows of [lo, hi) of `tables` (of `TABLES`) in their order, at each table's
    end (in the caller's transaction)."""
    for table in tables:
        for sql in _rewrite(table):
            con.execute(sql, {"lo": lo, "hi": hi} if "$lo" in sql else None)


def _day(when: datetime) -> datetime:
    """The start of `when`'s UTC day, naive as the table's hours."""
    return naive_utc(when).replace(hour=0, minute=0, second=0, microsecond=0)


def _rows(con: duckdb.DuckDBPyConnection, lo: datetime, hi: datetime, tables: tuple[str, ...]) -> int:
    counts = " + ".join(
        f"(SELECT count(*) FROM {table} WHERE {TABLES[table][0]} >= $lo AND {TABLES[table][0]} < $hi)"
        for table in tables
    )
    row = con.execute(f"SELECT {counts}", {"lo": lo, "hi": hi}).fetchone()
    return int(row[0]) if row else 0


def _in_transaction(
    con: duckdb.DuckDBPyConnection, lo: datetime, hi: datetime, state: str | None, params: dict[str, Any],
    tables: tuple[str, ...] = tuple(TABLES),
) -> None:
    """Rewrite [lo, hi) of `tables` and record how far (`state`, an assignment to
    event_times_closed; None: nothing to record)."""
    con.execute("BEGIN")
    try:
        rewrite(con, lo, hi, tables)
        if state is not None:
            con.execute(f"UPDATE event_times_closed SET {state}", params)
        con.execute("COMMIT")
    except Exception:
        with contextlib.suppress(duckdb.Error):  # a failed statement may have ended it
            con.execute("ROLLBACK")
        raise


def _run(
    con: duckdb.DuckDBPyConnection, lo: datetime, hi: datetime, week_rows: int, state: str | None,
    params: dict[str, Any], tables: tuple[str, ...] = tuple(TABLES),
) -> None:
    """[lo, hi) of `tables` as one run when it is a whole week of at most `week_rows` rows
    (all of them), else a run per day, each in its own transaction."""
    if hi - lo == _WEEK and _rows(con, lo, hi, tables) <= week_rows:
        _in_transaction(con, lo, hi, state, params, tables)
        return
    while lo < hi:
        _in_transaction(con, lo, lo + _DAY, state, params, tables)
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


# The batch's events (temp `resolved`, `visitors.fold_events`': every one, where `fresh_times`
# leaves out those without a person, which `keyed_events` holds) for hours before `upto` (late
# events, imports) widen the span of hours due for a rewrite again; one small statement per
# batch.
MARK_LATE = """
UPDATE event_times_closed SET late_from = least(late_from, l.lo), late_to = greatest(late_to, l.hi)
FROM (SELECT min(hour) AS lo, max(hour) AS hi FROM resolved
      WHERE hour < (SELECT upto FROM event_times_closed)) l
WHERE l.lo IS NOT NULL
"""


def _closed(first: datetime | None, today: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The closed ISO weeks from `first`'s (or this week when None), then the closed days of
    the week `today` is in, each as [lo, hi)."""
    week = today - timedelta(days=today.weekday())
    lo = week if first is None else min(_day(first), week)
    lo -= timedelta(days=lo.weekday())
    while lo < week:
        yield lo, lo + _WEEK
        lo += _WEEK
    while lo < today:
        yield lo, lo + _DAY
        lo += _DAY


def backfill(
    con: duckdb.DuckDBPyConnection, now: datetime | None = None, tables: tuple[str, ...] = tuple(TABLES)
) -> None:
    """Rewrite every closed ISO week of the stored rows of `tables`, then each closed day of
    the current week, a period per transaction (migration 17, `event_times` alone: the store
    may not have `keyed_events` yet; stores built outside the loader, as bench/queries.py's);
    `upto` becomes today. No loader waits on it, so a week of any size is one run.
    Interrupted, it starts over."""
    today = _day(now or datetime.now(UTC))
    con.execute("DELETE FROM event_times_closed")
    first = con.execute("SELECT min(hour) FROM event_times").fetchone()
    spans = list(_closed(None if first is None else first[0], today))
    start = spans[0][0] if spans else today
    con.execute("INSERT INTO event_times_closed VALUES ($upto, NULL, NULL)", {"upto": start})
    for lo, hi in spans:
        _in_transaction(con, lo, hi, "upto = $upto", {"upto": hi}, tables)


def backfill_keyed(con: duckdb.DuckDBPyConnection, week_rows: int = WEEK_ROWS) -> None:
    """Rewrite `keyed_events`' closed periods that `event_times` has had rewritten (before
    `upto`), a week per transaction, or a day for a week of more than `week_rows` rows (its
    rows are wide: each holds its event's properties) (migration 22: the loader now rewrites
    both tables). The late rows waiting are left for the loader, as `event_times`' are.
    Interrupted, it starts over."""
    row = con.execute("SELECT upto FROM event_times_closed").fetchone()
    first = con.execute("SELECT min(ts) FROM keyed_events").fetchone()
    if row is None or first is None or first[0] is None:
        return
    for lo, hi in _closed(first[0], row[0]):
        _run(con, lo, hi, week_rows, None, {}, ("keyed_events",))
