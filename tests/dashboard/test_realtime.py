"""The realtime view: visitors in the last 30 minutes (as the API counts them) and the live
stream over server-sent events, in HTTP and in Chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx

from tests.dashboard.conftest import ADMIN, Dash, login
from tests.dashboard.seed import HOSTILE_EVENT
from tests.dashboard.test_browser import IMG
from tests.support.browser import PageWatch

if TYPE_CHECKING:
    from playwright.sync_api import Browser


def _send(dash: Dash, *events: dict[str, object]) -> None:
    with dash.server.client(dash.other_keys["sk_live"]) as c:
        r = c.post("/v1/batch", json={"events": list(events)})
        assert r.status_code == 202, r.text


def _sse(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    event = ""
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            yield event, line[6:]


def test_realtime_counts_like_the_api(admin: httpx.Client, dash: Dash) -> None:
    _send(dash, *({"event": "$pageview", "anonymous_id": f"rt{i}", "url": "https://o.example/now"} for i in range(3)))
    page = admin.get(dash.report_path(dash.other) + "/realtime")
    assert page.status_code == 200
    got = re.search(r'data-testid="realtime-visitors" data-value="(\d+)"', page.text)
    assert got
    now = datetime.now(UTC)
    with dash.server.client(dash.other_keys["rk_live"]) as c:
        rows = c.get("/v1/stats", params={
            "metric": "uniques", "from": (now - timedelta(minutes=30)).isoformat(), "to": (now + timedelta(seconds=1)).isoformat(),
        }).json()["rows"]
    assert int(got.group(1)) == rows[0]["value"] >= 3
    assert "/now" in page.text
    # htmx refreshes the lists in place.
    lists = admin.get(dash.report_path(dash.other) + "/realtime", headers={"HX-Request": "true"})
    assert 'data-testid="live-lists"' in lists.text and "<html" not in lists.text
    assert "/now" in lists.text


def test_stream_pushes_events_as_they_are_stored(admin: httpx.Client, dash: Dash) -> None:
    url = dash.report_path(dash.other) + "/realtime/stream"
    with admin.stream("GET", url, timeout=20) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert "default-src 'none'" in r.headers["content-security-policy"]
        messages = _sse(r.iter_lines())
        event, first = next(messages)
        assert event == "visitors" and int(first) >= 0
        _send(dash, {"event": HOSTILE_EVENT, "anonymous_id": "rt-live", "url": "https://o.example/live"})
        event, data = next(messages)
        assert event == "events"
        (item,) = json.loads(data)
        assert item["name"] == HOSTILE_EVENT and item["path"] == "/live"
        assert "anonymous_id" not in item and "rt-live" not in data  # no ids leave the server
        event, count = next(messages)
        assert event == "visitors" and int(count) >= int(first)


def test_stream_needs_a_session_and_the_project(dash: Dash) -> None:
    url = dash.report_path(dash.other) + "/realtime/stream"
    assert httpx.get(dash.server.url + url).status_code == 401
    viewer = login(dash.server, "viewer@example.com", "viewer-password-1")
    assert viewer.get(dash.report_path() + "/realtime/stream").status_code == 401
    assert viewer.get(dash.report_path() + "/realtime").status_code == 404
    viewer.close()


def test_live_stream_in_chromium(pw_browser: Browser, dash: Dash) -> None:
    ctx = pw_browser.new_context()
    try:
        page = ctx.new_page()
        watch = PageWatch(page)
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(dash.server.url + dash.report_path(dash.other) + "/realtime")
        page.fill("input[name=email]", ADMIN[0])
        page.fill("input[name=password]", ADMIN[1])
        page.click("form.login button[type=submit]")
        page.wait_for_selector('[data-testid="realtime-visitors"]')
        # The stream is live once its first count arrived (sent after the server subscribed).
        page.wait_for_selector("#stream[data-live]", state="attached")
        before = page.locator("#stream li").count()
        _send(dash, {"event": "clicked <b>buy</b>", "anonymous_id": "rt-browser", "url": "https://o.example/cart"})
        page.wait_for_selector('#stream li:has-text("clicked <b>buy</b>")')
        assert page.locator("#stream li").count() == before + 1
        assert page.locator("#stream b b").count() == 0  # shown as text, not markup
        page.screenshot(path=str(IMG / "dashboard-realtime.png"))
        assert dialogs == [] and watch.console_errors == [] and watch.page_errors == []
        assert watch.foreign_hosts() == set()
    finally:
        ctx.close()


def test_a_stream_ends_at_logout(dash: Dash) -> None:
    """An open stream sends nothing more once its session has logged out: the next event
    ends it (it once kept streaming for its five minutes)."""
    c = login(dash.server, *ADMIN)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get(dash.report_path()).text)
    assert token
    with c.stream("GET", dash.report_path(dash.other) + "/realtime/stream", timeout=20) as r:
        messages = _sse(r.iter_lines())
        assert next(messages)[0] == "visitors"
        # The same session logs out from another connection (the stream holds c's).
        with httpx.Client(base_url=dash.server.url, cookies={"footfall_session": c.cookies["footfall_session"]},
                          headers={"Origin": dash.server.url}) as other:  # fmt: skip
            assert other.post("/dashboard/logout", data={"csrf": token.group(1)}).status_code == 303
        _send(dash, {"event": "after-logout", "anonymous_id": "rt-gone", "url": "https://o.example/private"})
        for event, data in messages:  # none: the stream ends (without the check, the event came)
            assert event != "events" and "after-logout" not in data
    c.close()
