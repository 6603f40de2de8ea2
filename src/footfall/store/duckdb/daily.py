"""Backfills of loader-kept tables, a UTC day per transaction: at once, 10M events (2M
sessions) need more than the store's 96 MB."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

import duckdb

__all__ = ["each_day", "each_event_day"]


def each_day(con: duckdb.DuckDBPyConnection, days: str, step: Callable[[date], None]) -> None:
    """Run `step(day)` for every day the query `days` lists (one DATE column), each in its own
    transaction. A backfill that lists only the days it has left goes on where it stopped."""
    for (day,) in con.execute(days).fetchall():
        con.execute("BEGIN")
        try:
            step(day)
            con.execute("COMMIT")
        except Exception:
            with contextlib.suppress(duckdb.Error):  # a failed statement may have ended it
                con.execute("ROLLBACK")
            raise


def each_event_day(con: duckdb.DuckDBPyConnection, step: Callable[[dict[str, datetime]], None]) -> None:
    """Run `step({"lo": day, "hi": next day})` for every UTC day of the stored events, each in
    its own transaction."""

    def span(day: date) -> None:
        lo = datetime.combine(day, time.min)
        step({"lo": lo, "hi": lo + timedelta(days=1)})

    each_day(con, "SELECT DISTINCT CAST(ts AS DATE) AS d FROM events ORDER BY d", span)
