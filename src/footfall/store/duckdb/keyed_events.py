"""Keyed events: each event's name, time, session and person as an integer key, in a narrow
table of its own, so attribution reads its conversions without scanning the events, the
identity links and every id's key (#19).

`keyed_events` holds, per stored event but page views (`holds`), its (project, env, name, ts,
is_bot, session id, uid)
and the `visitor_keys` keys of its person and device, as `visitor_hours` does
(`store/duckdb/visitors.py`): `person_key` is the key of exactly the person `events_people`
names (the user id, else the user the anonymous id is linked to, else the anonymous id; NULL
without either), `device_key` the anonymous id's on rows of events without a user id, the
only rows an identify can move to another person. Its `properties` are the event's, so a
conversion's value is read here too.

Kept by the loader in the same transaction as the events:

* `FOLD` after the batch's rows are in `events` (temp table `staged`), while
  `visitors.fold_events` has the keys of the batch's ids in temp `batch_keys`;
* `visitors.relink` moves the rows of the devices whose person changed to the new person key
  (as it does its own tables');
* forget deletes the rows of the events it deletes (in `store.py`): no other row's person
  changes, and the other events of a session it deletes lose that session's key. Reclassify
  changes attribution columns only, none of which this table holds.

Closed days and weeks are rewritten sorted by (project, env, name, time) with `event_times`'
(`event_times_runs.py`), so a read of one name's conversions skips other names' row groups.

Each row also holds its touchpoints' span of its person's session places (`span_*`, migration
25), which `touch_spans.py` finds after the loader numbers the sessions: rows are written
without one, and `visitors.relink` takes away the span of a row it moves.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from footfall.store.duckdb.daily import each_event_day
from footfall.store.duckdb.event_times_runs import KEYED_ORDER
from footfall.store.duckdb.visitors import PAGEVIEW

__all__ = ["FOLD", "backfill", "holds"]

# Page views are most events (80% in bench/queries.py's data) and no conversion worth
# attributing: left out, a read of them as conversions scans the events as before.
_LEFT_OUT = PAGEVIEW


def holds(name: str) -> bool:
    """Does the table hold the events named `name`?"""
    return name != _LEFT_OUT


# Rows of the events `{source}` but page views (narrowed by `{where}`, an `AND …` on `e`) with
# their person resolved as `events_people` does, both ids turned into keys from `{keys}`
# (project_id, env, id, key), and their session's key from `{sessions}` (migration 19).
_ROWS = f"""
SELECT e.project_id, e.env, e.name, e.ts, e.is_bot, d.key AS device_key, k.key AS person_key,
       e.session_id, e.uid, e.properties, s.session_key
FROM {{source}} e
LEFT JOIN {{sessions}} s
  ON s.project_id = e.project_id AND s.env = e.env AND s.session_id = e.session_id
LEFT JOIN identities i
  ON i.project_id = e.project_id AND i.env = e.env AND i.anonymous_id = e.anonymous_id
LEFT JOIN {{keys}} d ON d.project_id = e.project_id AND d.env = e.env
  AND d.id = CASE WHEN e.user_id IS NULL THEN e.anonymous_id END
LEFT JOIN {{keys}} k ON k.project_id = e.project_id AND k.env = e.env
  AND k.id = coalesce(e.user_id, i.user_id, e.anonymous_id)
WHERE e.name <> '{PAGEVIEW}' {{where}}
"""
# The batch's rows, keyed by the keys `visitors.fold_events` made for them: the batch's ids
# are looked up among its own keys, not among every stored key, and its sessions among the
# batch's merged sessions (temp `session_fold`, which holds every session of its events).
FOLD = "INSERT INTO keyed_events BY NAME " + _ROWS.format(
    source="staged", keys="batch_keys", sessions="session_fold", where=""
)


def _stored(lo: str, hi: str) -> tuple[str, ...]:
    """Statements that insert the rows of the stored events in [$`lo`, $`hi`), through temp
    tables as the loader's `FOLD`: the span's events, the keys of their ids (every stored id
    has one: `visitors` gave it when its events were loaded) and their sessions (by id, as the
    events name them). Joined to every key and session, one day of 10M events built hash
    tables of 540k ids and 2M session ids (more than the store's 96 MB); with temp tables,
    DuckDB knows how few rows the span has and builds them from those."""
    return (
        "CREATE OR REPLACE TEMP TABLE span_events AS SELECT * FROM events e"
        f" WHERE e.name <> '{PAGEVIEW}' AND e.ts >= ${lo} AND e.ts < ${hi}",
        """CREATE OR REPLACE TEMP TABLE span_keys AS
        SELECT project_id, env, id, key FROM visitor_keys WHERE (project_id, env, id) IN (
            SELECT project_id, env, anonymous_id FROM span_events
            UNION ALL SELECT project_id, env, user_id FROM span_events
            UNION ALL SELECT i.project_id, i.env, i.user_id FROM identities i
            WHERE (i.project_id, i.env, i.anonymous_id)
               IN (SELECT project_id, env, anonymous_id FROM span_events))""",
        "CREATE OR REPLACE TEMP TABLE span_sessions AS SELECT project_id, env, session_id, session_key"
        " FROM sessions"
        " WHERE (project_id, env, session_id) IN (SELECT project_id, env, session_id FROM span_events)",
        "INSERT INTO keyed_events BY NAME "
        + _ROWS.format(source="span_events", keys="span_keys", sessions="span_sessions", where="")
        + f" ORDER BY {KEYED_ORDER}",
        "DROP TABLE span_events",
        "DROP TABLE span_keys",
        "DROP TABLE span_sessions",
    )


def backfill(con: duckdb.DuckDBPyConnection) -> None:
    """Every row from the stored events, with the keys `visitor_keys` and `sessions` hold
    (migration 19, once the sessions have keys; stores built outside the loader, as
    bench/queries.py's), a UTC day per transaction so 10M events fit the store's memory
    limit. Interrupted, it starts over."""
    con.execute("DELETE FROM keyed_events")
    steps = _stored("lo", "hi")

    def day(span: dict[str, datetime]) -> None:
        for sql in steps:
            con.execute(sql, span if "$lo" in sql else None)

    each_event_day(con, day)
