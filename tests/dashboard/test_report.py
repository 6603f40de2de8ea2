"""The report's HTML: every figure equals the API's answer for the same filters, hostile
values are escaped, the first response carries the KPIs and the chart data."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from footfall.dashboard.web import country_name
from tests.dashboard.conftest import Dash
from tests.dashboard.seed import HOSTILE_EVENT, HOSTILE_PATH
from tests.support.server import cli

TODAY = datetime.now(UTC).date()
FIRST = TODAY - timedelta(days=29)


def _api(dash: Dash, route: str, /, **params: Any) -> dict[str, Any]:
    params.setdefault("from", f"{FIRST.isoformat()}T00:00:00Z")
    params.setdefault("to", f"{(TODAY + timedelta(days=1)).isoformat()}T00:00:00Z")
    with dash.server.client(dash.server.keys["rk_live"]) as c:
        r = c.get(route, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _total(dash: Dash, **params: Any) -> float:
    rows = _api(dash, "/v1/stats", **params)["rows"]
    return float(rows[0]["value"]) if rows else 0.0


def _kpi(page: str, name: str) -> float | None:
    m = re.search(rf'data-testid="kpi-{name}" data-value="([^"]*)"', page)
    assert m, f"no kpi-{name}"
    return float(m.group(1)) if m.group(1) else None


def _panel(page: str, name: str) -> list[tuple[str, int]]:
    m = re.search(rf'data-testid="panel-{name}".*?</section>', page, re.S)
    assert m, f"no panel-{name}"
    rows = re.findall(r'class="label">(.*?)</span>\s*<span class="value" data-value="(\d+)"', m.group(0), re.S)
    return [(html.unescape(label), int(value)) for label, value in rows]


def _report(admin: httpx.Client, dash: Dash, **params: str) -> str:
    query = {"period": "custom", "from": FIRST.isoformat(), "to": TODAY.isoformat(), **params}
    r = admin.get(dash.report_path(), params=query)
    assert r.status_code == 200, r.text
    return r.text


def _session_figures(dash: Dash, **filters: str) -> tuple[float, float]:
    rows = _api(dash, "/v1/sessions", limit=1000)["rows"]
    rows = [r for r in rows if all(r[k] == v for k, v in filters.items())]
    assert 0 < len(rows) < 1000
    bounce = sum(r["bounce"] for r in rows) / len(rows)
    duration = sum(r["duration_s"] for r in rows) / len(rows)
    return bounce, duration


@pytest.mark.parametrize("filters", [{}, {"source": "google"}, {"device_type": "mobile"}], ids=["all", "source", "device"])
def test_kpis_equal_the_api(admin: httpx.Client, dash: Dash, filters: dict[str, str]) -> None:
    page = _report(admin, dash, **filters)
    visitors = _total(dash, metric="uniques", **filters)
    visits = _total(dash, metric="sessions", **filters)
    pageviews = _total(dash, metric="count", event="$pageview", **filters)
    assert visitors > 0 and visits > 0
    assert _kpi(page, "visitors") == visitors
    assert _kpi(page, "visits") == visits
    assert _kpi(page, "pageviews") == pageviews
    assert _kpi(page, "views_per_visit") == pytest.approx(pageviews / visits)
    bounce, duration = _session_figures(dash, **filters)
    assert _kpi(page, "bounce_rate") == pytest.approx(bounce)
    assert _kpi(page, "visit_duration") == pytest.approx(duration, abs=0.01)
    for column, value in filters.items():
        assert f'data-testid="chip-{column}"' in page and f"<b>{value}</b>" in page


def test_panels_equal_the_api(admin: httpx.Client, dash: Dash) -> None:
    page = _report(admin, dash)
    for panel, column, extra in (
        ("sources", "source", {}), ("channels", "channel", {}),
        ("browsers", "browser", {}), ("devices", "device_type", {}),
        ("pages", "path", {"event": "$pageview"}),
    ):
        rows = _api(dash, "/v1/stats", metric="uniques", group_by=column, limit=10, **extra)["rows"]
        want = [(r[column] if r[column] is not None else "(none)", r["value"]) for r in rows]
        assert _panel(page, panel) == want, panel
    entry = {}
    for s in _api(dash, "/v1/sessions", limit=1000)["rows"]:
        entry[s["entry_path"]] = entry.get(s["entry_path"], 0) + 1
    got = dict(_panel(page, "entry_pages"))
    assert got == {(k if k is not None else "(none)"): v for k, v in entry.items()}
    # Countries by name; a row's link filters by the ISO code.
    rows = _api(dash, "/v1/stats", metric="uniques", group_by="country", limit=10)["rows"]
    assert _panel(page, "countries") == [(country_name(r["country"]), r["value"]) for r in rows]
    assert {"Germany", "United States of America", "Japan"} <= {c for c, _v in _panel(page, "countries")}
    assert re.search(r'href="\?[^"]*country=DE" title="DE">', page)
    assert 'data-country="DE"' in page  # the map shades the countries with visitors


def test_goal_conversions_and_revenue(admin: httpx.Client, dash: Dash) -> None:
    page = _report(admin, dash, goal="signup", value="amount")
    conversions = _total(dash, metric="uniques", event="signup")
    revenue = _total(dash, metric="sum", event="signup", value_property="amount")
    assert conversions > 0 and revenue > 0
    assert _kpi(page, "conversions") == conversions
    assert _kpi(page, "conversion_rate") == pytest.approx(conversions / _total(dash, metric="uniques"))
    assert _kpi(page, "revenue") == revenue
    assert 'data-testid="chip-goal"' in page


def test_stats_sum_needs_a_property(dash: Dash) -> None:
    with dash.server.client(dash.server.keys["rk_live"]) as c:
        r = c.get("/v1/stats", params={"metric": "sum", "from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"})
    assert r.status_code == 400 and "value_property" in r.json()["details"]["errors"]


def test_first_response_carries_kpis_and_chart_data(admin: httpx.Client, dash: Dash) -> None:
    page = _report(admin, dash, metric="pageviews")
    m = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    assert m
    chart = json.loads(m.group(1))
    assert len(chart["labels"]) == 30 == len(chart["current"]) == len(chart["previous"])
    rows = _api(dash, "/v1/stats", metric="count", event="$pageview", interval="day")["rows"]
    by_day = {r["bucket"][:10]: r["value"] for r in rows}
    assert chart["current"] == [by_day.get(label[:10], 0) for label in chart["labels"]]
    assert sum(chart["current"]) == _kpi(page, "pageviews")
    assert '<polyline class="line-before"' in page  # the chart reads without JavaScript too


def test_hostile_values_are_escaped(admin: httpx.Client, dash: Dash) -> None:
    page = _report(admin, dash)
    assert "<script>alert(" not in page and "onerror=alert" not in page.replace("onerror=alert(&#34;", "")
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;path&#34;)" in page  # shown as text
    assert HOSTILE_PATH in [label for label, _v in _panel(page, "pages")]
    assert HOSTILE_EVENT in [label for label, _v in _panel(page, "events")]
    # Every script is a file from this server or inert JSON.
    for tag in re.findall(r"<script[^>]*>", page):
        assert 'src="/dashboard/static/' in tag or 'type="application/json"' in tag, tag
    # Filtering by a hostile value keeps it inert in the chip and in every link.
    filtered = _report(admin, dash, path=HOSTILE_PATH)
    assert "<script>alert(" not in filtered
    assert _kpi(filtered, "pageviews") == _total(dash, metric="count", event="$pageview", path=HOSTILE_PATH)


def test_live_and_test_are_separate(admin: httpx.Client, dash: Dash) -> None:
    with dash.server.client(dash.server.keys["sk_test"]) as c:
        assert c.post("/v1/track", json={"event": "$pageview", "anonymous_id": "t1", "url": "https://shop.example/test-only"}).status_code == 202
    live = admin.get(dash.report_path(), params={"period": "today"}).text
    test = admin.get(dash.report_path(env="test"), params={"period": "today"}).text
    assert "/test-only" not in live and "/test-only" in test
    assert _kpi(test, "visitors") == 1 and 'data-testid="test-banner"' in test


def test_panel_partial_for_htmx(admin: httpx.Client, dash: Dash) -> None:
    r = admin.get(dash.report_path(), params={"panel": "sources"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'data-testid="panel-sources"' in r.text
    assert "<html" not in r.text and 'data-testid="panel-pages"' not in r.text


def test_bad_state_in_the_url_falls_back(admin: httpx.Client, dash: Dash) -> None:
    r = admin.get(dash.report_path(), params={"period": "nope", "interval": "x", "metric": "<b>", "from": "bad", "compare": "?"})
    assert r.status_code == 200 and 'aria-current="true">Last 30 days' in r.text


def test_project_time_zone_sets_day_boundaries(admin: httpx.Client, dash: Dash) -> None:
    # 23:30 UTC on a day is the next day in Berlin.
    day = TODAY - timedelta(days=3)
    late = datetime(day.year, day.month, day.day, 23, 30, tzinfo=UTC)
    with dash.server.client(dash.server.keys["sk_test"]) as c:
        r = c.post("/v1/track", json={"event": "tz-probe", "anonymous_id": "tz1", "timestamp": late.isoformat()})
        assert r.status_code == 202

    def probe_day(tz: str) -> date:
        cli(dash.server.data, "project", "update", dash.project, "--timezone", tz)
        # The server caches projects for up to 10 s: wait for the page to say the new zone.
        for _ in range(200):
            page = admin.get(dash.report_path(env="test"), params={"period": "7d", "goal": "tz-probe", "metric": "conversions"}).text
            if f"Times in {tz}" in page:
                break
        chart = json.loads(re.search(r'id="chart-data">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
        (label,) = [lab for lab, v in zip(chart["labels"], chart["current"], strict=True) if v]
        return date.fromisoformat(label[:10])

    try:
        assert probe_day("Europe/Berlin") == day + timedelta(days=1)
        assert probe_day("UTC") == day
    finally:
        cli(dash.server.data, "project", "update", dash.project, "--timezone", "UTC")
