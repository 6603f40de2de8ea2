"""The real posthog-js (pinned, from npm) in headless Chromium against a real server.

A tiny page server on 127.0.0.1 serves the page and the SDK (a page in Playwright's own
fulfilled origin counts as public, and Chromium then refuses its requests to a loopback server);
its origin is on the project's allowlist. posthog-js treats HeadlessChrome as a bot unless
`opt_out_useragent_filter` is set. One visit: an autocaptured `$pageview` with utm tags (its
first delivery answered 503 after the server stored it, so the SDK retries and the uuid keeps it
single), a custom event, identify (stitching the earlier anonymous pageview), then leaving the
page, which flushes the queue with `navigator.sendBeacon` as a base64 form.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.dialects.posthog.helpers import rows, uid
from tests.support.browser import PageWatch
from tests.support.packages import npm_install
from tests.support.server import Server, cli

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Response, Route

PAGE = """<!doctype html><html><head><title>Landing</title>
<script src="/posthog.js"></script>
<script>
  // Beacons leave after the page is gone (Playwright never sees them): note each one where the
  // next page of this origin can read it.
  const sendBeacon = navigator.sendBeacon.bind(navigator)
  navigator.sendBeacon = (url, data) => {{
    const seen = JSON.parse(localStorage.getItem('beacons') || '[]')
    localStorage.setItem('beacons', JSON.stringify([...seen, {{url: String(url), type: data && data.type}}]))
    return sendBeacon(url, data)
  }}
  posthog.init({pk!r}, {{
    api_host: {api!r}, opt_out_useragent_filter: true, autocapture: false,
    disable_session_recording: true, disable_surveys: true, persistence: 'localStorage',
    disable_compression: location.search.includes('disable_compression'),
  }})
</script></head><body><h1>{title}</h1></body></html>"""


def wait_for(fetch: Callable[[], list[dict[str, Any]]], timeout: float = 30.0) -> list[dict[str, Any]]:
    """Poll the server until a beacon, which nothing in the browser can wait on, has landed."""
    deadline = time.monotonic() + timeout
    while not (found := fetch()) and time.monotonic() < deadline:
        time.sleep(0.2)  # polling a condition with a deadline, as Server.start does
    return found


class Site:
    def __init__(self, url: str, server: Server, pk: str) -> None:
        self.url, self.server, self.pk = url, server, pk


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    sdk = npm_install("posthog-js@1.449.2") / "node_modules" / "posthog-js" / "dist" / "array.full.js"
    keys: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/posthog.js":
                body, kind = sdk.read_bytes(), "application/javascript"
            elif path == "/plain":
                body, kind = b"<!doctype html><title>plain</title>", "text/html"
            else:
                body, kind = PAGE.format(pk=keys["pk"], api=keys["api"], title=path).encode(), "text/html"
            self.send_response(200)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    data = tmp_path / "data"
    created = json.loads(cli(data, "project", "create", "web", "--origin", origin, "--json").stdout)
    server = Server(data).start()
    keys.update(pk=created["keys"]["pk_live"], api=server.url)
    try:
        server.keys["rk_live"] = created["keys"]["rk_live"]
        yield Site(origin, server, created["keys"]["pk_live"])
    finally:
        server.stop()
        httpd.shutdown()
        httpd.server_close()


def test_posthog_js_in_chromium(pw_browser: Browser, site: Site) -> None:
    server = site.server
    user, campaign = uid("js_user"), uid("launch")
    capture = re.compile(re.escape(server.url) + r"/(e|i/v0/e|batch)/")
    bodies: list[str] = []  # what reached the server, in order
    refused: list[int] = []

    def capture_route(route: Route) -> None:
        response = route.fetch()  # the server stores the batch either way
        bodies.append(route.request.post_data_buffer[:5].decode("latin-1") if route.request.post_data_buffer else "")
        if not refused:  # answer the first delivery 503: posthog-js must retry it
            refused.append(response.status)
            route.fulfill(response=response, status=503, body='{"type":"server_error"}')
        else:
            route.fulfill(response=response)

    def delivered(r: Response) -> bool:
        return bool(capture.match(r.url)) and r.status == 200

    context = pw_browser.new_context()
    context.route(capture, capture_route)
    page = context.new_page()
    watch = PageWatch(page)
    with page.expect_response(delivered, timeout=30_000):  # the retry after the 503
        page.goto(f"{site.url}/landing?utm_source=newsletter&utm_medium=email&utm_campaign={campaign}")
    assert refused == [200] and bodies[0].startswith("\x1f\x8b")  # raw gzip, as text/plain
    device = page.evaluate("posthog.get_distinct_id()")
    with page.expect_response(delivered, timeout=30_000):
        page.evaluate("posthog.capture('signup_clicked', {plan: 'pro'})")
        page.evaluate(f"posthog.identify({user!r}, {{email: 'ama@example.com'}})")

    # Leaving a page hands the queue to navigator.sendBeacon: a base64 form when the SDK does
    # not compress (before it knows the server's compression, or with disable_compression).
    page.goto(f"{site.url}/bye?disable_compression=1")
    page.evaluate("posthog.capture('beacon_probe')")
    page.goto(f"{site.url}/plain")
    beacons = json.loads(page.evaluate("localStorage.getItem('beacons')"))
    # the landing page left with gzip beacons (text/plain), the uncompressed page with forms
    assert {b["url"].split("?")[0] for b in beacons} == {f"{server.url}/e/"}
    assert beacons[0]["type"] == "text/plain"
    forms = [b for b in beacons if b["type"] == "application/x-www-form-urlencoded"]
    assert forms and all("compression=base64" in b["url"] for b in forms)
    assert wait_for(lambda: rows(server, event="beacon_probe"))[0]["user_id"] == user
    context.close()

    got = rows(server, user_id=user)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for r in got:
        by_name.setdefault(r["event_name"], []).append(r)
    assert {"$pageview", "signup_clicked", "$identify", "beacon_probe"} <= by_name.keys(), sorted(by_name)
    # delivered twice (the 503, then the retry), stored once by its uuid
    (view,) = [r for r in by_name["$pageview"] if r["path"] == "/landing"]
    assert view["campaign"] == campaign and view["source_rule_id"] != "session_inherited"
    assert (view["source"], view["medium"], view["path"], view["anonymous_id"], view["user_id"]) == (
        "newsletter", "email", "/landing", device, None)  # anonymous, stitched by identify
    (clicked,) = by_name["signup_clicked"]
    assert json.loads(clicked["properties"])["plan"] == "pro" and clicked["anonymous_id"] == device
    (identify,) = by_name["$identify"]
    assert (identify["user_id"], identify["anonymous_id"]) == (user, device)
    assert watch.page_errors == [] and watch.foreign_hosts() == set()
