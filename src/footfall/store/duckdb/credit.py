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
from footfall.store.answers import attribution_answer, compared_answer
from footfall.store.duckdb.funnels import property_path
from footfall.store.duckdb.reads import Runner, scope_where, scoped_people

__all__ = ["DIRECT", "attribution", "compared", "touchpoints"]

_HALF_LIFE_SECONDS = 7 * 86400
DIRECT = {"source": "'direct'", "medium": "'direct'", "channel": "'Direct'", "campaign": "NULL"}
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


def touchpoints(q: AttributionQuery, params: dict[str, Any]) -> str:
    """`WITH conv, sess, touch`: one row per conversion (uid, person, ts, session_id, value),
    and one per touchpoint (its conversion's uid, ts and value, and the session's id, start
    and source/medium/campaign/channel)."""
    where = scope_where(q, params)
    params.update(conversion=q.conversion, lookback=q.lookback_seconds)
    if q.value_property is not None:
        params["value_property"] = q.value_property
        raw = f"TRY_CAST(json_extract_string(properties, {property_path('value_property')}) AS DOUBLE)"
        value = f"coalesce(CASE WHEN isfinite({raw}) THEN {raw} END, 0.0)"  # no NaN, no inf
    else:
        value = "0.0"
    bots = "" if q.include_bots else " AND NOT s.is_bot"
    # The conversion's own session is a touchpoint even when it is not its person's (or is
    # older than the lookback); the second branch adds exactly those, so no UNION has to
    # dedupe every touchpoint (a hash of all of them, which ran out of memory at 10M events).
    # Touchpoints carry their conversion's value, so nothing has to join them back to it.
    in_lookback = "s.start_ts >= c.ts - to_seconds($lookback) AND s.start_ts <= c.ts"
    return f"""
    WITH conv AS (
        SELECT uid, person, ts, session_id, {value} AS value FROM {scoped_people()}
        WHERE {" AND ".join(where)} AND name = $conversion
    ),
    sess AS (
        SELECT s.session_id, s.start_ts, s.source, s.medium, s.campaign, s.channel,
               coalesce(s.user_id, i.user_id, s.anonymous_id) AS person
        FROM sessions s
        LEFT JOIN (
            SELECT anonymous_id, user_id FROM identities WHERE project_id = $project AND env = $env
        ) i ON i.anonymous_id = s.anonymous_id
        WHERE s.project_id = $project AND s.env = $env{bots} AND s.start_ts < $end
          AND ((s.start_ts >= $start - to_seconds($lookback)
                AND coalesce(s.user_id, i.user_id, s.anonymous_id) IN (SELECT person FROM conv))
               OR s.session_id IN (SELECT session_id FROM conv))
    ),
    touch AS (
        SELECT c.uid, c.ts, c.value, s.session_id, s.start_ts, s.source, s.medium, s.campaign,
               s.channel
        FROM conv c JOIN sess s ON s.person = c.person
        WHERE {in_lookback}
        UNION ALL
        SELECT c.uid, c.ts, c.value, s.session_id, s.start_ts, s.source, s.medium, s.campaign,
               s.channel
        FROM conv c JOIN sess s ON s.session_id = c.session_id
        WHERE NOT coalesce(s.person = c.person AND {in_lookback}, false)
    )"""


def _sql(q: AttributionQuery, params: dict[str, Any], models: tuple[str, ...] = ()) -> str:
    """`touchpoints`, then `decayed`, `agg` (per conversion) and `credited` (weighted
    touchpoints: column `w` for `q.model`, or `w_<model>` for each of `models`)."""
    direct = ", ".join(f"{DIRECT[d]} AS {d}" for d in ATTRIBUTION_DIMENSIONS)
    columns = [f"w_{m}" for m in models] if models else ["w"]
    weights = ", ".join(
        f"{_WEIGHT[m]} AS {c}" for m, c in zip(models or (q.model,), columns, strict=True)
    )
    # Side by side, linear credits every touchpoint: no row can be dropped.
    nonzero = "true" if models else "w > 0"
    whole = ", ".join(f"1.0 AS {c}" for c in columns)
    # Conversions without any touchpoint are added beside the weighted touchpoints (the
    # anti-join builds on the conversions), not by joining every touchpoint back to its
    # conversion, which kept all of them in a hash table.
    return touchpoints(q, params) + f""",
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
            SELECT t.uid, t.value, t.source, t.medium, t.campaign, t.channel, {weights}
            FROM decayed t JOIN agg a ON a.uid = t.uid
        ) WHERE {nonzero}
    ),
    credited AS (
        SELECT uid, value, {", ".join(columns)}, {", ".join(ATTRIBUTION_DIMENSIONS)} FROM weighted
        UNION ALL
        SELECT uid, value, {whole}, {direct} FROM conv WHERE uid NOT IN (SELECT uid FROM agg)
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


def compared(run: Runner, q: AttributionQuery) -> dict[str, Any]:
    """Every model side by side, from one pass over the touchpoints (`q.model` is ignored).

    Each row carries each model's credited conversions and value, and `disagreement`: the
    largest minus the smallest share of all conversions the models give the row (0 when they
    agree, at most 1). Rows come by their credit summed over the models, highest first.
    """
    assert q.group_by and all(d in ATTRIBUTION_DIMENSIONS for d in q.group_by)
    params: dict[str, Any] = {}
    models = ATTRIBUTION_MODELS
    ctes = _sql(q, params, models)
    keys = ", ".join(q.group_by)
    _names, totals = run(ctes + " SELECT count(*), coalesce(sum(value), 0.0) FROM conv", params)
    credits = [f"round(c_{m}, 6)" for m in models]
    sums = ", ".join(f"sum(w_{m}) AS c_{m}, sum(w_{m} * value) AS v_{m}" for m in models)
    _names, rows = run(
        ctes
        + f""", grouped AS MATERIALIZED (SELECT {keys}, {sums} FROM credited GROUP BY {keys})
        SELECT {keys}, {", ".join(f"c_{m}, v_{m}" for m in models)},
               greatest({", ".join(credits)}) - least({", ".join(credits)}) AS spread
        FROM grouped
        ORDER BY {" + ".join(credits)} DESC, {", ".join(f"{d} NULLS LAST" for d in q.group_by)}
        LIMIT $limit
        """,
        {**params, "limit": q.limit},
    )
    conversions, value = totals[0]
    return compared_answer(q, models, conversions, value, rows)
