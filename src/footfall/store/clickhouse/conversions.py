"""The conversions behind one number of the attribution reads, in ClickHouse SQL, as on DuckDB
(store/duckdb/conversions.py): picked from the CTEs the number is counted from."""

from __future__ import annotations

from typing import Any

from footfall.read.queries import ATTRIBUTION_MODELS, ConversionsQuery
from footfall.store.clickhouse import credit, journeys
from footfall.store.clickhouse.reads import ISO_MICROS, Runner
from footfall.store.conversion_list import BEHIND, bucket_where, conversions_answer

__all__ = ["conversions_behind", "every_conversion_sql"]


def _chosen(q: ConversionsQuery, params: dict[str, Any]) -> str:
    """The builder's CTEs, then `chosen`: (uid, seconds, touchpoints, credit, credited)."""
    a = q.attribution
    nothing = "CAST(NULL AS Nullable(Float64))"
    if q.behind == "path":
        params["path"] = list(q.path)
        return journeys.path_per_conversion(a, params) + f""",
        chosen AS (
            SELECT uid, {nothing} AS seconds, CAST(NULL AS Nullable(UInt64)) AS touchpoints,
                   {nothing} AS credit, {nothing} AS credited
            FROM per_conversion WHERE path = {{path:Array(Nullable(String))}}
        )"""
    if q.behind == "bucket":
        return journeys.seconds_per_conversion(a, params) + f""",
        chosen AS (
            SELECT uid, seconds, touchpoints, {nothing} AS credit, {nothing} AS credited
            FROM per_conversion WHERE {bucket_where(q.bucket)}
        )"""
    assert a.model in ATTRIBUTION_MODELS
    params["key"] = q.key
    dim = a.group_by[0]
    return credit.credited(a, params) + f""",
        chosen AS (
            SELECT uid, {nothing} AS seconds, CAST(NULL AS Nullable(UInt64)) AS touchpoints,
                   sum(w) AS credit, sum(w * value) AS credited
            FROM credited
            WHERE {dim} = {{key:Nullable(String)}}
               OR ({dim} IS NULL AND {{key:Nullable(String)}} IS NULL)
            GROUP BY uid HAVING sum(w) > 0
        )"""


def _picked(q: ConversionsQuery) -> tuple[str, dict[str, Any]]:
    """The CTEs through `picked`: each conversion behind the number, and their params."""
    assert q.behind in BEHIND
    params: dict[str, Any] = {}
    ctes = _chosen(q, params) + """,
        picked AS (
            SELECT c.uid AS uid, c.ts AS ts, c.person AS person, c.session_id AS session_id,
                   c.value AS value, k.seconds AS seconds, k.touchpoints AS touchpoints,
                   k.credit AS credit, k.credited AS credited
            FROM chosen AS k INNER JOIN conv AS c ON c.uid = k.uid
        )"""
    return ctes, params


def conversions_behind(run: Runner, q: ConversionsQuery) -> dict[str, Any]:
    ctes, params = _picked(q)
    totals = ("count()", "uniqExact(person)", "sum(value)", "sum(credit)", "sum(credited)")
    _names, rows = run(
        ctes
        + f"""
        SELECT uid, formatDateTime(ts, '{ISO_MICROS}'), person, session_id, value, seconds,
               touchpoints, credit, credited, {", ".join(f"{t} OVER ()" for t in totals)}
        FROM picked ORDER BY ts DESC, uid DESC
        LIMIT {{limit:UInt32}} OFFSET {{offset:UInt32}}
        """,
        {**params, "limit": q.limit, "offset": q.offset},
    )
    if rows:
        total = rows[0][9:]
    else:
        _names, got = run(ctes + f" SELECT {', '.join(totals)} FROM picked", params)
        total = got[0]
    return conversions_answer(q, total, [r[:9] for r in rows])


def every_conversion_sql(q: ConversionsQuery) -> tuple[str, dict[str, Any]]:
    """The SQL of every conversion `conversions_behind` pages through (`limit` and `offset`
    ignored), in its order, its columns named as `CONVERSION_COLUMNS`, and its params."""
    ctes, params = _picked(q)
    sql = ctes + f"""
        SELECT uid, formatDateTime(ts, '{ISO_MICROS}') AS ts, person, session_id, value,
               seconds, touchpoints, credit, credited
        FROM picked ORDER BY picked.ts DESC, uid DESC
    """
    return sql, params
