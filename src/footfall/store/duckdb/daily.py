"""Backfills of loader-kept tables, a UTC day of events per transaction: at once, 10M events
need more than the store's 96 MB."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, time, timedelta

import duckdb

__all__ = ["each_event_day"]


def each_event_day(con: duckdb.DuckDBPyConnection, step: Callable[[dict[str, datetime]], None]) -> None:
    """Run `step({"lo": day, "hi": next day})` for every UTC day of the stored events, each in
    its own transaction."""
    days = con.execute("SELECT DISTINCT CAST(ts AS DATE) AS d FROM events ORDER BY d").fetchall()
    for (day,) in days:
        lo = datetime.combine(day, time.min)
        con.execute("BEGIN")
        try:
            step({"lo": lo, "hi": lo + timedelta(days=1)})
            con.execute("COMMIT")
        except Exception:
            with contextlib.suppress(duckdb.Error):  # a failed statement may have ended it
                con.execute("ROLLBACK")
            raise
