"""Events the API takes as sent, however odd, never break a page that lists them: a URL that
does not split (`https://[pk/x`), and (see below) an event with no id at all."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx

from tests.dashboard.conftest import Dash


def test_a_url_that_does_not_split_shows_as_sent(admin: httpx.Client, dash: Dash) -> None:
    who = "bad-url-visitor"
    with dash.server.client(dash.server.keys["sk_live"]) as c:
        r = c.post("/v1/batch", json={"events": [{"event": "$pageview", "anonymous_id": who, "url": "https://[pk/x"}]})
        assert r.status_code == 202
    base = dash.report_path()
    for path in ("/events", "/realtime", f"/people/{quote(who, safe='')}"):
        page = admin.get(base + path)
        assert page.status_code == 200, (path, page.text[:300])
        assert "https://[pk/x" in page.text, path


def test_an_event_without_any_id_is_listed_without_a_person(admin: httpx.Client, dash: Dash) -> None:
    """`/v1/import` takes an event as exported, ids or none: the event log lists it with no
    person link (it once answered 500 building that link)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    event = {"project_id": dash.project, "env": "live", "uid": str(uuid.uuid4()), "name": "no-id-import",
             "ts": now, "received_at": now, "url": "https://x.example/no-id", "path": "/no-id"}  # fmt: skip
    with dash.server.client(dash.server.keys["sk_live"]) as c:
        r = c.post("/v1/import", json={"events": [event]})
        assert r.status_code == 202 and r.json()["events"] == 1, r.text
    for params in ({"period": "today", "event": "no-id-import"}, {"period": "today"}):
        page = admin.get(dash.report_path() + "/events", params=params)
        assert page.status_code == 200, page.text[:300]
        assert "no-id-import" in page.text and 'data-testid="no-person"' in page.text
    sessions = admin.get(dash.report_path() + "/sessions", params={"period": "today"})
    assert sessions.status_code == 200
    # As a conversion: its path is [Direct] (no touchpoint), listed with no person either.
    listed = admin.get(dash.report_path() + "/attribution/conversions",
                       params={"period": "today", "conversion": "no-id-import", "path": '["Direct"]'})  # fmt: skip
    assert listed.status_code == 200, listed.text[:300]
    assert "none (sent without an id)" in listed.text


def test_the_ids_dot_and_dot_dot_open_and_are_forgotten(admin: httpx.Client, dash: Dash) -> None:
    """A browser resolves a path segment "." or ".." before it asks, so their person links
    once led to the report or a 404 (and no forget link anywhere): they go in the query."""
    with dash.server.client(dash.server.keys["sk_live"]) as c:
        events = [{"event": "dot-person", "anonymous_id": who, "url": "https://x.example/dots"} for who in (".", "..")]
        assert c.post("/v1/batch", json={"events": events}).status_code == 202
    log = admin.get(dash.report_path() + "/events", params={"period": "today", "event": "dot-person"}).text
    links = {html.unescape(h) for h in re.findall(r'href="([^"]+)" data-testid="person-link"', log)}
    assert links == {f"{dash.report_path()}/people?id=.", f"{dash.report_path()}/people?id=.."}
    for who in (".", ".."):
        page = admin.get(f"{dash.report_path()}/people", params={"id": who})
        assert page.status_code == 200 and f'data-testid="person-id">{who}<' in page.text
        csv_link = re.search(r'href="([^"]+)" data-testid="csv"', page.text)
        assert csv_link and admin.get(html.unescape(csv_link.group(1))).text.count("dot-person") == 1
        forget = re.search(r'href="([^"]+)" data-testid="forget-link"', page.text)
        assert forget
        confirm = admin.get(html.unescape(forget.group(1)))
        csrf = re.search(r'name="csrf" value="([^"]+)"', confirm.text)
        action = re.search(r'<form method="post" action="([^"]+)" hx-boost="false"', confirm.text)
        assert csrf and action
        form = {"csrf": csrf.group(1), "person": re.findall(r'name="person" value="([^"]*)"', confirm.text)[0]}
        done = admin.post(html.unescape(action.group(1)), data=form, headers={"Origin": dash.server.url})
        assert done.status_code == 200 and 'data-testid="forgotten"' in done.text, done.text[:300]
    with dash.server.client(dash.server.keys["rk_live"]) as c:
        day = datetime.now(UTC).date()
        span = {"from": f"{day - timedelta(days=1)}T00:00:00Z", "to": f"{day + timedelta(days=1)}T00:00:00Z"}
        assert c.get("/v1/events", params={**span, "event": "dot-person"}).json()["rows"] == []
