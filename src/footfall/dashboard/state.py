"""The report's state, all of it in the URL: period, range, comparison, interval, metric, goal,
filters. Parsing never fails: an unknown value falls back to the default (a shared link with a
typo still opens), and `url()` writes a state back as a readable query string."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from footfall.read.queries import FILTER_COLUMNS, INTERVALS

__all__ = [
    "CHART_METRICS",
    "COMPARISONS",
    "PERIODS",
    "VIEWS",
    "ReportState",
    "comparison_dates",
    "default_interval",
    "parse_state",
    "period_dates",
    "utc_range",
    "with_segment",
    "zone",
]

# key: (label, keyboard shortcut)
PERIODS = {
    "today": ("Today", "d"), "yesterday": ("Yesterday", "e"), "7d": ("Last 7 days", "w"),
    "30d": ("Last 30 days", "t"), "mtd": ("Month to date", "m"), "lastmonth": ("Last month", "l"),
    "12mo": ("Last 12 months", "y"), "custom": ("Custom range", "c"),
}  # fmt: skip
COMPARISONS = {"previous": "Previous period", "year": "Same period last year", "off": "No comparison"}
CHART_METRICS = ("visitors", "visits", "pageviews", "conversions", "revenue")
FILTERS = tuple(c for c in FILTER_COLUMNS if c != "event_name")
_MAX_TEXT = 500
# A custom range outside these days falls back like a reversed one: no stored event predates
# 1970 (`footfall.timestamps`), and what the pages derive from the range must stay within
# datetime's years 1-9999: the comparison (up to ten years earlier), the day after the last,
# a zone's offset, the chart's month steps.
_FIRST_DAY, _LAST_DAY = date(1970, 1, 1), date(9000, 12, 31)
_MAX_DAYS = 3660
_SEGMENT_ID = re.compile(r"seg_[0-9a-f]{12}")
# Presentation only, kept on every link of the page: embedded (no navigation) and its theme.
VIEWS = {"embed": ("true",), "theme": ("light", "dark")}


class ReportState(msgspec.Struct, frozen=True, kw_only=True):
    period: str = "30d"
    start: date | None = None  # custom range, inclusive local days
    end: date | None = None
    compare: str = "previous"
    interval: str = "day"
    metric: str = "visitors"
    goal: str | None = None  # an event name: conversions and conversion rate
    value: str | None = None  # a numeric property of the goal: revenue
    filters: tuple[tuple[str, str], ...] = ()  # what the reads use: the segment's and the URL's
    segment: str | None = None  # a saved segment's id (`with_segment` expands it)
    segment_name: str = ""
    segment_filters: tuple[tuple[str, str], ...] = ()
    view: tuple[tuple[str, str], ...] = ()  # how, not what: `embed`, `theme`, kept on every link

    def params(self, **change: object) -> dict[str, str]:
        """The query string of this state with some fields changed (None drops one)."""
        s = msgspec.structs.replace(self, **change) if change else self
        if s.segment is None:
            s = msgspec.structs.replace(s, segment_filters=())
        out: dict[str, str] = {"period": s.period}
        if s.period == "custom" and s.start and s.end:
            out |= {"from": s.start.isoformat(), "to": s.end.isoformat()}
        if s.compare != "previous":
            out["compare"] = s.compare
        if s.interval != default_interval(s.period, s.start, s.end):
            out["interval"] = s.interval
        if s.metric != "visitors":
            out["metric"] = s.metric
        if s.goal:
            out["goal"] = s.goal
            if s.value:
                out["value"] = s.value
        if s.segment:
            out["segment"] = s.segment
        out.update(f for f in s.filters if f not in s.segment_filters)  # those come with it
        out.update(s.view)
        return out

    def url(self, **change: object) -> str:
        return "?" + urlencode(self.params(**change))

    def with_filters(self, columns: tuple[str, ...], values: tuple[str | None, ...]) -> str:
        """The URL with these filters set (replacing any on the same columns).

        >>> ReportState(filters=(("source", "x"),)).with_filters(("source", "medium"), ("g", "cpc"))
        '?period=30d&source=g&medium=cpc'
        """
        kept = tuple(f for f in self.filters if f[0] not in columns)
        added = tuple((c, v) for c, v in zip(columns, values, strict=True) if v is not None)
        return self.url(filters=(*kept, *added))

    def preset(self, period: str) -> str:
        """The URL of another period preset, with that period's own default interval."""
        return self.url(period=period, start=None, end=None, interval=default_interval(period))

    def without_filter(self, column: str) -> str:
        """Removing one of a segment's filters leaves the segment: the rest stay, explicitly.

        >>> s = with_segment(ReportState(), "seg_1", "Phones", (("device_type", "mobile"), ("os", "iOS")))
        >>> s.without_filter("os"), s.without_segment()
        ('?period=30d&device_type=mobile', '?period=30d')
        """
        kept = tuple(f for f in self.filters if f[0] != column)
        if any(c == column for c, _v in self.segment_filters):
            return self.url(filters=kept, segment=None)
        return self.url(filters=kept)

    def without_segment(self) -> str:
        return self.url(segment=None, filters=tuple(f for f in self.filters if f not in self.segment_filters))

    def with_segment_id(self, segment_id: str) -> str:
        """The URL applying a saved segment in place of the current filters."""
        return self.url(segment=segment_id, filters=())


def with_segment(
    state: ReportState, segment_id: str, name: str, filters: tuple[tuple[str, str], ...]
) -> ReportState:
    """The state with a saved segment's filters; a filter in the URL on the same column wins.

    >>> s = with_segment(parse_state({"country": "FR"}), "seg_1", "EU phones",
    ...                  (("device_type", "mobile"), ("country", "DE")))
    >>> s.filters, s.url()
    ((('country', 'FR'), ('device_type', 'mobile')), '?period=30d&segment=seg_1&country=FR')
    """
    own = {c for c, _v in state.filters}
    from_segment = tuple(f for f in filters if f[0] not in own)
    # In the columns' order, as the API parses filters: a panel's "API" link then parses back
    # into the very query the panel ran.
    order = {c: i for i, c in enumerate(FILTERS)}
    merged = tuple(sorted((*from_segment, *state.filters), key=lambda f: order.get(f[0], len(order))))
    return msgspec.structs.replace(
        state, segment=segment_id, segment_name=name, segment_filters=from_segment, filters=merged,
    )


def default_interval(period: str, start: date | None = None, end: date | None = None) -> str:
    if period in ("today", "yesterday"):
        return "hour"
    if period == "12mo":
        return "month"
    if period == "custom" and start and end:
        days = (end - start).days + 1
        return "hour" if days <= 2 else "day" if days <= 90 else "week" if days <= 370 else "month"
    return "day"


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _text(raw: str | None) -> str | None:
    raw = (raw or "").strip()
    return raw[:_MAX_TEXT] if raw else None


def parse_state(p: Mapping[str, str]) -> ReportState:
    """
    >>> s = parse_state({"period": "custom", "from": "2026-05-01", "to": "2026-05-31",
    ...                  "source": "google", "metric": "nope"})
    >>> s.period, s.start, s.interval, s.metric, s.filters
    ('custom', datetime.date(2026, 5, 1), 'day', 'visitors', (('source', 'google'),))
    >>> [parse_state({"period": "custom", "from": a, "to": b}).period
    ...  for a, b in (("2026-06-01", "2026-05-01"), ("9999-12-30", "9999-12-31"), ("0001-01-01", "0001-01-02"))]
    ['30d', '30d', '30d']
    >>> [parse_state({"metric": "revenue", **p}).metric for p in ({"goal": "buy"}, {"goal": "buy", "value": "eur"})]
    ['visitors', 'revenue']
    """
    period = p.get("period", "30d")
    period = period if period in PERIODS else "30d"
    start, end = _date(p.get("from")), _date(p.get("to"))
    if period == "custom" and not (
        start and end and _FIRST_DAY <= start <= end <= _LAST_DAY and (end - start).days <= _MAX_DAYS
    ):
        period, start, end = "30d", None, None
    if period != "custom":
        start = end = None
    interval = p.get("interval") or default_interval(period, start, end)
    compare = p.get("compare", "previous")
    metric = p.get("metric", "visitors")
    goal = _text(p.get("goal"))
    value = _text(p.get("value")) if goal else None
    # Conversions need a goal, revenue a goal and its value property too.
    charted = CHART_METRICS[: 5 if value else 4 if goal else 3]
    return ReportState(
        period=period, start=start, end=end,
        compare=compare if compare in COMPARISONS else "previous",
        interval=interval if interval in INTERVALS else default_interval(period, start, end),
        metric=metric if metric in charted else "visitors",
        goal=goal, value=value,
        filters=tuple((c, v[:_MAX_TEXT]) for c in FILTERS if (v := p.get(c))),
        segment=segment if (segment := p.get("segment", "")) and _SEGMENT_ID.fullmatch(segment) else None,
        view=tuple((k, p[k]) for k, allowed in VIEWS.items() if p.get(k) in allowed),
    )


def _month_start(d: date, back: int = 0) -> date:
    m = d.year * 12 + d.month - 1 - back
    return date(m // 12, m % 12 + 1, 1)


def period_dates(state: ReportState, today: date) -> tuple[date, date]:
    """The local days [first, last] the state covers.

    >>> period_dates(ReportState(period="7d"), date(2026, 3, 10))
    (datetime.date(2026, 3, 4), datetime.date(2026, 3, 10))
    >>> period_dates(ReportState(period="lastmonth"), date(2026, 3, 10))
    (datetime.date(2026, 2, 1), datetime.date(2026, 2, 28))
    """
    p = state.period
    if p == "custom" and state.start and state.end:
        return state.start, state.end
    if p == "today":
        return today, today
    if p == "yesterday":
        return today - timedelta(1), today - timedelta(1)
    if p == "7d":
        return today - timedelta(6), today
    if p == "mtd":
        return today.replace(day=1), today
    if p == "lastmonth":
        first = _month_start(today, 1)
        return first, today.replace(day=1) - timedelta(1)
    if p == "12mo":
        return _month_start(today, 11), today
    return today - timedelta(29), today


def comparison_dates(state: ReportState, first: date, last: date) -> tuple[date, date] | None:
    """
    >>> comparison_dates(ReportState(), date(2026, 3, 1), date(2026, 3, 7))
    (datetime.date(2026, 2, 22), datetime.date(2026, 2, 28))
    >>> comparison_dates(ReportState(compare="year"), date(2024, 2, 29), date(2024, 2, 29))
    (datetime.date(2023, 2, 28), datetime.date(2023, 2, 28))
    """
    if state.compare == "off":
        return None
    if state.compare == "year":
        return _year_back(first), _year_back(last)
    days = (last - first).days + 1
    return first - timedelta(days), last - timedelta(days)


def _year_back(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder ("America"), too long
        return ZoneInfo("UTC")


def utc_range(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """Local days [first, last] in zone `tz` as a UTC [start, end) for the read layer.

    >>> utc_range(date(2026, 7, 1), date(2026, 7, 1), "Europe/Berlin")[0].isoformat()
    '2026-06-30T22:00:00+00:00'
    """
    z = zone(tz)
    start = datetime.combine(first, time(0), z).astimezone(UTC)
    end = datetime.combine(last + timedelta(1), time(0), z).astimezone(UTC)
    return start, end
