"""Attribution compared: the table equals `/v1/attribution` for each model and the credits add
up, paths and time to convert equal their API, the disagreement highlight sits on the rows a
crafted dataset makes disagree, CSV equals the panel, hostile names stay inert; in Chromium with
and without JavaScript (screenshots docs/img/dashboard-attribution*.png)."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from footfall.read.queries import ATTRIBUTION_MODELS
from tests.dashboard.conftest import ADMIN, Dash
from tests.dashboard.seed import HOSTILE_EVENT
from tests.support.browser import PageWatch

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
TODAY = datetime.now(UTC).date()
FIRST = TODAY - timedelta(days=29)
PERIOD = {"period": "custom", "from": FIRST.isoformat(), "to": TODAY.isoformat()}
SPAN = {"from": f"{FIRST}T00:00:00Z", "to": f"{TODAY + timedelta(days=1)}T00:00:00Z"}
GOOGLE = "https://www.google.com/"
NEWSLETTER = "https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=spring"


@pytest.fixture(scope="module")
def journeys(dash: Dash) -> Dash:
    """Four people find the shop on Google, come back from the newsletter a week later and buy
    (first touch says Organic Search, last touch Email: the models disagree); two come from
    t.co and buy in that visit (every model agrees: Organic Social)."""
    now = datetime.now(UTC).replace(microsecond=0)
    events: list[dict[str, Any]] = []

    def visit(who: str, when: datetime, url: str, referrer: str = "") -> None:
        events.append({"event": "$pageview", "anonymous_id": who, "timestamp": when.isoformat(),
                       "url": url, "referrer": referrer, "event_id": f"j-{who}-{len(events)}"})

    def buy(who: str, when: datetime, amount: int) -> None:
        events.append({"event": "purchase", "anonymous_id": who, "timestamp": when.isoformat(),
                       "properties": {"amount": amount}, "event_id": f"j-{who}-{len(events)}"})

    for i in range(4):
        who = f"journey-a{i}"
        visit(who, now - timedelta(days=10, hours=i), "https://shop.example/", GOOGLE)
        visit(who, now - timedelta(days=3, hours=i), NEWSLETTER)
        buy(who, now - timedelta(days=3, hours=i) + timedelta(minutes=2), 100)
    for i in range(2):
        who = f"journey-b{i}"
        visit(who, now - timedelta(days=2, hours=i), "https://shop.example/pricing", "https://t.co/x")
        buy(who, now - timedelta(days=2, hours=i) + timedelta(minutes=1), 30)
    with dash.server.client(dash.server.keys["sk_live"]) as c:
        r = c.post("/v1/batch", json={"events": events})
        assert r.status_code == 202, r.text
    return dash


def _page(admin: httpx.Client, dash: Dash, **params: str) -> str:
    r = admin.get(f"{dash.report_path()}/attribution", params={**PERIOD, **params})
    assert r.status_code == 200, r.text
    return r.text


def _table(page: str) -> dict[str, dict[str, float]]:
    """Row key → model → credit, as the table shows them."""
    out = {}
    for key, body in re.findall(r'<tr data-testid="attribution-row" data-key="([^"]*)"[^>]*>(.*?)</tr>', page, re.S):
        cells = re.findall(r'<td data-model="(\w+)" data-value="([^"]+)"', body)
        out[html.unescape(key)] = {m: float(v) for m, v in cells}
    return out


def _api(dash: Dash, call: str, **params: Any) -> dict[str, Any]:
    with dash.server.client(dash.server.keys["rk_live"]) as c:
        r = c.get(html.unescape(call), params=params or None)  # {} would drop the call's own query
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _link(page: str, name: str) -> str:
    m = re.search(rf'href="([^"]+)" data-testid="{name}"', page)
    assert m, name
    return html.unescape(m.group(1))


@pytest.mark.parametrize("by", ["channel", "source", "campaign"])
def test_each_model_equals_the_api_and_credits_add_up(admin: httpx.Client, journeys: Dash, by: str) -> None:
    page = _page(admin, journeys, conversion="purchase", by=by)
    table = _table(page)
    assert table
    for model in ATTRIBUTION_MODELS:
        alone = _api(journeys, "/v1/attribution", **SPAN, conversion="purchase", model=model, group_by=by, limit=1000)
        want = {("" if r[by] is None else r[by]): r["conversions"] for r in alone["rows"]}
        got = {k: v[model] for k, v in table.items() if v[model]}
        assert got == pytest.approx(want), model
        assert sum(v[model] for v in table.values()) == pytest.approx(alone["totals"]["conversions"], abs=1e-4)
    total = re.search(r'data-testid="attribution-total" data-value="([^"]+)"', page)
    assert total and float(total.group(1)) == 6
    sums = re.search(r'data-testid="attribution-sums">(.*?)</tr>', page, re.S)
    assert sums and all(float(v) == pytest.approx(6) for v in re.findall(r'data-value="([^"]+)"', sums.group(1)))


def test_value_credits_add_up_to_the_value(admin: httpx.Client, journeys: Dash) -> None:
    page = _page(admin, journeys, conversion="purchase", value="amount", measure="value")
    table = _table(page)
    answer = _api(journeys, _link(page, "api-models"))
    assert answer["totals"]["value"] == 4 * 100 + 2 * 30 and answer["value_property"] == "amount"
    for model in ATTRIBUTION_MODELS:
        assert sum(v[model] for v in table.values()) == pytest.approx(460)
        assert {k: v[model] for k, v in table.items()} == pytest.approx(
            {r["channel"]: r["value"][model] for r in answer["rows"]})


def test_disagreement_is_highlighted_where_the_models_differ(admin: httpx.Client, journeys: Dash) -> None:
    page = _page(admin, journeys, conversion="purchase")
    rows = dict(re.findall(r'<tr data-testid="attribution-row" data-key="([^"]*)"( class="disagree")?', page))
    assert rows["Organic Search"] and rows["Email"]  # 4 first touches vs 0 last touches, and back
    assert not rows["Organic Social"]  # every model gives it both of its conversions
    search = re.search(r'data-key="Organic Search" class="disagree">(.*?)</tr>', page, re.S)
    assert search and "⚑ models disagree" in search.group(1)  # reads without colour
    assert re.search(r'data-model="first_touch" data-value="4.0" class="most">', search.group(1))
    assert re.search(r'data-model="last_touch" data-value="0.0" class="least">', search.group(1))


def test_paths_and_time_to_convert_equal_their_api(admin: httpx.Client, journeys: Dash) -> None:
    page = _page(admin, journeys, conversion="purchase")
    paths = _api(journeys, _link(page, "api-paths"))
    assert paths == _api(journeys, "/v1/attribution/paths", **SPAN, conversion="purchase", limit=20)
    shown = re.search(r'data-testid="panel-paths">(.*?)</section>', page, re.S)
    assert shown
    got = re.findall(r'class="label" title="[^"]*">(.*?)</span>\s*<span class="value" data-value="(\d+)"', shown.group(1))
    assert [(html.unescape(p), int(n)) for p, n in got] == [(" → ".join(r["path"]), r["conversions"]) for r in paths["rows"]]
    assert (" → ".join(paths["rows"][0]["path"]), paths["rows"][0]["conversions"]) == ("Organic Search → Email", 4)

    time = _api(journeys, _link(page, "api-time"))
    assert time == _api(journeys, "/v1/attribution/time_to_convert", **SPAN, conversion="purchase")
    panel = re.search(r'data-testid="panel-time">(.*?)</section>', page, re.S)
    assert panel
    counts = [int(n) for n in re.findall(r'class="value" data-value="(\d+)"', panel.group(1))]
    assert counts == [b["conversions"] for b in time["buckets"]] and sum(counts) == 6
    assert f'data-value="{time["seconds"]["p50"]}"' in panel.group(1)


def test_csv_equals_the_panel(admin: httpx.Client, journeys: Dash) -> None:
    page = _page(admin, journeys, conversion="purchase", value="amount")
    table = _table(page)
    r = admin.get(f"{journeys.report_path()}/attribution" + _link(page, "csv-models"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["channel"]: {m: float(row[f"{m}_conversions"]) for m in ATTRIBUTION_MODELS} for row in rows} == table
    assert all(float(row["first_touch_value"]) >= 0 for row in rows)
    paths = list(csv.reader(io.StringIO(admin.get(f"{journeys.report_path()}/attribution" + _link(page, "csv-paths")).text)))
    assert paths[0] == ["path", "touchpoints", "conversions", "value", "share"]
    assert paths[1][:3] == ["Organic Search > Email", "2", "4"]
    time = list(csv.reader(io.StringIO(admin.get(f"{journeys.report_path()}/attribution" + _link(page, "csv-time")).text)))
    assert sum(int(r[2]) for r in time[1:]) == 6


def test_without_a_conversion_the_page_asks_for_one(admin: httpx.Client, journeys: Dash) -> None:
    page = _page(admin, journeys)
    assert 'data-testid="attribution-empty"' in page and "<option>purchase</option>" in page
    assert 'data-testid="nav-attribution" aria-current="page"' in page


def test_hostile_names_and_bad_state(admin: httpx.Client, journeys: Dash) -> None:
    page = _page(admin, journeys, conversion=HOSTILE_EVENT, value='"><script>x()</script>', by="<b>", lookback="9y")
    assert "<img src=x" not in page and "<script>x()" not in page
    assert "&lt;img src=x" in page  # shown as text
    for tag in re.findall(r"<script[^>]*>", page):
        assert 'src="/dashboard/static/' in tag, tag
    assert 'data-testid="panel-attribution"' in page  # by and lookback fell back to defaults
    r = admin.get(f"{journeys.report_path()}/attribution", params={"table": "nope", "format": "csv"})
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def _visits_links(page: str) -> dict[str, str]:
    """Row key → its "its visits" link."""
    rows = re.findall(r'<tr data-testid="attribution-row" data-key="([^"]*)"[^>]*>(.*?)</tr>', page, re.S)
    out = {}
    for key, body in rows:
        m = re.search(r'href="([^"]+)" data-testid="visits-link"', body)
        if m:
            out[html.unescape(key)] = html.unescape(m.group(1))
    return out


def _people(page: str) -> set[str]:
    return {html.unescape(p) for p in re.findall(r'data-testid="person-link">([^<]*)</a>', page)}


@pytest.mark.parametrize(("by", "key"), [("channel", "Email"), ("source", "newsletter"), ("campaign", "spring")])
def test_each_row_links_to_its_visits(admin: httpx.Client, journeys: Dash, by: str, key: str) -> None:
    page = _page(admin, journeys, conversion="purchase", by=by)
    links = _visits_links(page)
    assert set(links) == {k for k in _table(page) if k}  # every row with a key, none without
    url = links[key]
    assert urlsplit(url).path == f"{journeys.report_path()}/sessions"
    assert _query(url) == {**PERIOD, by: key}  # the page's period, the row's value
    r = admin.get(url)
    assert r.status_code == 200, r.text[:500]
    assert {p for p in _people(r.text) if p.startswith("journey-")} == {f"journey-a{i}" for i in range(4)}
    assert int(re.search(r'data-testid="sessions-total" data-value="(\d+)"', r.text).group(1)) >= 4  # type: ignore[union-attr]


def test_who_converted_lists_exactly_the_counted_conversions(admin: httpx.Client, journeys: Dash) -> None:
    page = _page(admin, journeys, conversion="purchase", value="amount")
    total = int(float(re.search(r'data-testid="attribution-total" data-value="([^"]+)"', page).group(1)))  # type: ignore[union-attr]
    url = _link(page, "total-link")
    assert url == _link(page, "converted-paths") == _link(page, "converted-time") == _link(page, "ttc-conversions-link")
    assert _query(url) == {**PERIOD, "event": "purchase"}
    r = admin.get(url)
    assert r.status_code == 200, r.text[:500]
    assert 0 < total < 50 and r.text.count('data-testid="event"') == total  # one page holds them all
    assert {f"journey-a{i}" for i in range(4)} | {"journey-b0", "journey-b1"} <= _people(r.text)


def test_the_reports_conversions_link_to_who_converted(admin: httpx.Client, journeys: Dash) -> None:
    r = admin.get(journeys.report_path(), params={**PERIOD, "goal": "purchase"})
    kpi = re.search(r'data-testid="kpi-conversions" data-value="([\d.]+)"', r.text)
    assert r.status_code == 200 and kpi
    url = _link(r.text, "to-goal-events")
    assert _query(url)["event"] == "purchase" and _query(url)["goal"] == "purchase"
    listed = admin.get(url)
    assert listed.status_code == 200
    assert len(_people(listed.text)) == float(kpi.group(1)) == 6  # Conversions counts the people listed


def hostile_buyer(dash: Dash, who: str, utm: dict[str, str]) -> None:
    """`who` visits with the `utm` tags and buys 10 minutes later, as test data (the live
    counts other tests check stay)."""
    now = datetime.now(UTC).replace(microsecond=0)
    url = "https://shop.example/?" + urlencode(utm)
    events = [
        {"event": "$pageview", "anonymous_id": who, "timestamp": (now - timedelta(hours=1)).isoformat(),
         "url": url, "event_id": f"{who}-visit"},
        {"event": "purchase", "anonymous_id": who, "timestamp": (now - timedelta(minutes=50)).isoformat(),
         "event_id": f"{who}-buy"},
    ]  # fmt: skip
    with dash.server.client(dash.server.keys["sk_test"]) as c:
        assert c.post("/v1/batch", json={"events": events}).status_code == 202


def test_a_hostile_source_is_escaped_in_its_link(admin: httpx.Client, journeys: Dash) -> None:
    hostile = '"><img src=x onerror=alert(1)>&period=1d'
    hostile_buyer(journeys, "hostile-1", {"utm_source": hostile, "utm_medium": "email"})
    r = admin.get(f"{journeys.report_path(env='test')}/attribution", params={**PERIOD, "conversion": "purchase", "by": "source"})
    assert r.status_code == 200
    assert "<img src=x" not in r.text
    link = _visits_links(r.text)[hostile]
    assert _query(link) == {**PERIOD, "source": hostile}  # the value whole, not a second period
    followed = admin.get(link)
    assert followed.status_code == 200 and "<img src=x" not in followed.text
    assert _people(followed.text) == {"hostile-1"}


def test_a_share_link_lists_no_people(admin: httpx.Client, journeys: Dash) -> None:
    from tests.dashboard.test_sharing import _share

    token_path, _id = _share(admin, journeys, label="Attribution check")
    with httpx.Client(base_url=journeys.server.url, timeout=30) as anon:
        assert anon.get(token_path + "/attribution", params={"conversion": "purchase"}).status_code == 404
        shared = anon.get(token_path, params={**PERIOD, "conversion": "purchase", "goal": "purchase"})
    assert shared.status_code == 200 and 'data-testid="kpi-conversions"' in shared.text
    assert "/sessions" not in shared.text and "/events?" not in shared.text and "/people/" not in shared.text


def test_needs_a_session_and_the_project(journeys: Dash) -> None:
    r = httpx.get(f"{journeys.server.url}{journeys.report_path()}/attribution", follow_redirects=False)
    assert r.status_code in (302, 303) and "/dashboard/login" in r.headers["location"]


@pytest.fixture
def page(pw_browser: Browser, journeys: Dash) -> Iterator[Page]:
    ctx = pw_browser.new_context(viewport={"width": 1280, "height": 900})
    p = ctx.new_page()
    p.goto(journeys.server.url + journeys.report_path() + "/attribution")
    p.fill("input[name=email]", ADMIN[0])
    p.fill("input[name=password]", ADMIN[1])
    p.click("form.login button[type=submit]")
    p.wait_for_selector('[data-testid="attribution-form"]')
    yield p
    ctx.close()


def test_in_chromium_with_screenshots(page: Page, journeys: Dash) -> None:
    watch = PageWatch(page)
    page.select_option('[data-testid="conversion"]', "purchase")
    page.fill('[data-testid="value-property"]', "amount")
    page.click('[data-testid="attribution-form"] button[type=submit]')
    page.wait_for_selector('[data-testid="attribution-table"]')
    assert "conversion=purchase" in page.url and "value=amount" in page.url
    flagged = page.locator("tr.disagree").evaluate_all("rows => rows.map(r => r.dataset.key)")
    assert set(flagged) == {"Organic Search", "Email"}
    assert page.locator('[data-testid="attribution-total"]').get_attribute("data-value") == "6"
    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / "dashboard-attribution.png"), full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(IMG / "dashboard-attribution-dark.png"), full_page=True)
    page.select_option('[data-testid="by"]', "source")
    page.click('[data-testid="attribution-form"] button[type=submit]')
    page.wait_for_url("**by=source**")
    assert "newsletter" in page.locator('[data-testid="attribution-table"]').inner_text()
    assert watch.console_errors == [] and watch.page_errors == []
    assert watch.foreign_hosts() == set()


def test_works_without_javascript(pw_browser: Browser, journeys: Dash) -> None:
    ctx = pw_browser.new_context(java_script_enabled=False)
    try:
        p = ctx.new_page()
        p.goto(journeys.server.url + journeys.report_path() + "/attribution")
        p.fill("input[name=email]", ADMIN[0])
        p.fill("input[name=password]", ADMIN[1])
        p.click("form.login button[type=submit]")
        p.select_option('[data-testid="conversion"]', "purchase")
        p.click('[data-testid="attribution-form"] button[type=submit]')
        p.wait_for_selector('[data-testid="attribution-table"]')
        assert p.locator('tr.disagree [data-testid="disagree-flag"]').count() == 2
        p.click('[data-testid="periods"] a:has-text("Last 7 days")')
        p.wait_for_url("**period=7d**")
        assert "conversion=purchase" in p.url and p.is_visible('[data-testid="attribution-table"]')
        p.click('tr[data-key="Email"] [data-testid="visits-link"]')  # a plain link to the people
        p.wait_for_selector('[data-testid="sessions"]')
        assert "channel=Email" in p.url and p.locator('a[data-testid="person-link"]:has-text("journey-a0")').count() == 1
    finally:
        ctx.close()
