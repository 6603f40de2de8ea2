"""Other tools' export lines → canonical records (`Event`, `IdentityLink`, `ProfileUpdate`).

One function per source format, `(row, scope) -> Records`, raising `BadLine` for a row that
cannot be imported (the importer reports it with its line number and goes on). Like a dialect's
mapping, nothing here enriches: the server's pipeline does that (`reenrich`), except for
Footfall's own export, whose rows are already enriched and are kept as they are.

Rows without an id of their own get a uid derived from their content, so importing the same
file twice stores each row once (the loader skips a stored uid).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from footfall.model import Env, Event, IdentityLink, KeyKind, Principal, ProfileUpdate, Scope

__all__ = [
    "FORMATS", "BadLine", "Decoder", "Records", "SourceFormat", "decoder_for", "event_struct", "profile_updates",
]  # fmt: skip

SourceFormat = Literal["footfall", "segment", "posthog", "millimetric"]
FORMATS: tuple[SourceFormat, ...] = ("footfall", "segment", "posthog", "millimetric")
Row = bytes | dict[str, Any]  # an NDJSON line, or a row read from CSV or Parquet


class BadLine(ValueError):
    """This row cannot be imported; the message says why."""


@dataclass
class Records:
    events: list[Event] = field(default_factory=list)
    links: list[IdentityLink] = field(default_factory=list)
    profiles: list[ProfileUpdate] = field(default_factory=list)

    def extend(self, other: Records) -> None:
        self.events.extend(other.events)
        self.links.extend(other.links)
        self.profiles.extend(other.profiles)

    def __len__(self) -> int:
        return len(self.events) + len(self.links) + len(self.profiles)


_encode = msgspec.json.Encoder(order="sorted").encode
_any = msgspec.json.Decoder(dict[str, Any]).decode


def _content_uid(kind: str, row: Row) -> str:
    """A UUID (version 8, RFC 9562) from the row's content: the same row, the same uid."""
    raw = row if isinstance(row, bytes) else _encode(row)
    h = bytearray(hashlib.sha256(kind.encode() + b"\0" + raw.strip()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x80
    h[8] = (h[8] & 0x3F) | 0x80
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def _decode(row: Row, kind: type[Any]) -> Any:
    try:
        if isinstance(row, bytes):
            return msgspec.json.decode(row, type=kind)
        # Rows read from CSV are all text ("true", "1.5"), from Parquet already typed.
        return msgspec.convert(row, kind, strict=False)
    except msgspec.DecodeError as err:  # ValidationError included
        raise BadLine(str(err)) from None


def _time(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        ts = value
    elif isinstance(value, str) and value:
        try:
            ts = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
        except ValueError:
            raise BadLine(f"{name} is not an ISO 8601 time: {value[:64]!r}") from None
    else:
        raise BadLine(f"{name} is required (an import keeps historical times)")
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _properties(props: Any) -> str:
    if props is None:
        return "{}"
    if not isinstance(props, dict):
        raise BadLine("properties must be an object")
    return _encode(props).decode()


# -- Footfall's own export --------------------------------------------------------------------
def event_struct(row: Row) -> Event:
    """A row of Footfall's events export as the canonical `Event` (its project as exported)."""
    event: Event = _decode(row, Event)
    return event


def footfall_event(row: Row, scope: Scope) -> Records:
    event = event_struct(row)
    event.project_id, event.env = scope.project_id, scope.env
    return Records(events=[event])


def footfall_link(row: Row, scope: Scope) -> Records:
    link: IdentityLink = _decode(row, IdentityLink)
    link.project_id, link.env = scope.project_id, scope.env
    return Records(links=[link])


class _ProfileRow(msgspec.Struct):
    kind: str
    subject_id: str
    attributes: str
    context: str
    custom_data: str
    enrichment: str
    created_at: datetime
    updated_at: datetime


def profile_updates(row: Row, scope: Scope) -> Records:
    """A stored profile as two updates: the document at `created_at`, then a touch at
    `updated_at`, so the loader's fold rebuilds the row exactly."""
    p: _ProfileRow = _decode(row, _ProfileRow)
    try:
        docs = [_any(getattr(p, n).encode()) for n in ("attributes", "context", "custom_data", "enrichment")]
    except msgspec.DecodeError as err:
        raise BadLine(f"profile JSON: {err}") from None
    def update(ts: datetime, **fields: Any) -> ProfileUpdate:
        return ProfileUpdate(project_id=scope.project_id, env=scope.env, kind=p.kind,
                             subject_id=p.subject_id, ts=_time(ts, "time"), **fields)  # fmt: skip

    return Records(profiles=[
        update(p.created_at, attributes=docs[0], replace=True, context=docs[1],
               custom_data=docs[2], enrichment=docs[3]),
        update(p.updated_at),
    ])  # fmt: skip


# -- Millimetric /v1/batch items ----------------------------------------------------------------
def millimetric_event(row: Row, scope: Scope) -> Records:
    """One `/v1/batch` item, mapped by the Millimetric dialect's own mapping (its limits too)."""
    from footfall.dialects.millimetric.mapping import event_from_track
    from footfall.dialects.millimetric.schema import TrackBody
    from footfall.errors import Invalid

    body: TrackBody = _decode(row, TrackBody)
    ts = _time(body.timestamp, "timestamp")
    principal = Principal(scope.project_id, Env(scope.env), KeyKind.SECRET, "import")
    try:
        event = event_from_track(body, principal, ts)
    except Invalid as err:
        raise BadLine(err.message) from None
    event.uid = _content_uid("millimetric", row)
    return Records(events=[event])


# -- Segment / RudderStack archives ---------------------------------------------------------------
def segment_message(row: Row, scope: Scope) -> Records:
    m = _decode(row, dict[str, Any])
    kind = m.get("type")
    ts = _time(m.get("timestamp") or m.get("originalTimestamp") or m.get("receivedAt"), "timestamp")
    context: dict[str, Any] = _object(m.get("context"))
    page: dict[str, Any] = _object(context.get("page"))
    props: dict[str, Any] = _object(m.get("properties"))
    anon, user = _str(m.get("anonymousId")), _str(m.get("userId"))
    out = Records()

    def event(name: str, properties: dict[str, Any], url: Any = None, path: Any = None, referrer: Any = None) -> None:
        out.events.append(Event(
            project_id=scope.project_id, env=scope.env, uid=_content_uid("segment", row),
            event_id=_str(m.get("messageId")), name=name, ts=ts, received_at=ts,
            anonymous_id=anon, user_id=user, url=_str(url), path=_str(path), referrer=_str(referrer),
            properties=_properties(properties), dialect="segment",
            ip=_str(context.get("ip")), user_agent=_str(context.get("userAgent")),
        ))  # fmt: skip

    if kind == "track":
        if not _str(m.get("event")):
            raise BadLine("track message without event")
        event(str(m["event"]), props)
    elif kind in ("page", "screen"):
        extra = {k: v for k, v in props.items() if k not in ("url", "path", "referrer")}
        if kind == "screen":
            extra["$screen_name"] = m.get("name")
            event("$screen", extra)
        else:
            event("$pageview", extra, props.get("url") or page.get("url"),
                  props.get("path") or page.get("path"), props.get("referrer") or page.get("referrer"))
    elif kind == "identify":
        traits = m.get("traits") if isinstance(m.get("traits"), dict) else context.get("traits")
        traits = traits if isinstance(traits, dict) else {}
        if not user:
            raise BadLine("identify message without userId")
        event("$identify", traits)
        if anon:
            out.links.append(IdentityLink(project_id=scope.project_id, env=scope.env, anonymous_id=anon, user_id=user, ts=ts))
        if traits:
            out.profiles.append(ProfileUpdate(project_id=scope.project_id, env=scope.env, kind="person", subject_id=user, ts=ts, attributes=traits))
    elif kind == "alias":
        previous = _str(m.get("previousId"))
        if not previous or not user:
            raise BadLine("alias message needs previousId and userId")
        out.links.append(IdentityLink(project_id=scope.project_id, env=scope.env, anonymous_id=previous, user_id=user, ts=ts))
    elif kind == "group":
        event("$groupidentify", {"group_id": m.get("groupId"), "traits": m.get("traits")})
    else:
        raise BadLine(f"unknown message type {str(kind)[:32]!r}")
    return out


# -- PostHog event exports --------------------------------------------------------------------------
_POSTHOG_MAPPED = ("$current_url", "$pathname", "$referrer", "$ip", "$raw_user_agent", "$device_id",
                   "$session_id", "$anon_distinct_id", "$set", "$set_once", "token", "alias")  # fmt: skip


def posthog_event(row: Row, scope: Scope) -> Records:
    m = _decode(row, dict[str, Any])
    name = _str(m.get("event"))
    distinct = _str(m.get("distinct_id"))
    if not name or not distinct:
        raise BadLine("event and distinct_id are required")
    props = m.get("properties")
    if isinstance(props, str):  # PostHog's CSV/NDJSON exports may carry properties as JSON text
        try:
            props = _any(props.encode())
        except msgspec.DecodeError:
            raise BadLine("properties is not JSON") from None
    props = props if isinstance(props, dict) else {}
    ts = _time(m.get("timestamp"), "timestamp")
    device = _str(props.get("$device_id"))
    identified = bool(props.get("$is_identified")) or device is None
    anon = device or distinct
    user = distinct if identified and distinct != device else None
    out = Records()
    scoped: dict[str, Any] = {"project_id": scope.project_id, "env": scope.env}
    if name == "$identify" and _str(props.get("$anon_distinct_id")):
        out.links.append(IdentityLink(**scoped, anonymous_id=str(props["$anon_distinct_id"]), user_id=distinct, ts=ts))
        user = distinct
    elif name == "$create_alias" and _str(props.get("alias")):
        out.links.append(IdentityLink(**scoped, anonymous_id=str(props["alias"]), user_id=distinct, ts=ts))
    if isinstance(props.get("$set"), dict) and props["$set"] and user:
        out.profiles.append(ProfileUpdate(**scoped, kind="person", subject_id=user, ts=ts, attributes=props["$set"]))
    out.events.append(Event(
        **scoped, uid=_content_uid("posthog", row), event_id=_str(m.get("uuid")), name=name, ts=ts,
        received_at=ts, anonymous_id=anon, user_id=user, url=_str(props.get("$current_url")),
        path=_str(props.get("$pathname")), referrer=_str(props.get("$referrer")),
        properties=_properties({k: v for k, v in props.items() if k not in _POSTHOG_MAPPED}),
        dialect="posthog", ip=_str(props.get("$ip")), user_agent=_str(props.get("$raw_user_agent")),
    ))  # fmt: skip
    return out


Decoder = Callable[[Row, Scope], Records]


def decoder_for(fmt: SourceFormat, table: str = "events") -> Decoder:
    """The row decoder of a format; for Footfall's export, of one of its tables."""
    if fmt == "footfall":
        return {"links": footfall_link, "profiles": profile_updates}.get(table, footfall_event)
    return {"segment": segment_message, "posthog": posthog_event, "millimetric": millimetric_event}[fmt]
