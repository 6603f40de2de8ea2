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


def _read(ring: str, first: str, n: str) -> str:
    """The path (a list of `n` codes) held in `ring`, the first code at slot `first` % slots
    (see `path_codes`), with the CTE `shape` joined."""
    return (
        f"list_transform(range({n}), lambda i: "
        f"(({ring} >> (b * (({first} + i) % slots))::INTEGER) & mask)::INTEGER)"
    )


# A conversion whose path `ringed` holds: every touchpoint numbered, their numbers a run
# without a gap, no more than fit (with `shape`).
_RINGED = "numbered = n AND hi - lo + 1 = n AND n <= slots"


def path_codes(q: AttributionQuery, params: dict[str, Any]) -> str:
    """`converters`, then `names` (one row: the list of the `q.group_by[0]` values the
    scope's sessions have, in `session_dims`, a value's code being its place there),
    `ringed` (each conversion with touchpoints: its path as it reads from its sessions'
    places, where `_RINGED` holds), `retied` (the exact path of each of the others, `odd`)
    and `unringed` (the conversions without any touchpoint found: their path is `retied`'s,
    or NULL without any; see `_decoded`). The touchpoints are `credit.touchpoints`', in the
    order the models credit them: by (start, session id).

    Each conversion's touchpoints are aggregated straight from the join of the conversions
    with their people's sessions in the lookback, and never listed: a conversion's
    touchpoints are a run of its person's sessions in that order, and each session's place
    in its person's (`seq`, session_order.py) puts its code at bit b * (place % slots) of
    one HUGEINT (`ring`: b bits a code, as many codes as fit in 127 bits). Their count,
    lowest and highest place then check it: a run of numbers without a gap, all there
    (`_RINGED`). 10M events: ~225 ms against ~310 for each conversion's list of (start,
    code) integers sorted (its list aggregate held ~60 MB and spilled out of the store's
    96 MB). A session finds its code by its `dims_key` in the few rows of `session_dims`,
    so no value is decoded per touchpoint.

    The odd ones are listed again from their touchpoints, ordered by a window over (start,
    session id): those with a session not numbered yet (written since the loader last
    numbered them; a bot's, when bots are asked for, has none), or a gap (a session
    deleted), or more touchpoints than fit; and those whose own session is
    not among their touchpoints (`lost`: older than the lookback, or not its person's)."""
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
        -- b bits a code (codes are 1..max), `slots` codes in 127 bits (the sign bit stays clear).
        shape AS MATERIALIZED (
            SELECT b, 127 // b AS slots, (1::HUGEINT << b) - 1 AS mask
            FROM (SELECT greatest(1, ceil(log2(max(code) + 1)))::INTEGER AS b FROM codes)
        ),
        ringed AS MATERIALIZED (
            SELECT c.cid, any_value(c.value) AS value,
                   -- NULL for a conversion without a session: none of its own to find
                   bool_or(s.own_key = c.own_key) AS has_own,
                   count(*) AS n, count(s.seq) AS numbered, min(s.seq) AS lo, max(s.seq) AS hi,
                   bit_or(k.code::HUGEINT << (b * (s.seq % slots))::INTEGER) AS ring
            FROM conv c JOIN sess s ON s.person_key = c.person_key
            JOIN codes k ON s.dims_key IS NOT DISTINCT FROM k.dims_key, shape
            WHERE {credit.IN_LOOKBACK}
            GROUP BY c.cid
        ),
        {credit.lost("ringed", "has_own")},
        odd AS MATERIALIZED (
            SELECT cid FROM ringed, shape WHERE NOT ({_RINGED})
            UNION SELECT cid FROM lost
        ),
        -- The odd are picked by a mark join, whose hash table holds the few odd (joined to
        -- them, DuckDB built it from every conversion to probe it with none), and read again
        -- only when there are any. Their sessions are looked up from the table, not `sess`:
        -- read twice, DuckDB would hold all of `sess`.
        odd_touch AS (
            SELECT c.cid, c.value, s.start_ts, s.dims_key, s.session_id
            FROM (
                SELECT * FROM conv
                WHERE (SELECT count(*) FROM odd) > 0 AND coalesce(cid IN (SELECT cid FROM odd), false)
            ) c
            JOIN ({credit.sessions(q, f"s.start_ts >= {earliest}", ", s.session_id")}) s
              ON s.person_key = c.person_key
            WHERE {credit.IN_LOOKBACK}
            UNION ALL
            SELECT c.cid, c.value, s.start_ts, s.dims_key, s.session_id
            FROM {credit.owned(q, ", s.session_id")}
        ),
        -- A list window would copy each conversion's list to each of its rows: quadratic for
        -- a person with thousands of sessions, so the odd are numbered, then listed.
        retied AS (
            SELECT cid, any_value(value) AS value,
                   list_transform(list_sort(list((pos, code))), lambda t: t[2]) AS path
            FROM (
                SELECT cid, value, code,
                       row_number() OVER (PARTITION BY cid ORDER BY start_ts, session_id) AS pos
                FROM odd_touch t JOIN codes k ON t.dims_key IS NOT DISTINCT FROM k.dims_key
            )
            GROUP BY cid
        ),
        -- Only the conversions without a touchpoint found are looked for (none, when every
        -- conversion has one): joined to every conversion, `ringed` went into a hash table.
        unringed AS (
            SELECT c.cid, c.value, r.path
            FROM (
                SELECT * FROM conv
                WHERE (SELECT count(*) FROM ringed) < (SELECT count(*) FROM conv)
                  AND NOT coalesce(cid IN (SELECT cid FROM ringed), false)
            ) c LEFT JOIN retied r USING (cid)
        )"""


def path_per_conversion(q: AttributionQuery, params: dict[str, Any]) -> str:
    """`path_codes`, then `per_conversion`: each conversion's cid, value and path (the
    `q.group_by[0]` of its touchpoints by (session start, session id), `[direct]` without
    any): what `paths` counts, and what the list behind one path picks from."""
    direct = credit.DIRECT[q.group_by[0]]
    return path_codes(q, params) + f""",
        coded AS (
            SELECT cid, value, {_read("ring", "lo", "n")} AS path FROM ringed, shape
            WHERE {_RINGED} AND coalesce(has_own, true)
            UNION ALL SELECT cid, value, path FROM retied
            UNION ALL SELECT cid, value, path FROM unringed WHERE path IS NULL
        ),
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
        -- The ringed conversions are counted by their ring and first slot, and only those
        -- (~35k at 10M events) are read back into paths.
        by_ring AS (
            SELECT ring, lo % slots AS first, n, count(*) AS k, sum(value) AS v
            FROM ringed, shape WHERE {_RINGED} AND coalesce(has_own, true)
            GROUP BY ALL
        ),
        by_code AS (
            SELECT {_read("ring", "first", "n")} AS path, sum(k) AS n, sum(v) AS v
            FROM by_ring, shape GROUP BY 1
            UNION ALL
            SELECT path, count(*), sum(value) FROM (
                SELECT path, value FROM retied UNION ALL SELECT path, value FROM unringed WHERE path IS NULL
            ) GROUP BY 1
        ),
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
