"""What converters did before converting, in ClickHouse SQL: their paths and how long it took,
over the touchpoints `credit` weighs, as on DuckDB (store/duckdb/journeys.py); the answers are
shaped by `store/answers.py`."""

from __future__ import annotations

from typing import Any

from footfall.read.queries import ATTRIBUTION_DIMENSIONS, AttributionQuery
from footfall.store.answers import PERCENTILES, TIME_BUCKETS, paths_answer, time_to_convert_answer
from footfall.store.clickhouse import credit
from footfall.store.clickhouse.reads import Runner, round_half_up

__all__ = ["path_per_conversion", "path_text", "paths", "seconds_per_conversion", "time_to_convert"]

# DuckDB's text of a list of strings (`path::VARCHAR`), the paths' last tie-break: elements
# joined by ", " in brackets, NULL as NULL, and quoted ('…', with \ and ' escaped) when they
# hold a quote, bracket, brace, parenthesis, comma, colon, equals sign or backslash, start or
# end with ASCII white space, are empty or spell null.
_ELEMENT = r"""if(x IS NULL, 'NULL', if(
    match(x, '[''"(),:=\\[\\]{}\\\\]') OR match(x, '^[\\t\\n\\v\\f\\r ]|[\\t\\n\\v\\f\\r ]$')
        OR x = '' OR lower(x) = 'null',
    concat('''', replaceAll(replaceAll(x, '\\', '\\\\'), '''', '\\'''), ''''), x))"""


def path_text(array: str) -> str:
    """SQL: the text DuckDB casts the list of strings `array` to."""
    return f"concat('[', arrayStringConcat(arrayMap(x -> {_ELEMENT}, {array}), ', '), ']')"


def nearest_rank(sorted_values: str, n: str, level: float) -> str:
    """SQL: the nearest-rank quantile (DuckDB's quantile_disc: the value at 1-based position
    ceil(n * level)) of an ascending array. ClickHouse's quantileExact* take floor(n * level)
    and its variants differ from it when n * level is a whole number."""
    return f"arrayElement({sorted_values}, toUInt64(greatest(ceil({n} * {level!r}), 1)))"


def path_per_conversion(q: AttributionQuery, params: dict[str, Any]) -> str:
    """`touchpoints`, then `per_conversion`: each conversion's uid, path and value, as on
    DuckDB (store/duckdb/journeys.py `path_per_conversion`)."""
    dim = q.group_by[0]
    assert dim in ATTRIBUTION_DIMENSIONS
    return credit.touchpoints(q, params) + f""",
        touch_paths AS (
            SELECT uid, arrayMap(t -> t.3, arraySort(groupArray((start_ts, session_id, {dim}))))
                       AS path
            FROM touch GROUP BY uid
        ),
        per_conversion AS (
            SELECT c.uid AS uid, if(t.uid IS NULL, [{credit.DIRECT[dim]}], t.path) AS path,
                   c.value AS value
            FROM conv AS c LEFT JOIN touch_paths AS t ON t.uid = c.uid
        )"""


def paths(run: Runner, q: AttributionQuery) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": q.limit}
    ctes = path_per_conversion(q, params)
    _names, rows = run(
        ctes
        + f""",
        grouped AS (
            SELECT path, count() AS conversions, sum(value) AS credited
            FROM per_conversion GROUP BY path
        )
        SELECT path, conversions, credited FROM grouped
        ORDER BY conversions DESC, {round_half_up("credited", 6)} DESC, length(path),
                 {path_text("path")}
        LIMIT {{limit:UInt32}}
        """,
        params,
    )
    _names, totals = run(ctes + " SELECT count(), coalesce(sum(value), 0.0) FROM conv", params)
    conversions, value = totals[0]
    return paths_answer(q, conversions, value, rows)


def seconds_per_conversion(q: AttributionQuery, params: dict[str, Any]) -> str:
    """`touchpoints`, then `per_conversion`: each conversion with touchpoints (uid), its
    seconds from the first touchpoint's start and its touchpoints, as on DuckDB."""
    return credit.touchpoints(q, params) + """,
        per_conversion AS (
            SELECT uid,
                   (toUnixTimestamp64Micro(any(ts)) - toUnixTimestamp64Micro(min(start_ts))) / 1e6
                       AS seconds,
                   count() AS touchpoints
            FROM touch GROUP BY uid
        )"""


def time_to_convert(run: Runner, q: AttributionQuery) -> dict[str, Any]:
    params: dict[str, Any] = {}
    edges = [*TIME_BUCKETS[1:], None]
    buckets = ", ".join(
        f"countIf(seconds >= {lo}" + (f" AND seconds < {hi})" if hi else ")")
        for lo, hi in zip(TIME_BUCKETS, edges, strict=True)
    )
    quantiles = ", ".join(nearest_rank("sorted_seconds", "n", p) for p in PERCENTILES)
    _names, rows = run(
        seconds_per_conversion(q, params)
        + f"""
        SELECT (SELECT count() FROM conv), count() AS n,
               arraySort(groupArray(seconds)) AS sorted_seconds, [{quantiles}],
               avg(seconds), min(seconds), max(seconds),
               {nearest_rank("arraySort(groupArray(touchpoints))", "n", 0.5)}, {buckets}
        FROM per_conversion
        """,
        params,
    )
    total, timed, _sorted, ranks, mean, low, high, touchpoints, *counts = rows[0]
    return time_to_convert_answer(q, total, timed, ranks, mean, low, high, touchpoints, counts)
