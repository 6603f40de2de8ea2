"""CORS on /v1/* for browser keys: allowed origins only."""

from __future__ import annotations

import httpx

from tests.support.server import Server

ALLOWED = "http://localhost:5173"


def test_preflight_for_an_allowed_origin(server: Server) -> None:
    r = httpx.options(server.url + "/v1/track", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "Authorization" in r.headers["access-control-allow-headers"]
    assert r.headers["vary"] == "Origin"


def test_preflight_for_an_unknown_origin_is_refused(server: Server) -> None:
    r = httpx.options(server.url + "/v1/track", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers
    assert r.json()["error"] == "origin_not_allowed"


def test_responses_carry_cors_headers_only_for_allowed_origins(server: Server) -> None:
    with server.client(server.keys["pk_live"], Origin=ALLOWED) as c:
        r = c.post("/v1/track", json={"event": "cors"})
    assert r.status_code == 202
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "Retry-After" in r.headers["access-control-expose-headers"]
    with server.client(server.keys["pk_live"], Origin="https://evil.example") as c:
        r = c.post("/v1/track", json={"event": "cors"})
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers


def test_browser_key_may_travel_in_the_query_for_send_beacon(server: Server) -> None:
    key = server.keys["pk_live"]
    body = b'{"events":[{"event":"beacon","anonymous_id":"beacon_1"}]}'
    r = httpx.post(server.url + f"/v1/batch?key={key}", content=body, headers={"Origin": ALLOWED, "Content-Type": "text/plain;charset=UTF-8"})
    assert r.status_code == 202
    assert [row["event_name"] for row in server.query(server.keys["sk_live"], anonymous_id="beacon_1")] == ["beacon"]
    r = httpx.post(server.url + f"/v1/batch?key={key}", content=body, headers={"Origin": "https://evil.example"})
    assert (r.status_code, r.json()["error"]) == (403, "origin_not_allowed")
    r = httpx.post(server.url + f"/v1/batch?key={server.keys['sk_live']}", content=body)
    assert (r.status_code, r.json()["error"]) == (401, "missing_bearer_token")
