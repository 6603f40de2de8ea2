"""The report's numbers, gathered from the read layer (the same questions `/v1/stats` and
`/v1/sessions` answer) and shaped for the templates. No SQL here: every figure is a `StatsQuery`
or `SessionSummaryQuery` answered by the store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from footfall.dashboard.state import (
    ReportState,
    comparison_dates,
    period_dates,
    utc_range,
    zone,
)
from footfall.model import Scope
from footfall.read.queries import SessionSummaryQuery, StatsQuery
from footfall.service import Footfall

__all__ = ["PANELS", "Panel", "Report", "build_report"]

PAGEVIEW = "$pageview"
PANEL_ROWS = 10


class Panel(msgspec.Struct, frozen=True):
    """One breakdown: rows of a column's values by visitors (or sessions, for entry/exit)."""

    name: str  # data-testid="panel-<name>"
    title: str
    columns: tuple[str, ...]  # group_by; a click filters on each
    event: str | None = None  # e.g. pages count pageviews' visitors only
    sessions: bool = False  # entry/exit pages: counted in sessions, from the sessions table
    filter_as: str | None = None  # the filter a click sets when it is not the column itself
    optional: bool = False  # shown only when it has rows (regions and cities need GeoIP files)

    @property
    def filter_columns(self) -> tuple[str, ...]:
        return (self.filter_as,) if self.filter_as else self.columns


PANELS = (
    Panel("channels", "Channels", ("channel",)),
    Panel("sources", "Sources", ("source",)),
    Panel("source_medium", "Source / medium", ("source", "medium")),
    Panel("referrers", "Referrers", ("referrer_host",)),
    Panel("campaigns", "UTM campaigns", ("campaign",)),
    Panel("utm_content", "UTM content", ("utm_content",), optional=True),
    Panel("utm_term", "UTM term", ("utm_term",), optional=True),
    Panel("pages", "Top pages", ("path",), event=PAGEVIEW),
    Panel("entry_pages", "Entry pages", ("entry_path",), sessions=True, filter_as="path"),
    Panel("exit_pages", "Exit pages", ("exit_path",), sessions=True, filter_as="path"),
    Panel("countries", "Countries", ("country",)),
    Panel("regions", "Regions", ("region",), optional=True),
    Panel("cities", "Cities", ("city",), optional=True),
    Panel("devices", "Devices", ("device_type",)),
    Panel("browsers", "Browsers", ("browser",)),
    Panel("os", "Operating systems", ("os",)),
    Panel("events", "Goals and events", ("event_name",)),
)


class Kpi(msgspec.Struct):
    name: str  # data-testid="kpi-<name>"
    label: str
    value: float | None
    previous: float | None
    kind: str = "number"  # number | ratio | percent | duration
    chartable: bool = False
    lower_is_better: bool = False

    @property
    def change(self) -> float | None:
        if self.value is None or not self.previous:
            return None
        return (self.value - self.previous) / self.previous


class Row(msgspec.Struct):
    labels: tuple[str | None, ...]
    value: float
    share: float  # of the panel's largest row, for the bar


class Report(msgspec.Struct):
    kpis: list[Kpi]
    chart: dict[str, Any]  # {"labels", "current", "previous", "metric"}
    panels: list[tuple[Panel, list[Row]]]
    first: date
    last: date
    compare_first: date | None
    compare_last: date | None


def _q(scope: Scope, rng: tuple[datetime, datetime], state: ReportState, **kw: Any) -> StatsQuery:
    return StatsQuery(scope=scope, start=rng[0], end=rng[1], filters=state.filters, limit=1000, **kw)


def _value(rows: list[dict[str, Any]]) -> float:
    return float(rows[0]["value"]) if rows and rows[0]["value"] is not None else 0.0


def _totals(
    svc: Footfall, scope: Scope, rng: tuple[datetime, datetime], state: ReportState
) -> dict[str, float | None]:
    """The KPI figures of one period (runs in a worker thread)."""
    st = svc.store
    visitors = _value(st.stats(_q(scope, rng, state, metric="uniques")))
    visits = _value(st.stats(_q(scope, rng, state, metric="sessions")))
    pageviews = _value(st.stats(_q(scope, rng, state, metric="count", event=PAGEVIEW)))
    (summary,) = st.session_summary(
        SessionSummaryQuery(scope=scope, start=rng[0], end=rng[1], filters=state.filters)
    )
    started = summary["sessions"]
    out: dict[str, float | None] = {
        "visitors": visitors, "visits": visits, "pageviews": pageviews,
        "views_per_visit": pageviews / visits if visits else None,
        "bounce_rate": summary["bounces"] / started if started else None,
        "visit_duration": float(summary["duration_s"]) / started if started else None,
    }
    if state.goal:
        conversions = _value(st.stats(_q(scope, rng, state, metric="uniques", event=state.goal)))
        out["conversions"] = conversions
        out["conversion_rate"] = conversions / visitors if visitors else None
        if state.value:
            out["revenue"] = _value(st.stats(_q(
                scope, rng, state, metric="sum", event=state.goal, value_property=state.value,
            )))
    return out


_CHART_QUERY: dict[str, Callable[[ReportState], dict[str, Any]]] = {
    "visitors": lambda s: {"metric": "uniques"},
    "visits": lambda s: {"metric": "sessions"},
    "pageviews": lambda s: {"metric": "count", "event": PAGEVIEW},
    "conversions": lambda s: {"metric": "uniques", "event": s.goal},
    "revenue": lambda s: {"metric": "sum", "event": s.goal, "value_property": s.value},
}


def bucket_starts(first: date, last: date, interval: str) -> list[datetime]:
    """Local bucket starts covering [first, last] (naive local times, as the read layer labels them).

    >>> [b.day for b in bucket_starts(date(2026, 3, 30), date(2026, 4, 2), "day")]
    [30, 31, 1, 2]
    >>> [b.isoformat() for b in bucket_starts(date(2026, 3, 4), date(2026, 3, 17), "week")]
    ['2026-03-02T00:00:00', '2026-03-09T00:00:00', '2026-03-16T00:00:00']
    """
    start = datetime(first.year, first.month, first.day)
    end = datetime(last.year, last.month, last.day) + timedelta(1)
    if interval == "week":
        start -= timedelta(start.weekday())
    if interval == "month":
        start = start.replace(day=1)
    out = []
    while start < end:
        out.append(start)
        if interval == "hour":
            start += timedelta(hours=1)
        elif interval == "day":
            start += timedelta(1)
        elif interval == "week":
            start += timedelta(7)
        else:
            start = (start.replace(day=28) + timedelta(4)).replace(day=1)
    return out


def _series(
    svc: Footfall, scope: Scope, first: date, last: date, tz: str, state: ReportState
) -> tuple[list[str], list[float]]:
    kw = _CHART_QUERY[state.metric](state)
    rng = utc_range(first, last, tz)
    rows = svc.store.stats(_q(scope, rng, state, interval=state.interval, timezone=tz, **kw))
    by_bucket = {r["bucket"].rstrip("Z"): float(r["value"] or 0) for r in rows}
    starts = bucket_starts(first, last, state.interval)
    labels = [b.isoformat() for b in starts]
    return labels, [by_bucket.get(label, 0.0) for label in labels]


def _panel(
    svc: Footfall, scope: Scope, rng: tuple[datetime, datetime], state: ReportState, panel: Panel
) -> list[Row]:
    if panel.sessions:
        rows = svc.store.session_summary(SessionSummaryQuery(
            scope=scope, start=rng[0], end=rng[1], group_by=panel.columns[0],
            filters=state.filters, limit=PANEL_ROWS,
        ))
        pairs = [((r[panel.columns[0]],), float(r["sessions"])) for r in rows]
    else:
        limit = PANEL_ROWS + 1 if panel.name == "events" else PANEL_ROWS
        rows = svc.store.stats(msgspec.structs.replace(
            _q(scope, rng, state, metric="uniques", event=panel.event, group_by=panel.columns),
            limit=limit,
        ))
        pairs = [(tuple(r[c] for c in panel.columns), float(r["value"])) for r in rows]
        if panel.name == "events":  # pageviews have their own KPIs
            pairs = [p for p in pairs if p[0][0] != PAGEVIEW][:PANEL_ROWS]
    top = max((v for _labels, v in pairs), default=0.0) or 1.0
    return [Row(labels, v, v / top) for labels, v in pairs]


async def build_report(svc: Footfall, scope: Scope, tz: str, state: ReportState) -> Report:
    """Every number of the page: KPIs of both periods, both chart lines, every panel. The reads
    run in worker threads side by side (one DuckDB cursor each), after the loader caught up."""
    today = datetime.now(zone(tz)).date()
    first, last = period_dates(state, today)
    compare = comparison_dates(state, first, last)
    rng = utc_range(first, last, tz)
    jobs: list[Callable[[], Any]] = [
        lambda: _totals(svc, scope, rng, state),
        lambda: _series(svc, scope, first, last, tz, state),
    ]
    if compare is not None:
        crng = utc_range(*compare, tz)
        jobs += [
            lambda: _totals(svc, scope, crng, state),
            lambda: _series(svc, scope, compare[0], compare[1], tz, state),
        ]
    jobs += [lambda p=p: _panel(svc, scope, rng, state, p) for p in PANELS]  # type: ignore[misc]
    results = await asyncio.gather(*(svc.read(job) for job in jobs))
    now, (labels, current) = results[0], results[1]
    before: dict[str, float | None] = results[2] if compare is not None else {}
    previous = results[3][1] if compare is not None else []
    panel_rows = results[4:] if compare is not None else results[2:]
    return Report(
        kpis=_kpis(now, before, state),
        chart={
            "labels": labels, "current": current, "previous": previous,
            "metric": state.metric, "interval": state.interval,
        },
        panels=[
            (p, rows) for p, rows in zip(PANELS, panel_rows, strict=True)
            if not p.optional or any(v is not None for r in rows for v in r.labels)
        ],
        first=first, last=last,
        compare_first=compare[0] if compare else None, compare_last=compare[1] if compare else None,
    )


def _kpis(now: dict[str, float | None], before: dict[str, float | None], state: ReportState) -> list[Kpi]:
    spec = [
        ("visitors", "Visitors", "number", True, False),
        ("visits", "Visits", "number", True, False),
        ("pageviews", "Pageviews", "number", True, False),
        ("views_per_visit", "Views per visit", "ratio", False, False),
        ("bounce_rate", "Bounce rate", "percent", False, True),
        ("visit_duration", "Visit duration", "duration", False, False),
    ]
    if state.goal:
        spec += [
            ("conversions", "Conversions", "number", True, False),
            ("conversion_rate", "Conversion rate", "percent", False, False),
        ]
        if state.value:
            spec.append(("revenue", "Revenue", "number", True, False))
    return [
        Kpi(name, label, now.get(name), before.get(name), kind, chartable, lower)
        for name, label, kind, chartable, lower in spec
    ]
