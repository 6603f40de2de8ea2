"""`cases.jsonl` replayed against the real server: request → status and exact body (auth, key
kinds, origins, unknown uuids, validation errors)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dialects.atrack.conftest import post
from tests.support.server import Server, cli

CASES = [json.loads(line) for line in (Path(__file__).parent / "cases.jsonl").read_text().splitlines() if line.strip()]
KEYS = {
    "unknown": "sk_live_abcdefgh_" + "A" * 43,
    "malformed": "not-a-key",
}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(server: Server, case: dict[str, Any]) -> None:
    key = case["key"]
    key = None if key is None else KEYS.get(key) or server.keys[key]
    body = case["raw"].encode() if "raw" in case else case.get("body")
    r = post(server, key, case["path"], body, origin=case.get("origin"))
    assert r.status_code == case["status"], r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json() == case["response"]


def test_every_error_keeps_cors_headers_for_the_browser(server: Server) -> None:
    r = post(server, None, "/init", {}, origin="http://localhost:5173")
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == "http://localhost:5173"


def _preflight(server: Server, path: str, origin: str) -> httpx.Response:
    return httpx.options(server.url + path, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-a-track-key, content-type",
    })


def test_preflight(server: Server) -> None:
    r = _preflight(server, "/init", "http://localhost:5173")
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert r.headers["vary"] == "Origin"
    assert "x-a-track-key" in r.headers["access-control-allow-headers"]
    assert "POST" in r.headers["access-control-allow-methods"]


@pytest.mark.parametrize("path", ["/init", "/attributes", "/event", "/session/show", "/event/show"])
def test_preflight_from_an_unknown_origin_is_403_without_cors(server: Server, path: str) -> None:
    r = _preflight(server, path, "https://evil.example")
    assert r.status_code == 403
    assert r.json() == {"success": False, "message": "This origin is not allowed."}
    assert r.headers["content-type"] == "application/json"
    assert not [h for h in r.headers if h.startswith("access-control-")]


def test_answers_carry_cors_headers_only_for_known_origins(server: Server) -> None:
    sk, rk = server.keys["sk_live"], server.keys["rk_live"]
    # a server key works from anywhere, but a foreign origin gets no CORS headers to read it
    r = post(server, sk, "/init", {}, origin="https://evil.example")
    assert r.status_code == 201
    assert "access-control-allow-origin" not in r.headers
    assert r.headers["vary"] == "Origin"
    r = post(server, rk, "/event/show", {}, origin="https://evil.example")
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    # errors too: a foreign origin's pk_ request is refused and unreadable
    r = post(server, server.keys["pk_live"], "/event", {"event": "x"}, origin="https://evil.example")
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    r = post(server, None, "/init", {}, origin="https://evil.example")
    assert r.status_code == 401 and "access-control-allow-origin" not in r.headers
    # a known origin gets them
    r = post(server, sk, "/init", {}, origin="http://localhost:5173")
    assert r.status_code == 201
    assert r.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert r.headers["vary"] == "Origin"
    # without an Origin (server to server) there is nothing to allow
    r = post(server, sk, "/init", {})
    assert r.status_code == 201 and "access-control-allow-origin" not in r.headers


def test_a_known_origin_with_another_projects_pk_key_is_still_refused(fresh_data: Path) -> None:
    """A preflight passes for any project's origin; the request is checked against the key's own
    project (the pk_ origin check is unchanged)."""
    shop = json.loads(cli(fresh_data, "project", "create", "shop", "--origin", "https://shop.example", "--json").stdout)
    blog = json.loads(cli(fresh_data, "project", "create", "blog", "--origin", "https://blog.example", "--json").stdout)
    srv = Server(fresh_data).start()
    try:
        assert _preflight(srv, "/init", "https://shop.example").status_code == 204
        assert _preflight(srv, "/init", "https://blog.example").status_code == 204
        r = post(srv, blog["keys"]["pk_live"], "/init", {}, origin="https://shop.example")
        assert r.status_code == 403
        assert r.json() == {"success": False, "message": "This origin is not allowed for this key."}
        assert r.headers["access-control-allow-origin"] == "https://shop.example"  # a readable error
        r = post(srv, shop["keys"]["pk_live"], "/init", {}, origin="https://shop.example")
        assert r.status_code == 201 and r.headers["access-control-allow-origin"] == "https://shop.example"
    finally:
        srv.stop()


def test_oversized_json_maps_are_rejected(server: Server) -> None:
    sk = server.keys["sk_live"]
    big = {"blob": "x" * 9000}
    r = post(server, sk, "/event", {"event": "x", "attributes": big})
    assert r.status_code == 422
    assert list(r.json()["errors"]) == ["attributes"]
    r = post(server, sk, "/init", {"custom_data": big})
    assert r.status_code == 422 and list(r.json()["errors"]) == ["custom_data"]


def test_oversized_body_is_413(server: Server) -> None:
    r = post(server, server.keys["sk_live"], "/event", b'{"event": "x", "pad": "' + b"x" * 70_000 + b'"}')
    assert r.status_code == 413
    assert r.json() == {"success": False, "message": "payload too large"}


def test_get_is_not_allowed(server: Server) -> None:
    assert httpx.get(server.url + "/init").status_code == 405


def test_test_environment_keys_are_separate(server: Server) -> None:
    """A uuid made with live keys is unknown to the project's test environment."""
    from tests.dialects.atrack.conftest import init

    uuid = init(server, server.keys["sk_live"])
    assert post(server, server.keys["sk_live"], "/session/show", {"uuid": uuid}).status_code == 200
    assert post(server, server.keys["sk_test"], "/session/show", {"uuid": uuid}).status_code == 404


def test_rate_limited_ingest_is_429_with_retry_after(fresh_data: Path) -> None:
    made = json.loads(cli(fresh_data, "project", "create", "limited", "--json").stdout)
    cli(fresh_data, "project", "limit", made["project_id"], "--route", "track", "--rate", "0.01", "--burst", "2")
    srv = Server(fresh_data, env={"FOOTFALL_RATE_LIMITS": "on"}).start()
    try:
        sk = made["keys"]["sk_live"]
        statuses = [post(srv, sk, "/event", {"event": "burst"}).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        r = post(srv, sk, "/init", {})
        assert r.status_code == 429
        assert r.json() == {"success": False, "message": "too many requests, slow down"}
        assert int(r.headers["retry-after"]) >= 1
        # reads are not rate limited
        assert post(srv, made["keys"]["rk_live"], "/event/show", {}).status_code == 200
    finally:
        srv.stop()
