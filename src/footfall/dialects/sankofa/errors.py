"""Sankofa's error envelope: `{"ok": false, "error": "<message>"}`; `/api/v1/batch` answers
a request that can never succeed with 400 `{"error": "<message>"}`.

The neutral error's stable code is for logs; the client sees the vendor's message. Errors that
are worth retrying (429, 503) carry `Retry-After`, which the SDKs honour.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
from starlette.responses import Response

from footfall.errors import FootfallError, Invalid

__all__ = ["invalid_body", "render", "render_batch"]

_encode = msgspec.json.Encoder().encode

# Neutral code → the vendor's message; anything else shows the error's own message.
MESSAGES = {
    "missing_api_key": "Missing API Key",
    "malformed_api_key": "Invalid API Key",
    "invalid_api_key": "Invalid API Key",
    "key_kind_not_allowed": "Invalid API Key",
    "origin_not_allowed": "Unauthorized Origin",
    "ip_not_allowed": "Unauthorized IP Address",
    "payload_too_large": "Request body too large",
    "rate_limited": "Too many requests, retry later",
    "internal_error": "Internal server error",
}


def invalid_body() -> Invalid:
    """Not JSON, not an object, or a field of the wrong type."""
    return Invalid("invalid_payload", "Invalid request body")


def _headers(exc: FootfallError) -> dict[str, str]:
    if exc.retry_after is None:
        return {}
    return {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}


def render(exc: FootfallError) -> Response:
    body: dict[str, Any] = {"ok": False, "error": MESSAGES.get(exc.code, exc.message)}
    return Response(_encode(body), exc.status, _headers(exc), media_type="application/json")


def render_batch(exc: FootfallError) -> Response:
    if exc.status != 400:
        return render(exc)
    body = {"error": MESSAGES.get(exc.code, exc.message)}
    return Response(_encode(body), 400, media_type="application/json")
