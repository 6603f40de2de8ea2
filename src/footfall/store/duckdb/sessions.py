"""Incremental session rows: each loaded batch folds its rows into `sessions`.

A batch's aggregate per session merges with the stored row by min/max/sum, so a session is never
recomputed from its events on the write path. Batches may arrive out of time order (an SDK
flushing late, an import): the entry page, exit page and user id keep the time they happened
(`entry_ts`, `exit_ts`, `user_ts`) and the earlier (later) one wins, exactly; the first-event
fields (source, device, …: the first non-NULL value, as `arg_min` gives) come from the side that
started earlier, or from the other side when that one has none. Engagement events (time on a page) move a
session's end, so its duration covers the last page, but are not counted among its events, so a
one-page visit stays a bounce.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, time, timedelta

import duckdb

from footfall.model import ENGAGEMENT_EVENT

__all__ = ["FIRST_FIELDS", "REBUILD_SESSIONS", "UPSERT_SESSIONS", "backfill_humans"]

# Fields taken from the session's first event.
FIRST_FIELDS = (
    "anonymous_id", "source", "medium", "campaign", "channel", "referrer_host",
    "device_type", "browser", "os", "country",
)  # fmt: skip

_AGGREGATE = f"""
SELECT project_id, env, session_id,
       {", ".join(f"arg_min({f}, ts) AS {f}" for f in FIRST_FIELDS)},
       arg_max(user_id, ts) FILTER (WHERE user_id IS NOT NULL) AS user_id,
       min(ts) AS start_ts, max(ts) AS end_ts,
       count(*) FILTER (WHERE name <> '{ENGAGEMENT_EVENT}') AS events,
       count(*) FILTER (WHERE name = '$pageview') AS pageviews,
       arg_min(path, ts) FILTER (WHERE name = '$pageview') AS entry_path,
       arg_max(path, ts) FILTER (WHERE name = '$pageview') AS exit_path,
       min(ts) FILTER (WHERE name = '$pageview' AND path IS NOT NULL) AS entry_ts,
       max(ts) FILTER (WHERE name = '$pageview' AND path IS NOT NULL) AS exit_ts,
       max(ts) FILTER (WHERE user_id IS NOT NULL) AS user_ts,
       bool_or(is_bot) AS is_bot,
       count(*) FILTER (WHERE NOT is_bot) AS humans
FROM {{source}}
WHERE session_id IS NOT NULL {{where}}
GROUP BY project_id, env, session_id
"""

_COLUMNS = (
    "project_id, env, session_id, " + ", ".join(FIRST_FIELDS)
    + ", user_id, start_ts, end_ts, events, pageviews, entry_path, exit_path, is_bot"
    + ", entry_ts, exit_ts, user_ts, humans"
)


def _earlier(field: str) -> str:
    return (
        f"{field} = CASE WHEN excluded.start_ts < s.start_ts THEN coalesce(excluded.{field}, s.{field})"
        f" ELSE coalesce(s.{field}, excluded.{field}) END"
    )


UPSERT_SESSIONS = f"""
INSERT INTO sessions AS s ({_COLUMNS})
SELECT {_COLUMNS} FROM ({_AGGREGATE.format(source="staged", where="")})
ON CONFLICT (project_id, env, session_id) DO UPDATE SET
    {", ".join(_earlier(f) for f in FIRST_FIELDS)},
    -- NULL times (no page view, no user id in a side) never win: the comparison is NULL.
    user_id = CASE WHEN s.user_ts IS NULL OR excluded.user_ts >= s.user_ts
                   THEN coalesce(excluded.user_id, s.user_id) ELSE s.user_id END,
    user_ts = greatest(s.user_ts, excluded.user_ts),
    entry_path = CASE WHEN s.entry_ts IS NULL OR excluded.entry_ts < s.entry_ts
                      THEN coalesce(excluded.entry_path, s.entry_path) ELSE s.entry_path END,
    entry_ts = least(s.entry_ts, excluded.entry_ts),
    exit_path = CASE WHEN s.exit_ts IS NULL OR excluded.exit_ts >= s.exit_ts
                     THEN coalesce(excluded.exit_path, s.exit_path) ELSE s.exit_path END,
    exit_ts = greatest(s.exit_ts, excluded.exit_ts),
    start_ts = least(s.start_ts, excluded.start_ts),
    end_ts = greatest(s.end_ts, excluded.end_ts),
    events = s.events + excluded.events,
    pageviews = s.pageviews + excluded.pageviews,
    is_bot = s.is_bot OR excluded.is_bot,
    humans = s.humans + excluded.humans
"""

# Recompute whole sessions from their events (after reclassify): `{where}` selects them.
REBUILD_SESSIONS = f"""
INSERT OR REPLACE INTO sessions ({_COLUMNS})
SELECT {_COLUMNS} FROM ({_AGGREGATE.format(source="events", where="AND {where}")})
"""


_ADD_HUMANS = """
UPDATE sessions SET humans = sessions.humans + t.humans
FROM (
    SELECT project_id, env, session_id, count(*) FILTER (WHERE NOT is_bot) AS humans FROM events
    WHERE session_id IS NOT NULL AND ts >= $lo AND ts < $hi GROUP BY ALL
) t
WHERE sessions.project_id = t.project_id AND sessions.env = t.env
  AND sessions.session_id = t.session_id
"""


def backfill_humans(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 13: every session's `humans` from its stored events, a UTC day of events per
    transaction (a session's days add up). Interrupted, it starts over from zero."""
    con.execute("UPDATE sessions SET humans = 0")
    days = con.execute("SELECT DISTINCT CAST(ts AS DATE) AS d FROM events ORDER BY d").fetchall()
    for (day,) in days:
        lo = datetime.combine(day, time.min)
        con.execute("BEGIN")
        try:
            con.execute(_ADD_HUMANS, {"lo": lo, "hi": lo + timedelta(days=1)})
            con.execute("COMMIT")
        except Exception:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
