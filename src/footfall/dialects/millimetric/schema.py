"""Millimetric's wire shapes, exactly as its API reference documents them.

Unknown fields (including client-sent enrichment such as `source` or `country`) are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from footfall.model import Event, IdentityLink, ProfileUpdate

__all__ = [
    "BatchBody",
    "ForgetBody",
    "IdentifyBody",
    "ImportAccepted",
    "ImportBody",
    "TrackBody",
    "decode",
]

Name = Annotated[str, Meta(min_length=1, max_length=128)]
Id128 = Annotated[str, Meta(min_length=1, max_length=128)]
Id256 = Annotated[str, Meta(min_length=1, max_length=256)]
Url = Annotated[str, Meta(max_length=2048)]


class TrackBody(msgspec.Struct, kw_only=True):
    event: Name
    event_id: Id128 | None = None
    timestamp: datetime | None = None
    anonymous_id: Id128 | None = None
    user_id: Id256 | None = None
    session_id: Id128 | None = None
    url: Url | None = None
    path: Url | None = None
    referrer: Url | None = None
    properties: dict[str, Any] | None = None


class BatchBody(msgspec.Struct, kw_only=True):
    events: Annotated[list[TrackBody], Meta(min_length=1, max_length=1000)]


class IdentifyBody(msgspec.Struct, kw_only=True):
    anonymous_id: Id128
    user_id: Id256
    traits: dict[str, Any] | None = None


class ForgetBody(msgspec.Struct, kw_only=True):
    user_id: Id256


IMPORT_MAX_RECORDS = 5000


class ImportBody(msgspec.Struct, kw_only=True):
    """`/v1/import`: canonical records (a Footfall export's rows, or what `footfall import`
    made of another tool's); project_id and env are the key's, whatever the records say."""

    events: Annotated[list[Event], Meta(max_length=IMPORT_MAX_RECORDS)] = []
    links: Annotated[list[IdentityLink], Meta(max_length=IMPORT_MAX_RECORDS)] = []
    profiles: Annotated[list[ProfileUpdate], Meta(max_length=IMPORT_MAX_RECORDS)] = []
    reenrich: bool = False


class ImportAccepted(msgspec.Struct):
    ok: bool
    events: int  # events written to the WAL (a copy of a stored one is skipped by the loader)
    links: int
    profiles: int
    dropped: list[int]  # indexes in `events` dropped as invalid


IMPORT_MAX_ROWS = 50_000  # `/v1/import/events`: rows per body (16 MB of them at most anyway)


class RejectedRow(msgspec.Struct):
    index: int  # the record's position in the body, from 0 (a CSV header is not counted)
    error: str


class ImportRowsAccepted(msgspec.Struct):
    ok: bool
    events: int  # rows written to the WAL (a copy of a stored one is skipped by the loader)
    rejected: list[RejectedRow]  # rows that are not a Footfall event row
    dropped: list[int]  # indexes of rows dropped as invalid (name, size or time out of range)


class TrackAccepted(msgspec.Struct):
    ok: bool
    event_id: str | None


class BatchAccepted(msgspec.Struct):
    ok: bool
    count: int


class Ok(msgspec.Struct):
    ok: bool


class ForgetAccepted(msgspec.Struct):
    ok: bool
    queued: bool
    deleted_events: int
    deleted_identities: int
    deleted_sessions: int


class QueryRow(msgspec.Struct):
    timestamp: str
    event_name: str
    event_id: str | None
    anonymous_id: str | None
    user_id: str | None
    session_id: str | None
    source: str | None
    medium: str | None
    campaign: str | None
    source_confidence: str | None
    source_rule_id: str | None
    channel: str | None
    referrer: str | None
    url: str | None
    path: str | None
    country: str | None
    device_type: str | None
    properties: str


class QueryResult(msgspec.Struct):
    rows: list[QueryRow]


class ErrorBody(msgspec.Struct, omit_defaults=True):
    error: str
    details: dict[str, Any] = {}
    origin: str | None = None
    retry_after_s: float | None = None


_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def decode(body: bytes, kind: type[Any]) -> Any:
    """Decode and validate; raises msgspec errors for the routes to translate."""
    dec = _decoders.get(kind)
    if dec is None:
        dec = _decoders[kind] = msgspec.json.Decoder(kind)
    return dec.decode(body)
