"""Conversion attribution in ClickHouse SQL (`sql/attribution.sql`), the models as on DuckDB
(store/duckdb/credit.py), the answer shaped by `store/answers.py`."""

from __future__ import annotations

from typing import Any

from footfall.read.queries import ATTRIBUTION_DIMENSIONS, ATTRIBUTION_MODELS, AttributionQuery
from footfall.store.answers import attribution_answer
from footfall.store.clickhouse.reads import Runner, json_text, round_half_up, scope_where
from footfall.store.clickhouse.sql import statement

__all__ = ["attribution"]

_HALF_LIFE_SECONDS = 7 * 86400
_DIRECT = {"source": "'direct'", "medium": "'direct'", "channel": "'Direct'", "campaign": "NULL"}
_FIRST = "t.session_id = t.first_sid"
_LAST = "t.session_id = t.last_sid"
_WEIGHT = {
    "first_touch": f"if({_FIRST}, 1.0, 0.0)",
    "last_touch": f"if({_LAST}, 1.0, 0.0)",
    "last_non_direct": "if(t.session_id = coalesce(t.last_non_direct_sid, t.last_sid), 1.0, 0.0)",
    "linear": "1.0 / t.n",
    "position_based": (
        "multiIf(t.n = 1, 1.0, t.n = 2, 0.5,"
        f" {_FIRST} OR {_LAST}, 0.4, 0.2 / (t.n - 2))"
    ),
    "time_decay": "t.decay / t.decay_sum",
}


def _ctes(q: AttributionQuery, params: dict[str, Any]) -> str:
    where = scope_where(q, params)
    params.update(conversion=q.conversion, lookback=q.lookback_seconds)
    if q.value_property is not None:
        params["value_property"] = q.value_property
        raw = f"toFloat64OrNull({json_text('properties', 'value_property')})"
        value = f"coalesce(if(isFinite({raw}), {raw}, NULL), 0.0)"  # no NaN, no inf
    else:
        value = "0.0"
    return statement(
        "attribution",
        where=" AND ".join(where),
        value=value,
        bots="" if q.include_bots else " AND NOT s.is_bot",
        in_lookback=(
            "s.start_ts >= c.ts - toIntervalSecond({lookback:UInt32}) AND s.start_ts <= c.ts"
        ),
        half_life=str(_HALF_LIFE_SECONDS),
        non_direct="coalesce(source, 'direct') <> 'direct'",
        weight=_WEIGHT[q.model],
        fallback=", ".join(
            f"if(t.uid IS NULL, {_DIRECT[d]}, t.{d}) AS {d}" for d in ATTRIBUTION_DIMENSIONS
        ),
    )


def attribution(run: Runner, q: AttributionQuery) -> dict[str, Any]:
    assert q.model in ATTRIBUTION_MODELS
    assert q.group_by and all(d in ATTRIBUTION_DIMENSIONS for d in q.group_by)
    params: dict[str, Any] = {}
    ctes = _ctes(q, params)
    keys = ", ".join(q.group_by)
    _names, totals = run(ctes + " SELECT count(), coalesce(sum(value), 0.0) FROM conv", params)
    # Ordered by the rounded sums, so float noise never decides between equal credits.
    _names, rows = run(
        ctes
        + f""", grouped AS (
            SELECT {keys}, sum(w) AS credit, sum(w * value) AS credit_value
            FROM credited GROUP BY {keys}
        )
        SELECT * FROM grouped
        ORDER BY {round_half_up("credit", 6)} DESC, {round_half_up("credit_value", 6)} DESC,
                 {", ".join(f"{d} ASC NULLS LAST" for d in q.group_by)}
        LIMIT {{limit:UInt32}}
        """,
        {**params, "limit": q.limit},
    )
    conversions, value = totals[0]
    return attribution_answer(q, conversions, value, rows)
