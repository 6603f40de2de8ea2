"""Events the API takes as sent, however odd, never break a page that lists them: a URL that
does not split (`https://[pk/x`), and (see below) an event with no id at all."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
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
