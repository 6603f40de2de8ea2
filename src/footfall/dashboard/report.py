"""The report's numbers, gathered from the read layer (the same questions `/v1/stats` and
`/v1/sessions` answer) and shaped for the templates. No SQL here: every figure is a `StatsQuery`
or `SessionSummaryQuery` answered by the store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from footfall.dashboard.api_links import api_call
from footfall.dashboard.lists import CSV_BATCH, report_range, streamed_rows
from footfall.dashboard.state import (
    ReportState,
    comparison_dates,
    period_dates,
    utc_range,
    zone,
)
from footfall.errors import FootfallError
from footfall.model import Scope
from footfall.read.queries import SessionSummaryQuery, StatsQuery
from footfall.service import Footfall
from footfall.store.base import Store

__all__ = [
    "PANELS", "Panel", "Report", "ReportRun", "build_report", "chart_query", "chart_rows",
    "kpi_rows", "panel_batches", "panel_csv_rows", "panel_header", "panel_rows",
]  # fmt: skip

PAGEVIEW = "$pageview"
PANEL_ROWS = 10
READS_AT_ONCE = 2


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
    panels: list[tuple[Panel, list[Row], bool]]  # (rows, more); the streamed page: ReportRun
    first: date
    last: date
    compare_first: date | None
    compare_last: date | None
    api: dict[str, str] = {}  # KPI or panel name → the API call giving the same numbers


def _q(scope: Scope, rng: tuple[datetime, datetime], state: ReportState, **kw: Any) -> StatsQuery:
    return StatsQuery(scope=scope, start=rng[0], end=rng[1], filters=state.filters, limit=1000, **kw)


def _value(rows: list[dict[str, Any]]) -> float:
    return float(rows[0]["value"]) if rows and rows[0]["value"] is not None else 0.0


def kpi_queries(
    scope: Scope, rng: tuple[datetime, datetime], state: ReportState
) -> dict[str, StatsQuery | SessionSummaryQuery]:
    """The reads behind the KPI figures of one period (`sessions`: bounce rate and duration)."""
    out: dict[str, StatsQuery | SessionSummaryQuery] = {
        "visitors": _q(scope, rng, state, metric="uniques"),
        "visits": _q(scope, rng, state, metric="sessions"),
        "pageviews": _q(scope, rng, state, metric="count", event=PAGEVIEW),
        "sessions": SessionSummaryQuery(scope=scope, start=rng[0], end=rng[1], filters=state.filters),
    }
    if state.goal:
        out["conversions"] = _q(scope, rng, state, metric="uniques", event=state.goal)
        if state.value:
            out["revenue"] = _q(scope, rng, state, metric="sum", event=state.goal, value_property=state.value)
    return out


def _total_jobs(
    svc: Footfall, scope: Scope, rng: tuple[datetime, datetime], state: ReportState
) -> dict[str, Callable[[], Any]]:
    """The KPI reads as one job each (they run side by side)."""
    st = svc.store

    def job(q: StatsQuery | SessionSummaryQuery) -> Callable[[], Any]:
        if isinstance(q, StatsQuery):
            return lambda: _value(st.stats(q))
        return lambda: st.session_summary(q)[0]

    return {name: job(q) for name, q in kpi_queries(scope, rng, state).items()}


def _figures(got: dict[str, Any]) -> dict[str, float | None]:
    """KPI figures from the jobs' answers (ratios of figures are made here, not read)."""
    visitors, visits, pageviews = got["visitors"], got["visits"], got["pageviews"]
    started = got["sessions"]["sessions"]
    out: dict[str, float | None] = {
        "visitors": visitors, "visits": visits, "pageviews": pageviews,
        "views_per_visit": pageviews / visits if visits else None,
        "bounce_rate": got["sessions"]["bounces"] / started if started else None,
        "visit_duration": float(got["sessions"]["duration_s"]) / started if started else None,
    }
    if "conversions" in got:
        out["conversions"] = got["conversions"]
        out["conversion_rate"] = got["conversions"] / visitors if visitors else None
    if "revenue" in got:
        out["revenue"] = got["revenue"]
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


def chart_query(scope: Scope, rng: tuple[datetime, datetime], state: ReportState, tz: str) -> StatsQuery:
    """The read behind the chart's line (its "API" link is this query)."""
    return _q(scope, rng, state, interval=state.interval, timezone=tz, **_CHART_QUERY[state.metric](state))


def _series(
    svc: Footfall, scope: Scope, first: date, last: date, tz: str, state: ReportState
) -> tuple[list[str], list[float]]:
    rows = svc.store.stats(chart_query(scope, utc_range(first, last, tz), state, tz))
    by_bucket = {r["bucket"].rstrip("Z"): float(r["value"] or 0) for r in rows}
    starts = bucket_starts(first, last, state.interval)
    labels = [b.isoformat() for b in starts]
    return labels, [by_bucket.get(label, 0.0) for label in labels]


def panel_query(
    scope: Scope, rng: tuple[datetime, datetime], state: ReportState, panel: Panel,
    limit: int = PANEL_ROWS,
) -> StatsQuery | SessionSummaryQuery:
    """The read behind a panel's first `limit` rows (its "API" link is this query)."""
    if panel.sessions:
        return SessionSummaryQuery(
            scope=scope, start=rng[0], end=rng[1], group_by=panel.columns[0],
            filters=state.filters, limit=limit,
        )
    return msgspec.structs.replace(
        _q(scope, rng, state, metric="uniques", event=panel.event, group_by=panel.columns),
        limit=limit + 1 if panel.name == "events" else limit,  # pageviews are left out
    )


def _panel(
    svc: Footfall, scope: Scope, rng: tuple[datetime, datetime], state: ReportState, panel: Panel,
    limit: int = PANEL_ROWS,
) -> tuple[list[Row], bool]:
    """A panel's first `limit` rows, and whether it has more."""
    q = panel_query(scope, rng, state, panel, limit + 1)
    if isinstance(q, SessionSummaryQuery):
        rows = svc.store.session_summary(q)
        pairs = [((r[panel.columns[0]],), float(r["sessions"])) for r in rows]
    else:
        rows = svc.store.stats(q)
        pairs = [(tuple(r[c] for c in panel.columns), float(r["value"])) for r in rows]
        if panel.name == "events":  # pageviews have their own KPIs
            pairs = [p for p in pairs if p[0][0] != PAGEVIEW]
    more, pairs = len(pairs) > limit, pairs[:limit]
    top = max((v for _labels, v in pairs), default=0.0) or 1.0
    return [Row(labels, v, v / top) for labels, v in pairs], more


async def panel_rows(
    svc: Footfall, scope: Scope, tz: str, state: ReportState, panel: Panel, limit: int
) -> tuple[list[Row], bool]:
    """One panel alone, up to `limit` rows ("show all")."""
    rng = report_range(state, tz)
    return await svc.read(lambda: _panel(svc, scope, rng, state, panel, limit))


def panel_header(panel: Panel) -> list[str]:
    """A panel's CSV columns: its labels, then its figure."""
    return [*panel.columns, "visits" if panel.sessions else "visitors"]


def panel_batches(
    store: Store, scope: Scope, rng: tuple[datetime, datetime], state: ReportState, panel: Panel,
    batch_rows: int,
) -> Iterator[list[dict[str, Any]]]:
    """Every row of a panel, keyed by `panel_header`, in the panel's order, as the store's
    batches of one read: a panel may have millions of rows (a site's URLs), so no more than a
    batch is held at once."""
    q = panel_query(scope, rng, state, panel)
    if isinstance(q, SessionSummaryQuery):
        batches, figure = store.session_summary_batches(q, batch_rows), "sessions"
    else:
        batches, figure = store.stats_batches(q, batch_rows), "value"
    name = panel_header(panel)[-1]
    try:
        for rows in batches:
            yield [
                {**{c: r[c] for c in panel.columns}, name: int(r[figure])}
                for r in rows
                if panel.name != "events" or r["event_name"] != PAGEVIEW  # they have KPIs of their own
            ]
    finally:
        batches.close()  # type: ignore[attr-defined]


async def panel_csv_rows(
    svc: Footfall, scope: Scope, tz: str, state: ReportState, panel: Panel
) -> AsyncIterator[list[Any]]:
    """A panel's CSV rows, every one, streamed; the store's error, if any, before the first."""
    batches = panel_batches(svc.store, scope, report_range(state, tz), state, panel, CSV_BATCH)
    return await streamed_rows(svc, batches, panel_header(panel))


class ReportRun:
    """A report whose reads start at once and run in the background, two at a time, in the
    order the page shows them: the page awaits the KPIs and the chart before its first byte,
    then streams each panel as its read finishes."""

    def __init__(self, svc: Footfall, scope: Scope, tz: str, state: ReportState) -> None:
        self.state = state
        today = datetime.now(zone(tz)).date()
        self.first, self.last = period_dates(state, today)
        compare = comparison_dates(state, self.first, self.last)
        self.compare_first: date | None = compare[0] if compare else None
        self.compare_last: date | None = compare[1] if compare else None
        rng = utc_range(self.first, self.last, tz)
        self.api = {name: api_call(q) for name, q in kpi_queries(scope, rng, state).items()}
        self.api |= {p.name: api_call(panel_query(scope, rng, state, p)) for p in PANELS}
        self.api["chart"] = api_call(chart_query(scope, rng, state, tz))
        # Two reads at a time: each already uses the store's threads, and two dozen at once
        # would share its memory limit (104 MB by default) and spill instead of going faster.
        gate = asyncio.Semaphore(READS_AT_ONCE)

        def start(job: Callable[[], Any]) -> asyncio.Task[Any]:
            async def run() -> Any:
                async with gate:
                    return await svc.read(job)

            return asyncio.ensure_future(run())

        self._now = {k: start(j) for k, j in _total_jobs(svc, scope, rng, state).items()}
        self._series = start(lambda: _series(svc, scope, self.first, self.last, tz, state))
        self._before: dict[str, asyncio.Task[Any]] = {}
        self._series_before: asyncio.Task[Any] | None = None
        if compare is not None:
            crng = utc_range(*compare, tz)
            self._before = {k: start(j) for k, j in _total_jobs(svc, scope, crng, state).items()}
            self._series_before = start(
                lambda: _series(svc, scope, compare[0], compare[1], tz, state)
            )
        self._panels = [
            (p, start(lambda p=p: _panel(svc, scope, rng, state, p)))  # type: ignore[misc]
            for p in PANELS
        ]

    async def head(self) -> Report:
        """KPIs and chart (raises the store's error, before anything was sent)."""
        now = _figures({k: await t for k, t in self._now.items()})
        before = _figures({k: await t for k, t in self._before.items()}) if self._before else {}
        labels, current = await self._series
        previous = (await self._series_before)[1] if self._series_before else []
        return Report(
            kpis=_kpis(now, before, self.state),
            chart={
                "labels": labels, "current": current, "previous": previous,
                "metric": self.state.metric, "interval": self.state.interval,
            },
            panels=[], first=self.first, last=self.last,
            compare_first=self.compare_first, compare_last=self.compare_last, api=self.api,
        )

    async def panels(self) -> AsyncIterator[tuple[Panel, list[Row] | None, bool]]:
        """Each panel in page order as soon as its read is done, and whether it has more rows
        than it shows; rows None when it failed."""
        for panel, task in self._panels:
            try:
                rows, more = await task
            except FootfallError:
                rows, more = None, False
            if rows is None or _shown(panel, rows):
                yield panel, rows, more

    def cancel(self) -> None:
        for task in (*self._now.values(), *self._before.values(), self._series,
                     *(t for _p, t in self._panels)):
            task.cancel()
        if self._series_before is not None:
            self._series_before.cancel()


def _shown(panel: Panel, rows: list[Row]) -> bool:
    return not panel.optional or any(v is not None for r in rows for v in r.labels)


async def kpi_rows(svc: Footfall, scope: Scope, tz: str, state: ReportState) -> list[list[Any]]:
    """The KPIs as rows: each one's name and figure, and with a comparison the compared
    period's figure beside it."""
    first, last = period_dates(state, datetime.now(zone(tz)).date())

    async def figures(days: tuple[date, date]) -> dict[str, float | None]:
        jobs = _total_jobs(svc, scope, utc_range(*days, tz), state)
        return _figures({name: await svc.read(job) for name, job in jobs.items()})

    compare = comparison_dates(state, first, last)
    now = await figures((first, last))
    before = await figures(compare) if compare else {}
    return [[k.name, k.value, *([k.previous] if compare else [])] for k in _kpis(now, before, state)]


async def chart_rows(svc: Footfall, scope: Scope, tz: str, state: ReportState) -> list[list[Any]]:
    """The chart's points as rows: each bucket's start and figure, and with a comparison the
    compared period's bucket at the same place and its figure (the chart draws them
    together)."""
    first, last = period_dates(state, datetime.now(zone(tz)).date())
    labels, current = await svc.read(lambda: _series(svc, scope, first, last, tz, state))
    compare = comparison_dates(state, first, last)
    if compare is None:
        return [[label, value] for label, value in zip(labels, current, strict=True)]
    then, before = await svc.read(lambda: _series(svc, scope, compare[0], compare[1], tz, state))
    # The periods may differ in buckets (a shorter month): the one that ends first has blanks.
    n = max(len(labels), len(then))
    now: list[tuple[str, float | None]] = [*zip(labels, current, strict=True)]
    was: list[tuple[str, float | None]] = [*zip(then, before, strict=True)]
    now += [("", None)] * (n - len(now))
    was += [("", None)] * (n - len(was))
    return [[*a, *b] for a, b in zip(now, was, strict=True)]


async def build_report(svc: Footfall, scope: Scope, tz: str, state: ReportState) -> Report:
    """Every number of the page at once (the htmx panel partial, tests, benchmarks)."""
    run = ReportRun(svc, scope, tz, state)
    try:
        report = await run.head()
        report.panels = [(p, rows or [], more) async for p, rows, more in run.panels()]
    finally:
        run.cancel()
    return report


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
