"""Event times: each person's times of each event name per UTC hour, with integer person keys,
so a funnel's steps read about one row per visit and event name, joined on integers, instead
of every event resolved to its person's id string (#19).

`event_times` holds, per (project, env, hour, device key, person key, name, is_bot), the first
and last time of those events and, when they differ, every distinct time (ascending). Keys are
`visitor_hours`' (`store/duckdb/visitors.py`): `person_key` is exactly the person
`events_people` names, `device_key` the anonymous id's on rows of events without a user id
(the only rows an identify can move to another person). Events without a person are left out:
no funnel counts them.

A funnel step needs, per person, the earliest event at or after the previous step's time `t`
and at most the window after the anchor. A row whose first time is at or after `t` gives its
first time; a row whose last time is before `t` gives nothing; only a row with `t` inside
(first < t <= last) needs its list of times. So rows of the same key split over several
batches still answer exactly (the read takes the minimum over rows); the loader merges them
anyway, to keep the table at about one row per visit and event name, up to `_MERGE_MOST`
times a row.

Kept by the loader in the same transaction as the events, after `visitors` made the keys:

* `fold(con, hours)` after the batch's rows are in `events`, from `visitors.fold_events`' resolved
  rows and keys;
* `visitors.relink` moves the rows of the devices whose person changed to the new person key
  (as it does its own tables');
* forget rebuilds the UTC days it touches a span of hours at a time (`REBUILD_DAYS`, temp
  `touched_days`), each in the order `event_times_runs` gives closed days. Reclassify
  changes attribution columns only, none of which this table holds.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from footfall.store.duckdb.daily import each_event_day
from footfall.store.duckdb.event_times_runs import MARK_LATE, ORDER

__all__ = ["REBUILD_DAYS", "backfill", "fold"]

# Rows of `{rows}` (hour, device, person, name, is_bot, ts) grouped per table row, with their
# ids as strings; `_GROUPED`: those of the events of `{source}` (`events`, narrowed by
# `{where}`), device and person resolved as `events_people` does.
_ROWS = """
SELECT project_id, env, hour, device, person, name, is_bot, min(ts) AS first_ts,
       max(ts) AS last_ts,
       CASE WHEN min(ts) < max(ts) THEN list_sort(list_distinct(list(ts))) END AS times
FROM ({rows})
WHERE person IS NOT NULL
GROUP BY project_id, env, hour, device, person, name, is_bot
"""
_GROUPED = _ROWS.format(rows="""
    SELECT e.project_id, e.env, date_trunc('hour', e.ts) AS hour,
           CASE WHEN e.user_id IS NULL THEN e.anonymous_id END AS device,
           coalesce(e.user_id, i.user_id, e.anonymous_id) AS person, e.name, e.is_bot, e.ts
    FROM {source} e
    LEFT JOIN identities i
      ON i.project_id = e.project_id AND i.env = e.env AND i.anonymous_id = e.anonymous_id
    {where}
""")
# The grouped rows (temp `grouped_times`) with their ids turned into keys: every stored id has
# one (visitors gave it when the events were loaded), and only the batch's ids are looked up.
_KEYED = """
WITH keys AS (
    SELECT project_id, env, id, key FROM visitor_keys
    WHERE (project_id, env, id) IN (
        SELECT project_id, env, device FROM grouped_times
        UNION ALL SELECT project_id, env, person FROM grouped_times)
)
SELECT g.project_id, g.env, g.hour, d.key AS device_key, k.key AS person_key, g.name, g.is_bot,
       g.first_ts, g.last_ts, g.times
FROM grouped_times g
LEFT JOIN keys d ON d.project_id = g.project_id AND d.env = g.env AND d.id = g.device
JOIN keys k ON k.project_id = g.project_id AND k.env = g.env AND k.id = g.person
"""
_ROW_KEY = "project_id, env, hour, coalesce(device_key, 0), person_key, name, is_bot"
# A stored row holding this many times is full: the loader no longer merges into it, and the
# key's next times start a row of their own. Merging rewrites the whole row in every store
# transaction, so one person sending thousands of events an hour (a backend with one fixed
# anonymous id, a bot) made each transaction rewrite a growing list and keep the deleted copies
# until DuckDB's next checkpoint: at ~250k page views of one visitor in an hour the loader ran
# out of its 96 MB and stopped storing. Reads take the minimum over a key's rows, so a split
# key answers the same.
_MERGE_MOST = 4096
# Stored rows of the same key as a fresh one (keys start at 1, so 0 stands for no device), in
# the batch's hours ($lo to $hi, as values so the scan skips other row groups), not full.
_SAME_KEY = f"""
hour >= $lo AND hour <= $hi AND ({_ROW_KEY}) IN (SELECT {_ROW_KEY} FROM fresh_times)
AND coalesce(len(times), 1) < $most
"""
_MERGE = (
    f"""
CREATE OR REPLACE TEMP TABLE merged_times AS
SELECT project_id, env, hour, device_key, person_key, name, is_bot, min(first_ts) AS first_ts,
       max(last_ts) AS last_ts,
       CASE WHEN min(first_ts) < max(last_ts)
            THEN list_sort(list_distinct(flatten(list(coalesce(times, [first_ts]))))) END AS times
FROM (SELECT * FROM fresh_times UNION ALL SELECT * FROM event_times WHERE {_SAME_KEY})
GROUP BY project_id, env, hour, device_key, person_key, name, is_bot
""",
    f"DELETE FROM event_times WHERE {_SAME_KEY}",
    "INSERT INTO event_times SELECT * FROM merged_times",
)


def _grouped(source: str, where: str = "") -> str:
    return "CREATE OR REPLACE TEMP TABLE grouped_times AS " + _GROUPED.format(
        source=source, where=where
    )


# The batch's rows from `visitors.fold_events`' temp `resolved` (its people resolved already)
# with the keys it made in temp `batch_keys`: neither the identity links nor `visitor_keys` is
# read a second time for the batch (#23, fifth pass).
_FRESH = f"""
CREATE OR REPLACE TEMP TABLE fresh_times AS
SELECT g.project_id, g.env, g.hour, d.key AS device_key, k.key AS person_key, g.name, g.is_bot,
       g.first_ts, g.last_ts, g.times
FROM ({_ROWS.format(rows="SELECT * FROM resolved")}) g
LEFT JOIN batch_keys d ON d.project_id = g.project_id AND d.env = g.env AND d.id = g.device
JOIN batch_keys k ON k.project_id = g.project_id AND k.env = g.env AND k.id = g.person
"""


def fold(con: duckdb.DuckDBPyConnection, hours: tuple[datetime, datetime] | None) -> None:
    """Fold the batch into the table: called by `visitors.fold_events` while its temp
    `resolved` (the batch's rows in `events`, people resolved) and `batch_keys` exist, with
    the first and last hour of `resolved`. Those bound the stored rows merged (this table's
    rows are a subset of them: a wider span only reads more), and a batch with no hour before
    `event_times_closed.upto` marks nothing late, so neither costs a statement of its own
    (#23, sixth pass)."""
    if hours is None:
        return
    con.execute(_FRESH)
    lo, hi = hours
    for sql in _MERGE:
        con.execute(sql, {"lo": lo, "hi": hi, "most": _MERGE_MOST} if "$lo" in sql else None)
    con.execute("DROP TABLE merged_times")
    row = con.execute("SELECT upto FROM event_times_closed").fetchone()
    if row is None or row[0] is None or lo < row[0]:
        con.execute(MARK_LATE)  # rows for days already rewritten in name order, if any
    con.execute("DROP TABLE fresh_times")


# Rebuild the rows of the (project, env, UTC day) triples in temp `touched_days`, every one in
# [$day_lo, $day_hi) (forget, a day at a time): the scans skip the other days' row groups.
REBUILD_DAYS = (
    "DELETE FROM event_times WHERE hour >= $day_lo AND hour < $day_hi"
    " AND (project_id, env, CAST(hour AS DATE)) IN (SELECT * FROM touched_days)",
    _grouped(
        "events",
        "WHERE e.ts >= $day_lo AND e.ts < $day_hi"
        " AND (e.project_id, e.env, CAST(e.ts AS DATE)) IN (SELECT * FROM touched_days)",
    ),
    f"INSERT INTO event_times {_KEYED} ORDER BY {ORDER}",  # in the order of a closed day's run
    "DROP TABLE grouped_times",
)


def backfill(con: duckdb.DuckDBPyConnection) -> None:
    """Every row from the stored events, with the keys `visitor_keys` holds (migration 14;
    stores built outside the loader, as bench/queries.py's), a UTC day per transaction so 10M
    events fit the store's memory limit. Interrupted, it starts over."""
    con.execute("DELETE FROM event_times")

    def day(span: dict[str, datetime]) -> None:
        con.execute(_grouped("events", "WHERE e.ts >= $lo AND e.ts < $hi"), span)
        con.execute(f"INSERT INTO event_times {_KEYED}")
        con.execute("DROP TABLE grouped_times")

    each_event_day(con, day)
