"""Build and check `/v1/track` event bodies at `track` time, before they are queued.

A batch is all-or-nothing on the server, so one bad event would sink up to `batch_size` good ones:
everything the server would reject with 400 is rejected here instead, with a `ValueError` or
`TypeError` the caller sees immediately.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["PROPERTIES_MAX_BYTES", "build_event", "iso_timestamp", "json_object"]

PROPERTIES_MAX_BYTES = 8 * 1024
_LIMITS = {
    "event": 128,
    "event_id": 128,
    "anonymous_id": 128,
    "user_id": 256,
    "session_id": 128,
    "url": 2048,
    "path": 2048,
    "referrer": 2048,
}


def _check(name: str, value: object, *, minimum: int = 1) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not minimum <= len(value) <= _LIMITS[name]:
        raise ValueError(f"{name} must be {minimum}-{_LIMITS[name]} characters, got {len(value)}")
    return value


def iso_timestamp(value: datetime | str | None) -> str:
    """RFC 3339 in UTC; naive datetimes (and ISO strings without an offset) are taken as UTC, as
    the server does. Strings are parsed and re-written, so `"2026-05-01"` is fine."""
    if value is None:
        value = datetime.now(UTC)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))  # ValueError if not ISO
    if not isinstance(value, datetime):
        raise TypeError(f"timestamp must be a datetime or an ISO string, got {type(value).__name__}")
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def json_object(name: str, value: Mapping[str, Any] | None, limit: int | None = None) -> dict[str, Any]:
    """A private JSON copy of `value` (later changes by the caller don't leak into the queue).

    Values JSON can't represent (datetime, Decimal, UUID…) are sent as `str(value)`; NaN and
    infinities raise `ValueError`.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping, got {type(value).__name__}")
    try:
        text = json.dumps(
            dict(value), default=str, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
    except ValueError as err:  # NaN/Infinity are not JSON; the server would reject the batch
        raise ValueError(f"{name}: {err}") from None
    size = len(text.encode())
    if limit is not None and size > limit:
        raise ValueError(f"{name} must be at most {limit} bytes as JSON, got {size}")
    copy: dict[str, Any] = json.loads(text)
    return copy


def build_event(
    event: str,
    *,
    anonymous_id: str | None = None,
    user_id: str | None = None,
    properties: Mapping[str, Any] | None = None,
    timestamp: datetime | str | None = None,
    event_id: str | None = None,
    url: str | None = None,
    referrer: str | None = None,
    path: str | None = None,
    session_id: str | None = None,
) -> dict[str, Any]:
    """One `/v1/track` body with an `event_id` (uuid4 unless given) and a client-side timestamp."""
    body: dict[str, Any] = {
        "event": _check("event", event),
        "event_id": _check("event_id", event_id) if event_id is not None else str(uuid.uuid4()),
        "timestamp": iso_timestamp(timestamp),
    }
    optional = {
        "anonymous_id": anonymous_id,
        "user_id": user_id,
        "session_id": session_id,
        "url": url,
        "path": path,
        "referrer": referrer,
    }
    for name, value in optional.items():
        if value is not None:
            body[name] = _check(name, value, minimum=0 if name in ("url", "path", "referrer") else 1)
    if properties is not None:
        body["properties"] = json_object("properties", properties, PROPERTIES_MAX_BYTES)
    return body
