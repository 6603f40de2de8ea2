"""Re-running attribution over stored events in ClickHouse SQL, with DuckDB's semantics
(store/duckdb/reclassify.py): own classification at or after `$start`, else the first earlier
signal of the session (one tuple of fields, NULLs included), only changed events written.

ClickHouse has no multi-table transactions: the changed events are computed into a table
ordered by time, then written slice by slice (`rows_per_transaction` each, as DuckDB's
transactions): a synchronous `ALTER TABLE … UPDATE` (values looked up with joinGet), then the
slice's sessions and rollup days rebuilt from the events.
"""

from __future__ import annotations

__all__ = ["NULL", "SLICE_BOUNDS", "changed_sql", "distinct", "has_signal"]

# Where a slice of changed events starts: the first, then every `rows`-th by (ts, uid); a
# bound is a time, so events on the same instant stay in one slice (as DuckDB's).
SLICE_BOUNDS = """
SELECT DISTINCT ts FROM (
    SELECT ts, row_number() OVER (ORDER BY ts, uid) - 1 AS n FROM reclassify_changed
) WHERE n % {rows:UInt64} = 0 ORDER BY ts
"""

# Stands for NULL in the mapping join (no URL or referrer equals it).
NULL = "'footfall:null'"


def has_signal(rule: str = "source_rule_id") -> str:
    return f"{rule} NOT IN ('direct', 'self_referral')"


def distinct(a: str, b: str) -> str:
    """SQL: `a IS DISTINCT FROM b`."""
    return f"(({a} IS NULL) != ({b} IS NULL) OR ifNull({a} != {b}, 0))"


def changed_sql(columns: list[str], inherited: tuple[str, ...]) -> str:
    """SELECT of (uid, project_id, env, session_id, ts, *columns, *differs_<column>) for every
    event at or after {start} whose attribution changes; `reclassify_mapping` holds the
    classifier's output per (project_id, url, referrer)."""
    own = ", ".join(
        f"if(e.ts >= {{start:DateTime64(6)}}, m.{c}, CAST(e.{c} AS Nullable(String))) AS {c},"
        f" CAST(e.{c} AS Nullable(String)) AS old_{c}"
        for c in columns
    )
    fields = ", ".join(inherited)

    def final(c: str) -> str:
        if c in inherited:
            return f"if(inherits, first_signal.{inherited.index(c) + 1}, {c}) AS {c}"
        if c == "source_rule_id":
            return f"if(inherits, 'session_inherited', {c}) AS {c}"
        return c

    differs = " OR ".join(distinct(c, f"old_{c}") for c in columns)
    return f"""
    WITH own AS (
        SELECT e.uid AS uid, e.project_id AS project_id, e.env AS env, e.session_id AS session_id,
               e.ts AS ts, {own}
        FROM events AS e
        LEFT JOIN reclassify_mapping AS m
          ON e.project_id = m.project_id AND coalesce(e.url, {NULL}) = coalesce(m.url, {NULL})
         AND coalesce(e.referrer, {NULL}) = coalesce(m.referrer, {NULL})
        WHERE e.ts >= {{start:DateTime64(6)}}
           OR (e.project_id, e.env, e.session_id) IN (
                SELECT project_id, env, session_id FROM events
                WHERE ts >= {{start:DateTime64(6)}} AND session_id IS NOT NULL)
    ),
    firsts AS (
        SELECT project_id, env, session_id, toUInt8(1) AS found, min((ts, uid)) AS first_at,
               argMin(tuple({fields}), (ts, uid)) AS first_signal
        FROM own
        WHERE session_id IS NOT NULL AND {has_signal()}
        GROUP BY project_id, env, session_id
    ),
    flagged AS (
        SELECT o.*, s.first_signal AS first_signal,
               o.session_id IS NOT NULL AND NOT ({has_signal('o.source_rule_id')})
               AND s.found = 1 AND s.first_at <= (o.ts, o.uid) AS inherits
        FROM own AS o
        LEFT JOIN firsts AS s
          ON o.project_id = s.project_id AND o.env = s.env AND o.session_id = s.session_id
        WHERE o.ts >= {{start:DateTime64(6)}}
    ),
    final AS (
        SELECT uid, project_id, env, session_id, ts, {", ".join(final(c) for c in columns)},
               {", ".join(f"old_{c}" for c in columns)}
        FROM flagged
    )
    SELECT uid, project_id, env, session_id, ts, {", ".join(columns)},
           {", ".join(f"{distinct(c, f'old_{c}')} AS differs_{c}" for c in columns)}
    FROM final
    WHERE {differs}
    """
