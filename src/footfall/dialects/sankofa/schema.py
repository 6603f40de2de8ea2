"""Sankofa's wire shapes (`/api/v1/*`), as its engine and SDKs send and expect them.

Required fields are optional here on purpose: the documented validation order answers a body
that is not JSON (or has a field of the wrong type) with `Invalid request body` and only then
checks that the required strings are present and non-empty, with their own message.
Unknown fields are ignored.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "AliasBody",
    "BatchAccepted",
    "BatchBody",
    "BatchErrorBody",
    "Command",
    "Discarded",
    "ErrorBody",
    "Handshake",
    "Ok",
    "Operation",
    "PeopleBody",
    "TrackAccepted",
    "TrackBody",
    "convert",
    "decode",
]


class TrackBody(msgspec.Struct, kw_only=True):
    event_name: str | None = None
    distinct_id: str | None = None
    properties: dict[str, Any] | None = None
    default_properties: dict[str, Any] | None = None
    timestamp: str | None = None  # ISO 8601; no offset means UTC
    lib_version: str | None = None


class PeopleBody(msgspec.Struct, kw_only=True):
    distinct_id: str | None = None
    properties: dict[str, Any] | None = None
    timestamp: str | None = None


class AliasBody(msgspec.Struct, kw_only=True):
    alias_id: str | None = None  # the anonymous id
    distinct_id: str | None = None  # the person it belongs to
    timestamp: str | None = None


class Operation(msgspec.Struct, kw_only=True):
    type: str | None = None  # track | people | alias
    payload: Any = None  # an object, converted to the type's body


class BatchBody(msgspec.Struct, kw_only=True):
    operations: list[Operation] | None = None


class Command(msgspec.Struct):
    type: str  # CAPTURE_PRISTINE
    params: dict[str, str]


class TrackAccepted(msgspec.Struct):
    ok: bool
    commands: list[Command]


class Ok(msgspec.Struct):
    ok: bool


class Discarded(msgspec.Struct):
    ok: bool
    status: str  # discarded | discarded_all


class BatchAccepted(msgspec.Struct):
    ok: bool
    project_id: str
    project_name: str
    environment: str  # live | test
    operations_received: int  # every operation in the request
    events_received: int  # track operations stored
    people_received: int  # people operations stored
    aliases_received: int  # alias operations stored
    discarded: int  # operations dropped by the garbage-id check
    commands: list[Command]


class Handshake(msgspec.Struct):
    project_id: str
    modules: dict[str, Any]


class ErrorBody(msgspec.Struct):
    ok: bool
    error: str


class BatchErrorBody(msgspec.Struct):
    """`/api/v1/batch` answers a request that can never succeed with 400 `{"error": ...}`."""

    error: str


_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def decode(body: bytes, kind: type[Any]) -> Any:
    """Decode and type-check; raises msgspec errors for the routes to translate."""
    dec = _decoders.get(kind)
    if dec is None:
        dec = _decoders[kind] = msgspec.json.Decoder(kind)
    return dec.decode(body)


def convert(payload: Any, kind: type[Any]) -> Any:
    """A batch operation's payload (already parsed) as `kind`; raises msgspec errors."""
    return msgspec.convert(payload, kind)
