"""What converters did before converting, in DuckDB SQL: their paths and how long it took.

Both read the touchpoints `credit` weighs (the person's sessions that started within the
lookback before the conversion, plus the conversion's own session), so a path has exactly the
sessions the models credit, in the order they credit them: by (start_ts, session_id). A
conversion without any touchpoint has the path `[direct]` (as the models credit it) and no time
to convert (counted apart).
"""

from __future__ import annotations

from typing import Any

from footfall.read.queries import ATTRIBUTION_DIMENSIONS, AttributionQuery
from footfall.store.answers import PERCENTILES, TIME_BUCKETS, paths_answer, time_to_convert_answer
from footfall.store.duckdb import credit
from footfall.store.duckdb.reads import Runner

__all__ = ["path_per_conversion", "paths", "seconds_per_conversion", "time_to_convert"]


def path_per_conversion(q: AttributionQuery, params: dict[str, Any]) -> str:
    """`touchpoints`, then `per_conversion`: each conversion's cid, value and path (the
    `q.group_by[0]` of its touchpoints by (session start, session id), `[direct]` without
    any): what `paths` counts, and what the list behind one path picks from."""
    dim = q.group_by[0]
    assert dim in ATTRIBUTION_DIMENSIONS
    direct = credit.DIRECT[dim]
    return credit.touchpoints(q, params) + f""",
        -- Each touchpoint's place in its conversion from a window (whose sort spills), then
        -- each conversion's list of (place, value): lists of the (start, session id, value)
        -- structs ran out of memory at 10M events under 96 MB. A list window would copy each
        -- conversion's list to each of its rows: quadratic for a person with thousands of
        -- sessions (3,000 sessions and 300 conversions: 78 s, this way 1.3 s). The
        -- conversions join their lists afterwards (by integer id), so the window sorts the
        -- touchpoints alone; a conversion without a list has the direct path.
        placed AS (
            SELECT cid, {dim},
                   row_number() OVER (PARTITION BY cid ORDER BY start_ts, session_id) AS pos
            FROM touch
        ),
        listed AS (
            SELECT cid, list_transform(list_sort(list((pos, {dim}))), lambda t: t[2]) AS path
            FROM placed GROUP BY cid
        ),
        per_conversion AS (
            SELECT c.cid, c.value, coalesce(l.path, [{direct}]) AS path
            FROM conv c LEFT JOIN listed l USING (cid)
        )"""


def paths(run: Runner, q: AttributionQuery) -> dict[str, Any]:
    """The most common sequences of `q.group_by[0]` (channel, source…) over a conversion's
    touchpoints, with their conversions, value and share of all conversions."""
    params: dict[str, Any] = {"limit": q.limit}
    (conversions, value), rows = credit.answered(
        run,
        path_per_conversion(q, params),
        f""",
        grouped AS MATERIALIZED (
            SELECT path, count(*) AS conversions, sum(value) AS value
            FROM per_conversion GROUP BY 1
        )
        SELECT *, {credit.TOTALS} FROM grouped
        ORDER BY conversions DESC, round(value, 6) DESC, len(path), path::VARCHAR
        LIMIT $limit
        """,
        params,
    )
    return paths_answer(q, conversions, value, rows)


def seconds_per_conversion(q: AttributionQuery, params: dict[str, Any]) -> str:
    """`touchpoints`, then `per_conversion`: each conversion with touchpoints (cid), the
    seconds from its first touchpoint's start to it, and its number of touchpoints: what
    `time_to_convert` counts, and what the list behind one of its buckets picks from."""
    return credit.touchpoints(q, params) + """,
        per_conversion AS MATERIALIZED (
            SELECT cid, (epoch_us(any_value(ts)) - epoch_us(min(start_ts))) / 1e6 AS seconds,
                   count(*) AS touchpoints
            FROM touch GROUP BY cid
        )"""


def time_to_convert(run: Runner, q: AttributionQuery) -> dict[str, Any]:
    """Seconds from each conversion's first touchpoint's start to the conversion: exact
    percentiles (the nearest-rank value, `quantile_disc`), mean, min, max, a histogram over
    `TIME_BUCKETS`, and the median number of touchpoints."""
    params: dict[str, Any] = {}
    edges = [*TIME_BUCKETS[1:], None]
    buckets = ", ".join(
        f"count(*) FILTER (WHERE seconds >= {lo}" + (f" AND seconds < {hi})" if hi else ")")
        for lo, hi in zip(TIME_BUCKETS, edges, strict=True)
    )
    _names, rows = run(
        seconds_per_conversion(q, params)
        + f"""
        SELECT (SELECT count(*) FROM conv), count(*),
               quantile_disc(seconds, {list(PERCENTILES)}), avg(seconds), min(seconds),
               max(seconds), quantile_disc(touchpoints, 0.5), {buckets}
        FROM per_conversion
        """,
        params,
    )
    total, timed, quantiles, mean, low, high, touchpoints, *counts = rows[0]
    return time_to_convert_answer(q, total, timed, quantiles, mean, low, high, touchpoints, counts)
