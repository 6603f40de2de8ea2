"""The API call behind a panel: the query the panel runs, written back as the `/v1/*` query
string whose parsing (`read.params`) gives that same query. Derived from the query itself, so
a panel and its "API" link cannot drift (tests/dashboard/test_report_links.py parses each link
back and compares): `/v1/stats` for a `StatsQuery`, `/v1/sessions/summary` for a
`SessionSummaryQuery` (entry and exit pages, bounce rate and visit duration)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from footfall.read.queries import SessionSummaryQuery, StatsQuery

__all__ = ["api_call", "iso", "session_summary_params", "stats_params"]

API_MAX_LIMIT = 1000  # what /v1/stats and /v1/sessions/summary take at most


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stats_params(q: StatsQuery) -> dict[str, str]:
    """The `/v1/stats` parameters of `q` (`params.stats_query` reads them back into `q`)."""
    p = {"from": iso(q.start), "to": iso(q.end), "metric": q.metric}
    if q.event is not None:
        p["event"] = q.event
    if q.value_property is not None:
        p["value_property"] = q.value_property
    if q.group_by:
        p["group_by"] = ",".join(q.group_by)
    if q.interval is not None:
        p["interval"] = q.interval
    if q.timezone != "UTC":
        p["timezone"] = q.timezone
    return _with_rest(p, q)


def session_summary_params(q: SessionSummaryQuery) -> dict[str, str]:
    """The `/v1/sessions/summary` parameters of `q` (`params.session_summary_query` reads
    them back into `q`)."""
    p = {"from": iso(q.start), "to": iso(q.end)}
    if q.group_by is not None:
        p["group_by"] = q.group_by
    return _with_rest(p, q)


def _with_rest(p: dict[str, str], q: StatsQuery | SessionSummaryQuery) -> dict[str, str]:
    """`p` and what both reads take alike: the filters, bots, the limit."""
    p.update(q.filters)
    if q.include_bots:
        p["include_bots"] = "true"
    p["limit"] = str(min(q.limit, API_MAX_LIMIT))
    return p


def api_call(q: StatsQuery | SessionSummaryQuery) -> str:
    """The path and query string (never a key) that answers the same numbers as `q`, with
    its filters: `/v1/stats` for a `StatsQuery`, `/v1/sessions/summary` for a
    `SessionSummaryQuery` (the same rows the store gives the panel or the KPIs)."""
    if isinstance(q, StatsQuery):
        return "/v1/stats?" + urlencode(stats_params(q))
    return "/v1/sessions/summary?" + urlencode(session_summary_params(q))
