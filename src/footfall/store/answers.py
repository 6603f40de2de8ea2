"""What every backend shares around its SQL: answer shapes, and which reads a rollup answers.

The SQL differs per backend; the answers must not (tests/store/conformance checks it), so the
parts after the SQL live here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time
from typing import Any

from footfall.read.queries import AttributionQuery, FunnelPeopleQuery, FunnelQuery, StatsQuery

__all__ = [
    "PERCENTILES",
    "ROLLUP_DIMENSIONS",
    "SESSION_COLUMNS",
    "TIME_BUCKETS",
    "attribution_answer",
    "attribution_header",
    "compared_answer",
    "covers",
    "funnel_answer",
    "funnel_people_answer",
    "funnel_people_where",
    "naive_utc",
    "paths_answer",
    "time_to_convert_answer",
]


def naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _steps(q: FunnelQuery, people: list[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, (step, n) in enumerate(zip(q.steps, people, strict=True)):
        first, previous = people[0], people[i - 1] if i else people[0]
        out.append({
            "step": i + 1,
            "event": step.event,
            "where": dict(step.where),
            "people": n,
            "conversion_rate": round(n / first, 6) if first else 0.0,
            "step_conversion_rate": round(n / previous, 6) if previous else 0.0,
        })  # fmt: skip
    return out


def funnel_answer(q: FunnelQuery, rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    """The funnel answer from (step, breakdown value, people) rows."""
    n = len(q.steps)
    counts: dict[Any, list[int]] = {}
    for step, grp, people in rows:
        counts.setdefault(grp, [0] * n)[int(step) - 1] = int(people)
    overall = [sum(c[i] for c in counts.values()) for i in range(n)]
    answer: dict[str, Any] = {
        "steps": _steps(q, overall),
        "window_seconds": q.window_seconds,
        "breakdown": q.breakdown,
    }
    if q.breakdown is not None:
        order = sorted(counts.items(), key=lambda kv: (-kv[1][0], kv[0] is None, str(kv[0])))
        answer["groups"] = [{"value": value, "steps": _steps(q, c)} for value, c in order]
    return answer


def attribution_answer(
    q: AttributionQuery, conversions: Any, value: Any, rows: Iterable[Sequence[Any]]
) -> dict[str, Any]:
    """The attribution answer from the totals and (*group_by, credit, credit_value) rows."""
    return {
        **attribution_header(q, conversions, value),
        "rows": [
            {
                **dict(zip(q.group_by, row, strict=False)),
                "conversions": round(float(row[-2]), 6),
                "value": round(float(row[-1]), 6),
            }
            for row in rows
        ],
    }


def attribution_header(q: AttributionQuery, conversions: Any, value: Any) -> dict[str, Any]:
    return {
        "model": q.model,
        "conversion": q.conversion,
        "value_property": q.value_property,
        "lookback_seconds": q.lookback_seconds,
        "totals": {"conversions": int(conversions), "value": round(float(value), 6)},
    }


def compared_answer(
    q: AttributionQuery, models: Sequence[str], conversions: Any, value: Any,
    rows: Iterable[Sequence[Any]],
) -> dict[str, Any]:
    """Every model side by side from (*group_by, then per model: credit, credit_value, then the
    spread between the models' rounded credits) rows; `disagreement` is that spread as a share
    of all conversions."""
    answer = attribution_header(q, conversions, value)
    answer["model"] = "all"
    answer["models"] = list(models)
    n, width = answer["totals"]["conversions"], len(q.group_by)
    answer["rows"] = [
        {
            **dict(zip(q.group_by, row, strict=False)),
            "conversions": {m: round(float(row[width + 2 * i]), 6) for i, m in enumerate(models)},
            "value": {m: round(float(row[width + 2 * i + 1]), 6) for i, m in enumerate(models)},
            "disagreement": round(float(row[-1]) / n, 6) if n else 0.0,
        }
        for row in rows
    ]
    return answer


# Time-to-convert histogram lower bounds in seconds: under 1 h, 1-24 h, 1-3 d, 3-7 d, 7-14 d,
# 14-30 d, 30+ d; and its percentiles (nearest rank, as SQL's quantile_disc).
TIME_BUCKETS = (0, 3600, 86400, 3 * 86400, 7 * 86400, 14 * 86400, 30 * 86400)
PERCENTILES = (0.25, 0.5, 0.75, 0.9)


def paths_answer(
    q: AttributionQuery, conversions: Any, value: Any, rows: Iterable[Sequence[Any]]
) -> dict[str, Any]:
    """Conversion paths from the totals and (path, conversions, value) rows."""
    answer = attribution_header(q, conversions, value)
    del answer["model"]
    n = answer["totals"]["conversions"]
    answer["dimension"] = q.group_by[0]
    answer["rows"] = [
        {
            "path": list(path),
            "touchpoints": len(path),
            "conversions": int(count),
            "value": round(float(credit), 6),
            "share": round(count / n, 6) if n else 0.0,
        }
        for path, count, credit in rows
    ]
    return answer


def time_to_convert_answer(
    q: AttributionQuery, total: Any, timed: Any, quantiles: Sequence[Any] | None, mean: Any,
    low: Any, high: Any, touchpoints: Any, counts: Sequence[Any],
) -> dict[str, Any]:
    """Time to convert from the conversions, those with touchpoints (`timed`), the seconds'
    PERCENTILES, mean, min and max, the median touchpoints and the TIME_BUCKETS counts; the
    statistics are null when no conversion had a touchpoint."""
    answer = attribution_header(q, total, 0.0)
    for key in ("model", "value_property"):
        del answer[key]
    answer["totals"] = {"conversions": int(total), "with_touchpoints": int(timed)}
    if not timed:
        quantiles, mean, low, high, touchpoints = None, None, None, None, None

    def seconds(value: Any) -> float | None:
        return None if value is None else round(float(value), 3)

    answer["seconds"] = {
        **{f"p{round(p * 100)}": seconds(v) for p, v in zip(PERCENTILES, quantiles or [None] * 4, strict=True)},
        "mean": seconds(mean), "min": seconds(low), "max": seconds(high),
    }  # fmt: skip
    answer["median_touchpoints"] = None if touchpoints is None else int(touchpoints)
    edges = [*TIME_BUCKETS[1:], None]
    answer["buckets"] = [
        {"from_seconds": lo, "to_seconds": hi, "conversions": int(c)}
        for lo, hi, c in zip(TIME_BUCKETS, edges, counts, strict=True)
    ]
    return answer


def funnel_people_where(q: FunnelPeopleQuery, group: str) -> str:
    """The WHERE clause picking, from step `q.step`'s people (`s<step>` as `k`), those of the
    outcome and breakdown group (`group`: the backend's placeholder of the group parameter)."""
    f = q.funnel
    assert 1 <= q.step <= len(f.steps) and q.outcome in ("converted", "dropped")
    assert q.outcome == "converted" or q.step < len(f.steps)
    where = []
    if q.outcome == "dropped":
        where.append(f"k.person NOT IN (SELECT person FROM s{q.step + 1})")
    if q.group is not None:
        assert f.breakdown is not None
        where.append(f"k.grp = {group}")
    return "WHERE " + " AND ".join(where) if where else ""


def funnel_people_answer(
    q: FunnelPeopleQuery, total: int, rows: Iterable[Sequence[Any]]
) -> dict[str, Any]:
    """One page of the people behind a funnel step from (person, entered_at, reached_at,
    breakdown value, …) rows, timestamps as ISO text."""
    f = q.funnel
    return {
        "step": q.step,
        "event": f.steps[q.step - 1].event,
        "outcome": q.outcome,
        "breakdown": f.breakdown,
        "group": q.group,
        "total": total,
        "limit": q.limit,
        "offset": q.offset,
        "people": [
            {
                "person": row[0],
                "entered_at": row[1],
                "reached_at": row[2],
                **({"group": row[3]} if f.breakdown is not None else {}),
            }
            for row in rows
        ],
    }


def _midnight(value: datetime) -> bool:
    v = value.astimezone(UTC)
    return v.time() == time(0)


# The first-event columns every backend's sessions keep (a session summary filters on them;
# other filter columns keep the sessions that had such an event).
SESSION_COLUMNS = (
    "source", "medium", "campaign", "channel", "referrer_host", "device_type", "browser", "os",
    "country",
)  # fmt: skip

# The columns the daily rollup keeps (every backend's rollup has these).
ROLLUP_DIMENSIONS = (
    "name", "source", "medium", "campaign", "channel", "referrer_host", "country",
    "device_type", "browser", "os", "path",
)  # fmt: skip


def covers(q: StatsQuery) -> bool:
    """Can the rollup answer this exactly? Counts only, whole UTC days, day or longer buckets,
    grouped and filtered by columns the rollup keeps."""
    named = {"name" if c == "event_name" else c for c in (*q.group_by, *(f for f, _ in q.filters))}
    return (
        q.metric == "count"
        and named <= set(ROLLUP_DIMENSIONS)
        and q.timezone == "UTC"
        and q.interval in (None, "day", "week", "month")
        and _midnight(q.start)
        and _midnight(q.end)
    )
