"""Incremental session rows: each loaded batch folds its rows into `sessions`.

A batch's aggregate per session merges with the stored row by min/max/sum, and the first-event
fields (entry page, source, …) come from whichever side started earlier, so a session is never
recomputed from its events on the write path. Engagement events (time on a page) move a
session's end, so its duration covers the last page, but are not counted among its events, so a
one-page visit stays a bounce.
"""

from __future__ import annotations

from footfall.model import ENGAGEMENT_EVENT

__all__ = ["FIRST_FIELDS", "REBUILD_SESSIONS", "UPSERT_SESSIONS"]

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
       bool_or(is_bot) AS is_bot
FROM {{source}}
WHERE session_id IS NOT NULL {{where}}
GROUP BY project_id, env, session_id
"""

_COLUMNS = (
    "project_id, env, session_id, " + ", ".join(FIRST_FIELDS)
    + ", user_id, start_ts, end_ts, events, pageviews, entry_path, exit_path, is_bot"
)


def _earlier(field: str) -> str:
    return f"{field} = CASE WHEN excluded.start_ts < s.start_ts THEN excluded.{field} ELSE s.{field} END"


UPSERT_SESSIONS = f"""
INSERT INTO sessions AS s ({_COLUMNS})
SELECT {_COLUMNS} FROM ({_AGGREGATE.format(source="staged", where="")})
ON CONFLICT (project_id, env, session_id) DO UPDATE SET
    {", ".join(_earlier(f) for f in FIRST_FIELDS)},
    user_id = coalesce(CASE WHEN excluded.end_ts >= s.end_ts THEN excluded.user_id END,
                       s.user_id, excluded.user_id),
    entry_path = CASE WHEN excluded.start_ts < s.start_ts
                      THEN coalesce(excluded.entry_path, s.entry_path)
                      ELSE coalesce(s.entry_path, excluded.entry_path) END,
    exit_path = CASE WHEN excluded.end_ts >= s.end_ts
                     THEN coalesce(excluded.exit_path, s.exit_path)
                     ELSE coalesce(s.exit_path, excluded.exit_path) END,
    start_ts = least(s.start_ts, excluded.start_ts),
    end_ts = greatest(s.end_ts, excluded.end_ts),
    events = s.events + excluded.events,
    pageviews = s.pageviews + excluded.pageviews,
    is_bot = s.is_bot OR excluded.is_bot
"""

# Recompute whole sessions from their events (after reclassify): `{where}` selects them.
REBUILD_SESSIONS = f"""
INSERT OR REPLACE INTO sessions ({_COLUMNS})
SELECT {_COLUMNS} FROM ({_AGGREGATE.format(source="events", where="AND {where}")})
"""
