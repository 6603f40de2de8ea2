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


# A touchpoint packs into one BIGINT, (its start - the earliest start a lookback reaches)
# // q * m + its code, under this: q is 1 unless (the lookback and the range, in µs) * (codes
# + 1) reaches it (146 years at a thousand values), and then starts within q µs pack alike.
PACK_LIMIT = 2**62


def path_codes(q: AttributionQuery, params: dict[str, Any]) -> str:
    """`converters`, then `names` (one row: the list of the `q.group_by[0]` values the
    scope's sessions have, in `session_dims`, a value's code being its place there) and
    `coded`: each conversion's cid, value and path as a list of those codes (NULL without any
    touchpoint; see `_decoded`). The touchpoints are `credit.touchpoints`', in the order the
    models credit them: by (start, session id).

    Each conversion's list (`sorted`) is aggregated straight from the join of the
    conversions with their people's sessions in the lookback: the touchpoints are never held
    as rows. A session finds its code by its `dims_key` in the few rows of `session_dims`, so
    no value is decoded per touchpoint. The list is sorted by start, which is the credited
    order unless two of its touchpoints start at the same instant; and it lacks the
    conversion's own session when that is not among them (`lost`: older than the lookback,
    or not its person's; rare, as in `touchpoints`). Only those conversions (`odd`: usually
    a few hundred at most, often none, and then nothing more is read) are listed again from
    their touchpoints, ordered by a window over (start, session id). 10M events: the
    touchpoints held in `near` and read from it, as the models read them, were ~20% of the
    read, and spilled out of the store's 96 MB (~545 -> ~450 ms in-process).

    The paths are built and grouped as lists of integers: numbering 883k touchpoints in a
    window sorted by (start, session id), then building, sorting and grouping lists of the
    strings, was most of the paths read at 10M events (~2 s of CPU). A touchpoint goes into
    its list as one BIGINT (`pack`, `PACK_LIMIT`): its start times `m` (more than the codes)
    plus its code, so the list sorts as integers and its codes are the remainders (10M
    events: lists of (start, code) structs took ~15% longer; of HUGEINTs, as long;
    `list(code ORDER BY start_ts)`, ~45% longer). Should starts pack coarser than µs (`q` >
    1), touchpoints packed alike count as tied, so the order stays exact."""
    dim = q.group_by[0]
    assert dim in ATTRIBUTION_DIMENSIONS
    earliest = "$start - to_seconds($lookback)"
    return credit.converters(q, params) + f""",
        codes AS MATERIALIZED (
            SELECT dims_key, {dim} AS name,
                   dense_rank() OVER (ORDER BY {dim} NULLS LAST)::INTEGER AS code
            -- and NULL values for a session without a dims_key (the loader gives each one)
            FROM (SELECT dims_key, {dim} FROM session_dims WHERE project_id = $project AND env = $env
                  UNION ALL SELECT NULL, NULL)
        ),
        names AS (SELECT list(name ORDER BY code) AS names FROM (SELECT DISTINCT code, name FROM codes)),
        -- The sessions in `sorted` started in [earliest, $end): `sess` reads no others.
        pack AS MATERIALIZED (
            SELECT lo, m, coalesce((span::HUGEINT * m // {PACK_LIMIT} + 1)::BIGINT, 1) AS q
            FROM (SELECT epoch_us({earliest}) AS lo, epoch_us($end) - epoch_us({earliest}) AS span),
                 (SELECT max(code) + 1 AS m FROM codes)
        ),
        -- Lists of integers: lists holding strings ran out of memory at 10M events under
        -- 96 MB, and an ordered aggregate of them did at 3M.
        sorted AS MATERIALIZED (
            SELECT c.cid, any_value(c.value) AS value, bool_or(s.shared) AS sharing,
                   bool_or(s.own_key = c.own_key) AS has_own,
                   list_sort(list((epoch_us(s.start_ts) - lo) // q * m + k.code)) AS l
            FROM conv c JOIN sess s ON s.person_key = c.person_key
            JOIN codes k ON s.dims_key IS NOT DISTINCT FROM k.dims_key, pack
            WHERE {credit.IN_LOOKBACK}
            GROUP BY c.cid
        ),
        -- As in `touchpoints`: when every own session is in its list, none is lost, and no
        -- hash table of every list's conversion is built to find none.
        {credit.lost("sorted", "has_own")},
        -- Only touchpoints whose session shares its start with another can tie
        -- (`sessions.FLAG_SHARED_STARTS`): the other lists are not looked through.
        tied AS (
            SELECT cid FROM sorted, pack
            WHERE (sharing OR q > 1) AND list_unique(list_transform(l, lambda t: t // m)) < len(l)
        ),
        odd AS MATERIALIZED (SELECT cid FROM tied UNION SELECT cid FROM lost),
        -- The odd are picked by a mark join, whose hash table holds the few odd (joined to
        -- them, DuckDB built it from every conversion to probe it with none), and read again
        -- only when there are any. Their sessions are looked up from the table, not `sess`:
        -- read twice, DuckDB would hold all of `sess`.
        odd_touch AS (
            SELECT c.cid, s.start_ts, s.dims_key, s.session_id
            FROM (
                SELECT * FROM conv
                WHERE (SELECT count(*) FROM odd) > 0 AND coalesce(cid IN (SELECT cid FROM odd), false)
            ) c
            JOIN ({credit.sessions(q, f"s.start_ts >= {earliest}", ", s.session_id")}) s
              ON s.person_key = c.person_key
            WHERE {credit.IN_LOOKBACK}
            UNION ALL
            SELECT c.cid, s.start_ts, s.dims_key, s.session_id
            FROM {credit.owned(q, ", s.session_id")}
        ),
        -- A list window would copy each conversion's list to each of its rows: quadratic for
        -- a person with thousands of sessions, so the odd are numbered, then listed.
        retied AS (
            SELECT cid, list_transform(list_sort(list((pos, code))), lambda t: t[2]) AS path
            FROM (
                SELECT cid, code,
                       row_number() OVER (PARTITION BY cid ORDER BY start_ts, session_id) AS pos
                FROM odd_touch t JOIN codes k ON t.dims_key IS NOT DISTINCT FROM k.dims_key
            )
            GROUP BY cid
        ),
        -- Each list's conversion carries its value, and only the conversions without one are
        -- looked for (none, when every conversion has a list): joined to every conversion, the
        -- lists went into a hash table (10M events: paths ~383 -> ~344 ms).
        coded AS (
            SELECT s.cid, s.value,
                   coalesce(r.path, list_transform(s.l, lambda t: (t % m)::INTEGER)) AS path
            FROM sorted s LEFT JOIN retied r USING (cid), pack
            UNION ALL
            SELECT c.cid, c.value, r.path
            FROM (
                SELECT * FROM conv
                WHERE (SELECT count(*) FROM sorted) < (SELECT count(*) FROM conv)
                  AND NOT coalesce(cid IN (SELECT cid FROM sorted), false)
            ) c LEFT JOIN retied r USING (cid)
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
    params: dict[str, Any] = {"limit": q.limit, **credit.key_ceiling(run)}
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
    """`converters`, then `per_conversion`: each conversion with touchpoints (cid), the
    seconds from its first touchpoint's start to it, and its number of touchpoints: what
    `time_to_convert` counts, and what the list behind one of its buckets picks from.

    As for paths, each conversion's figures are aggregated straight from the touchpoints
    join (`found`), and only the conversions whose own session is not among them (`lost`,
    rare) have it added."""
    return credit.converters(q, params) + f""",
        found AS MATERIALIZED (
            SELECT c.cid, any_value(c.ts) AS ts, min(s.start_ts) AS first, count(*) AS n,
                   bool_or(s.own_key = c.own_key) AS has_own
            FROM conv c JOIN sess s ON s.person_key = c.person_key
            WHERE {credit.IN_LOOKBACK}
            GROUP BY c.cid
        ),
        {credit.lost("found", "has_own")},
        own AS (
            SELECT c.cid, c.ts, s.start_ts AS first, 1 AS n
            FROM {credit.owned(q)}
        ),
        -- With none lost, the figures are each conversion's row of `found`; else its rows
        -- there and in `own` are added up.
        per_conversion AS MATERIALIZED (
            SELECT cid, (epoch_us(ts) - epoch_us(first)) / 1e6 AS seconds, n AS touchpoints
            FROM found, mended WHERE NOT any_lost
            UNION ALL
            SELECT cid, (epoch_us(any_value(ts)) - epoch_us(min(first))) / 1e6, sum(n)::BIGINT
            FROM (SELECT cid, ts, first, n FROM found UNION ALL SELECT * FROM own), mended
            WHERE any_lost GROUP BY cid
        )"""


def time_to_convert(run: Runner, q: AttributionQuery) -> dict[str, Any]:
    """Seconds from each conversion's first touchpoint's start to the conversion: exact
    percentiles (the nearest-rank value, `quantile_disc`), mean, min, max, a histogram over
    `TIME_BUCKETS`, and the median number of touchpoints."""
    params = credit.key_ceiling(run)
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
