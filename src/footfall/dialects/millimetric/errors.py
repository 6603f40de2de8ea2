"""Millimetric's error envelope: `{"error": "<stable_code>", "details": {...}}`."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.responses import Response

from footfall.errors import FootfallError, Invalid

__all__ = ["invalid_from_msgspec", "render"]

_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_encode = msgspec.json.Encoder().encode


def render(exc: FootfallError) -> Response:
    body: dict[str, Any] = {"error": exc.code, "details": exc.details}
    headers = {}
    if exc.code == "origin_not_allowed":
        body["origin"] = exc.details.get("origin")
    if exc.retry_after is not None:
        retry = max(1, int(exc.retry_after + 0.999))
        headers["Retry-After"] = str(retry)
        if exc.code == "rate_limited":
            body["retry_after_s"] = retry
    return Response(_encode(body), exc.status, headers, media_type="application/json")


def invalid_from_msgspec(err: msgspec.DecodeError, code: str = "invalid_payload") -> Invalid:
    """Turn msgspec's `... - at `$.events[3].event`` into field errors, naming a batch index."""
    message = str(err)
    details: dict[str, Any] = {}
    match = _PATH.search(message)
    if match:
        path = match.group("path")
        message = message[: match.start()]
        index = re.match(r"^\.events\[(\d+)\]", path)
        if index:
            details["index"] = int(index.group(1))
            path = path[index.end() :]
        missing = re.match(r"^Object missing required field `([^`]+)`", message)
        if missing:
            path = f"{path}.{missing.group(1)}"
        field = path.lstrip(".") or "body"
        details["field"] = field
        details["errors"] = {field: [message]}
    elif missing := re.match(r"^Object missing required field `([^`]+)`", message):
        details["field"] = missing.group(1)
        details["errors"] = {missing.group(1): [message]}
    elif isinstance(err, msgspec.ValidationError):
        details["errors"] = {"body": [message]}
    else:
        details["errors"] = {"body": ["body is not valid JSON: " + message]}
    return Invalid(code, message, details=details)
