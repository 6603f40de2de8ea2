"""Visitor hours: which people were seen in each UTC hour, with which traffic dimensions, as
integer keys, so counts of people over whole hours (whole days in any whole-hour time zone)
read about one row per visit instead of every event and the identity join.

`visitor_keys` gives every id string (anonymous id, user id) of a project and environment a
BIGINT key. `visitor_hours` holds the distinct (hour, device, person, DIMENSIONS, is_bot) of
the events: `person_key` is the key of exactly the person `events_people` names (the user id,
else the user the anonymous id is linked to, else the anonymous id); `device_key` is the key of
the anonymous id on rows whose events carry no user id, the only rows whose person an identify
can change later. So `count(DISTINCT person_key)` over these rows is `count(DISTINCT person)`
over the events, for any filter and grouping by these columns (a property test checks it).
`page_hours` and `event_hours` (migration 13) are the same with a per-event column in place of
the visit dimensions, with the same keys: the path of page views (top pages) and the event name
of every event (goals and events, conversions).

Kept by the loader, in the same transaction as the events (a replay after a crash repeats the
whole transaction or none of it):

* `fold_events(con)` after the batch's rows are in `events` (temp view/table `staged`): their
  new ids get keys, then their distinct rows not already stored for those hours are appended
  to both tables;
* `relink(con)` after identity links are stored (`links` registered): the rows of every device
  whose person the new links changed are rewritten, as sessions are;
* forget and reclassify rebuild the UTC days they touch (`REBUILD_DAYS_BETWEEN`, temp
  `touched_days`; forget a span of hours at a time), and forget drops the person's keys, so no
  id of theirs is left.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import duckdb

from footfall.read.queries import StatsQuery
from footfall.store.duckdb.daily import each_event_day

__all__ = [
    "DIMENSIONS",
    "DROP_KEYS",
    "EVENTS",
    "FORGET_KEYS",
    "KEY_IDS",
    "PAGES",
    "REBUILD_DAYS_BETWEEN",
    "VISITS",
    "backfill",
    "backfill_pages",
    "backfill_visits",
    "covers",
    "fold_events",
    "relink",
    "table_for",
]

# The dimensions a visit is counted by: every stats column but the per-event ones (event name,
# path), which would make a row per event.
DIMENSIONS = (
    "source", "medium", "campaign", "channel", "referrer_host", "country", "region", "city",
    "device_type", "browser", "os", "utm_content", "utm_term",
)  # fmt: skip
PAGEVIEW = "$pageview"

# Events → (hour, anonymous id, user id, person, columns, time) with the person resolved as
# `events_people` does (funnels' `event_times` folds the batch from these rows too). `{source}` is `staged` or `events`; `{where}` narrows it.
_RESOLVED = f"""
SELECT e.project_id, e.env, date_trunc('hour', e.ts) AS hour,
       CASE WHEN e.user_id IS NULL THEN e.anonymous_id END AS device,
       coalesce(e.user_id, i.user_id, e.anonymous_id) AS person,
       {", ".join(f"e.{c}" for c in DIMENSIONS)}, e.name, e.path, e.is_bot, e.ts
FROM {{source}} e
LEFT JOIN identities i
  ON i.project_id = e.project_id AND i.env = e.env AND i.anonymous_id = e.anonymous_id
{{where}}
"""


class _Table(NamedTuple):
    """A people-per-hour table: its name, the temp table of a batch's distinct rows, the
    columns it keeps besides (hour, device, person, is_bot), and which events it holds."""

    name: str
    temp: str
    columns: tuple[str, ...]
    only: str = ""  # a WHERE on `resolved`

    @property
    def row(self) -> str:
        return f"project_id, env, hour, device_key, person_key, {', '.join(self.columns)}, is_bot"

    def distinct(self) -> str:
        cols = ", ".join(self.columns)
        return (
            f"CREATE OR REPLACE TEMP TABLE {self.temp} AS SELECT DISTINCT project_id, env, hour,"
            f" device, person, {cols}, is_bot FROM resolved {self.only}"
        )


VISITS = _Table("visitor_hours", "people", DIMENSIONS)
# Page views by path, and every event by name, in two tables: one of (name, path) holds a row
# per page of each event name, and reading it for either panel scans both (10M events: 7.3M
# rows; these two 5.4M and 3.6M, and each read ~1.5-2x cheaper).
PAGES = _Table("page_hours", "page_people", ("path",), f"WHERE name = '{PAGEVIEW}'")
EVENTS = _Table("event_hours", "event_people", ("name",))
TABLES = (VISITS, PAGES, EVENTS)

# Temp table `batch_keys` (project_id, env, id, key): the keys of the ids `{ids}` (a query of
# project_id, env, id), new ones made for ids without one. Only the batch's ids are looked up
# (a semi-join builds its table from them, not from every key stored), and one writer (the
# loader, or a migration) adds keys, so max + row number is unique. One statement makes the
# table (the ids and their known keys are materialized CTEs, not temp tables of their own:
# #23, sixth pass), a second stores the new keys.
_KEYS = (
    "CREATE OR REPLACE TEMP TABLE batch_keys AS"
    " WITH ids AS MATERIALIZED ("
    "   SELECT DISTINCT project_id, env, id FROM ({ids}) WHERE id IS NOT NULL),"
    " known AS MATERIALIZED ("
    "   SELECT k.project_id, k.env, k.id, k.key FROM visitor_keys k"
    "   WHERE (k.project_id, k.env, k.id) IN (SELECT * FROM ids))"
    " SELECT * FROM known UNION ALL"
    " SELECT project_id, env, id, (SELECT coalesce(max(key), 0) FROM visitor_keys) + row_number() OVER ()"
    " FROM (SELECT * FROM ids EXCEPT SELECT project_id, env, id FROM known)",
    "INSERT INTO visitor_keys SELECT * FROM batch_keys"
    " WHERE key > (SELECT coalesce(max(key), 0) FROM visitor_keys)",
)
_DROP = ("DROP TABLE batch_keys",)
KEY_IDS, DROP_KEYS = _KEYS, _DROP  # sessions' keys are made the same way (session_people.py)
_PEOPLE_IDS = (
    "SELECT project_id, env, device AS id FROM resolved"
    " UNION ALL SELECT project_id, env, person FROM resolved"
)


def _keyed(t: _Table, source: str = "") -> str:
    """Rows of `source` (default `t.temp`) with their ids turned into keys."""
    return f"""
SELECT p.project_id, p.env, p.hour, d.key AS device_key, k.key AS person_key,
       {", ".join(f"p.{c}" for c in t.columns)}, p.is_bot
FROM {source or t.temp} p
LEFT JOIN batch_keys d ON d.project_id = p.project_id AND d.env = p.env AND d.id = p.device
LEFT JOIN batch_keys k ON k.project_id = p.project_id AND k.env = p.env AND k.id = p.person
"""


def _append(t: _Table) -> str:
    """One statement: the batch's rows of `t` (from temp `resolved`, keyed by `batch_keys`)
    not already stored for the batch's hours ($lo to $hi) are appended (set difference: NULL
    equals NULL), so a visit spread over many batches stays one row. The hours travel as
    values, not subqueries, so the scan skips other row groups by their min/max. Only the
    stored rows of the batch's people can equal one of its rows: a semi-join on the person's
    key keeps the difference from hashing every row of those hours (an hour at 60k events/s
    holds millions), which made each batch slower as its hour filled (#23). The keyed rows are
    a materialized CTE, read twice, instead of two temp tables made and dropped per table
    (#23, fifth pass: fewer statements and no temp table's blocks per batch); `EXCEPT` keeps
    each row once, as the `DISTINCT` of those tables did."""
    return f"""
INSERT INTO {t.name}
WITH fresh AS MATERIALIZED ({_keyed(t, "resolved")} {t.only})
SELECT * FROM fresh
EXCEPT
SELECT {t.row} FROM {t.name}
WHERE hour >= $lo AND hour <= $hi
  AND (person_key IN (SELECT person_key FROM fresh) OR person_key IS NULL)
"""


def _steps(
    source: str, where: str, tables: tuple[_Table, ...] = TABLES, more_ids: str | None = None
) -> list[str]:
    """Temp `resolved`, each table's distinct rows, and `batch_keys` for their ids (and for
    those of `more_ids`, a query of project_id, env, id)."""
    ids = _PEOPLE_IDS if more_ids is None else f"{_PEOPLE_IDS} UNION ALL {more_ids}"
    return [
        f"CREATE OR REPLACE TEMP TABLE resolved AS {_RESOLVED.format(source=source, where=where)}",
        *(t.distinct() for t in tables),
        *(sql.format(ids=ids) for sql in _KEYS),
    ]


def _done(tables: tuple[_Table, ...] = TABLES) -> tuple[str, ...]:
    return ("DROP TABLE resolved", *(f"DROP TABLE {t.temp}" for t in tables), *_DROP)


def fold_events(
    con: duckdb.DuckDBPyConnection,
    then: Callable[[duckdb.DuckDBPyConnection, tuple[datetime, datetime] | None], None],
    more_ids: str,
) -> None:
    """Fold the batch in temp `staged` (already inserted into `events`) into the tables, then
    run `then` while the keys of the batch's ids, and of the ids of `more_ids` (a query of
    project_id, env, id), are in temp `batch_keys` and its resolved rows in temp `resolved`,
    with the batch's first and last hour (None when it has no rows)."""
    for sql in _steps("staged", "", (), more_ids):
        con.execute(sql)
    row = con.execute("SELECT min(hour), max(hour) FROM resolved").fetchone()
    hours = (row[0], row[1]) if row is not None and row[0] is not None else None
    if hours is not None:
        for t in TABLES:
            con.execute(_append(t), {"lo": hours[0], "hi": hours[1]})
    then(con, hours)
    for sql in _done(()):
        con.execute(sql)


# The links whose person may have changed: every link ending where a link of this batch now
# ends (alias chains are compressed, so a device linked long ago to the anonymous id of this
# batch now points at the new end too).
_MOVED = """
CREATE OR REPLACE TEMP TABLE moved AS
SELECT i.project_id, i.env, i.anonymous_id, i.user_id AS id FROM identities i
WHERE (i.project_id, i.env, i.user_id) IN (
    SELECT j.project_id, j.env, j.user_id FROM identities j
    WHERE (j.project_id, j.env, j.anonymous_id) IN (SELECT project_id, env, anonymous_id FROM links))
"""
# Each moved device's new person key, in a table of its own and one key lookup at a time
# (a materialized CTE is a barrier to join reordering): DuckDB otherwise joined the two
# `batch_keys` on (project, env) alone first, every pair of the batch's keys (1M rows for 1k
# keys), and inside the UPDATE then joined every table row with that: ~300-400 ms per table
# at 150k rows, a third of the loader's time with 5% of events identified (#23).
_RELINKED = """
CREATE OR REPLACE TEMP TABLE relinked AS
WITH device AS MATERIALIZED (
    SELECT m.project_id, m.env, m.id, d.key AS device_key FROM moved m
    JOIN batch_keys d ON d.project_id = m.project_id AND d.env = m.env AND d.id = m.anonymous_id
)
SELECT m.device_key, k.key AS person_key FROM device m
JOIN batch_keys k ON k.project_id = m.project_id AND k.env = m.env AND k.id = m.id
"""
_RELINK = """
UPDATE {table} SET person_key = n.person_key{also}
FROM relinked n
WHERE {table}.device_key = n.device_key AND {table}.person_key <> n.person_key
"""
# The people sessions move away from keep theirs, but not their places: numbered again, they
# have no gap (a conversion's touchpoints are a span of places, touch_spans.py).
_LEFT = """
UPDATE sessions SET seq = NULL
FROM (
    SELECT DISTINCT s.project_id, s.env, s.person_key FROM sessions s
    JOIN relinked n ON s.device_key = n.device_key AND s.person_key <> n.person_key
) o
WHERE sessions.project_id = o.project_id AND sessions.env = o.env AND sessions.person_key = o.person_key
"""
# What a keyed row moved to another person loses with it (see `relink`).
_LOSES = {"sessions": ", seq = NULL", "keyed_events": ", span_lo = NULL, span_hi = NULL, span_nd = NULL, span_decay = NULL"}


def relink(con: duckdb.DuckDBPyConnection) -> None:
    """After the batch's identity links (`links`) are stored: move the rows of every device
    whose person changed to its new person."""
    ids = (
        "SELECT project_id, env, anonymous_id AS id FROM moved"
        " UNION ALL SELECT project_id, env, id FROM moved"
    )
    # Sessions (session_people.py), funnels' event_times and attribution's keyed_events keep
    # their person's key too (#19).
    keyed = (*(t.name for t in TABLES), "sessions", "event_times", "keyed_events")
    # A session that changes person loses its place among its person's sessions until it is
    # numbered again with its new person's (session_order.py), and a conversion its span of
    # their places (touch_spans.py), until it is found again among them.
    relinks = [_RELINK.format(table=name, also=_LOSES.get(name, "")) for name in keyed]
    steps = (_MOVED, *(k.format(ids=ids) for k in _KEYS), _RELINKED, _LEFT, *relinks)
    for sql in (*steps, "DROP TABLE relinked", "DROP TABLE moved", *_DROP):
        con.execute(sql)


# Rebuild the rows of the (project, env, UTC day) triples in temp table `touched_days`, from
# the events (forget, reclassify). Their keys exist: every stored id got one when it was loaded.
_TOUCHED = "(project_id, env, CAST(hour AS DATE)) IN (SELECT * FROM touched_days)"
_EVENTS_TOUCHED = "(e.project_id, e.env, CAST(e.ts AS DATE)) IN (SELECT * FROM touched_days)"
# Only their hours in [$day_lo, $day_hi) (reclassify's days; forget's spans of whole hours of
# one day): the scans skip other row groups.
REBUILD_DAYS_BETWEEN = (
    *(
        f"DELETE FROM {t.name} WHERE hour >= $day_lo AND hour < $day_hi AND {_TOUCHED}"
        for t in TABLES
    ),
    *_steps("events", f"WHERE e.ts >= $day_lo AND e.ts < $day_hi AND {_EVENTS_TOUCHED}"),
    *(f"INSERT INTO {t.name} {_keyed(t)}" for t in TABLES),
    *_done(),
)


def backfill(con: duckdb.DuckDBPyConnection, tables: tuple[_Table, ...] = TABLES) -> None:
    """Every row of `tables` from the stored events (migrations 6 and 13; stores built outside
    the loader, as bench/queries.py's), a UTC day per transaction: at once, 10M events need
    more than the store's 96 MB. Interrupted, it starts over. Keys are kept when only
    the other tables are filled: ids already keyed keep their keys."""
    for t in tables:
        con.execute(f"DELETE FROM {t.name}")
    if VISITS in tables:
        con.execute("DELETE FROM visitor_keys")  # a key that moved would break the others
    steps = _steps("events", "WHERE e.ts >= $lo AND e.ts < $hi", tables)
    inserts = [f"INSERT INTO {t.name} {_keyed(t)}" for t in tables]

    def day(span: dict[str, datetime]) -> None:
        for sql in (*steps, *inserts, *_done(tables)):
            con.execute(sql, span if "$lo" in sql else None)

    each_event_day(con, day)


def backfill_visits(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 6: `visitor_hours` and the keys (the others come with migration 13)."""
    backfill(con, (VISITS,))


def backfill_pages(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 13: `page_hours` and `event_hours` from the stored events, with the keys
    `visitor_hours` gave."""
    backfill(con, (PAGES, EVENTS))


# After forget deleted a person's events and sessions: drop the keys no stored event or link
# names any more (theirs), so no id of the person is left. $1, $2: project, env.
FORGET_KEYS = """
DELETE FROM visitor_keys WHERE project_id = $1 AND env = $2 AND key NOT IN (
    SELECT person_key FROM visitor_hours
    WHERE project_id = $1 AND env = $2 AND person_key IS NOT NULL
    UNION ALL
    SELECT device_key FROM visitor_hours
    WHERE project_id = $1 AND env = $2 AND device_key IS NOT NULL)
"""


def _hour(value: datetime) -> bool:
    v = value.astimezone(UTC)
    return v.minute == 0 and v.second == 0 and v.microsecond == 0


def _whole_hour_zone(tz: str, start: datetime, end: datetime) -> bool:
    """Is the zone's offset a whole number of hours over [start, end)? Then every local hour,
    day, week and month starts on a UTC hour. Offsets change at most a few times a year and
    never back within six hours, so checking every six hours finds any fractional one."""
    if tz == "UTC":
        return True
    zone = ZoneInfo(tz)
    at, step = start.astimezone(UTC), timedelta(hours=6)
    while True:
        offset = at.astimezone(zone).utcoffset()
        if offset is None or offset % timedelta(hours=1):
            return False
        if at >= end:
            return True
        at = min(at + step, end.astimezone(UTC))


def covers(q: StatsQuery) -> bool:
    """Can `visitor_hours` answer this exactly? People counted over whole UTC hours, grouped
    and filtered by DIMENSIONS, in buckets that start on UTC hours."""
    return table_for(q) is VISITS


def table_for(q: StatsQuery) -> _Table | None:
    """The table that answers this exactly, if one does: people counted over whole UTC hours,
    in buckets that start on UTC hours, grouped and filtered by the visit DIMENSIONS
    (`visitor_hours`), by path among page views (`page_hours`), or by event name
    (`event_hours`)."""
    if not (
        q.metric == "uniques"
        and _hour(q.start)
        and _hour(q.end)
        and (q.interval is None or _whole_hour_zone(q.timezone, q.start, q.end))
    ):
        return None
    named = {*q.group_by, *(f for f, _ in q.filters)}
    if q.event is None and named <= set(DIMENSIONS):
        return VISITS
    if q.event == PAGEVIEW and named <= {"path"}:
        return PAGES
    if named <= {"event_name"}:
        return EVENTS
    return None
