"""Conversion attribution in ClickHouse SQL (`sql/touchpoints.sql`, `sql/credit.sql`), the
models as on DuckDB (store/duckdb/credit.py), the answers shaped by `store/answers.py`."""

from __future__ import annotations

from typing import Any

from footfall.read.queries import ATTRIBUTION_DIMENSIONS, ATTRIBUTION_MODELS, AttributionQuery
from footfall.store.answers import attribution_answer, compared_answer
from footfall.store.clickhouse.reads import (
    SCOPED_PEOPLE,
    Runner,
    json_text,
    round_half_up,
    scope_where,
)
from footfall.store.clickhouse.sql import statement

__all__ = ["DIRECT", "attribution", "compared", "credited", "touchpoints"]

_HALF_LIFE_SECONDS = 7 * 86400
DIRECT = {"source": "'direct'", "medium": "'direct'", "channel": "'Direct'", "campaign": "NULL"}
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
_IN_LOOKBACK = "s.start_ts >= c.ts - toIntervalSecond({lookback:UInt32}) AND s.start_ts <= c.ts"


def touchpoints(q: AttributionQuery, params: dict[str, Any]) -> str:
    """`WITH conv, folded, sess, touch`: the conversions and their touchpoints."""
    where = scope_where(q, params)
    params.update(conversion=q.conversion, lookback=q.lookback_seconds)
    if q.value_property is not None:
        params["value_property"] = q.value_property
        raw = f"toFloat64OrNull({json_text('properties', 'value_property')})"
        value = f"coalesce(if(isFinite({raw}), {raw}, NULL), 0.0)"  # no NaN, no inf
    else:
        value = "0.0"
    return statement(
        "touchpoints", people=SCOPED_PEOPLE, where=" AND ".join(where), value=value,
        bots="" if q.include_bots else " AND NOT s.is_bot", in_lookback=_IN_LOOKBACK,
    )  # fmt: skip


def _sql(q: AttributionQuery, params: dict[str, Any], models: tuple[str, ...] = ()) -> str:
    """`touchpoints`, then `credited`: column `w` for `q.model`, or `w_<model>` for each of
    `models` (side by side, linear credits every touchpoint: no row can be dropped)."""
    columns = [f"w_{m}" for m in models] if models else ["w"]
    pairs = list(zip(models or (q.model,), columns, strict=True))
    return touchpoints(q, params) + "\n" + statement(
        "credit",
        half_life=str(_HALF_LIFE_SECONDS),
        non_direct="coalesce(source, 'direct') <> 'direct'",
        weights=", ".join(f"{_WEIGHT[m]} AS {c}" for m, c in pairs),
        nonzero="1" if models else "w > 0",
        credited=", ".join(f"coalesce(t.{c}, 1.0) AS {c}" for c in columns),
        fallback=", ".join(
            f"if(t.uid IS NULL, {DIRECT[d]}, t.{d}) AS {d}" for d in ATTRIBUTION_DIMENSIONS
        ),
    )  # fmt: skip


def credited(q: AttributionQuery, params: dict[str, Any]) -> str:
    """`touchpoints`, then `credited`: per conversion (uid) its value and `q.model`'s nonzero
    weights `w` with their source/medium/campaign/channel (direct for a conversion without
    touchpoints), as `attribution` weighs them."""
    return _sql(q, params)


def _totals(run: Runner, ctes: str, params: dict[str, Any]) -> tuple[Any, Any]:
    _names, rows = run(ctes + " SELECT count(), coalesce(sum(value), 0.0) FROM conv", params)
    return rows[0][0], rows[0][1]


def attribution(run: Runner, q: AttributionQuery) -> dict[str, Any]:
    assert q.model in ATTRIBUTION_MODELS
    assert q.group_by and all(d in ATTRIBUTION_DIMENSIONS for d in q.group_by)
    params: dict[str, Any] = {}
    ctes = _sql(q, params)
    keys = ", ".join(q.group_by)
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
    return attribution_answer(q, *_totals(run, ctes, params), rows)


def compared(run: Runner, q: AttributionQuery) -> dict[str, Any]:
    """Every model side by side from one pass over the touchpoints, as on DuckDB
    (store/duckdb/credit.py `compared`)."""
    assert q.group_by and all(d in ATTRIBUTION_DIMENSIONS for d in q.group_by)
    params: dict[str, Any] = {}
    models = ATTRIBUTION_MODELS
    ctes = _sql(q, params, models)
    keys = ", ".join(q.group_by)
    credits = [round_half_up(f"c_{m}", 6) for m in models]
    sums = ", ".join(f"sum(w_{m}) AS c_{m}, sum(w_{m} * value) AS v_{m}" for m in models)
    _names, rows = run(
        ctes
        + f""", grouped AS (SELECT {keys}, {sums} FROM credited GROUP BY {keys})
        SELECT {keys}, {", ".join(f"c_{m}, v_{m}" for m in models)},
               greatest({", ".join(credits)}) - least({", ".join(credits)}) AS spread
        FROM grouped
        ORDER BY {" + ".join(credits)} DESC, {", ".join(f"{d} ASC NULLS LAST" for d in q.group_by)}
        LIMIT {{limit:UInt32}}
        """,
        {**params, "limit": q.limit},
    )
    return compared_answer(q, models, *_totals(run, ctes, params), rows)
