"""The dashboard in real headless Chromium: log in, numbers equal the API, click → filter →
back, the comparison line, dark mode, a phone, no console error, no request to another host.
Saves the screenshots docs/dashboard.md shows (docs/img/)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.dashboard.conftest import ADMIN, Dash
from tests.support.browser import PageWatch

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _api_total(dash: Dash, **params: Any) -> float:
    today = datetime.now(UTC).date()
    params |= {"from": f"{today - timedelta(days=29)}T00:00:00Z", "to": f"{today + timedelta(days=1)}T00:00:00Z"}
    with dash.server.client(dash.server.keys["rk_live"]) as c:
        rows = c.get("/v1/stats", params=params).json()["rows"]
    return float(rows[0]["value"]) if rows else 0.0


def _log_in(page: Page, dash: Dash) -> None:
    page.goto(dash.server.url + dash.report_path())  # → the login form, then back here
    page.fill("input[name=email]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.click("form.login button[type=submit]")
    page.wait_for_selector('[data-testid="kpi-visitors"]')


def _kpi(page: Page, name: str) -> float:
    return float(page.get_attribute(f'[data-testid="kpi-{name}"]', "data-value") or "nan")


@pytest.fixture
def context(pw_browser: Browser) -> Iterator[BrowserContext]:
    ctx = pw_browser.new_context(viewport=DESKTOP)
    yield ctx
    ctx.close()


def _clean(watch: PageWatch) -> None:
    assert watch.console_errors == [] and watch.page_errors == []
    assert watch.foreign_hosts() == set()


def test_report_in_chromium(context: BrowserContext, dash: Dash) -> None:
    page = context.new_page()
    watch = PageWatch(page)
    _log_in(page, dash)
    for name, params in (
        ("visitors", {"metric": "uniques"}), ("visits", {"metric": "sessions"}),
        ("pageviews", {"metric": "count", "event": "$pageview"}),
    ):
        assert _kpi(page, name) == _api_total(dash, **params), name
    # uPlot drew both lines: this period and the comparison.
    page.wait_for_selector('#chart.drawn[data-series="2"] canvas')
    assert page.is_hidden("#chart svg.fallback")
    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / "dashboard-desktop-light.png"), full_page=True)

    # Click a source: the URL says so, a chip shows it, every panel is filtered.
    before_url = page.url
    page.click('[data-testid="panel-sources"] a:has-text("google")')
    page.wait_for_url("**source=google**")
    page.wait_for_selector('[data-testid="chip-source"]')
    assert _kpi(page, "visitors") == _api_total(dash, metric="uniques", source="google")
    assert page.locator('[data-testid="panel-sources"] .label').all_inner_texts() == ["google"]
    browsers = page.locator('[data-testid="panel-browsers"] .value').all()
    assert sum(int(v.get_attribute("data-value") or 0) for v in browsers) >= _kpi(page, "visitors")
    page.wait_for_selector('#chart.drawn canvas')

    # Back restores the unfiltered report.
    page.go_back()
    page.wait_for_url(before_url)
    page.wait_for_selector('[data-testid="kpi-visitors"]')
    assert page.locator('[data-testid="chip-source"]').count() == 0
    assert _kpi(page, "visitors") == _api_total(dash, metric="uniques")

    # Keyboard: `?` opens the shortcuts, `w` picks the last 7 days.
    page.keyboard.press("?")
    assert page.is_visible("#shortcuts")
    page.keyboard.press("Escape")
    page.keyboard.press("w")
    page.wait_for_url("**period=7d**")
    page.wait_for_selector('.periods a[aria-current]:has-text("Last 7 days")')
    page.keyboard.press("t")
    page.wait_for_url("**period=30d**")
    page.keyboard.press("w")
    page.wait_for_url("**period=7d**")

    # Dark mode by the toggle, kept across pages.
    page.click("#theme-toggle")
    assert page.get_attribute("html", "data-theme") == "dark"
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(15, 17, 21)"
    page.reload()
    assert page.get_attribute("html", "data-theme") == "dark"
    page.wait_for_selector('#chart.drawn canvas')
    page.screenshot(path=str(IMG / "dashboard-desktop-dark.png"), full_page=True)
    _clean(watch)


def test_system_dark_mode_and_phone(pw_browser: Browser, dash: Dash) -> None:
    ctx = pw_browser.new_context(viewport=PHONE, color_scheme="dark", is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        page = ctx.new_page()
        watch = PageWatch(page)
        _log_in(page, dash)
        page.wait_for_selector('#chart.drawn canvas')
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(15, 17, 21)"
        # Nothing wider than the phone: no sideways scrolling of the page.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # The presets scroll sideways, and the chosen one (the last 30 days, past the phone's
        # edge at first) is in view.
        chosen = page.evaluate(
            "(() => { const a = document.querySelector('.periods a[aria-current]').getBoundingClientRect();"
            " const row = document.querySelector('.periods').getBoundingClientRect();"
            " return [a.left >= row.left, a.right <= row.right]; })()"
        )
        assert chosen == [True, True]
        page.screenshot(path=str(IMG / "dashboard-phone.png"))
        _clean(watch)
    finally:
        ctx.close()


def test_reads_without_javascript(pw_browser: Browser, dash: Dash) -> None:
    ctx = pw_browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        page = ctx.new_page()
        _log_in(page, dash)
        assert _kpi(page, "visitors") == _api_total(dash, metric="uniques")
        assert page.is_visible("#chart svg.fallback")
        page.click('[data-testid="panel-sources"] a:has-text("google")')
        page.wait_for_selector('[data-testid="chip-source"]')
        assert _kpi(page, "visitors") == _api_total(dash, metric="uniques", source="google")
        page.click('[data-testid="chip-source"]')
        page.wait_for_selector('[data-testid="kpi-visitors"]')
        assert page.locator('[data-testid="chip-source"]').count() == 0
    finally:
        ctx.close()
