"""Real headless Chromium (Debian's `chromium`) driven by Playwright for Python.

Playwright never downloads a browser here: it drives the system Chromium through
`executable_path`. Tests that need a browser take the `pw_browser` fixture (one Chromium per
test module) and open their own context, so storage never leaks between tests. Module scope, not
session: while Playwright's sync API is started it keeps an asyncio loop running in the main
thread, and every later test calling `asyncio.run()` (the MCP client tests) would fail.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request

# Without the background-networking flags Chromium keeps calling out to Google's hosts, which
# this machine's closed network refuses (and which a test of "no third-party request" must not see).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


@pytest.fixture(scope="module")
def pw_browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("no chromium on this machine (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class PageWatch:
    """Console errors, failed requests and every host a page asked for, to assert on."""

    def __init__(self, page: Page) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.hosts: set[str] = set()
        self.requests: list[Request] = []
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("request", self._request)

    def _request(self, request: Request) -> None:
        self.requests.append(request)
        parts = urlsplit(request.url)
        if parts.scheme in {"http", "https", "ws", "wss"}:
            self.hosts.add(parts.hostname or "")

    def foreign_hosts(self, *allowed: str) -> set[str]:
        return self.hosts - {"127.0.0.1", "localhost", *allowed}
