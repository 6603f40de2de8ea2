"""Each report panel's "API" link answers the panel's numbers (fetched with a read key), each
KPI's too; the links parse back into the very queries the page runs; CSV has every row of a
panel with the report's filters; "Show all" lists past the top 10, with htmx and without."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.dashboard.api_links import api_call
from footfall.dashboard.csv_download import safe_cell
from footfall.dashboard.report import PANELS, chart_query, kpi_queries, panel_query
from footfall.dashboard.state import FILTERS, ReportState, utc_range, with_segment
from footfall.dashboard.web import country_name
from footfall.model import Scope
from footfall.read import params
from footfall.read.queries import StatsQuery
from tests.dashboard.conftest import ADMIN, Dash
from tests.support.browser import PageWatch

if TYPE_CHECKING:
    from playwright.sync_api import Browser

TODAY = datetime.now(UTC).date()
FIRST = TODAY - timedelta(days=29)
PERIOD = {"period": "custom", "from": FIRST.isoformat(), "to": TODAY.isoformat()}
MANY = 14  # distinct pages, more than a panel's top 10


@pytest.fixture(scope="module")
def many_pages(dash: Dash) -> Dash:
    now = datetime.now(UTC)
    events = [
        {"event": "$pageview", "anonymous_id": f"many-{i}-{j}", "url": f"https://shop.example/docs/{i}",
         "timestamp": (now - timedelta(hours=i + 1)).isoformat(), "event_id": f"many-{i}-{j}"}
        for i in range(MANY) for j in range(i + 1)
    ]  # fmt: skip
    with dash.server.client(dash.server.keys["sk_live"]) as c:
        assert c.post("/v1/batch", json={"events": events}).status_code == 202
    return dash


def _report(admin: httpx.Client, dash: Dash, **extra: str) -> str:
    r = admin.get(dash.report_path(), params={**PERIOD, **extra})
    assert r.status_code == 200, r.text
    return r.text


def _section(page: str, name: str) -> str:
    m = re.search(rf'data-testid="panel-{name}".*?</section>', page, re.S)
    assert m, name
    return m.group(0)


def _rows(section: str) -> list[tuple[str, int]]:
    found = re.findall(r'class="label">(.*?)</span>\s*<span class="value" data-value="(\d+)"', section, re.S)
    return [(html.unescape(label), int(v)) for label, v in found]


def _link(text: str, testid: str) -> str:
    m = re.search(rf'href="([^"]+)" data-testid="{testid}"', text)
    assert m, testid
    return html.unescape(m.group(1))


def _get(dash: Dash, call: str) -> dict[str, Any]:
    with dash.server.client(dash.server.keys["rk_live"]) as c:
        r = c.get(call)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _label(row: dict[str, Any], columns: list[str]) -> str:
    return " / ".join("(none)" if row[c] is None else str(row[c]) for c in columns)


@pytest.mark.parametrize("filters", [{}, {"source": "google"}], ids=["all", "google"])
def test_panel_api_links_give_the_panel(admin: httpx.Client, many_pages: Dash, filters: dict[str, str]) -> None:
    page = _report(admin, many_pages, **filters)
    checked = 0
    for panel in PANELS:
        if f'data-testid="panel-{panel.name}"' not in page:
            continue  # optional panels without data
        section = _section(page, panel.name)
        call = _link(section, f"api-{panel.name}")
        answer = _get(many_pages, call)
        if panel.sessions:
            assert call.startswith("/v1/sessions/summary?")
            assert all(f"{k}={v}" in call for k, v in filters.items()), call
            rows = answer["rows"]
            assert rows, panel.name  # the filtered report has sessions too: a real comparison
            assert _rows(section) == [(_label(r, list(panel.columns)), r["sessions"]) for r in rows], panel.name
        else:
            assert call.startswith("/v1/stats?")
            rows = [r for r in answer["rows"] if r.get("event_name") != "$pageview"][:10]
            labels = [country_name(r["country"]) if panel.name == "countries" else _label(r, list(panel.columns)) for r in rows]
            assert _rows(section) == [(label, r["value"]) for label, r in zip(labels, rows, strict=True)], panel.name
        checked += 1
    assert checked >= 13


def test_kpi_api_links_give_the_kpis(admin: httpx.Client, many_pages: Dash) -> None:
    page = _report(admin, many_pages, goal="signup", value="amount", device_type="mobile")
    strip = re.search(r'data-testid="api-kpis">.*?</details>', page, re.S)
    assert strip
    for name in ("visitors", "visits", "pageviews", "conversions", "revenue"):
        call = _link(strip.group(0), f"api-kpi-{name}")
        assert "device_type=mobile" in call
        value = _get(many_pages, call)["rows"][0]["value"]
        shown = re.search(rf'data-testid="kpi-{name}" data-value="([^"]*)"', page)
        assert shown and float(shown.group(1)) == pytest.approx(value), name
    call = _link(strip.group(0), "api-kpi-sessions")
    assert call.startswith("/v1/sessions/summary?") and "device_type=mobile" in call
    (sessions,) = _get(many_pages, call)["rows"]
    assert sessions["sessions"] > 0
    figures = {"bounce_rate": sessions["bounces"] / sessions["sessions"],
               "visit_duration": sessions["duration_s"] / sessions["sessions"]}  # fmt: skip
    for name, value in figures.items():
        shown = re.search(rf'data-testid="kpi-{name}" data-value="([^"]*)"', page)
        assert shown and float(shown.group(1)) == pytest.approx(value), name


@pytest.mark.parametrize("compare", ["off", "previous"])
def test_the_kpis_csv_has_the_strips_figures(admin: httpx.Client, many_pages: Dash, compare: str) -> None:
    page = _report(admin, many_pages, goal="signup", value="amount", source="google", compare=compare)
    r = admin.get(many_pages.report_path() + _link(page, "csv-kpis"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["kpi", "value", *(["compared_value"] if compare != "off" else [])]
    shown = dict(re.findall(r'data-testid="kpi-([a-z_]+)" data-value="([^"]*)"', page))
    assert [row[0] for row in rows[1:]] == list(shown) and "revenue" in shown
    for name, value, *before in rows[1:]:
        assert (float(value) if value else None) == (pytest.approx(float(shown[name])) if shown[name] else None), name
        assert len(before) == (compare != "off"), name
    if compare != "off":  # the 30 days before the period, with the filter
        earlier = "/v1/stats?" + str(httpx.QueryParams({
            "from": f"{FIRST - timedelta(days=30)}T00:00:00Z", "to": f"{FIRST}T00:00:00Z", "metric": "uniques",
            "source": "google"}))  # fmt: skip
        visitors = next(row for row in rows if row[0] == "visitors")
        assert float(visitors[2]) == _get(many_pages, earlier)["rows"][0]["value"]


STATES = st.builds(
    ReportState,
    period=st.just("custom"), start=st.just(FIRST), end=st.just(TODAY),
    goal=st.one_of(st.none(), st.text(min_size=1, max_size=20).map(str.strip).filter(bool)),
    value=st.one_of(st.none(), st.sampled_from(["amount", "a b", "ünï"])),
    filters=st.lists(st.tuples(st.sampled_from(FILTERS), st.text(min_size=1, max_size=20)), max_size=3, unique_by=lambda f: f[0])
    .map(lambda fs: tuple(sorted(fs, key=lambda f: FILTERS.index(f[0])))),
)


SEGMENTS = st.lists(st.tuples(st.sampled_from(FILTERS), st.text(min_size=1, max_size=20)), max_size=3, unique_by=lambda f: f[0])


@settings(max_examples=60, deadline=None)
@given(state=STATES, tz=st.sampled_from(["UTC", "Europe/Berlin"]), segment=st.one_of(st.none(), SEGMENTS))
def test_links_parse_back_into_the_page_queries(
    state: ReportState, tz: str, segment: list[tuple[str, str]] | None
) -> None:
    """The link is written from the query and parsed by the API into the same query, a saved
    segment's filters included."""
    if segment is not None:
        state = with_segment(state, "seg_000000000000", "a segment", tuple(segment))
    scope = Scope("prj_x", "live")
    rng = utc_range(state.start or date.today(), state.end or date.today(), tz)
    queries = [
        *kpi_queries(scope, rng, state).values(), *(panel_query(scope, rng, state, p) for p in PANELS),
        chart_query(scope, rng, state, tz),
    ]
    for q in queries:
        path, _, query = api_call(q).partition("?")
        parse = params.stats_query if isinstance(q, StatsQuery) else params.session_summary_query
        assert path == ("/v1/stats" if isinstance(q, StatsQuery) else "/v1/sessions/summary")
        assert parse(scope, dict(parse_qsl(query, keep_blank_values=True))) == q


def test_csv_has_every_row_with_the_filters(admin: httpx.Client, many_pages: Dash) -> None:
    page = _report(admin, many_pages)
    r = admin.get(many_pages.report_path() + _link(_section(page, "pages"), "csv-pages"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["path", "visitors"]
    api = _get(many_pages, "/v1/stats?" + str(httpx.QueryParams({
        "from": f"{FIRST}T00:00:00Z", "to": f"{TODAY + timedelta(days=1)}T00:00:00Z", "metric": "uniques",
        "event": "$pageview", "group_by": "path", "limit": "1000"})))["rows"]  # fmt: skip
    assert len(rows) - 1 == len(api) > 10
    assert [(p.lstrip("'"), int(v)) for p, v in rows[1:]] == [(r["path"], r["value"]) for r in api]
    # With a filter, the same filter.
    filtered = list(csv.DictReader(io.StringIO(admin.get(many_pages.report_path(), params={**PERIOD, "source": "google", "panel": "browsers", "format": "csv"}).text)))
    page = _report(admin, many_pages, source="google")
    assert [(r["browser"], int(r["visitors"])) for r in filtered] == _rows(_section(page, "browsers"))


@pytest.mark.parametrize("filters", [{}, {"source": "google"}], ids=["all", "google"])
def test_every_panel_csv_is_its_api_call_for_every_row(admin: httpx.Client, many_pages: Dash, filters: dict[str, str]) -> None:
    """Each panel's CSV (the store's batches of one read) has the rows its API call answers
    when asked for all of them, in that order: entry and exit pages' sessions too, goals
    without pageviews, cells formula-safe."""
    page = _report(admin, many_pages, **filters)
    checked = 0
    for panel in PANELS:
        if f'data-testid="panel-{panel.name}"' not in page:
            continue  # optional panels without data
        call = re.sub(r"\blimit=\d+", "limit=1000", _link(_section(page, panel.name), f"api-{panel.name}"))
        figure = "sessions" if panel.sessions else "value"
        want = [
            [*(str(safe_cell(r[c])) for c in panel.columns), str(r[figure])]
            for r in _get(many_pages, call)["rows"] if r.get("event_name") != "$pageview"
        ]  # fmt: skip
        r = admin.get(many_pages.report_path(), params={**PERIOD, **filters, "panel": panel.name, "format": "csv"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), panel.name
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0] == [*panel.columns, "visits" if panel.sessions else "visitors"]
        assert rows[1:] == want and want, panel.name
        checked += 1
    assert checked >= 13


def _chart(page: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    assert m
    data: dict[str, Any] = json.loads(m.group(1))
    return data


@pytest.mark.parametrize("extra", [{"metric": "pageviews", "compare": "off"}, {"metric": "visitors", "source": "google", "compare": "previous"}])
def test_the_charts_api_link_and_csv_give_its_points(admin: httpx.Client, many_pages: Dash, extra: dict[str, str]) -> None:
    page = _report(admin, many_pages, **extra)
    chart = _chart(page)
    section = re.search(r'data-testid="chart".*?</section>', page, re.S)
    assert section
    answer = _get(many_pages, _link(section.group(0), "api-chart"))["rows"]
    by_bucket = {r["bucket"].rstrip("Z"): r["value"] for r in answer}
    assert sum(chart["current"]) > 0
    assert chart["current"] == [float(by_bucket.get(label, 0) or 0) for label in chart["labels"]]
    r = admin.get(many_pages.report_path() + _link(section.group(0), "csv-chart"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    metric = extra["metric"]
    if extra["compare"] != "off":
        assert rows[0] == ["bucket", metric, "compared_bucket", f"compared_{metric}"]
        assert [float(row[3]) for row in rows[1:] if row[3]] == chart["previous"]
    else:
        assert rows[0] == ["bucket", metric]
    assert [row[0] for row in rows[1:]] == chart["labels"]
    assert [float(row[1]) for row in rows[1:]] == chart["current"]


def test_show_all_lists_more_than_ten(admin: httpx.Client, many_pages: Dash) -> None:
    page = _report(admin, many_pages)
    section = _section(page, "pages")
    assert len(_rows(section)) == 10
    full = admin.get(many_pages.report_path() + _link(section, "show-all-pages"))
    assert full.status_code == 200 and "<html" in full.text and 'data-testid="back-to-report"' in full.text
    everything = _rows(_section(full.text, "pages"))
    assert len(everything) >= MANY and everything[:10] == _rows(section)
    assert 'data-testid="show-all-pages"' not in full.text
    assert 'data-testid="show-all-browsers"' not in page  # three browsers: nothing more to show
    partial = admin.get(many_pages.report_path() + _link(section, "show-all-pages"), headers={"HX-Request": "true"})
    assert "<html" not in partial.text and _rows(_section(partial.text, "pages")) == everything


def test_show_all_in_chromium_with_and_without_javascript(pw_browser: Browser, many_pages: Dash) -> None:
    for js in (True, False):
        ctx = pw_browser.new_context(java_script_enabled=js)
        try:
            p = ctx.new_page()
            watch = PageWatch(p)
            p.goto(many_pages.server.url + many_pages.report_path())
            p.fill("input[name=email]", ADMIN[0])
            p.fill("input[name=password]", ADMIN[1])
            p.click("form.login button[type=submit]")
            p.wait_for_selector('[data-testid="show-all-pages"]')
            before = p.url
            p.click('[data-testid="show-all-pages"]')
            p.locator('[data-testid="panel-pages"] li').nth(10).wait_for()  # an 11th row (CSP forbids eval'd waits)
            assert (p.url == before) is js  # htmx swaps the panel in place; without JS a page of its own
            if js:
                assert watch.console_errors == [] and watch.page_errors == [] and watch.foreign_hosts() == set()
        finally:
            ctx.close()


def test_countries_by_name_filtered_by_code(admin: httpx.Client, many_pages: Dash) -> None:
    page = _report(admin, many_pages)
    assert "<title>Germany: " in page  # the map's tooltip
    filtered = _report(admin, many_pages, country="DE")
    chip = re.search(r'data-testid="chip-country"[^>]*>(.*?)</a>', filtered, re.S)
    assert chip and "<b>DE</b> (Germany)" in chip.group(1)
    assert [label for label, _v in _rows(_section(filtered, "countries"))] == ["Germany"]
