"""Plausible's error envelope: `{"errors": {"<field>": ["<message>", ...]}}`.

Plausible answers an invalid event 400 with the changeset's errors per field, and a body that is
not JSON with `{"errors": {"request": ["Unable to parse request body as json"]}}`. Errors that
are not about one field (too large, rate limited, overloaded) use the `request` key too; 429 and
503 carry `Retry-After` (the trackers never retry, a server-side caller may).
"""

from __future__ import annotations

import math
import re

import msgspec
from starlette.responses import Response

from footfall.errors import FootfallError, Invalid

__all__ = ["invalid_from_msgspec", "not_json", "render"]

_encode = msgspec.json.Encoder().encode
# Wire name (short or long) → the field Plausible names in its errors.
_FIELDS = {
    "n": "event_name", "name": "event_name", "u": "url", "url": "url", "d": "domain",
    "domain": "domain", "p": "props", "props": "props", "m": "props", "meta": "props",
    "$": "revenue", "revenue": "revenue",
}  # fmt: skip
_PATH = re.compile(r"at `\$\.([^.`\[]+)")


def not_json() -> Invalid:
    return Invalid(
        "invalid_payload", "Unable to parse request body as json",
        details={"errors": {"request": ["Unable to parse request body as json"]}},
    )


def invalid_from_msgspec(err: msgspec.DecodeError) -> Invalid:
    """A field of the wrong type is `is invalid`, as Plausible's changesets say; anything else
    is not parseable JSON."""
    message = str(err)
    found = _PATH.search(message)
    if found is None:
        return not_json()
    field = _FIELDS.get(found.group(1), found.group(1))
    return Invalid("invalid_payload", f"{field}: {message}", details={"errors": {field: ["is invalid"]}})


def render(exc: FootfallError) -> Response:
    errors = exc.details.get("errors")
    if not isinstance(errors, dict) or exc.status != 400:
        errors = {"request": [exc.message]}
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return Response(
        _encode({"errors": errors}), exc.status, headers, media_type="application/json"
    )
