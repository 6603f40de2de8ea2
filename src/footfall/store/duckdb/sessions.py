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

from datetime import date, datetime

import duckdb

from footfall.model import ENGAGEMENT_EVENT
from footfall.store.duckdb.daily import each_day, each_event_day

__all__ = [
    "COLUMNS", "DIMS", "DIMS_JOIN", "FIRST_FIELDS", "FLAG_SHARED_STARTS", "MERGE_SESSIONS",
    "NEW_KEY", "REBUILD_SESSIONS", "SHARED_STARTS_FOUND", "backfill_dims", "backfill_humans",
    "backfill_keys", "backfill_shared_starts", "new_dims",
]  # fmt: skip

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

COLUMNS = (
    "project_id, env, session_id, " + ", ".join(FIRST_FIELDS)
    + ", user_id, start_ts, end_ts, events, pageviews, entry_path, exit_path, is_bot"
    + ", entry_ts, exit_ts, user_ts, humans"
)


# A session's integer key (migration 19): given once, from a sequence, when its row is first
# written, and kept by every merge and rebuild of the row, so a keyed event's `session_key`
# names its session for as long as both are stored. A sequence never hands out a key twice,
# even after the session holding the highest one is forgotten; `COPY FROM DATABASE` (backup,
# purge) carries it along. `coalesce` asks for a new key only when there is none.
NEW_KEY = "nextval('session_keys')"

# A session's attribution columns, as one key of their values (migration 20): a row of
# `session_dims` per distinct (source, medium, campaign, channel) of a project's sessions, so
# attribution carries an integer through its touchpoints join instead of four strings (10M
# events: that join's memory spilled, and carrying the key took linear ~420 -> ~285 ms).
DIMS = ("source", "medium", "campaign", "channel")


def _same_dims(row: str) -> str:
    """A condition: the `session_dims` row `sd` holds the values of `row`."""
    return " AND ".join(f"sd.{c} IS NOT DISTINCT FROM {row}.{c}" for c in DIMS)


# The `session_dims` row of the values of a row `f` (a session, or the fold of one).
DIMS_JOIN = f"LEFT JOIN session_dims sd ON sd.project_id = f.project_id AND sd.env = f.env AND {_same_dims('f')}"


def new_dims(rows: str) -> str:
    """Key the values of `rows` (sessions: project_id, env and `DIMS`) that have no key yet."""
    return f"""
INSERT INTO session_dims (project_id, env, dims_key, {", ".join(DIMS)})
SELECT project_id, env, nextval('session_dims_keys'), {", ".join(DIMS)}
FROM (
    SELECT DISTINCT f.project_id, f.env, {", ".join(f"f.{c}" for c in DIMS)} FROM {rows} f
    WHERE NOT EXISTS (
        SELECT 1 FROM session_dims sd
        WHERE sd.project_id = f.project_id AND sd.env = f.env AND {_same_dims('f')})
)"""


# Sessions that start at the instant another session of their project and environment does
# (migration 21): a conversion's touchpoints can tie only among them, so attribution looks for
# ties there alone (in practice a few sessions in a million start at one millisecond; 10M
# events: looking among all the touchpoints was ~220 ms of side by side). Rows are written
# with `false`; after each write of temp `session_fold`'s rows, this flags them and the stored
# rows they share a start with. Nothing clears a flag (a partner deleted or merged away
# leaves it set), so `false` is exact and `true` only means "look". The loader asks
# `SHARED_STARTS_FOUND` first: it reads only the stored rows near the batch's starts (the join
# passes their range to the scan, whose zone maps skip the rest), where the update would scan
# every session each transaction (~3.5 ms of a 300-event transaction's ~106 ms).
SHARED_STARTS_FOUND = """
SELECT count(*) FROM session_fold f JOIN sessions s
  ON s.project_id = f.project_id AND s.env = f.env AND s.start_ts = f.start_ts
 AND s.session_id <> f.session_id
"""
FLAG_SHARED_STARTS = """
UPDATE sessions SET shared_start = true
WHERE NOT shared_start AND (project_id, env, start_ts) IN (
    SELECT project_id, env, start_ts FROM sessions
    WHERE (project_id, env, start_ts) IN (SELECT project_id, env, start_ts FROM session_fold)
    GROUP BY ALL HAVING count(*) > 1
)"""

# Recompute whole sessions from their events (after reclassify): `{where}` selects them, the
# rows recomputed replace the stored ones of their keys, keeping their session keys, with the
# key of their (maybe reclassified) attribution columns.
REBUILD_SESSIONS = (
    "CREATE OR REPLACE TEMP TABLE session_fold AS"
    " SELECT " + ", ".join(f"a.{c.strip()}" for c in COLUMNS.split(",")) + ","
    f" coalesce(o.session_key, {NEW_KEY}) AS session_key"
    f" FROM ({_AGGREGATE.format(source='events', where='AND {where}')}) a"
    " LEFT JOIN sessions o"
    " ON o.project_id = a.project_id AND o.env = a.env AND o.session_id = a.session_id",
    "DELETE FROM sessions WHERE (project_id, env, session_id) IN"
    " (SELECT project_id, env, session_id FROM session_fold)",
    new_dims("session_fold"),
    f"INSERT INTO sessions ({COLUMNS}, session_key, dims_key, shared_start)"
    " SELECT " + ", ".join(f"f.{c.strip()}" for c in COLUMNS.split(","))
    + f", f.session_key, sd.dims_key, false FROM session_fold f {DIMS_JOIN}",
    FLAG_SHARED_STARTS,
    "DROP TABLE session_fold",
)


def _first(field: str) -> str:
    return (
        f"CASE WHEN b.start_ts < s.start_ts THEN coalesce(b.{field}, s.{field})"
        f" ELSE coalesce(s.{field}, b.{field}) END AS {field}"
    )


# The batch's sessions merged with their stored rows beside the table; then the stored rows it
# merged are deleted and the merged rows appended (#23). An `ON CONFLICT DO UPDATE` upsert
# into a primary key did the same merge, but DuckDB updates a row column by column (an undo
# entry per column and row) and keeps the key's ART index in memory, rewriting it at every
# checkpoint: it was the loader's biggest step and grew with the sessions. A delete marks a
# row and an insert appends. A session not stored yet (`s` NULL) keeps the batch's values.
_MERGED = f"""
SELECT b.project_id, b.env, b.session_id,
    {", ".join(_first(f) for f in FIRST_FIELDS)},
    -- NULL times (no page view, no user id in a side) never win: the comparison is NULL.
    CASE WHEN s.user_ts IS NULL OR b.user_ts >= s.user_ts
         THEN coalesce(b.user_id, s.user_id) ELSE s.user_id END AS user_id,
    least(s.start_ts, b.start_ts) AS start_ts,
    greatest(s.end_ts, b.end_ts) AS end_ts,
    coalesce(s.events, 0) + b.events AS events,
    coalesce(s.pageviews, 0) + b.pageviews AS pageviews,
    CASE WHEN s.entry_ts IS NULL OR b.entry_ts < s.entry_ts
         THEN coalesce(b.entry_path, s.entry_path) ELSE s.entry_path END AS entry_path,
    CASE WHEN s.exit_ts IS NULL OR b.exit_ts >= s.exit_ts
         THEN coalesce(b.exit_path, s.exit_path) ELSE s.exit_path END AS exit_path,
    coalesce(s.is_bot, false) OR b.is_bot AS is_bot,
    least(s.entry_ts, b.entry_ts) AS entry_ts,
    greatest(s.exit_ts, b.exit_ts) AS exit_ts,
    greatest(s.user_ts, b.user_ts) AS user_ts,
    -- A stored row whose `humans` is not known yet (migration 13 unfinished) stays unknown.
    CASE WHEN s.session_id IS NULL THEN b.humans ELSE s.humans + b.humans END AS humans,
    coalesce(s.session_key, {NEW_KEY}) AS session_key,
    s.session_id IS NOT NULL AS stored
FROM ({_AGGREGATE.format(source="staged", where="")}) b
LEFT JOIN sessions s
  ON s.project_id = b.project_id AND s.env = b.env AND s.session_id = b.session_id
"""
# The batch's sessions merged (temp `session_fold`) and their stored rows deleted; the loader
# then appends the merged rows with their person keys (`session_people.INSERT_FOLDED`, once
# `visitors.fold_events` has keyed the ids) and drops `session_fold` (#23, sixth pass: the rows
# are written once, not inserted and then updated with their keys).
# `session_fold` also holds the ids the rows' keys are for (`device`, `person`), resolved as
# session_people.py's `_UNKEYED` does, so keying them reads the identity links once.
MERGE_SESSIONS = (
    f"""
CREATE OR REPLACE TEMP TABLE session_fold AS
SELECT m.*, CASE WHEN m.user_id IS NULL THEN m.anonymous_id END AS device,
       coalesce(m.user_id, i.user_id, m.anonymous_id) AS person
FROM ({_MERGED}) m
LEFT JOIN identities i
  ON i.project_id = m.project_id AND i.env = m.env AND i.anonymous_id = m.anonymous_id
""",
    "DELETE FROM sessions WHERE (project_id, env, session_id) IN"
    " (SELECT project_id, env, session_id FROM session_fold WHERE stored)",
    new_dims("session_fold"),
)


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

    def day(span: dict[str, datetime]) -> None:
        con.execute(_ADD_HUMANS, span)

    each_event_day(con, day)


def _each_start_day(con: duckdb.DuckDBPyConnection, column: str, *statements: str) -> None:
    """Run `statements` (given `$day`) for each UTC day of session starts with rows whose
    `column` is NULL, a day per transaction (as migration 16, so 10M events' 2M sessions fit
    the store's memory). Interrupted, it goes on where it stopped, at the rows still NULL."""

    def day(value: date) -> None:
        for sql in statements:
            con.execute(sql, {"day": value})

    each_day(
        con,
        f"SELECT DISTINCT CAST(start_ts AS DATE) AS d FROM sessions WHERE {column} IS NULL ORDER BY d",
        day,
    )


def backfill_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 19: a key for every stored session."""
    _each_start_day(
        con,
        "session_key",
        f"UPDATE sessions SET session_key = {NEW_KEY}"
        " WHERE session_key IS NULL AND CAST(start_ts AS DATE) = $day",
    )


def backfill_shared_starts(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 21: every stored session's `shared_start` (sessions sharing a start share
    its UTC day)."""
    _each_start_day(
        con,
        "shared_start",
        "UPDATE sessions SET shared_start = d.n > 1 FROM ("
        " SELECT project_id, env, start_ts, count(*) AS n FROM sessions"
        " WHERE CAST(start_ts AS DATE) = $day GROUP BY ALL) d"
        " WHERE sessions.project_id = d.project_id AND sessions.env = d.env"
        " AND sessions.start_ts = d.start_ts AND sessions.shared_start IS NULL",
    )


def backfill_dims(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 20: every stored session's dims key."""
    day = "(SELECT * FROM sessions WHERE dims_key IS NULL AND CAST(start_ts AS DATE) = $day)"
    _each_start_day(
        con,
        "dims_key",
        new_dims(day),
        "UPDATE sessions SET dims_key = sd.dims_key FROM session_dims sd"
        " WHERE sessions.dims_key IS NULL AND CAST(sessions.start_ts AS DATE) = $day"
        " AND sd.project_id = sessions.project_id AND sd.env = sessions.env AND "
        + _same_dims("sessions"),
    )
