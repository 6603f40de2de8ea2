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

__all__ = ["path_codes", "path_per_conversion", "paths", "seconds_per_conversion", "time_to_convert"]


def _decoded(codes: str, direct: str) -> str:
    """The path of `codes` (a list of `coded`'s codes; NULL for a conversion without any
    touchpoint) in the dimension's values, with the CTE `names` joined."""
    return f"CASE WHEN {codes} IS NULL THEN [{direct}] ELSE list_transform({codes}, lambda c: names[c]) END"


# A touchpoint packs into one BIGINT, (its start - the earliest start) // q * m + its code,
# under this: q is 1 unless (latest start - earliest, in µs) * (codes + 1) reaches it
# (146 years at a thousand values), and then starts within q µs pack alike.
PACK_LIMIT = 2**62


def path_codes(q: AttributionQuery, params: dict[str, Any]) -> str:
    """`touchpoints`, then `names` (one row: the list of the `q.group_by[0]` values the
    scope's sessions have, in `session_dims`, a value's code being its place there) and
    `coded`: each conversion's cid, value and path as a list of those codes (NULL without any
    touchpoint; see `_decoded`).

    The touchpoints carry only what a path reads, and find their code by their session's
    `dims_key` in the few rows of `session_dims`: no value is decoded per touchpoint, nor
    its conversion's time and value carried (10M events: decoding each touchpoint's values,
    then finding the codes by those strings, was ~5-10% of the read).

    The paths are built and grouped as lists of integers: numbering 883k touchpoints in a
    window sorted by (start, session id), then building, sorting and grouping lists of the
    strings, was most of the paths read at 10M events (~2 s of CPU). Each conversion's list
    is sorted by start, which is the credited order unless two of its touchpoints start at
    the same instant; only those conversions (`tied`, rare: usually none, and then the window
    reads nothing) are put in order by a window over (start, session id).

    A touchpoint goes into its list as one BIGINT (`pack`, `PACK_LIMIT`): its start times `m`
    (more than the codes) plus its code, so the list sorts as integers and its codes are the
    remainders (10M events: lists of (start, code) structs took ~15% longer; of HUGEINTs, as
    long; `list(code ORDER BY start_ts)`, ~45% longer). The earliest start is read from `near`
    and `own`, which `touch` joins to their codes. Should starts
    pack coarser than µs (`q` > 1), touchpoints packed alike count as tied, so the order stays
    exact."""
    dim = q.group_by[0]
    assert dim in ATTRIBUTION_DIMENSIONS
    return credit.touchpoints(q, params, carry=("start_ts", "dims_key", "rid", "shared")) + f""",
        codes AS MATERIALIZED (
            SELECT dims_key, {dim} AS name,
                   dense_rank() OVER (ORDER BY {dim} NULLS LAST)::INTEGER AS code
            -- and NULL values for a session without a dims_key (the loader gives each one)
            FROM (SELECT dims_key, {dim} FROM session_dims WHERE project_id = $project AND env = $env
                  UNION ALL SELECT NULL, NULL)
        ),
        names AS (SELECT list(name ORDER BY code) AS names FROM (SELECT DISTINCT code, name FROM codes)),
        pack AS MATERIALIZED (
            SELECT lo, m, coalesce((span::HUGEINT * m // {PACK_LIMIT} + 1)::BIGINT, 1) AS q
            FROM (SELECT epoch_us(min(start_ts)) AS lo,
                         epoch_us(max(start_ts)) - epoch_us(min(start_ts)) AS span
                  FROM (SELECT start_ts FROM near UNION ALL SELECT start_ts FROM own)),
                 (SELECT max(code) + 1 AS m FROM codes)
        ),
        touch_coded AS NOT MATERIALIZED (
            SELECT t.cid, t.start_ts, t.rid, t.shared, k.code
            FROM touch t JOIN codes k ON t.dims_key IS NOT DISTINCT FROM k.dims_key
        ),
        -- Lists of integers: lists holding strings ran out of memory at 10M events under
        -- 96 MB, and an ordered aggregate of them did at 3M.
        sorted AS MATERIALIZED (
            SELECT cid, bool_or(shared) AS sharing,
                   list_sort(list((epoch_us(start_ts) - lo) // q * m + code)) AS l
            FROM touch_coded, pack GROUP BY cid
        ),
        -- Only touchpoints whose session shares its start with another can tie
        -- (`sessions.FLAG_SHARED_STARTS`): the other lists are not looked through.
        tied AS (
            SELECT cid FROM sorted, pack
            WHERE (sharing OR q > 1) AND list_unique(list_transform(l, lambda t: t // m)) < len(l)
        ),
        -- A list window would copy each conversion's list to each of its rows: quadratic for
        -- a person with thousands of sessions, so the tied are numbered, then listed. The
        -- tied are picked by a mark join, whose hash table holds the few tied: joined to
        -- them, DuckDB built it from the 883k touchpoints to probe it with none (10M
        -- events: ~80 ms of CPU); and when there are none, the touchpoints are not decoded
        -- to be looked for (~3% of the read).
        retied AS (
            SELECT cid, list_transform(list_sort(list((pos, code))), lambda t: t[2]) AS path
            FROM (
                SELECT cid, code,
                       row_number() OVER (PARTITION BY cid ORDER BY start_ts, session_id) AS pos
                FROM (
                    SELECT * FROM touch_coded
                    WHERE (SELECT count(*) FROM tied) > 0
                      AND coalesce(cid IN (SELECT cid FROM tied), false)
                )
                JOIN (SELECT rowid AS rid, session_id FROM sessions) USING (rid)
            )
            GROUP BY cid
        ),
        coded AS (
            SELECT c.cid, c.value,
                   coalesce(r.path, list_transform(s.l, lambda t: (t % m)::INTEGER)) AS path
            FROM conv c LEFT JOIN sorted s USING (cid) LEFT JOIN retied r USING (cid), pack
        )"""


def path_per_conversion(q: AttributionQuery, params: dict[str, Any]) -> str:
    """`path_codes`, then `per_conversion`: each conversion's cid, value and path (the
    `q.group_by[0]` of its touchpoints by (session start, session id), `[direct]` without
    any): what `paths` counts, and what the list behind one path picks from."""
    direct = credit.DIRECT[q.group_by[0]]
    return path_codes(q, params) + f""",
        per_conversion AS (
            SELECT cid, value, {_decoded("path", direct)} AS path FROM coded, names
        )"""


def paths(run: Runner, q: AttributionQuery) -> dict[str, Any]:
    """The most common sequences of `q.group_by[0]` (channel, source…) over a conversion's
    touchpoints, with their conversions, value and share of all conversions."""
    params: dict[str, Any] = {"limit": q.limit}
    direct = credit.DIRECT[q.group_by[0]]
    # Grouped by the lists of codes, then by their values: a path with one direct touchpoint
    # and no touchpoint at all are both `[direct]`.
    (conversions, value), rows = credit.answered(
        run,
        path_codes(q, params),
        f""",
        by_code AS (SELECT path, count(*) AS n, sum(value) AS v FROM coded GROUP BY 1),
        grouped AS MATERIALIZED (
            SELECT {_decoded("path", direct)} AS path, sum(n) AS conversions, sum(v) AS value
            FROM by_code, names GROUP BY 1
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
    return credit.touchpoints(q, params, carry=("ts", "start_ts")) + """,
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
