"""The conversions behind one number of the attribution reads, in DuckDB SQL: one conversion
path, one time-to-convert bucket, or one row's credit under one model (`Store.conversions_behind`).

Each list picks from the CTEs its number is counted from (`journeys.path_per_conversion`,
`journeys.seconds_per_conversion`, `credit.credited`), so the list's count, or the sum of its
credit shares, is the number it sits behind.
"""

from __future__ import annotations

from typing import Any

from footfall.read.queries import ATTRIBUTION_MODELS, ConversionsQuery
from footfall.store.conversion_list import BEHIND, bucket_where, conversions_answer
from footfall.store.duckdb import credit, journeys
from footfall.store.duckdb.reads import Runner, scope_where

__all__ = ["conversions_behind", "every_conversion_sql"]

_ISO = "'%Y-%m-%dT%H:%M:%S.%fZ'"


def _chosen(q: ConversionsQuery, params: dict[str, Any]) -> str:
    """The builder's CTEs, then `chosen`: (cid, seconds, touchpoints, credit, credited) of
    each conversion behind the number."""
    a = q.attribution
    if q.behind == "path":
        params["path"] = list(q.path)
        return journeys.path_per_conversion(a, params) + """,
        chosen AS (
            SELECT cid, NULL::DOUBLE AS seconds, NULL::BIGINT AS touchpoints,
                   NULL::DOUBLE AS credit, NULL::DOUBLE AS credited
            FROM per_conversion WHERE path IS NOT DISTINCT FROM $path::VARCHAR[]
        )"""
    if q.behind == "bucket":
        return journeys.seconds_per_conversion(a, params) + f""",
        chosen AS (
            SELECT cid, seconds, touchpoints, NULL::DOUBLE AS credit, NULL::DOUBLE AS credited
            FROM per_conversion WHERE {bucket_where(q.bucket)}
        )"""
    assert a.model in ATTRIBUTION_MODELS
    params["key"] = q.key
    w = f"w_{a.model}"
    # A conversion is behind the row when the model gives the row some of it; its share is
    # the sum of its touchpoints' weights there (several of its visits may share the key).
    return credit.credited(a, params, (a.model,)) + f""",
        chosen AS (
            SELECT cid, NULL::DOUBLE AS seconds, NULL::BIGINT AS touchpoints,
                   sum({w}) AS credit, sum({w} * value) AS credited
            FROM credited LEFT JOIN named USING (dims_key)
            WHERE {a.group_by[0]} IS NOT DISTINCT FROM $key
            GROUP BY cid HAVING sum({w}) > 0
        )"""


def _picked(run: Runner, q: ConversionsQuery) -> tuple[str, dict[str, Any]]:
    """The CTEs through `picked`: each conversion behind the number (uid, ts, person_key,
    session_id, value, seconds, touchpoints, credit, credited), and their params."""
    assert q.behind in BEHIND
    params = credit.key_ceiling(run)
    ctes = _chosen(q, params)
    where = " AND ".join(scope_where(q.attribution, params, "e"))
    # The event's uid names the conversion in the answer (conv's cid is a row id of the table
    # it is read from): the list joins back to the conversion rows alone for it and the
    # session id (which `conv` does not carry, see `credit.conversions`), and its people's ids
    # come from their keys (a key names one id, so people are counted by key).
    ctes += f""",
        picked AS MATERIALIZED (
            SELECT u.uid, c.ts, c.person_key, u.session_id, c.value, k.seconds, k.touchpoints,
                   k.credit, k.credited
            FROM chosen k JOIN conv c USING (cid)
            JOIN (SELECT e.rowid AS cid, e.uid, e.session_id FROM {credit.conversions_in(q.attribution)} e
                  WHERE {where} AND e.name = $conversion) u USING (cid)
        )"""
    return ctes, params


def conversions_behind(run: Runner, q: ConversionsQuery) -> dict[str, Any]:
    """One page of the conversions behind the number, newest first (time, then uid), each
    with its person, and the totals of the whole list."""
    ctes, params = _picked(run, q)
    totals = ("count(*)", "count(DISTINCT person_key)", "sum(value)", "sum(credit)", "sum(credited)")
    _names, rows = run(
        ctes
        + f"""
        SELECT g.uid, strftime(g.ts, {_ISO}), p.id, g.session_id, g.value, g.seconds,
               g.touchpoints, g.credit, g.credited, {", ".join(f"g.t{i}" for i in range(len(totals)))}
        FROM (
            SELECT *, {", ".join(f"{t} OVER () AS t{i}" for i, t in enumerate(totals))}
            FROM picked ORDER BY ts DESC, uid DESC LIMIT $limit OFFSET $offset
        ) g
        LEFT JOIN (SELECT key, id FROM visitor_keys WHERE project_id = $project AND env = $env) p
          ON p.key = g.person_key
        ORDER BY g.ts DESC, g.uid DESC
        """,
        {**params, "limit": q.limit, "offset": q.offset},
    )
    if rows:
        total = rows[0][9:]
    else:  # past the last page, or none: the totals alone
        _names, got = run(ctes + f" SELECT {', '.join(totals)} FROM picked", params)
        total = got[0]
    return conversions_answer(q, total, [r[:9] for r in rows])


def every_conversion_sql(run: Runner, q: ConversionsQuery) -> tuple[str, dict[str, Any]]:
    """The SQL of every conversion `conversions_behind` pages through (`limit` and `offset`
    ignored), in its order, its columns named as `CONVERSION_COLUMNS`, and its params (`run`
    reads the key ceiling the CTEs need)."""
    ctes, params = _picked(run, q)
    sql = ctes + f"""
        SELECT g.uid, strftime(g.ts, {_ISO}) AS ts, p.id AS person, g.session_id, g.value,
               g.seconds, g.touchpoints, g.credit, g.credited
        FROM picked g
        LEFT JOIN (SELECT key, id FROM visitor_keys WHERE project_id = $project AND env = $env) p
          ON p.key = g.person_key
        ORDER BY g.ts DESC, g.uid DESC
    """
    return sql, params
