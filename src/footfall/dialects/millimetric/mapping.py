"""Millimetric wire structs → canonical events and identity links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from footfall.dialects.millimetric.schema import IdentifyBody, TrackBody
from footfall.errors import Invalid
from footfall.ids import uuid7
from footfall.model import Event, IdentityLink, Principal, ProfileUpdate
from footfall.timestamps import utc

__all__ = [
    "PROPERTIES_MAX_BYTES",
    "event_from_track",
    "identify_event",
    "link_from_identify",
    "traits_update",
]

PROPERTIES_MAX_BYTES = 8 * 1024
_encode = msgspec.json.Encoder().encode


def _utc(ts: datetime | None, default: datetime) -> datetime:
    # Out of range once in UTC (year 1 at +14:00): the receipt, as `footfall.timestamps` does.
    return (utc(ts) if ts is not None else None) or default


def _properties(props: dict[str, Any] | None, field: str, index: int | None) -> str:
    text = _encode(props or {})
    if len(text) > PROPERTIES_MAX_BYTES:
        details: dict[str, Any] = {
            "field": field,
            "errors": {field: [f"must be at most {PROPERTIES_MAX_BYTES} bytes as JSON, got {len(text)}"]},
        }
        if index is not None:
            details["index"] = index
        raise Invalid("invalid_payload", f"{field} exceeds 8 KB", details=details)
    return text.decode()


def event_from_track(
    body: TrackBody, principal: Principal, received_at: datetime, index: int | None = None
) -> Event:
    assert principal.project_id is not None
    return Event(
        project_id=principal.project_id,
        env=principal.env.value,
        uid=uuid7(),
        event_id=body.event_id,
        name=body.event,
        ts=_utc(body.timestamp, received_at),
        received_at=received_at,
        anonymous_id=body.anonymous_id,
        user_id=body.user_id,
        session_id=body.session_id,
        url=body.url,
        path=body.path,
        referrer=body.referrer,
        properties=_properties(body.properties, "properties", index),
        dialect="millimetric",
    )


def identify_event(body: IdentifyBody, principal: Principal, received_at: datetime) -> Event:
    assert principal.project_id is not None
    return Event(
        project_id=principal.project_id,
        env=principal.env.value,
        uid=uuid7(),
        name="$identify",
        ts=received_at,
        received_at=received_at,
        anonymous_id=body.anonymous_id,
        user_id=body.user_id,
        properties=_properties(body.traits, "traits", None),
        dialect="millimetric",
    )


def link_from_identify(body: IdentifyBody, principal: Principal, received_at: datetime) -> IdentityLink:
    assert principal.project_id is not None
    return IdentityLink(
        project_id=principal.project_id,
        env=principal.env.value,
        anonymous_id=body.anonymous_id,
        user_id=body.user_id,
        ts=received_at,
    )


def traits_update(body: IdentifyBody, principal: Principal, received_at: datetime) -> ProfileUpdate | None:
    """identify's traits merge into the person's profile."""
    if not body.traits:
        return None
    assert principal.project_id is not None
    return ProfileUpdate(
        project_id=principal.project_id,
        env=principal.env.value,
        kind="person",
        subject_id=body.user_id,
        ts=received_at,
        attributes=body.traits,
    )
