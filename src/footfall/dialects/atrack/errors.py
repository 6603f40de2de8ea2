"""A-TRACK's error envelope (Laravel-style), rendered from the neutral error tree.

- validation (`Invalid`): `422 {"success": false, "message": "...", "errors": {"field": ["..."]}}`
- everything else: `{"success": false, "message": "..."}` with the error's own status
  (401, 403, 404, 413, 429, 503; 500 says only "internal error")
- `Retry-After` (whole seconds, at least 1) on 429 and 503
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.responses import Response

from footfall.errors import FootfallError, Invalid

__all__ = ["field_error", "invalid_from_msgspec", "render"]

_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`")
_encode = msgspec.json.Encoder().encode


def render(exc: FootfallError) -> Response:
    body: dict[str, Any] = {"success": False, "message": exc.message}
    status = exc.status
    if isinstance(exc, Invalid):
        status = 422
        errors = exc.details.get("errors")
        body["errors"] = errors if isinstance(errors, dict) and errors else {"body": [exc.message]}
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, int(exc.retry_after + 0.999)))
    return Response(_encode(body), status, headers, media_type="application/json")


def field_error(field: str, message: str) -> Invalid:
    """One field's problem, as `{"errors": {field: [message]}}`."""
    return Invalid("invalid_payload", message, details={"errors": {field: [message]}})


def _dotted(path: str) -> str:
    """`$.context.client.screenWidth` → `context.client.screenWidth`; `.languages[2]` →
    `languages.2` (Laravel's notation)."""
    return re.sub(r"\[(\d+)\]", r".\1", path).lstrip(".")


def invalid_from_msgspec(err: msgspec.DecodeError) -> Invalid:
    """Turn msgspec's `Expected ... - at `$.x.y`` into `{"errors": {"x.y": [...]}}`."""
    text = str(err)
    field = "body"
    match = _PATH.search(text)
    if match:
        text = text[: match.start()]
        field = _dotted(match.group("path")) or "body"
    missing = _MISSING.match(text)
    if missing:
        name = missing.group("field")
        field = f"{field}.{name}" if field != "body" else name
        message = f"The {field} field is required."
    elif isinstance(err, msgspec.ValidationError):
        message = f"The {field} field is invalid: {text}." if field != "body" else f"The body is invalid: {text}."
    else:
        message = f"The body must be JSON: {text}."
    return field_error(field, message)
