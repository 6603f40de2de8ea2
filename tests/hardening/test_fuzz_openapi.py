"""schemathesis against /openapi.json: every route, generated payloads, zero 5xx.

Every error must also be in the answering dialect's own envelope.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from footfall.dialects.segment.routes import OPERATIONS as SEGMENT_OPERATIONS
from tests.support.server import Server

POSTHOG_ROOTS = {"e", "i", "track", "engage", "capture", "batch", "flags", "decide", "array"}


def is_alias(path: str) -> bool:
    """PostHog serves each path also with a trailing slash and under /posthog: same handler."""
    return path.startswith("/posthog/") or (path.endswith("/") and path != "/")

SEGMENT_PATHS = {op.path for op in SEGMENT_OPERATIONS}


def envelope_ok(path: str, status: int, body: Any) -> bool:
    if status < 400 or not isinstance(body, dict):
        return status < 400
    if path == "/api/event":  # Plausible
        return isinstance(body.get("errors"), dict)
    if path in SEGMENT_PATHS:
        return isinstance(body.get("code"), str) and isinstance(body.get("message"), str)
    if path.startswith("/api/v1/"):  # Sankofa
        return body.get("ok") is False or "error" in body
    if path in ("/init", "/attributes", "/event", "/session/show", "/event/show"):  # A-TRACK
        return body.get("success") is False and "message" in body
    if path.removeprefix("/posthog").split("/")[1] in POSTHOG_ROOTS:  # PostHog
        return body.get("type") in ("validation_error", "authentication_error", "server_error") and isinstance(body.get("detail"), str)
    return isinstance(body.get("error"), str)  # Millimetric and operations


# schemathesis draws from `random` inside its strategies, which hypothesis flags.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_no_route_answers_5xx(server: Server) -> None:
    # schemathesis's pytest plugin does not load under this pytest; drive its strategies
    # with hypothesis directly, one operation at a time.
    api = schemathesis.openapi.from_url(server.url + "/openapi.json")
    key = server.keys["sk_live"]
    headers = {"Authorization": f"Bearer {key}", "x-a-track-key": key, "x-api-key": key}
    segment = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    seen: list[str] = []
    for result in api.get_all_operations():
        operation = result.ok()
        if operation.path in ("/mcp", "/mcp/account"):
            continue  # JSON-RPC over MCP: covered by its own SDK-driven tests
        seen.append(f"{operation.method.upper()} {operation.path}")

        @settings(max_examples=3 if is_alias(operation.path) else 25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            sent = segment if case.path in SEGMENT_PATHS else headers
            response = case.call(base_url=server.url, headers=sent)
            status = response.status_code
            assert status < 500 or status == 503, (case.path, status, response.text[:300])
            if status >= 400:
                try:
                    body = json.loads(response.text)
                except ValueError:
                    pytest.fail(f"{case.path}: non-JSON error body {response.text[:200]!r}")
                assert envelope_ok(case.path, status, body), (case.path, body)

        check()
    assert "POST /v1/track" in seen and "GET /v1/stats" in seen and len(seen) >= 12, seen
    assert "GET /v1/attribution/conversions" in seen and "GET /v1/sessions/summary" in seen, seen
    assert "POST /segment/v1/batch" in seen and "GET /segment/v1/projects/{write_key}/settings" in seen
