"""Conversion attribution in DuckDB SQL: credit each conversion to its person's sessions.

Conversions are the events named `q.conversion` in [start, end). Their touchpoints are the
sessions of the same person (a session's person is its user, else the user its anonymous id is
linked to, else that anonymous id, as in `events_people`) that started in the lookback window
before the conversion, plus the conversion's own session. Each model gives every touchpoint of a
conversion a weight; the weights of one conversion sum to 1, so the credited conversions and
value sum to the totals. A conversion with no touchpoint is credited to direct.
"""

from __future__ import annotations

from typing import Any

from footfall.read.queries import ATTRIBUTION_DIMENSIONS, ATTRIBUTION_MODELS, AttributionQuery
from footfall.store.answers import attribution_answer
from footfall.store.duckdb.funnels import property_path
from footfall.store.duckdb.reads import Runner, scope_where

__all__ = ["attribution"]

_HALF_LIFE_SECONDS = 7 * 86400
_DIRECT = {"source": "'direct'", "medium": "'direct'", "channel": "'Direct'", "campaign": "NULL"}
_NON_DIRECT = "coalesce(source, 'direct') <> 'direct'"

# Each touchpoint's weight, from its conversion's aggregates `a` (no window functions: those
# keep whole partitions in memory, while a GROUP BY and a join spill to disk under the store's
# memory limit). A conversion's touchpoints are ordered by (start_ts, session_id).
_FIRST = "t.session_id = a.first_sid"
_LAST = "t.session_id = a.last_sid"
_WEIGHT = {
    "first_touch": f"CASE WHEN {_FIRST} THEN 1.0 ELSE 0.0 END",
    "last_touch": f"CASE WHEN {_LAST} THEN 1.0 ELSE 0.0 END",
    "last_non_direct": "CASE WHEN t.session_id = coalesce(a.last_non_direct_sid, a.last_sid) THEN 1.0 ELSE 0.0 END",
    "linear": "1.0 / a.n",
    "position_based": (
        "CASE WHEN a.n = 1 THEN 1.0 WHEN a.n = 2 THEN 0.5"
        f" WHEN {_FIRST} OR {_LAST} THEN 0.4 ELSE 0.2 / (a.n - 2) END"
    ),
    "time_decay": "t.decay / a.decay_sum",
}


def _sql(q: AttributionQuery, params: dict[str, Any]) -> str:
    """The CTEs: `conv` (one row per conversion) and `credited` (weighted touchpoints)."""
    where = scope_where(q, params)
    params.update(conversion=q.conversion, lookback=q.lookback_seconds)
    if q.value_property is not None:
        params["value_property"] = q.value_property
        raw = f"TRY_CAST(json_extract_string(properties, {property_path('value_property')}) AS DOUBLE)"
        value = f"coalesce(CASE WHEN isfinite({raw}) THEN {raw} END, 0.0)"  # no NaN, no inf
    else:
        value = "0.0"
    bots = "" if q.include_bots else " AND NOT s.is_bot"
    fallback = ", ".join(
        f"CASE WHEN t.uid IS NULL THEN {_DIRECT[d]} ELSE t.{d} END AS {d}"
        for d in ATTRIBUTION_DIMENSIONS
    )
    # The conversion's own session is a touchpoint even when it is not its person's (or is
    # older than the lookback); the second branch adds exactly those, so no UNION has to
    # dedupe every touchpoint (a hash of all of them, which ran out of memory at 10M events).
    in_lookback = "s.start_ts >= c.ts - to_seconds($lookback) AND s.start_ts <= c.ts"
    return f"""
    WITH conv AS (
        SELECT uid, person, ts, session_id, {value} AS value FROM events_people
        WHERE {" AND ".join(where)} AND name = $conversion
    ),
    sess AS (
        SELECT s.session_id, s.start_ts, s.source, s.medium, s.campaign, s.channel,
               coalesce(s.user_id, i.user_id, s.anonymous_id) AS person
        FROM sessions s
        LEFT JOIN identities i
          ON i.project_id = s.project_id AND i.env = s.env AND i.anonymous_id = s.anonymous_id
        WHERE s.project_id = $project AND s.env = $env{bots} AND s.start_ts < $end
          AND (s.start_ts >= $start - to_seconds($lookback)
               OR s.session_id IN (SELECT session_id FROM conv))
    ),
    touch AS (
        SELECT c.uid, c.ts, s.session_id, s.start_ts, s.source, s.medium, s.campaign, s.channel
        FROM conv c JOIN sess s ON s.person = c.person
        WHERE {in_lookback}
        UNION ALL
        SELECT c.uid, c.ts, s.session_id, s.start_ts, s.source, s.medium, s.campaign, s.channel
        FROM conv c JOIN sess s ON s.session_id = c.session_id
        WHERE NOT coalesce(s.person = c.person AND {in_lookback}, false)
    ),
    decayed AS (
        SELECT *, pow(2.0, -(epoch_us(ts) - epoch_us(start_ts)) / 1e6 / {_HALF_LIFE_SECONDS}) AS decay
        FROM touch
    ),
    agg AS (
        SELECT uid, count(*) AS n, sum(decay) AS decay_sum,
               arg_min(session_id, (start_ts, session_id)) AS first_sid,
               arg_max(session_id, (start_ts, session_id)) AS last_sid,
               arg_max(session_id, (start_ts, session_id)) FILTER (WHERE {_NON_DIRECT})
                   AS last_non_direct_sid
        FROM decayed GROUP BY uid
    ),
    weighted AS (
        SELECT * FROM (
            SELECT t.uid, t.source, t.medium, t.campaign, t.channel, {_WEIGHT[q.model]} AS w
            FROM decayed t JOIN agg a ON a.uid = t.uid
        ) WHERE w > 0
    ),
    credited AS (
        SELECT c.uid, c.value, coalesce(t.w, 1.0) AS w, {fallback}
        FROM conv c LEFT JOIN weighted t ON t.uid = c.uid
    )
    """


def attribution(run: Runner, q: AttributionQuery) -> dict[str, Any]:
    assert q.model in ATTRIBUTION_MODELS
    assert q.group_by and all(d in ATTRIBUTION_DIMENSIONS for d in q.group_by)
    params: dict[str, Any] = {}
    ctes = _sql(q, params)
    keys = ", ".join(q.group_by)
    _names, totals = run(ctes + " SELECT count(*), coalesce(sum(value), 0.0) FROM conv", params)
    # Ordered by the rounded sums, so float noise never decides between equal credits.
    # The groups are materialised before ORDER BY ... LIMIT: a top-N straight over the
    # aggregate ran out of memory at 10M events under a 96 MB limit (DuckDB plans it as a
    # late-materialising top-N over the whole join).
    _names, rows = run(
        ctes
        + f""", grouped AS MATERIALIZED (
            SELECT {keys}, sum(w) AS credit, sum(w * value) AS credit_value
            FROM credited GROUP BY {keys}
        )
        SELECT * FROM grouped
        ORDER BY round(credit, 6) DESC, round(credit_value, 6) DESC,
                 {", ".join(f"{d} NULLS LAST" for d in q.group_by)}
        LIMIT $limit
        """,
        {**params, "limit": q.limit},
    )
    conversions, value = totals[0]
    return attribution_answer(q, conversions, value, rows)
