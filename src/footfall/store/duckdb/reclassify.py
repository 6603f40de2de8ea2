"""Re-running attribution over stored events: which events change, computed in one read.

An event's attribution is its own classification (from its URL and referrer) or, when it has
no signal of its own, what it inherits from the first earlier event of its session that had
one. Both are computed in one SELECT over the range (and the whole sessions that touch it), and
only the events whose values differ are written. Writing every event in the range, changed or
not, made DuckDB hold the old values of all of them until the commit: 10M events needed 4 GB.
Now the memory follows what a new rule changes, and sessions and rollup days are rebuilt only
where an event changed.
"""

from __future__ import annotations

__all__ = ["SESSION_SPAN", "SLICE_BOUNDS", "TOUCHED", "changed_sql", "differing_sql", "update_sql"]

# Classifier outcomes without an attribution signal of the event's own (pipeline/sessions.py).
_SIGNAL = "source_rule_id NOT IN ('direct', 'self_referral')"


def changed_sql(columns: list[str], inherited: tuple[str, ...]) -> str:
    """SQL creating temp table `changed` (uid, project_id, env, session_id, ts, *columns) with
    the new values of every event at or after `$start` whose attribution differs.

    `mapping` holds (project_id, url, referrer, *columns): the classifier's output for each
    distinct landing in the range. Events before `$start` keep their stored values but still
    lend them to later events of their session.
    """
    own = ", ".join(
        f"CASE WHEN e.ts >= $start THEN m.{c} ELSE e.{c} END AS {c}, e.{c} AS old_{c}"
        for c in columns
    )
    # One struct, so every inherited field comes from the same (first) signal event, as in
    # the pipeline; per-field IGNORE NULLS would fill a field the first signal lacks (say
    # campaign) from a later one.
    first = ", ".join(f"{f} := {f}" for f in inherited)
    firsts = (
        f"first_value(CASE WHEN {_SIGNAL} THEN struct_pack({first}) END IGNORE NULLS)"
        " OVER w AS first_signal"
    )
    inherits = f"session_id IS NOT NULL AND NOT ({_SIGNAL}) AND first_signal IS NOT NULL"

    def final(c: str) -> str:
        if c in inherited:
            return f"CASE WHEN inherits THEN first_signal.{c} ELSE {c} END AS {c}"
        if c == "source_rule_id":
            return f"CASE WHEN inherits THEN 'session_inherited' ELSE {c} END AS {c}"
        return c

    differs = " OR ".join(f"{c} IS DISTINCT FROM old_{c}" for c in columns)
    return f"""
    CREATE OR REPLACE TEMP TABLE changed AS
    WITH own AS (
        SELECT e.uid, e.project_id, e.env, e.session_id, e.ts, {own}
        FROM events e
        LEFT JOIN mapping m
          ON e.ts >= $start AND e.project_id = m.project_id
         AND e.url IS NOT DISTINCT FROM m.url AND e.referrer IS NOT DISTINCT FROM m.referrer
        WHERE e.ts >= $start
           OR (e.project_id, e.env, e.session_id) IN (
                SELECT project_id, env, session_id FROM events WHERE ts >= $start)
    ),
    windowed AS (
        SELECT *, {firsts}
        FROM own
        WINDOW w AS (PARTITION BY project_id, env, session_id ORDER BY ts, uid
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ),
    flagged AS (SELECT *, {inherits} AS inherits FROM windowed),
    final AS (
        SELECT uid, project_id, env, session_id, ts, {", ".join(final(c) for c in columns)},
               {", ".join(f"old_{c}" for c in columns)}
        FROM flagged
        WHERE ts >= $start
    )
    SELECT uid, project_id, env, session_id, ts, {", ".join(columns)},
           {", ".join(f"{c} IS DISTINCT FROM old_{c} AS differs_{c}" for c in columns)}
    FROM final
    WHERE {differs}
    ORDER BY ts
    """


# The first timestamp of every slice of about `$rows` changed events: one transaction each.
# `changed` is written in ts order, so its rowids count events in that order without a sort
# (a window over every changed event ran out of memory at 10M under 256 MB). Any set of
# timestamps that starts with the earliest cuts the range into valid slices; the order only
# keeps them even.
SLICE_BOUNDS = """
SELECT DISTINCT ts FROM (
    SELECT min(ts) AS ts FROM changed
    UNION ALL SELECT ts FROM changed WHERE rowid % $rows = 0
) ORDER BY ts
"""

# What one slice [$lo, $hi) touches: its sessions and their time span, its days.
TOUCHED = (
    """CREATE OR REPLACE TEMP TABLE touched_sessions AS
       SELECT DISTINCT project_id, env, session_id FROM changed
       WHERE ts >= $lo AND ts < $hi AND session_id IS NOT NULL""",
    """CREATE OR REPLACE TEMP TABLE touched_days AS
       SELECT DISTINCT project_id, env, CAST(ts AS DATE) FROM changed WHERE ts >= $lo AND ts < $hi""",
)
SESSION_SPAN = """
SELECT min(start_ts), max(end_ts) FROM sessions
WHERE (project_id, env, session_id) IN (SELECT * FROM touched_sessions)
"""


def differing_sql(columns: list[str]) -> str:
    """SQL: for each column, does any changed event differ in it? (one row of booleans)"""
    return "SELECT " + ", ".join(f"coalesce(bool_or(differs_{c}), false)" for c in columns) + " FROM changed"


def update_sql(columns: list[str]) -> str:
    """SQL writing `columns` of the rows of `changed` in [$lo, $hi) into `events`.

    Only the columns some event differs in: DuckDB's UPDATE costs per column written, and a new
    rule usually changes two or three of the twelve (10M events, every one changed, 500k per
    transaction: ~6 s per slice with all twelve)."""
    sets = ", ".join(f"{c} = c.{c}" for c in columns)
    return f"""
    UPDATE events SET {sets} FROM changed c
    WHERE c.ts >= $lo AND c.ts < $hi AND events.ts >= $lo AND events.ts < $hi
      AND events.uid = c.uid AND events.ts = c.ts
    """
