"""The Playwright-driven Chromium the UI and browser-SDK tests stand on reaches our server."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.browser import PageWatch
from tests.support.server import Server

if TYPE_CHECKING:
    from playwright.sync_api import Browser


def test_chromium_loads_a_page_from_the_server_and_asks_no_other_host(
    pw_browser: Browser, server: Server
) -> None:
    context = pw_browser.new_context()
    page = context.new_page()
    watch = PageWatch(page)
    response = page.goto(f"{server.url}/healthz")
    assert response is not None and response.status == 200
    assert '"ok"' in page.content() or "ok" in page.inner_text("body")
    assert watch.foreign_hosts() == set()
    assert watch.page_errors == []
    context.close()
