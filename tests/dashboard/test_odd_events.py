"""Events the API takes as sent, however odd, never break a page that lists them: a URL that
does not split (`https://[pk/x`), and (see below) an event with no id at all."""

from __future__ import annotations

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
