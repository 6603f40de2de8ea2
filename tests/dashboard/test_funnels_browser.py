"""The funnels page in real headless Chromium: build a funnel by clicking, its numbers equal
`/v1/funnel`; a breakdown; a drop-off's people equal `/v1/funnel/people`; save it; the same
with JavaScript off. No console error (a CSP violation is one), no request to another host.
Saves docs/img/dashboard-funnel.png and dashboard-funnel-dark.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.dashboard.conftest import ADMIN, Dash
from tests.dashboard.test_funnels import api
from tests.support.browser import PageWatch

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
DESKTOP = {"width": 1280, "height": 900}


def _log_in(page: Page, dash: Dash, path: str, ready: str = '[data-testid="funnel-form"]') -> None:
    page.goto(dash.server.url + path)  # → the login form, then back here
    page.fill("input[name=email]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.click("form.login button[type=submit]")
    page.wait_for_selector(ready)


def _values(page: Page, testid: str) -> list[int]:
    cells = page.locator(f'[data-testid^="{testid}-"][data-value]').all()
    return [int(c.get_attribute("data-value") or -1) for c in cells]


def _build(page: Page) -> None:
    """Three steps by typing and clicking: pageview from the newsletter, signup, pageview."""
    page.fill('[data-testid="step-event-1"]', "$pageview")
    page.fill('[data-testid="step-where-1"]', "source=newsletter")
    page.fill('[data-testid="step-event-2"]', "signup")
    page.click('[data-testid="add-step"]')
    page.wait_for_selector('[data-testid="step-row-3"]')
    assert page.input_value('[data-testid="step-event-2"]') == "signup"  # kept across the add
    page.fill('[data-testid="step-event-3"]', "$pageview")
    page.fill('[data-testid="window"]', "2w")
    page.click('[data-testid="show-funnel"]')
    page.wait_for_selector('[data-testid="funnel"]')


STEPS = "$pageview[source=newsletter],signup,$pageview"


@pytest.fixture
def context(pw_browser: Browser) -> Iterator[BrowserContext]:
    ctx = pw_browser.new_context(viewport=DESKTOP)
    yield ctx
    ctx.close()


def test_build_a_funnel_by_clicking(context: BrowserContext, dash: Dash) -> None:
    page = context.new_page()
    watch = PageWatch(page)
    _log_in(page, dash, dash.report_path(), '[data-testid="nav-funnels"]')
    page.click('[data-testid="nav-funnels"]')
    page.wait_for_url("**/funnels**")
    _build(page)
    answer = api(dash, "/v1/funnel", steps=STEPS, window="2w")
    people = [s["people"] for s in answer["steps"]]
    assert people[1] > 0
    assert _values(page, "people") == people
    assert _values(page, "dropoff") == [people[0] - people[1], people[1] - people[2]]
    assert "s3=%24pageview" in page.url and "window=2w" in page.url  # all of it in the URL
    # The API link says the same call.
    assert "steps=%24pageview%5Bsource%3Dnewsletter%5D%2Csignup%2C%24pageview" in (
        page.get_attribute('[data-testid="api-link"]', "href") or ""
    )

    # Breakdown by country: the select submits itself (JS).
    page.select_option('[data-testid="breakdown"]', "country")
    page.wait_for_selector('[data-testid="funnel-groups"]')
    groups = api(dash, "/v1/funnel", steps=STEPS, window="2w", breakdown="country")["groups"]
    rows = page.locator('[data-testid="group-row"]').all()
    assert [r.locator("th").inner_text() for r in rows] == [g["value"] or "(none)" for g in groups]
    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / "dashboard-funnel.png"), full_page=True)

    # Save it; it is listed and opens again.
    page.fill('[data-testid="save-name"]', "Newsletter → signup")
    page.click('[data-testid="save-funnel"]')
    page.wait_for_selector('[data-testid="saved-note"]')
    assert page.locator('[data-testid="saved-funnels"] a:has-text("Newsletter → signup")').count() == 1

    # Dark mode, then the drop-off after step 1 lists exactly the API's people.
    page.click("#theme-toggle")
    assert page.get_attribute("html", "data-theme") == "dark"
    page.screenshot(path=str(IMG / "dashboard-funnel-dark.png"), full_page=True)
    page.click('[data-testid="dropoff-1"]')
    page.wait_for_selector('[data-testid="funnel-people"]')
    want = api(dash, "/v1/funnel/people", steps=STEPS, window="2w", breakdown="country", step=1, limit=50)
    assert int(page.inner_text('[data-testid="people-total"]')) == want["total"]
    shown = [a.get_attribute("data-value") for a in page.locator('[data-testid="person"]').all()]
    assert shown == [p["person"] for p in want["people"]]
    page.click('[data-testid="back-to-funnel"]')
    page.wait_for_selector('[data-testid="funnel-groups"]')
    assert watch.console_errors == [] and watch.page_errors == []
    assert watch.foreign_hosts() == set()


def test_works_without_javascript(pw_browser: Browser, dash: Dash) -> None:
    ctx = pw_browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = ctx.new_page()
        _log_in(page, dash, dash.report_path() + "/funnels")
        _build(page)
        people = [s["people"] for s in api(dash, "/v1/funnel", steps=STEPS, window="2w")["steps"]]
        assert _values(page, "people") == people
        # Remove step 3 with its button: a plain form submit.
        page.click('[data-testid="remove-step-3"]')
        page.wait_for_selector('[data-testid="step-row-2"]')
        assert page.locator('[data-testid="step-row-3"]').count() == 0
        page.click('[data-testid="show-funnel"]')
        page.wait_for_selector('[data-testid="funnel"]')
        assert _values(page, "people") == people[:2]
        page.select_option('[data-testid="breakdown"]', "country")
        page.click('[data-testid="show-funnel"]')
        page.wait_for_selector('[data-testid="funnel-groups"]')
        page.click('[data-testid="people-2"]')
        page.wait_for_selector('[data-testid="funnel-people"]')
        want = api(dash, "/v1/funnel/people", steps=STEPS.rsplit(",", 1)[0], window="2w", breakdown="country", step=2, outcome="converted")
        assert int(page.inner_text('[data-testid="people-total"]')) == want["total"]
    finally:
        ctx.close()


def test_fits_a_phone(pw_browser: Browser, dash: Dash) -> None:
    ctx = pw_browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        _log_in(page, dash, dash.report_path() + "/funnels?s1=%24pageview&s2=signup&s3=%24pageview&breakdown=country")
        page.wait_for_selector('[data-testid="funnel-groups"]')
        # Nothing wider than the phone: the long API call wraps, the breakdown table scrolls alone.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        ctx.close()
