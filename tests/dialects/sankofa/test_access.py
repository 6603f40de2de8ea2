"""Sankofa's keys, allowlists, CORS and handshake against a real server."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest

from tests.dialects.sankofa.helpers import get, post, rows, uid
from tests.support.server import Server, cli

ROUTES = ["/api/v1/track", "/api/v1/people", "/api/v1/alias", "/api/v1/batch", "/api/v1/handshake"]
MISSING = {"ok": False, "error": "Missing API Key"}
INVALID = {"ok": False, "error": "Invalid API Key"}


def track(event: str | None = None) -> dict[str, Any]:
    return {"event_name": event or uid("ev"), "distinct_id": uid()}


@pytest.mark.parametrize("path", ROUTES)
def test_missing_key_is_401(server: Server, path: str) -> None:
    r = get(server, path) if path.endswith("handshake") else post(server, path, {})
    assert r.status_code == 401
    assert r.json() == MISSING


def test_an_empty_key_is_missing_and_auth_comes_before_the_body(server: Server) -> None:
    r = post(server, "/api/v1/track", b"{not json", **{"x-api-key": ""})
    assert (r.status_code, r.json()) == (401, MISSING)
    r = post(server, "/api/v1/track", b"{not json", "sk_live_nope")
    assert (r.status_code, r.json()) == (403, INVALID)


def test_bearer_is_not_an_api_key(server: Server) -> None:
    r = post(server, "/api/v1/track", track(), **{"authorization": f"Bearer {server.keys['sk_live']}"})
    assert (r.status_code, r.json()) == (401, MISSING)


@pytest.mark.parametrize("kind", ["malformed", "unknown", "pk_live", "rk_live", "pk_test"])
def test_unknown_malformed_or_non_secret_keys_are_403(server: Server, kind: str) -> None:
    key = {
        "malformed": "not-a-key",
        "unknown": f"sk_live_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}",
    }.get(kind) or server.keys[kind]
    for path in ROUTES:
        r = get(server, path, key) if path.endswith("handshake") else post(server, path, track(), key)
        assert (r.status_code, r.json()) == (403, INVALID), path


def test_origin_must_be_on_the_projects_list_when_sent(server: Server) -> None:
    key = server.keys["sk_live"]
    ok = post(server, "/api/v1/track", track(), key, origin="http://localhost:5173")
    assert ok.status_code == 200
    assert post(server, "/api/v1/track", track(), key).status_code == 200  # no Origin: a server
    for origin in ("https://evil.example", "null", "http://localhost:5174"):
        event = uid("blocked")
        r = post(server, "/api/v1/track", track(event), key, origin=origin)
        assert (r.status_code, r.json()) == (403, {"ok": False, "error": "Unauthorized Origin"}), origin
        assert rows(server, server.keys["rk_live"], event=event) == []
    r = post(server, "/api/v1/batch", {"operations": []}, key, origin="https://evil.example")
    assert (r.status_code, r.json()) == (403, {"ok": False, "error": "Unauthorized Origin"})


def test_a_project_without_origins_accepts_any_origin(server: Server) -> None:
    out = cli(server.data, "project", "create", f"open-{uid()}", "--json")
    keys = json.loads(out.stdout)["keys"]
    event = uid("open")
    r = post(server, "/api/v1/track", track(event), keys["sk_live"], origin="https://anywhere.example")
    assert r.status_code == 200
    assert len(rows(server, keys["rk_live"], event=event)) == 1


@pytest.mark.parametrize("path", ROUTES)
def test_every_route_answers_cors_preflights_without_a_key(server: Server, path: str) -> None:
    method = "GET" if path.endswith("handshake") else "POST"
    r = httpx.options(
        server.url + path,
        headers={
            "Origin": "https://any.example", "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "x-api-key, content-type",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert method in r.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"x-api-key", "content-type", "authorization"} <= allowed


def test_answers_carry_cors_headers_errors_included(server: Server) -> None:
    key = server.keys["sk_live"]
    answers = [
        post(server, "/api/v1/track", track(), key, origin="http://localhost:5173"),  # 200
        post(server, "/api/v1/track", {"event_name": "e", "distinct_id": "a"}, key),  # 202
        post(server, "/api/v1/track", b"nope", key),  # 400
        post(server, "/api/v1/batch", b"nope", key),  # 400, batch shape
        post(server, "/api/v1/track", track()),  # 401
        post(server, "/api/v1/track", track(), "sk_live_nope"),  # 403
        get(server, "/api/v1/handshake", key),  # 200
    ]
    assert [r.status_code for r in answers] == [200, 202, 400, 400, 401, 403, 200]
    for r in answers:
        assert r.headers["access-control-allow-origin"] == "*"
        assert "retry-after" in r.headers["access-control-expose-headers"].lower()


def test_the_keys_environment_picks_live_or_test_data(server: Server) -> None:
    user = uid()
    assert post(server, "/api/v1/track", track("in_test") | {"distinct_id": user}, server.keys["sk_test"]).status_code == 200
    assert rows(server, server.keys["rk_live"], user_id=user) == []
    (row,) = rows(server, server.keys["rk_test"], user_id=user)
    assert row["event_name"] == "in_test"
    r = post(server, "/api/v1/batch", {"operations": [{"type": "track", "payload": track()}]}, server.keys["sk_test"])
    assert r.json()["environment"] == "test"


def test_handshake_names_the_keys_project(server: Server) -> None:
    r = get(server, "/api/v1/handshake", server.keys["sk_live"], installed="analytics", sdk="web", distinct_id=uid())
    assert r.status_code == 200
    assert r.json() == {"project_id": server.keys["project_id"], "modules": {}}
    r = get(server, "/api/v1/handshake", server.keys["sk_live"], origin="https://evil.example")
    assert r.status_code == 200  # a query parameter named origin is not the Origin header
    with httpx.Client(base_url=server.url) as c:
        r = c.get("/api/v1/handshake", headers={"x-api-key": server.keys["sk_live"], "origin": "https://evil.example"})
    assert (r.status_code, r.json()) == (403, {"ok": False, "error": "Unauthorized Origin"})


def test_openapi_lists_the_sankofa_routes(server: Server) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()
    for path in ROUTES:
        assert path in spec["paths"], path
    track_op = spec["paths"]["/api/v1/track"]["post"]
    assert track_op["security"] == [{"sankofa": []}]
    assert "200" in track_op["responses"] and "400" in track_op["responses"]
