"""PostHog's capture wire shapes, as posthog-js, posthog-node and posthog (python) send them.

Every field is optional here: the SDKs put the same thing in several places (`distinct_id` or
`$distinct_id`, the token on the batch, the event or its properties), and the mapping picks.
Unknown fields are ignored. `CaptureBody` is one object that is either a single event or a
`{api_key, batch: [...]}` envelope; a bare JSON array is a list of events.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "CaptureBody",
    "CaptureEvent",
    "Captured",
    "ErrorBody",
    "Flags",
    "RemoteConfig",
    "decode",
]

Scalar = str | int | float | None


class CaptureEvent(msgspec.Struct, kw_only=True):
    event: str | None = None
    distinct_id: Scalar = None
    dollar_distinct_id: Scalar = msgspec.field(default=None, name="$distinct_id")
    properties: dict[str, Any] | None = None
    timestamp: str | None = None  # ISO 8601
    offset: int | None = None  # milliseconds before sent_at / receipt (old SDKs)
    uuid: str | None = None  # idempotency key
    token: str | None = None
    dollar_token: str | None = msgspec.field(default=None, name="$token")
    api_key: str | None = None
    # person-property operations (posthog-js and posthog-python put them beside `properties`)
    set: dict[str, Any] | None = msgspec.field(default=None, name="$set")
    set_once: dict[str, Any] | None = msgspec.field(default=None, name="$set_once")
    unset: list[str] | None = msgspec.field(default=None, name="$unset")


class CaptureBody(CaptureEvent, kw_only=True):
    """A single event, or the envelope `{api_key|token, batch, sent_at?, historical_migration?}`."""

    batch: list[CaptureEvent] | None = None
    sent_at: str | None = None
    historical_migration: bool | None = None


class Captured(msgspec.Struct):
    """Exactly `{"status": 1}`: posthog-js and posthog-python retry any other 2xx."""

    status: int


class ErrorBody(msgspec.Struct):
    """PostHog's API error shape."""

    type: str  # validation_error | authentication_error | server_error
    code: str
    detail: str
    attr: str | None


class Flags(msgspec.Struct):
    """`/flags` (v2) and the legacy `/decide` answer: no flags, nothing to record."""

    flags: dict[str, Any]
    featureFlags: dict[str, Any]
    featureFlagPayloads: dict[str, Any]
    errorsWhileComputingFlags: bool
    sessionRecording: bool
    supportedCompression: list[str]


class RemoteConfig(msgspec.Struct):
    supportedCompression: list[str]
    hasFeatureFlags: bool


_decoder = msgspec.json.Decoder(CaptureBody | list[CaptureEvent])


def decode(data: bytes | str) -> CaptureBody | list[CaptureEvent]:
    """Decode and type-check one capture payload; raises msgspec errors for the routes."""
    return _decoder.decode(data)
