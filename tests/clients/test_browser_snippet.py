"""The browser snippet (`GET /v1/a.js`) in real headless Chromium against a real server."""

from __future__ import annotations

import json
import re
import uuid
from importlib import resources
from typing import Any

import httpx

from tests.clients.conftest import Browser, Site, Tab

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def props(row: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(row["properties"])
    return value


def names(rows: list[dict[str, Any]]) -> list[str]:
    return [r["event_name"] for r in rows]


# -- serving the script ---------------------------------------------------------------------------


def test_script_is_served_cacheable_with_a_strong_etag(site: Site) -> None:
    source = resources.files("footfall.dialects.millimetric").joinpath("static", "a.js").read_bytes()
    plain = {"Accept-Encoding": "identity"}
    with httpx.Client(base_url=site.server.url) as c:
        r = c.get("/v1/a.js", headers=plain)
        assert r.status_code == 200
        assert r.content == source
        assert "content-encoding" not in r.headers
        assert r.headers["content-type"] == "application/javascript; charset=utf-8"
        assert r.headers["cache-control"] == "public, max-age=3600"
        assert r.headers["access-control-allow-origin"] == "*"
        etag = r.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        assert c.get("/v1/a.js", headers=plain).headers["etag"] == etag  # stable

        again = c.get("/v1/a.js", headers={**plain, "If-None-Match": etag})
        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "public, max-age=3600"
        for header in (f'"x", W/{etag}', "*"):
            assert c.get("/v1/a.js", headers={**plain, "If-None-Match": header}).status_code == 304
        assert c.get("/v1/a.js", headers={**plain, "If-None-Match": '"stale"'}).status_code == 200

        # gzip is its own representation, with its own strong ETag.
        z = c.get("/v1/a.js", headers={"Accept-Encoding": "gzip"})
        assert z.headers["content-encoding"] == "gzip"
        assert z.content == source  # httpx decodes it
        assert int(z.headers["content-length"]) < len(source) / 2
        assert z.headers["vary"] == "Accept-Encoding"
        assert z.headers["etag"] not in (etag, "")
        assert c.get("/v1/a.js", headers={"Accept-Encoding": "gzip", "If-None-Match": z.headers["etag"]}).status_code == 304
        assert c.get("/v1/a.js", headers={"Accept-Encoding": "gzip;q=0", "If-None-Match": etag}).status_code == 304

        head = c.head("/v1/a.js", headers=plain)
        assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", etag)
        # The script is public: `*` for every origin, one value only.
        cors = c.get("/v1/a.js", headers={"Origin": site.url})
        assert cors.headers.get_list("access-control-allow-origin") == ["*"]
        other = c.get("/v1/a.js", headers={"Origin": "https://elsewhere.example"})
        assert other.headers.get_list("access-control-allow-origin") == ["*"]


# -- in the browser -------------------------------------------------------------------------------


def test_pageview_on_load_carries_url_referrer_and_client_fields(site: Site, tab: Tab) -> None:
    path = "/" + unique("landing")
    tab.navigate(
        site.page(path + "?utm_source=newsletter&utm_medium=email&utm_campaign=spring"),
        referrer="http://www.example.org/article",  # cross-origin: the browser keeps the origin
    )
    anon = tab.evaluate("footfall.getAnonymousId()")
    assert UUID.match(anon)
    assert tab.evaluate("localStorage.getItem('footfall_aid')") == anon

    (row,) = site.wait_rows(lambda rows: len(rows) == 1, anonymous_id=anon)  # the 2 s batch
    assert row["event_name"] == "$pageview"
    assert UUID.match(row["event_id"])
    assert row["url"] == site.url + path + "?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
    assert row["path"] == path
    assert row["referrer"] == "http://www.example.org/"
    assert (row["source"], row["medium"], row["campaign"]) == ("newsletter", "email", "spring")
    assert row["user_id"] is None
    client = props(row)["$client"]
    expected = {
        "locale", "language", "languages", "timezone", "timezoneOffsetMinutes", "platform",
        "screenWidth", "screenHeight", "viewportWidth", "viewportHeight", "pixelRatio",
        "colorDepth", "cookiesEnabled", "touchPoints", "hardwareConcurrency",
    }
    assert expected <= set(client), client
    assert set(client) <= expected | {
        "deviceMemoryGb", "connectionType", "connectionEffectiveType",
        "connectionDownlinkMbps", "connectionRttMs",
    }
    assert client["cookiesEnabled"] is True
    assert isinstance(client["languages"], list)
    assert client["viewportWidth"] > 0
    assert len(row["properties"]) < 2000

    # Sent by fetch with the key in the Authorization header, never in the URL.
    (request,) = tab.requests("/v1/batch")
    assert request["url"] == site.server.url + "/v1/batch"
    assert request["headers"]["Authorization"] == "Bearer " + site.pk

    # The anonymous id survives a reload.
    tab.navigate(site.page(path))
    assert tab.evaluate("footfall.getAnonymousId()") == anon


def test_single_page_navigation_counts_each_new_address_once(site: Site, tab: Tab) -> None:
    base = "/" + unique("app")
    tab.navigate(site.page(base))
    anon = tab.evaluate("footfall.getAnonymousId()")
    tab.evaluate(f"""(async () => {{
        history.pushState({{}}, "", "{base}/settings");
        history.replaceState({{}}, "", "{base}/settings?tab=2");  // same path: not counted
        await new Promise((done) => {{
            addEventListener("popstate", () => setTimeout(done), {{ once: true }});
            history.back();                                       // popstate back to {base}
        }});
        await new Promise((done) => {{
            addEventListener("hashchange", () => setTimeout(done), {{ once: true }});
            location.hash = "/billing";                           // popstate + hashchange: once
        }});
        history.pushState({{}}, "", "{base}#/billing");           // same address: not counted
        history.replaceState({{}}, "", "{base}/moved");           // a new path: counted
        await footfall.flush();
    }})()""")
    rows = site.rows(anonymous_id=anon)  # flush() resolved: the server has stored them
    assert names(rows) == ["$pageview"] * 5
    first = site.url + base
    # Each view after the first is referred by the view before it (a set: timestamps may tie).
    assert {(r["url"], r["path"], r["referrer"]) for r in rows} == {
        (first, base, None),
        (f"{first}/settings", f"{base}/settings", first),
        (first, base, f"{first}/settings?tab=2"),
        (f"{first}#/billing", base, first),
        (f"{first}/moved", f"{base}/moved", f"{first}#/billing"),
    }
    assert len({r["event_id"] for r in rows}) == 5


def test_custom_events_batch_on_a_timer_and_at_twenty(site: Site, tab: Tab) -> None:
    path = "/" + unique("shop")
    tab.navigate(site.page(path))
    anon = tab.evaluate("footfall.getAnonymousId()")
    event_id = tab.evaluate("footfall.track('signup', {plan: 'pro', seats: 3, tags: ['a', 'b']})")
    rows = site.wait_rows(lambda rows: "signup" in names(rows), anonymous_id=anon)
    (signup,) = (r for r in rows if r["event_name"] == "signup")
    assert signup["event_id"] == event_id
    assert props(signup) == {"plan": "pro", "seats": 3, "tags": ["a", "b"]}
    assert (signup["path"], signup["url"]) == (path, site.url + path)

    # The 20th queued event sends the batch at once (synchronously inside track()).
    sent = tab.evaluate("""(() => {
        const calls = [], original = window.fetch;
        window.fetch = function (url) { calls.push(String(url)); return original.apply(this, arguments); };
        for (let i = 0; i < 19; i++) footfall.track('burst', {i});
        const before = calls.length;
        footfall.track('burst', {i: 19});
        window.fetch = original;
        return [before, calls];
    })()""")
    assert sent == [0, [site.server.url + "/v1/batch"]]
    rows = site.wait_rows(lambda rows: names(rows).count("burst") == 20, anonymous_id=anon)
    assert sorted(props(r)["i"] for r in rows if r["event_name"] == "burst") == list(range(20))


def test_identify_links_earlier_anonymous_events_to_the_user(site: Site, tab: Tab) -> None:
    user = unique("user")
    tab.navigate(site.page("/" + unique("pricing")))
    anon = tab.evaluate("footfall.getAnonymousId()")
    tab.evaluate("footfall.track('viewed_pricing'); footfall.flush()")
    tab.evaluate(f"footfall.identify('{user}', {{plan: 'pro', email: 'a@example.com'}})")
    tab.evaluate("footfall.track('purchase', {amount_cents: 4900}); footfall.flush()")

    rows = site.rows(user_id=user)
    by_name = {r["event_name"]: r for r in rows}
    assert set(by_name) == {"$pageview", "viewed_pricing", "$identify", "purchase"}
    assert {r["anonymous_id"] for r in rows} == {anon}
    assert by_name["viewed_pricing"]["user_id"] is None  # sent before identify, linked after
    assert by_name["purchase"]["user_id"] == user
    assert props(by_name["$identify"]) == {"plan": "pro", "email": "a@example.com"}
    (request,) = tab.requests("/v1/identify")
    assert json.loads(request["postData"]) == {
        "anonymous_id": anon, "user_id": user, "traits": {"plan": "pro", "email": "a@example.com"},
    }

    # The user id is remembered on the next page load; identify() with it again sends nothing.
    tab.navigate(site.page("/" + unique("account")))
    tab.evaluate(f"footfall.identify('{user}'); footfall.flush()")
    assert len(tab.requests("/v1/identify")) == 1
    rows = site.rows(user_id=user)
    assert [r["user_id"] for r in rows if r["event_name"] == "$pageview"].count(user) == 1


def test_reset_starts_a_new_visitor_and_page_records_a_view(site: Site, tab: Tab) -> None:
    user = unique("user")
    tab.navigate(site.page("/" + unique("logout")))
    first = tab.evaluate("footfall.getAnonymousId()")
    tab.evaluate(f"footfall.identify('{user}')")
    second = tab.evaluate("footfall.reset(); footfall.getAnonymousId()")
    assert UUID.match(second) and second != first
    assert tab.evaluate("localStorage.getItem('footfall_aid')") == second
    assert tab.evaluate("localStorage.getItem('footfall_uid')") is None
    tab.evaluate("footfall.page(); footfall.flush()")
    (row,) = site.rows(anonymous_id=second)
    assert (row["event_name"], row["user_id"]) == ("$pageview", None)
    assert "$client" in props(row)


# Records the page's sendBeacon calls in sessionStorage, which outlives the page in its tab.
RECORD_BEACONS = """(() => {
    const original = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, data) => {
        const ok = original(url, data);
        const seen = JSON.parse(sessionStorage.getItem("beacons") || "[]");
        seen.push({url: String(url), ok, type: data.type});
        sessionStorage.setItem("beacons", JSON.stringify(seen));
        return ok;
    };
})()"""


def _leave(site: Site, tab: Tab, close: bool) -> tuple[str, str]:
    """Track an event and leave the page before the 2 s batch is due."""
    tab.navigate(site.page("/" + unique("leaving")))
    anon = tab.evaluate("footfall.getAnonymousId()")
    site.wait_rows(lambda rows: len(rows) == 1, anonymous_id=anon)  # the load's batch is out
    tab.evaluate(RECORD_BEACONS)
    event_id = tab.evaluate("footfall.track('left', {why: 'unload'})")
    if close:
        tab.close()
    else:
        tab.navigate(site.url + "/plain/elsewhere")  # same origin, no snippet
    return anon, event_id


def test_beacon_on_navigating_away(site: Site, tab: Tab) -> None:
    anon, event_id = _leave(site, tab, close=False)
    rows = site.wait_rows(lambda rows: "left" in names(rows), anonymous_id=anon)
    assert [r["event_id"] for r in rows if r["event_name"] == "left"] == [event_id]
    assert tab.evaluate("JSON.parse(sessionStorage.getItem('beacons'))") == [
        {"url": f"{site.server.url}/v1/batch?key={site.pk}", "ok": True, "type": "text/plain"},
    ]
    assert len(tab.requests("/v1/batch")) == 1  # fetch sent only the load's batch


def test_beacon_on_closing_the_tab(site: Site, tab: Tab) -> None:
    anon, event_id = _leave(site, tab, close=True)
    rows = site.wait_rows(lambda rows: "left" in names(rows), anonymous_id=anon)
    assert [r["event_id"] for r in rows if r["event_name"] == "left"] == [event_id]


def test_failed_batch_is_retried_after_retry_after_and_stored_once(site: Site, tab: Tab) -> None:
    answers: list[str] = []
    bodies: list[dict[str, Any]] = []

    def paused(params: dict[str, Any]) -> None:
        request = params["request"]
        if request["method"] != "POST":
            tab.browser.post("Fetch.continueRequest", {"requestId": params["requestId"]}, tab.session)
            return
        bodies.append(json.loads(request["postData"]))
        if not answers:  # the first batch meets an overloaded server
            answers.append("503")
            headers = [
                {"name": "Retry-After", "value": "1"},
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Access-Control-Allow-Origin", "value": site.url},
                {"name": "Access-Control-Expose-Headers", "value": "Retry-After"},
            ]
            tab.browser.post("Fetch.fulfillRequest", {
                "requestId": params["requestId"], "responseCode": 503, "responseHeaders": headers,
            }, tab.session)
        else:
            answers.append("server")
            tab.browser.post("Fetch.continueRequest", {"requestId": params["requestId"]}, tab.session)

    tab.on_paused = paused
    tab.send("Fetch.enable", {"patterns": [{"urlPattern": "*/v1/batch*", "requestStage": "Request"}]})
    tab.navigate(site.page("/" + unique("retry")))
    anon = tab.evaluate("footfall.getAnonymousId()")
    tab.evaluate("footfall.flush()")  # answered 503: kept in the queue
    assert answers == ["503"]
    rows = site.wait_rows(lambda rows: len(rows) == 1, anonymous_id=anon)
    assert answers == ["503", "server"]
    assert bodies[0] == bodies[1]  # the same events, with the same event ids
    assert rows[0]["event_id"] == bodies[0]["events"][0]["event_id"]


def test_storage_blocked_keeps_the_anonymous_id_in_memory(site: Site, browser: Browser) -> None:
    # Also: no crypto.randomUUID (as on plain-http pages): ids come from getRandomValues.
    blocked = """Object.defineProperty(window, "localStorage", {
        get() { throw new DOMException("blocked", "SecurityError"); } });
        delete Crypto.prototype.randomUUID;"""
    tab = browser.tab(init_script=blocked)
    try:
        tab.navigate(site.page("/" + unique("private")))
        assert tab.evaluate("typeof crypto.randomUUID") == "undefined"
        anon = tab.evaluate("footfall.getAnonymousId()")
        assert UUID.match(anon)
        tab.evaluate("footfall.track('clicked'); footfall.flush()")
        assert tab.evaluate("footfall.getAnonymousId()") == anon
    finally:
        tab.dispose()
    rows = site.rows(anonymous_id=anon)
    assert sorted(names(rows)) == ["$pageview", "clicked"]
    assert all(UUID.match(r["event_id"]) for r in rows)


# -- Do Not Track / Global Privacy Control ----------------------------------------------------------


def _assert_silent(site: Site, tab: Tab, path: str) -> None:
    """The page at `path` sends nothing and stores no id, even when it tracks and unloads."""
    tab.navigate(site.page(path))
    assert tab.evaluate("footfall.getAnonymousId()") is None
    assert tab.evaluate("footfall.track('probe', {a: 1})") is None
    tab.evaluate(f"footfall.identify('{unique('user')}'); footfall.flush()")
    assert tab.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('footfall'))") == []
    # Leave for a page that does send (it opts out of DNT): once its pageview is stored, anything
    # the silent page might have sent on unload would have been stored too.
    fence = "/" + unique("fence")
    tab.navigate(site.page(fence, respect_dnt="false"))
    anon = tab.evaluate("footfall.getAnonymousId()")
    tab.evaluate("footfall.flush()")
    assert [r["path"] for r in site.rows(anonymous_id=anon)] == [fence]
    sent = [r["url"] for r in tab.requests(site.server.url) if "/v1/a.js" not in r["url"]]
    assert sent == [site.server.url + "/v1/batch"]  # only the fence page's batch
    assert not [r for r in site.rows(event="$pageview") if r["path"] == path]
    assert not site.rows(event="probe")


def test_do_not_track_sends_nothing(site: Site, dnt_browser: Browser) -> None:
    tab = dnt_browser.tab()
    try:
        _assert_silent(site, tab, "/" + unique("dnt"))
        assert tab.evaluate("navigator.doNotTrack") == "1"
    finally:
        tab.dispose()


def test_global_privacy_control_sends_nothing(site: Site, browser: Browser) -> None:
    gpc = """Object.defineProperty(Navigator.prototype, "globalPrivacyControl", {
        get() { return true; }, configurable: true });"""
    tab = browser.tab(init_script=gpc)
    try:
        _assert_silent(site, tab, "/" + unique("gpc"))
    finally:
        tab.dispose()


def test_respect_dnt_false_tracks_despite_do_not_track(site: Site, dnt_browser: Browser) -> None:
    tab = dnt_browser.tab()
    try:
        tab.navigate(site.page("/" + unique("opted-in"), respect_dnt="false"))
        assert tab.evaluate("navigator.doNotTrack") == "1"
        anon = tab.evaluate("footfall.getAnonymousId()")
        tab.evaluate("footfall.track('consented'); footfall.flush()")
    finally:
        tab.dispose()
    assert sorted(names(site.rows(anonymous_id=anon))) == ["$pageview", "consented"]
