"""@segment/analytics-next, installed from npm, in real headless Chromium against Footfall.

A page server on 127.0.0.1 serves a test page and the SDK's own UMD build; the SDK's CDN URL is
Footfall, whose settings endpoint sends every event back to it. The first delivery of the custom
event is stored but answered 503 on the way back (intercepted in the browser), so the SDK's
retry must be deduplicated.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.dialects.segment.helpers import CHROME
from tests.support.browser import PageWatch
from tests.support.packages import npm_install
from tests.support.server import Server, cli

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route

PAGE = """<!doctype html><html><head><title>Launch</title>
<script src="/ajs/index.js"></script></head><body><h1>Launch</h1><script>
window.done = (async () => {
  const [analytics] = await AnalyticsNext.AnalyticsBrowser.load(
    { writeKey: %(key)s, cdnURL: %(cdn)s }, { retryQueue: true });
  await analytics.page();
  window.anonymousId = analytics.user().anonymousId();
  await analytics.track("Signup Clicked", { plan: "pro", seats: 3 });
  await analytics.identify(%(user)s, { email: "lin@example.com" });
  return window.anonymousId;
})();
</script></body></html>"""


class PageServer:
    """The test page and the SDK files, as a site would host them."""

    def __init__(self, files: dict[str, tuple[str, bytes]]) -> None:
        self.files = files
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = server.files.get(self.path.split("?")[0])
                if found is None:
                    self.send_error(404)
                    return
                kind, body = found
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def sdk_dir() -> Path:
    folder = npm_install("@segment/analytics-next@1.84.3")
    return folder / "node_modules" / "@segment" / "analytics-next" / "dist" / "umd"


@pytest.fixture
def site(tmp_path: Path, sdk_dir: Path) -> Iterator[tuple[PageServer, Server, dict[str, Any]]]:
    pages = PageServer({})
    for file in sdk_dir.glob("*.js"):
        pages.files[f"/ajs/{file.name}"] = ("application/javascript", file.read_bytes())
    data = tmp_path / "data"
    project = json.loads(cli(data, "project", "create", "site", "--origin", pages.origin, "--json").stdout)
    server = Server(data).start()
    try:
        yield pages, server, project
    finally:
        server.stop()
        pages.close()


def test_analytics_next_page_views_and_events_arrive_attributed_and_once(
    pw_browser: Browser, site: tuple[PageServer, Server, dict[str, Any]]
) -> None:
    pages, server, project = site
    key, user = project["keys"]["pk_live"], f"user_{uuid.uuid4().hex[:12]}"
    pages.files["/launch.html"] = ("text/html", (PAGE % {
        "key": json.dumps(key), "cdn": json.dumps(server.url), "user": json.dumps(user)}).encode())

    context = pw_browser.new_context(user_agent=CHROME)  # headless Chromium's own UA reads as a bot
    page = context.new_page()
    watch = PageWatch(page)
    lost: list[str] = []

    def lose_first_answer(route: Route) -> None:
        """Footfall stores the event; the browser hears 503 (the answer lost on the way)."""
        response = route.fetch()
        if not lost:
            lost.append(route.request.post_data or "")
            route.fulfill(response=response, status=503, body='{"code":"overloaded","message":"retry"}')
        else:
            route.fulfill(response=response)

    page.route(f"{server.url}/segment/v1/t", lose_first_answer)
    with page.expect_response(lambda r: r.url.endswith("/segment/v1/t") and r.status == 200, timeout=30_000):
        page.goto(f"{pages.origin}/launch.html?utm_source=newsletter&utm_medium=email&utm_campaign=launch")
    anonymous_id = page.evaluate("window.done")
    context.close()

    assert lost and json.loads(lost[0])["event"] == "Signup Clicked"  # the retried one
    assert watch.page_errors == []
    assert watch.foreign_hosts() == set()  # no Segment CDN or API: everything came from here

    read = {"Authorization": f"Bearer {project['keys']['rk_live']}"}
    with server.client() as c:
        r = c.get("/v1/query", params={"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z",
                                       "anonymous_id": anonymous_id}, headers=read)
    rows = {row["event_name"]: row for row in r.json()["rows"]}
    assert len(r.json()["rows"]) == 3 and sorted(rows) == ["$identify", "$pageview", "Signup Clicked"]
    view = rows["$pageview"]
    assert (view["source"], view["medium"], view["campaign"], view["path"]) == ("newsletter", "email", "launch", "/launch.html")
    assert view["device_type"] == "desktop"  # from the browser's own request
    click = rows["Signup Clicked"]
    assert json.loads(click["properties"]) == {"plan": "pro", "seats": 3}
    assert click["source"] == "newsletter"
    assert rows["$identify"]["user_id"] == user
