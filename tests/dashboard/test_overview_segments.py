"""The overview of a user's projects (visitors, change, trend; only the projects they may see)
and saved segments (save from the report, apply from the URL, combine, delete, CSRF).
Chromium: the overview (screenshot) and saving a segment by clicking."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dashboard.conftest import ADMIN, Dash, create_user, login
from tests.dashboard.seed import seed
from tests.dashboard.test_report import _kpi, _total
from tests.dashboard.test_sharing import _csrf
from tests.support.browser import PageWatch
from tests.support.server import cli

if TYPE_CHECKING:
    from playwright.sync_api import Browser

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
TODAY = datetime.now(UTC).date()
TWO = ("two@example.com", "two-password-1")


@pytest.fixture(scope="module")
def third(dash: Dash) -> str:
    """A third project, and a viewer of the seeded project and this one (not `other`); some
    traffic for `other` too, so the overview has two trends to show."""
    seed(dash.server.url, dash.other_keys["sk_live"], n=120, seed_value=3)
    project = json.loads(cli(dash.server.data, "project", "create", "Third <b>shop</b>", "--json").stdout)
    out = create_user(dash.server.data, *TWO, "--role", "viewer", "--project", dash.project,
                      "--project", project["project_id"])
    assert out.returncode == 0, out.stderr
    return str(project["project_id"])


def _row(page: str, project: str) -> str:
    m = re.search(rf'<tr data-testid="overview-{project}">.*?</tr>', page, re.S)
    assert m, f"no row for {project}"
    return m.group(0)


def _value(row: str, name: str) -> float | None:
    m = re.search(rf'data-testid="overview-{name}" data-value="([^"]*)"', row)
    assert m, row
    return float(m.group(1)) if m.group(1) else None


def test_overview_shows_each_project_with_the_apis_numbers(admin: httpx.Client, dash: Dash, third: str) -> None:
    page = admin.get("/dashboard/")
    assert page.status_code == 200
    row = _row(page.text, dash.project)
    assert _value(row, "visitors") == _total(dash, metric="uniques") > 0
    before = (TODAY - timedelta(days=59)).isoformat(), (TODAY - timedelta(days=29)).isoformat()
    previous = _total(dash, metric="uniques", **{"from": f"{before[0]}T00:00:00Z", "to": f"{before[1]}T00:00:00Z"})
    assert _value(row, "change") == pytest.approx((_value(row, "visitors") or 0) / previous - 1)
    points = re.search(r'data-testid="sparkline"><polyline class="line-now" points="([^"]+)"', row)
    assert points and len(points.group(1).split()) == 30  # one point a day
    # A project without events: zero, no change to speak of, a flat line; its name escaped.
    empty = _row(page.text, third)
    assert _value(empty, "visitors") == 0 and _value(empty, "change") is None
    assert "Third &lt;b&gt;shop&lt;/b&gt;" in empty
    assert 'style="' not in page.text and "<script>" not in page.text
    # Another period: the last 7 days.
    week = admin.get("/dashboard/", params={"period": "7d"}).text
    seven = TODAY - timedelta(days=6)
    assert _value(_row(week, dash.project), "visitors") == _total(dash, metric="uniques", **{"from": f"{seven}T00:00:00Z"})


def test_overview_shows_only_the_users_projects(dash: Dash, third: str) -> None:
    c = login(dash.server, *TWO)
    page = c.get("/dashboard/").text
    assert f'data-testid="overview-{dash.project}"' in page and f'data-testid="overview-{third}"' in page
    assert dash.other not in page and ">other<" not in page
    c.close()


def _report(c: httpx.Client, dash: Dash, **params: str) -> str:
    r = c.get(dash.report_path(), params=params)
    assert r.status_code == 200, r.text[:500]
    return r.text


def _save(c: httpx.Client, dash: Dash, name: str, **params: str) -> str:
    """Save the report's filters of this URL as a segment from its form; returns the segment id."""
    page = _report(c, dash, **params)
    form = re.search(r'<form method="post" action="([^"]+)" class="save-segment".*?</form>', page, re.S)
    assert form, page[:3000]
    fields = dict(re.findall(r'name="(csrf|filters|back)" value="([^"]*)"', form.group(0)))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    r = c.post(form.group(1), data={**fields, "name": name}, headers={"Origin": dash.server.url})
    assert r.status_code == 303, r.text[:500]
    m = re.search(r"segment=(seg_[0-9a-f]{12})", r.headers["location"])
    assert m and r.headers["location"].startswith(dash.report_path() + "?period=7d")
    return m.group(1)


def test_segment_round_trip(admin: httpx.Client, dash: Dash) -> None:
    seg = _save(admin, dash, "Phones from Google", period="7d", source="google", device_type="mobile")
    seven = {"from": f"{TODAY - timedelta(days=6)}T00:00:00Z"}
    # Listed on the report, and applied from the URL alone: its filters as chips, numbers filtered.
    page = _report(admin, dash, period="7d", segment=seg)
    assert f'data-testid="segment-{seg}"' in page and "Phones from Google" in page
    assert 'data-testid="chip-segment"' in page and 'data-testid="chip-source"' in page and 'data-testid="chip-device_type"' in page
    assert _kpi(page, "visitors") == _total(dash, metric="uniques", source="google", device_type="mobile", **seven)
    # The lists the report links to apply the segment too (their URL carries only its id).
    for section in ("sessions", "events"):
        def csv(**params: str) -> str:
            r = admin.get(f"{dash.report_path()}/{section}", params={"period": "7d", "format": "csv", **params})  # noqa: B023
            assert r.status_code == 200
            return r.text
        segmented = csv(segment=seg)
        assert segmented == csv(source="google", device_type="mobile") != csv()
    # An explicit filter combines with it; one on the segment's column takes that column's place.
    page = _report(admin, dash, period="7d", segment=seg, country="DE")
    assert _kpi(page, "visitors") == _total(dash, metric="uniques", source="google", device_type="mobile", country="DE", **seven)
    page = _report(admin, dash, period="7d", segment=seg, device_type="desktop")
    assert _kpi(page, "visitors") == _total(dash, metric="uniques", source="google", device_type="desktop", **seven)
    # Links on the page keep the segment.
    assert f'href="?period=30d&amp;segment={seg}&amp;device_type=desktop"' in page
    # Another user of the project sees it; another project does not have it.
    two = login(dash.server, *TWO)
    assert f'data-testid="segment-{seg}"' in _report(two, dash)
    two.close()
    other = admin.get(dash.report_path(dash.other), params={"segment": seg}).text
    assert 'data-testid="chip-segment"' not in other and "Phones from Google" not in other
    # Delete (CSRF-checked); then the id is ignored like any unknown parameter.
    page = _report(admin, dash, period="7d", segment=seg)
    delete = re.search(rf'action="([^"]+/segments/{seg}/delete)"', page)
    assert delete
    assert admin.post(delete.group(1), data={"csrf": "forged"}).status_code == 403
    r = admin.post(delete.group(1), data={"csrf": _csrf(page), "back": f"period=7d&segment={seg}"})
    assert r.status_code == 303 and r.headers["location"] == dash.report_path() + "?period=7d"
    page = _report(admin, dash, period="7d", segment=seg)
    assert "Phones from Google" not in page and 'data-testid="chip-segment"' not in page
    assert admin.post(delete.group(1), data={"csrf": _csrf(page)}).status_code == 404


def test_segment_posts_need_csrf_and_filters(admin: httpx.Client, dash: Dash) -> None:
    path = dash.report_path() + "/segments"
    csrf = _csrf(_report(admin, dash))
    for data, headers in (
        ({"name": "x", "filters": "source=google"}, {}),
        ({"name": "x", "filters": "source=google", "csrf": "forged"}, {}),
        ({"name": "x", "filters": "source=google", "csrf": csrf}, {"Origin": "https://evil.example"}),
    ):
        assert admin.post(path, data=data, headers=headers).status_code == 403
    assert admin.post(path, data={"csrf": csrf, "name": "x", "filters": "nope=1"}).status_code == 400
    assert admin.post(path, data={"csrf": csrf, "name": " ", "filters": "source=google"}).status_code == 400
    with httpx.Client(base_url=dash.server.url) as anon:  # no session: to the login page
        assert anon.post(path, data={"csrf": csrf}).status_code == 303


@pytest.fixture
def page_ctx(pw_browser: Browser) -> Iterator[object]:
    ctx = pw_browser.new_context(viewport={"width": 1100, "height": 700})
    yield ctx
    ctx.close()


def test_overview_and_segment_in_chromium(page_ctx: object, dash: Dash, third: str) -> None:
    from playwright.sync_api import BrowserContext

    assert isinstance(page_ctx, BrowserContext)
    page = page_ctx.new_page()
    watch = PageWatch(page)
    page.goto(dash.server.url + "/dashboard/")
    page.fill("input[name=email]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.click("form.login button[type=submit]")
    page.wait_for_selector('[data-testid="overview"]')
    assert page.locator('[data-testid="sparkline"]').count() == 3
    page.screenshot(path=str(IMG / "dashboard-overview.png"), full_page=True)
    # Into the report, filter by clicking, save the filters as a segment.
    page.click(f'[data-testid="overview-{dash.project}"] td a')
    page.click('[data-testid="panel-devices"] a:has-text("mobile")')
    page.wait_for_selector('[data-testid="chip-device_type"]')
    page.click('[data-testid="segments"] summary')
    page.fill('[data-testid="save-segment"] input[name=name]', "Phones")
    page.click('[data-testid="save-segment"] button')
    page.wait_for_url("**segment=seg_**")
    page.wait_for_selector('[data-testid="chip-segment"]')
    assert _kpi(page.content(), "visitors") == _total(dash, metric="uniques", device_type="mobile")
    page.click('[data-testid="panel-countries"] a:has-text("Germany")')  # a filter beside the segment
    page.wait_for_selector('[data-testid="chip-country"]')
    assert "segment=seg_" in page.url
    page.click('[data-testid="segments"] summary')
    page.screenshot(path=str(IMG / "dashboard-segments.png"), clip={"x": 0, "y": 0, "width": 1100, "height": 420})
    assert watch.console_errors == [] and watch.page_errors == [] and watch.foreign_hosts() == set()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(st.sampled_from(["name", "filters", "back", "x"]), st.one_of(
    st.sampled_from(["source=google", "period=7d&segment=seg_000000000000", "country=DE&x=1"]),
    st.text(max_size=40).map(lambda t: t + "<x-fuzz>"),
), max_size=4), period=st.sampled_from(["today", "12mo", "nope"]))
def test_fuzz_segment_forms_and_overview(admin: httpx.Client, dash: Dash, form: dict[str, str], period: str) -> None:
    csrf = _csrf(_report(admin, dash))
    r = admin.post(dash.report_path() + "/segments", data={**form, "csrf": csrf})
    assert r.status_code in (303, 400), r.text[:500]
    if r.status_code == 303:
        assert r.headers["location"].startswith(dash.report_path() + "?")
        page = admin.get(r.headers["location"])
        assert page.status_code == 200 and "<x-fuzz>" not in page.text
    r = admin.post(dash.report_path() + "/segments/seg_000000000000/delete", data={**form, "csrf": csrf})
    assert r.status_code == 404
    assert admin.get("/dashboard/", params={"period": period}).status_code == 200
