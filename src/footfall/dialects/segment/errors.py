"""Segment's error envelope: `{"code": "<stable_code>", "message": "<text>"}`.

segment-analytics-python 2.3.x retries a 400 whose body lacks either key, and every SDK reads
`Retry-After` on 429 and 503, so both are always there.
"""

from __future__ import annotations

import math
import re

import msgspec
from starlette.responses import Response

from footfall.errors import FootfallError, Invalid

__all__ = ["invalid_from_msgspec", "render"]

_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_encode = msgspec.json.Encoder().encode


def render(exc: FootfallError) -> Response:
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    body = {"code": exc.code, "message": exc.message}
    return Response(_encode(body), exc.status, headers, media_type="application/json")


def invalid_from_msgspec(err: msgspec.DecodeError) -> Invalid:
    """msgspec's `Expected str, got int - at `$.batch[3].event`` as `batch[3].event: Expected ...`."""
    text = str(err)
    match = _PATH.search(text)
    if match:
        field = match.group("path").lstrip(".") or "body"
        return Invalid("invalid_payload", f"{field}: {text[: match.start()]}")
    if isinstance(err, msgspec.ValidationError):
        return Invalid("invalid_payload", f"body: {text}")
    return Invalid("invalid_payload", f"body is not valid JSON: {text}")
