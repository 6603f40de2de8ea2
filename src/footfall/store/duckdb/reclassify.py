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

__all__ = [
    "SESSION_SPAN", "SLICE_BOUNDS", "TOUCHED", "changed_sql", "differing_sql", "has_signal",
    "update_sql",
]  # fmt: skip


def has_signal(rule: str = "source_rule_id") -> str:
    """SQL: the event has an attribution signal of its own (the classifier outcomes without
    one are `NO_SIGNAL_RULES` in pipeline/sessions.py)."""
    return f"{rule} NOT IN ('direct', 'self_referral')"


def changed_sql(columns: list[str], inherited: tuple[str, ...]) -> str:
    """SQL creating temp table `changed` (uid, project_id, env, session_id, ts, *columns,
    *differs_<column>) with the new values of every event at or after `$start` whose
    attribution differs, in ts order.

    `mapping` holds (project_id, url, referrer, *columns): the classifier's output for each
    distinct landing in the range. Events before `$start` keep their stored values but still
    lend them to later events of their session.

    Each session's first signal (by ts, then uid) is found with a grouped aggregate and joined
    back, not with a window: a window holds whole rows (new and stored values) per partition
    and ran out of memory at 10M events under 256 MB; the aggregate keeps one row per session
    and spills, and the wide rows only stream through the join.
    """
    own = ", ".join(
        f"CASE WHEN e.ts >= $start THEN m.{c} ELSE e.{c} END AS {c}, e.{c} AS old_{c}"
        for c in columns
    )
    # One struct, so every inherited field comes from the same (first) signal event, as in
    # the pipeline; per-field aggregates skip NULLs and would fill a field the first signal
    # lacks (say campaign) from a later one.
    fields = ", ".join(f"{f} := {f}" for f in inherited)
    position = "struct_pack(ts := ts, uid := uid)"
    inherits = (
        f"o.session_id IS NOT NULL AND NOT ({has_signal('o.source_rule_id')})"
        " AND s.first_at <= struct_pack(ts := o.ts, uid := o.uid)"
    )

    def final(c: str) -> str:
        if c in inherited:
            return f"CASE WHEN inherits THEN first_signal.{c} ELSE {c} END AS {c}"
        if c == "source_rule_id":
            return f"CASE WHEN inherits THEN 'session_inherited' ELSE {c} END AS {c}"
        return c

    differs = " OR ".join(f"{c} IS DISTINCT FROM old_{c}" for c in columns)
    return f"""
    CREATE OR REPLACE TEMP TABLE changed AS
    WITH own AS NOT MATERIALIZED (
        SELECT e.uid, e.project_id, e.env, e.session_id, e.ts, {own}
        FROM events e
        LEFT JOIN mapping m
          ON e.ts >= $start AND e.project_id = m.project_id
         AND e.url IS NOT DISTINCT FROM m.url AND e.referrer IS NOT DISTINCT FROM m.referrer
        WHERE e.ts >= $start
           OR (e.project_id, e.env, e.session_id) IN (
                SELECT project_id, env, session_id FROM events WHERE ts >= $start)
    ),
    firsts AS (
        SELECT project_id, env, session_id,
               min({position}) AS first_at,
               arg_min(struct_pack({fields}), {position}) AS first_signal
        FROM own
        WHERE session_id IS NOT NULL AND {has_signal()}
        GROUP BY project_id, env, session_id
    ),
    flagged AS (
        SELECT o.*, s.first_signal, {inherits} AS inherits
        FROM own o
        LEFT JOIN firsts s
          ON o.project_id = s.project_id AND o.env = s.env AND o.session_id = s.session_id
        WHERE o.ts >= $start
    ),
    final AS (
        SELECT uid, project_id, env, session_id, ts, {", ".join(final(c) for c in columns)},
               {", ".join(f"old_{c}" for c in columns)}
        FROM flagged
    )
    SELECT uid, project_id, env, session_id, ts, {", ".join(columns)},
           {", ".join(f"{c} IS DISTINCT FROM old_{c} AS differs_{c}" for c in columns)}
    FROM final
    WHERE {differs}
    ORDER BY ts
    """


# The first timestamp of every slice of about `$rows` changed events: one transaction each.
# `changed` is written in ts order, so its rowids count events in that order without a sort
# (a window numbering every changed event ran out of memory at 10M under 256 MB). Any set of
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
