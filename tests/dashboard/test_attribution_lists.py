"""The conversions behind each count of the attribution page (#19): every conversion path, every
time-to-convert bucket and every model cell links to its list, whose count (or whose credit
shares' sum) is that number; the list pages, downloads as CSV and says its API call; bad
choices are a 400, hostile values stay text, share links reach none of it; in Chromium by
clicking (screenshot docs/img/dashboard-attribution-conversions.png)."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dashboard.conftest import ADMIN, Dash
from tests.dashboard.test_attribution import (
    IMG,
    PERIOD,
    _api,
    _page,
    _query,
    hostile_buyer,
    journeys,
)
from tests.support.browser import PageWatch

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["journeys"]  # the fixture, shared with test_attribution


def _links(page: str, testid: str) -> list[tuple[str, float]]:
    """(link, the number it is on) for each link `testid` of the page."""
    found = re.findall(rf'data-value="([^"]+)"[^>]*>(?:[^<]*<[^a][^>]*>)*?\s*<a href="([^"]+)" data-testid="{testid}"', page)
    return [(html.unescape(url), float(value)) for value, url in found]


def _number(page: str, testid: str) -> float:
    m = re.search(rf'data-testid="{testid}" data-value="([^"]+)"', page)
    assert m, testid
    return float(m.group(1))


def _list(admin: httpx.Client, url: str) -> str:
    r = admin.get(url)
    assert r.status_code == 200, r.text[:800]
    return r.text


def test_every_count_links_to_the_conversions_behind_it(admin: httpx.Client, journeys: Dash) -> None:
    page = _page(admin, journeys, conversion="purchase", value="amount")
    paths, buckets, cells = _links(page, "path-link"), _links(page, "bucket-link"), _links(page, "credit-link")
    assert len(paths) == 2 and len(buckets) == 7 and len(cells) == 6 * 3  # 3 channels, 6 models
    for url, number in paths + buckets:
        listed = _list(admin, url)
        assert _number(listed, "behind-count") == number, url
        assert listed.count('data-testid="behind-row"') == number
    for url, number in cells:
        listed = _list(admin, url)
        assert _number(listed, "behind-credit") == pytest.approx(number, abs=1e-6), url
        shares = [float(s) for s in re.findall(r'data-testid="behind-row" data-uid="[^"]*" data-credit="([^"]+)"', listed)]
        assert sum(shares) == pytest.approx(number, abs=1e-5)
    # the first path is the four Google-then-newsletter buyers, each with their person
    first = _list(admin, paths[0][0])
    assert "Organic Search → Email" in first and _query(paths[0][0])["path"] == '["Organic Search","Email"]'
    people = set(re.findall(r'data-testid="person-link">([^<]*)</a>', first))
    assert people == {f"journey-a{i}" for i in range(4)}
    assert _number(first, "behind-value") == 400


def test_the_list_is_its_api_call_and_its_csv(admin: httpx.Client, journeys: Dash) -> None:
    page = _page(admin, journeys, conversion="purchase", value="amount", by="campaign")
    url = next(u for u, n in _links(page, "credit-link") if "model=position_based" in u and "key=spring" in u)
    listed = _list(admin, url)
    assert "purchase conversions crediting campaign spring under position-based" in html.unescape(listed)
    call = re.search(r'data-testid="api-call" data-path="([^"]+)"', listed)
    assert call
    api = _api(journeys, call.group(1))
    assert api["behind"] == "credit" and api["model"] == "position_based" and api["key"] == "spring"
    assert api["totals"]["credit"] == _number(listed, "behind-credit")
    csv_url = re.search(r'href="([^"]+)" data-testid="csv"', listed)
    assert csv_url
    r = admin.get(html.unescape(csv_url.group(1)))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["uid"] for row in rows] == [row["uid"] for row in api["rows"]]
    assert sum(float(row["credit"]) for row in rows) == pytest.approx(api["totals"]["credit"])
    assert list(rows[0]) == ["ts", "person", "value", "credit", "credited_value", "session_id", "uid"]
    # the (none) row of campaigns (the Google visits and t.co buyers have none) has its list too
    none = next(u for u, _n in _links(page, "credit-link") if "key_null=true" in u and "model=linear" in u)
    assert _number(_list(admin, none), "behind-count") >= 2


def test_a_page_number_int_refuses_is_the_first_page(admin: httpx.Client, journeys: Dash) -> None:
    for raw in ("\u00b2", "9" * 5000):
        r = admin.get(f"{journeys.report_path()}/attribution/conversions", params={**PERIOD, "conversion": "purchase", "bucket": "0", "page": raw})
        assert r.status_code == 200, r.text[:300]


@pytest.mark.parametrize(
    ("choice", "says"),
    [
        ({"bucket": "61"}, "bucket"),
        ({"bucket": "\u00b2"}, "bucket"),  # a digit int() refuses: was a 500
        ({"path": "Organic Search > Email"}, "path"),
        ({"model": "u_shaped", "key": "Email"}, "model"),
        ({"model": "linear"}, "key"),
        ({}, "exactly one of path, bucket or model"),
        ({"bucket": "0", "path": '["Email"]'}, "exactly one"),
    ],
)
def test_a_list_that_cannot_be_read_is_a_400(admin: httpx.Client, journeys: Dash, choice: dict[str, str], says: str) -> None:
    r = admin.get(f"{journeys.report_path()}/attribution/conversions", params={**PERIOD, "conversion": "purchase", **choice})
    assert r.status_code == 400 and "text/html" in r.headers["content-type"]
    assert says in html.unescape(r.text)
    assert admin.get(f"{journeys.report_path()}/attribution/conversions.csv", params={**PERIOD, "conversion": "purchase", **choice}).status_code == 400
    no_conversion = admin.get(f"{journeys.report_path()}/attribution/conversions", params={"bucket": "0"})
    assert no_conversion.status_code == 400


def test_hostile_values_stay_text(admin: httpx.Client, journeys: Dash) -> None:
    hostile = '"><img src=x onerror=alert(1)>&period=1d'
    hostile_buyer(journeys, "hostile-2", {"utm_source": hostile, "utm_medium": "email", "utm_campaign": hostile})
    base = f"{journeys.report_path(env='test')}/attribution"
    page = admin.get(base, params={**PERIOD, "conversion": "purchase", "by": "source"}).text
    assert "<img src=x" not in page
    cell = next(u for u, _n in _links(page, "credit-link") if "img" in u and "model=first_touch" in u)
    assert _query(cell)["key"] == hostile and _query(cell)["period"] == PERIOD["period"]  # whole, not a second period
    path = next(u for u, _n in _links(page, "path-link") if "img" in u)
    for url in (cell, path):
        listed = _list(admin, url)
        assert "<img src=x" not in listed and "&lt;img src=x" in listed
        assert _number(listed, "behind-count") == 1
        assert re.findall(r'data-testid="person-link">([^<]*)</a>', listed) == ["hostile-2"]


def test_share_links_reach_no_list(admin: httpx.Client, journeys: Dash) -> None:
    from tests.dashboard.test_sharing import _share

    token_path, _id = _share(admin, journeys, label="Lists check")
    with httpx.Client(base_url=journeys.server.url, timeout=30) as anon:
        for tail in ("/attribution/conversions", "/attribution/conversions.csv"):
            assert anon.get(token_path + tail, params={"conversion": "purchase", "bucket": "0"}).status_code == 404
        r = anon.get(f"{journeys.report_path()}/attribution/conversions", params={"conversion": "purchase", "bucket": "0"},
                     follow_redirects=False)
    assert r.status_code in (302, 303) and "/dashboard/login" in r.headers["location"]


def test_a_long_list_pages_and_its_csv_has_every_row(admin: httpx.Client, journeys: Dash) -> None:
    """55 buyers in one visit each (test data): 50 on the first page, 5 on the second, all 55 in
    the CSV, the count above both pages."""
    now = datetime.now(UTC).replace(microsecond=0)
    events = [
        {"event": "bulk_buy", "anonymous_id": f"bulk-{i}", "timestamp": (now - timedelta(hours=2, minutes=i)).isoformat(),
         "url": "https://shop.example/", "event_id": f"bulk-{i}"}
        for i in range(55)
    ]  # fmt: skip
    with journeys.server.client(journeys.server.keys["sk_test"]) as c:
        assert c.post("/v1/batch", json={"events": events}).status_code == 202
    url = f"{journeys.report_path(env='test')}/attribution/conversions"
    first = _list(admin, url + "?" + urlencode({**PERIOD, "conversion": "bulk_buy", "bucket": "0"}))
    assert _number(first, "behind-count") == 55 and first.count('data-testid="behind-row"') == 50
    assert "page 1 of 2" in first and 'data-testid="prev"' not in first
    older = re.search(r'href="([^"]+)" rel="next" data-testid="next"', first)
    assert older
    second = _list(admin, url + html.unescape(older.group(1)))
    assert _number(second, "behind-count") == 55 and second.count('data-testid="behind-row"') == 5
    people = re.findall(r'data-testid="person-link">([^<]*)</a>', first + second)
    assert sorted(people) == sorted(f"bulk-{i}" for i in range(55))  # each once, newest first
    assert people[0] == "bulk-0" and people[-1] == "bulk-54"
    r = admin.get(url + ".csv", params={**PERIOD, "conversion": "bulk_buy", "bucket": "0"})
    assert r.status_code == 200 and len(list(csv.DictReader(io.StringIO(r.text)))) == 55


def test_the_csv_reads_batch_after_batch_with_ties(admin: httpx.Client, journeys: Dash) -> None:
    """2,150 buyers at only three instants: the CSV takes two store batches of 2,000 and still
    lists each conversion once, in the API's order page after page (ties broken on the event
    id), its count the list's."""
    now = datetime.now(UTC).replace(microsecond=0)
    events = [
        {"event": "tied_buy", "anonymous_id": f"tied-{i}", "timestamp": (now - timedelta(hours=1 + i % 3)).isoformat(),
         "url": "https://shop.example/", "event_id": f"tied-{i}"}
        for i in range(2150)
    ]  # fmt: skip
    with journeys.server.client(journeys.server.keys["sk_test"]) as c:
        for at in range(0, len(events), 1000):
            assert c.post("/v1/batch", json={"events": events[at : at + 1000]}).status_code == 202
    url = f"{journeys.report_path(env='test')}/attribution/conversions"
    choice = {**PERIOD, "conversion": "tied_buy", "model": "last_touch", "dimension": "channel", "key": "Direct"}
    first = _list(admin, url + "?" + urlencode(choice))
    assert _number(first, "behind-count") == 2150
    r = admin.get(url + ".csv", params=choice)
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    people = [row["person"] for row in rows]
    assert len(people) == 2150 and set(people) == {f"tied-{i}" for i in range(2150)}
    call = re.search(r'data-testid="api-call" data-path="([^"]+)"', first)
    assert call
    route, _, query = html.unescape(call.group(1)).partition("?")
    with journeys.server.client(journeys.server.keys["rk_test"]) as c:
        pages = [c.get(route, params={**dict(parse_qsl(query)), "limit": "1000", "offset": str(at)}).json()["rows"]
                 for at in range(0, 2150, 1000)]  # fmt: skip
    assert [row["uid"] for row in rows] == [row["uid"] for page in pages for row in page]


MARK = "<x-fuzz>"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(
    st.sampled_from(["period", "conversion", "value", "by", "path", "bucket", "model", "key", "key_null", "page", "x"]),
    st.one_of(
        st.sampled_from(["purchase", "7d", "amount", "campaign", "0", "3600", "linear", "true", '["Email"]', "[null]", "2"]),
        st.text(max_size=30).map(lambda t: t + MARK),
    ),
    max_size=6,
), csv_=st.booleans())
def test_generated_list_urls(admin: httpx.Client, journeys: Dash, params: dict[str, str], csv_: bool) -> None:
    """Never a 5xx; a readable list is a 200, anything else a 400; hostile text never raw."""
    r = admin.get(f"{journeys.report_path()}/attribution/conversions{'.csv' if csv_ else ''}", params=params)
    assert r.status_code in (200, 400), r.text[:500]
    if r.headers["content-type"].startswith("text/html"):
        assert MARK not in r.text


@pytest.fixture
def page(pw_browser: Browser, journeys: Dash) -> Iterator[Page]:
    ctx = pw_browser.new_context(viewport={"width": 1280, "height": 900})
    p = ctx.new_page()
    p.goto(journeys.server.url + journeys.report_path() + "/attribution?" + urlencode({**PERIOD, "conversion": "purchase", "value": "amount"}))
    p.fill("input[name=email]", ADMIN[0])
    p.fill("input[name=password]", ADMIN[1])
    p.click("form.login button[type=submit]")
    p.wait_for_selector('[data-testid="attribution-table"]')
    yield p
    ctx.close()


def _count_after_click(page: Page, link: Any, testid: str = "behind-count") -> tuple[float, float]:
    """(the number the link is on, the list's number) after clicking it, then back."""
    number = float(link.evaluate("a => a.closest('[data-value]').dataset.value"))
    link.click()
    page.wait_for_selector('[data-testid="conversions-behind"]')
    shown = float(page.locator(f'[data-testid="{testid}"]').get_attribute("data-value") or "nan")
    return number, shown


def test_clicking_a_path_a_bucket_and_a_cell_in_chromium(page: Page, journeys: Dash) -> None:
    watch = PageWatch(page)
    attribution = page.url
    number, shown = _count_after_click(page, page.locator('[data-testid="path-link"]').first)
    assert number == shown == 4
    assert page.locator('[data-testid="behind-row"]').count() == 4
    assert "Organic Search → Email" in page.locator('[data-testid="behind-title"]').inner_text()
    page.goto(attribution)
    buckets = page.locator('[data-testid="bucket-link"]')
    nonzero = next(i for i in range(buckets.count()) if buckets.nth(i).inner_text() != "0")
    number, shown = _count_after_click(page, buckets.nth(nonzero))
    assert number == shown > 0
    page.goto(attribution)
    cell = page.locator('tr[data-key="Email"] td[data-model="linear"] [data-testid="credit-link"]')
    number, shown = _count_after_click(page, cell, "behind-credit")
    assert number == pytest.approx(shown) and 0 < shown < 4  # linear: Email shares each of its 4
    page.screenshot(path=str(IMG / "dashboard-attribution-conversions.png"), full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(IMG / "dashboard-attribution-conversions-dark.png"), full_page=True)
    page.click('[data-testid="person-link"] >> nth=0')
    page.wait_for_url("**/people/**")
    assert watch.console_errors == [] and watch.page_errors == []
    assert watch.foreign_hosts() == set()
