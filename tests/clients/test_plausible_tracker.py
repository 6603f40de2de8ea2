"""Plausible's own npm tracker (`@plausible-analytics/tracker`, pinned, installed from npm into a
cache) in real headless Chromium, sending to a real Footfall server: the only change is its
`endpoint`.

A small page server on 127.0.0.1 serves the test page and the tracker file; the tracker is
configured with the project's domain (`shop.example`). Two switches make it send from this test
page: `captureOnLocalhost` (it ignores 127.0.0.1 otherwise) and `window.__plausible` (it ignores
browsers under automation otherwise), both the tracker's own.

What the tracker does on an error, read from its code and checked here (with a real 429 from the
server's rate limit, and a 503 answered in its place): it sends each event once with
`fetch(keepalive)`, reports the status to the `callback` and never retries; an app that wants a
retry calls `track` again from the callback.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.clients.conftest import page_server
from tests.support.browser import PageWatch
from tests.support.packages import npm_install
from tests.support.server import Server
from tests.support.sites import site_projects

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request, Route

TRACKER = "@plausible-analytics/tracker@0.4.6"
DOMAIN = "shop.example"
LIMITED = "limited.example"  # a second project, allowed one event per 100 s
VISITOR = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
UTM = "utm_source=newsletter&utm_medium=email&utm_campaign=spring"

PAGE = """<!doctype html><html><head><meta charset=utf-8><title>shop</title></head>
<body style="height: 3000px"><h1>Shop</h1>
<script>window.__plausible = true</script>
<script type="module">
import { init, track } from '/plausible.js'
init({ domain: '%(domain)s', endpoint: '%(endpoint)s', captureOnLocalhost: true, logging: false,
       hashBasedRouting: %(hash)s, customProperties: { page_kind: 'shop' } })
// track() with a promise of what the tracker's callback reports: a status or an error.
window.send = (name, options) => new Promise(resolve => track(name, { ...options,
  callback: result => resolve(result && result.status ? result.status : String(result && result.error)) }))
</script></body></html>
"""


class Pages:
    """The page server: `/plausible.js` is the installed tracker, every other path the page.

    Pages under `/hash/` use hash-based routing; pages under `/limited/` send for `LIMITED`."""

    def __init__(self, tracker: Path, endpoint: str) -> None:
        def html(path: str) -> str:
            domain = LIMITED if path.startswith("/limited/") else DOMAIN
            hash_routing = "true" if path.startswith("/hash/") else "false"
            return PAGE % {"domain": domain, "endpoint": endpoint, "hash": hash_routing}

        self.httpd = page_server(html, {"/plausible.js": (tracker.read_bytes(), "text/javascript")})
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Shop:
    def __init__(self, server: Server, rk: str, limited_rk: str, pages: Pages) -> None:
        self.server, self.rk, self.limited_rk, self.pages = server, rk, limited_rk, pages

    def rows(self, rk: str | None = None, **params: Any) -> list[dict[str, Any]]:
        return list(reversed(self.server.query(rk or self.rk, **params)))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    tracker = npm_install(TRACKER) / "node_modules" / "@plausible-analytics" / "tracker" / "plausible.js"
    data = tmp_path_factory.mktemp("plausible-tracker") / "data"
    projects = site_projects(data, {"shop": DOMAIN, "limited": LIMITED}, {"limited": (0.01, 1)})
    server = Server(data, env={"FOOTFALL_RATE_LIMITS": "on"}).start()
    pages = Pages(tracker, server.url + "/api/event")
    try:
        yield Shop(server, projects["shop"]["keys"]["rk_live"], projects["limited"]["keys"]["rk_live"], pages)
    finally:
        pages.close()
        server.stop()


def _is_event(name: str) -> Any:
    """A predicate on responses: the tracker's POST of event `name`."""

    def check(response: Any) -> bool:
        request: Request = response.request
        return request.url.endswith("/api/event") and json.loads(request.post_data or "{}").get("n") == name

    return check


def _posts(watch: PageWatch, name: str) -> list[dict[str, Any]]:
    bodies = [json.loads(r.post_data or "{}") for r in watch.requests if r.url.endswith("/api/event")]
    return [b for b in bodies if b.get("n") == name]


def _props(row: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = json.loads(row["properties"])
    return props


def _open(pw_browser: Browser, shop: Shop, path: str) -> tuple[Page, PageWatch]:
    # Headless Chromium says "HeadlessChrome", which Footfall (like Plausible) counts as a bot;
    # each test is its own visitor (the cookieless id is the IP and the User-Agent).
    page = pw_browser.new_context(user_agent=f"{VISITOR} test/{uuid.uuid4().hex[:8]}").new_page()
    watch = PageWatch(page)
    # The automatic pageview of `init`: its 202 means stored and readable (a 2xx is durable).
    with page.expect_response(_is_event("pageview")) as first:
        page.goto(shop.pages.origin + path)
    assert first.value.status == 202
    return page, watch


def test_pageviews_custom_events_props_and_revenue_arrive_attributed(pw_browser: Browser, shop: Shop) -> None:
    page, watch = _open(pw_browser, shop, f"/landing?{UTM}")
    assert page.evaluate("send('signup', { props: { tier: 'startup' } })") == 202
    assert page.evaluate("send('Purchase', { revenue: { amount: 15.99, currency: 'USD' } })") == 202

    (view,) = shop.rows(event="$pageview")
    assert view["url"] == f"{shop.pages.origin}/landing?{UTM}" and view["path"] == "/landing"
    assert (view["source"], view["medium"], view["campaign"]) == ("newsletter", "email", "spring")
    assert _props(view) == {"page_kind": "shop"}
    (signup,) = shop.rows(event="signup")
    assert _props(signup) == {"page_kind": "shop", "tier": "startup"}
    assert (signup["source"], signup["session_id"]) == ("newsletter", view["session_id"])
    (purchase,) = shop.rows(event="Purchase")
    assert _props(purchase) == {"page_kind": "shop", "$revenue_amount": 15.99, "$revenue_currency": "USD"}
    # Revenue is credited to the campaign by the same read every dialect's events get.
    with shop.server.client(shop.rk) as c:
        credit = c.get("/v1/attribution", params={
            "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "conversion": "Purchase",
            "value_property": "$revenue_amount", "group_by": "source,medium,campaign",
        }).json()
    (row,) = credit["rows"]
    assert (row["source"], row["campaign"], row["value"]) == ("newsletter", "spring", pytest.approx(15.99))
    assert watch.foreign_hosts() == set() and watch.page_errors == []
    page.context.close()


def test_leaving_a_page_sends_engagement_that_extends_the_visit(pw_browser: Browser, shop: Shop) -> None:
    page, watch = _open(pw_browser, shop, "/docs")
    # Scroll half-way, then navigate in the app: the tracker reports the first page's scroll
    # depth and engaged time, then the new page view.
    page.evaluate("new Promise(r => { addEventListener('scroll', r, { once: true }); scrollTo(0, 1500) })")
    with page.expect_response(_is_event("engagement")) as engaged, page.expect_response(_is_event("pageview")) as second:
        page.evaluate("history.pushState({}, '', '/docs/next')")
    assert engaged.value.status == 202 and second.value.status == 202

    (sent,) = _posts(watch, "engagement")
    (row,) = [r for r in shop.rows(event="$engagement") if r["path"] == "/docs"]
    assert _props(row) == {"page_kind": "shop", "$scroll_depth": sent["sd"], "$engaged_ms": sent["e"]}
    assert 50 < sent["sd"] <= 100 and sent["e"] >= 0
    views = [r for r in shop.rows(event="$pageview") if r["path"] in ("/docs", "/docs/next")]
    assert [v["path"] for v in views] == ["/docs", "/docs/next"]
    assert {v["session_id"] for v in views} == {row["session_id"]}
    with shop.server.client(shop.rk) as c:
        sessions = c.get("/v1/sessions", params={
            "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "anonymous_id": row["anonymous_id"],
        }).json()["rows"]
    (session,) = [s for s in sessions if s["session_id"] == row["session_id"]]
    assert session["pageviews"] == 2 and session["entry_path"] == "/docs"
    assert session["end"] >= row["timestamp"] and session["start"] == views[0]["timestamp"]
    assert watch.page_errors == []
    page.context.close()


def test_after_a_503_the_tracker_does_not_retry_and_the_apps_retry_stores_once(pw_browser: Browser, shop: Shop) -> None:
    page, watch = _open(pw_browser, shop, "/cart")
    failures = []

    def unavailable_once(route: Route) -> None:
        # The answer an overloaded Footfall gives (503 + Retry-After, in Plausible's envelope).
        failures.append(route.request.post_data)
        route.fulfill(status=503, headers={"Access-Control-Allow-Origin": "*", "Retry-After": "1"},
                      content_type="application/json", body='{"errors":{"request":["write queue is full, retry shortly"]}}')
        page.unroute(shop.server.url + "/api/event", unavailable_once)

    page.route(shop.server.url + "/api/event", unavailable_once)
    assert page.evaluate("send('checkout_started', { props: { step: '1' } })") == 503
    assert shop.rows(event="checkout_started") == []
    # The app retries from its callback; the tracker itself sent the event once.
    assert page.evaluate("send('checkout_started', { props: { step: '1' } })") == 202
    assert page.evaluate("send('checkout_done')") == 202
    assert len(failures) == 1 and len(_posts(watch, "checkout_started")) == 2
    (stored,) = shop.rows(event="checkout_started")
    assert _props(stored) == {"page_kind": "shop", "step": "1"}
    page.context.close()


def test_hash_based_routing_sends_the_fragment_as_the_path(pw_browser: Browser, shop: Shop) -> None:
    page, watch = _open(pw_browser, shop, "/hash/app#/home")
    with page.expect_response(_is_event("pageview")) as second:
        page.evaluate("location.hash = '#/settings'")
    assert second.value.status == 202
    assert all(body.get("h") == 1 for body in _posts(watch, "pageview"))
    paths = [r["path"] for r in shop.rows(event="$pageview") if r["path"].startswith("/hash/")]
    assert paths == ["/hash/app#/home", "/hash/app#/settings"]
    page.context.close()


def test_a_real_429_reaches_the_callback_and_is_not_retried(pw_browser: Browser, shop: Shop) -> None:
    page, watch = _open(pw_browser, shop, "/limited/cart")  # the page view takes the one token
    with page.expect_response(_is_event("add_to_cart")) as limited:
        assert page.evaluate("send('add_to_cart')") == 429
    assert limited.value.headers["retry-after"] and limited.value.json() == {
        "errors": {"request": ["too many requests, slow down"]}
    }
    assert page.evaluate("send('after_limit')") == 429
    assert len(_posts(watch, "add_to_cart")) == 1
    assert [r["event_name"] for r in shop.rows(shop.limited_rk)] == ["$pageview"]
    page.context.close()
