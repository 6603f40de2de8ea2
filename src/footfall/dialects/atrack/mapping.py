"""A-TRACK wire structs → canonical events and profile updates.

The A-TRACK `uuid` is the canonical `anonymous_id` (the visitor every read API sees), and its
profile is the core's `visitor` profile. The stored profile context keeps the init's blocks as
`{"url": {...}, "client": {...}, "user": {"attributes": {...}}}`; the client's raw IP is kept
there only for projects that opted in to raw IPs. Nothing here enriches: the `$init` event
carries the landing URL, referrer, IP and user agent to the pipeline, and the profile takes the
pipeline's result through `enrich_from`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from footfall.dialects.atrack.errors import field_error
from footfall.dialects.atrack.schema import (
    AttributesBody,
    ClientContext,
    EventBody,
    InitBody,
)
from footfall.enrichment.geoip import normalise_ip
from footfall.enrichment.urls import parse_url
from footfall.ids import uuid7
from footfall.model import Event, KeyKind, Principal, ProfileUpdate, RequestContext
from footfall.service import ACQUISITION_KEYS, DEVICE_KEYS, GEO_KEYS
from footfall.timestamps import utc

__all__ = [
    "INIT_EVENT",
    "JSON_MAX_BYTES",
    "attributes_update",
    "event_from_track",
    "init_event",
    "init_profile",
    "init_request",
    "init_uuid",
    "new_visitor",
]

INIT_EVENT = "$init"
JSON_MAX_BYTES = 8 * 1024
DIALECT = "atrack"
_encode = msgspec.json.Encoder().encode


def _utc(ts: datetime | None, default: datetime) -> datetime:
    # Out of range once in UTC (year 1 at +14:00): the receipt, as `footfall.timestamps` does.
    return (utc(ts) if ts is not None else None) or default


def _checked(value: dict[str, Any] | None, field: str) -> dict[str, Any] | None:
    """A JSON map as sent, rejected (422) over 8 KB."""
    if value is None:
        return None
    size = len(_encode(value))
    if size > JSON_MAX_BYTES:
        raise field_error(field, f"The {field} field must be at most {JSON_MAX_BYTES} bytes as JSON, got {size}.")
    return value


def init_uuid(body: InitBody) -> str | None:
    """The uuid an init continues: top-level `uuid`, else the SDK's `user.uuid`; `""` is none."""
    return body.uuid or (body.user.uuid if body.user else None) or None


def init_request(body: InitBody, request: RequestContext) -> RequestContext:
    """`context.client.ipAddress` / `userAgent` describe the end user when a server calls on
    their behalf; otherwise the request's own IP and User-Agent stand."""
    client = body.context.client if body.context else None
    if client is None or (client.ip_address is None and client.user_agent is None):
        return request
    ip = request.ip
    if client.ip_address:
        addr = normalise_ip(client.ip_address)
        if addr is None:
            raise field_error("context.client.ipAddress", "The context.client.ipAddress field must be a valid IP address.")
        ip = str(addr)
    return RequestContext(
        ip=ip,
        user_agent=client.user_agent or request.user_agent,
        origin=request.origin,
        received_at=request.received_at,
    )


def _client_attributes(client: ClientContext | None) -> dict[str, Any]:
    """The client block in its wire names, without the IP and user agent."""
    if client is None:
        return {}
    out: dict[str, Any] = msgspec.to_builtins(client)
    out.pop("ipAddress", None)
    out.pop("userAgent", None)
    return out


def _user_attributes(body: InitBody) -> dict[str, Any] | None:
    documented = body.context.user.attributes if body.context and body.context.user else None
    sdk = body.user.attributes if body.user else None
    if documented is None and sdk is None:
        return None
    return _checked({**(documented or {}), **(sdk or {})}, "context.user.attributes")


def init_event(body: InitBody, uuid: str, principal: Principal, received_at: datetime) -> Event:
    """The init as a canonical event: the landing URL and referrer for attribution, the client
    block (locale, timezone, screen…) and `source_url` as properties."""
    scope = principal.scope
    project_id, env = scope.project_id, scope.env
    url = body.context.url if body.context else None
    props = _client_attributes(body.context.client if body.context else None)
    if url is not None and url.source_url:
        props["source_url"] = url.source_url
    if url is not None and url.hash:
        props["hash"] = url.hash
    properties = _encode(props)
    if len(properties) > JSON_MAX_BYTES:
        raise field_error("context.client", f"The context.client field must be at most {JSON_MAX_BYTES} bytes as JSON.")
    return Event(
        project_id=project_id,
        env=env,
        uid=uuid7(),
        name=INIT_EVENT,
        ts=received_at,
        received_at=received_at,
        anonymous_id=uuid,
        url=(url.href or url.raw) if url else None,
        path=url.path if url else None,
        referrer=url.referer if url else None,
        properties=properties.decode(),
        dialect=DIALECT,
    )


def _carries_acquisition(url: dict[str, Any] | None) -> bool:
    """Whether a stored or sent url block says where the visit came from: query parameters
    (utm tags, click ids, `ref`…), a referer or a source_url."""
    if not url:
        return False
    if url.get("referer") or url.get("source_url") or url.get("query"):
        return True
    return bool(parse_url(url.get("href") or url.get("raw")).params)


def _first_touch(before: dict[str, Any] | None, sent: dict[str, Any] | None) -> tuple[dict[str, Any] | None, bool]:
    """(the url block to store, whether this init sets the visit's acquisition).

    The first init that carries acquisition data sets it; a later one only fills keys still
    empty, so a bare re-init on the next page view keeps the ad click that brought the visitor."""
    if before is None or not _carries_acquisition(before):
        return sent, _carries_acquisition(sent)
    filled = {k: v for k, v in (sent or {}).items() if not before.get(k)}
    return ({**before, **filled} if filled else None), False


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def init_profile(
    body: InitBody,
    uuid: str,
    principal: Principal,
    received_at: datetime,
    *,
    existing: dict[str, Any] | None,
    store_raw_ip: bool,
    enrich_from: str,
) -> ProfileUpdate:
    """The visitor's profile update.

    A new uuid takes everything the init carries and all of its event's enrichment. A known
    uuid's acquisition (url block, source, click ids) is first-touch (see `_first_touch`); its
    geo and device change only when the request describes the visitor: a browser key, or a
    `context.client.ipAddress` (geo) / `userAgent` (device), never a server key's own IP and
    User-Agent. Client fields, user attributes and custom data merge with earlier ones."""
    scope = principal.scope
    project_id, env = scope.project_id, scope.env
    before = _dict((existing or {}).get("context"))
    context: dict[str, Any] = {}
    sent = body.context
    sent_url = msgspec.to_builtins(sent.url) if sent is not None and sent.url is not None else None
    url, acquired = _first_touch(_dict(before.get("url")) or None, sent_url)
    if url is not None:
        context["url"] = url
    client_sent = sent.client if sent is not None else None
    if client_sent is not None:
        client: dict[str, Any] = msgspec.to_builtins(client_sent)
        if not store_raw_ip:
            client.pop("ipAddress", None)
        context["client"] = {**_dict(before.get("client")), **client}
    attributes = _user_attributes(body)
    if attributes is not None:
        earlier = _dict(_dict(before.get("user")).get("attributes"))
        context["user"] = {"attributes": {**earlier, **attributes}}
    if existing is None:
        keys: tuple[str, ...] | None = None
    else:
        browser = principal.kind is KeyKind.PUBLISHABLE
        keys = (
            *(ACQUISITION_KEYS if acquired else ()),
            *(GEO_KEYS if browser or (client_sent and client_sent.ip_address) else ()),
            *(DEVICE_KEYS if browser or (client_sent and client_sent.user_agent) else ()),
        )
    return ProfileUpdate(
        project_id=project_id,
        env=env,
        kind="visitor",
        subject_id=uuid,
        ts=received_at,
        attributes=attributes,
        context=context or None,
        custom_data=_checked(body.custom_data, "custom_data"),
        enrich_from=enrich_from if keys is None or keys else None,
        enrich_keys=keys,
    )


def attributes_update(body: AttributesBody, principal: Principal, received_at: datetime) -> ProfileUpdate:
    """Merge (overwrite the given keys) or, with `replace: true`, replace the whole map."""
    scope = principal.scope
    project_id, env = scope.project_id, scope.env
    return ProfileUpdate(
        project_id=project_id,
        env=env,
        kind="visitor",
        subject_id=body.uuid,
        ts=received_at,
        attributes=_checked(body.attributes, "attributes"),
        replace=body.replace,
    )


def event_from_track(body: EventBody, uuid: str, principal: Principal, received_at: datetime) -> Event:
    scope = principal.scope
    project_id, env = scope.project_id, scope.env
    properties = _checked(body.attributes, "attributes") or {}
    return Event(
        project_id=project_id,
        env=env,
        uid=uuid7(),
        name=body.event,
        ts=_utc(body.timestamp, received_at),
        received_at=received_at,
        anonymous_id=uuid,
        properties=_encode(properties).decode(),
        dialect=DIALECT,
    )


def new_visitor(uuid: str, principal: Principal, received_at: datetime, enrich_from: str) -> ProfileUpdate:
    """The profile of an identity `/event` created (no uuid sent), so `/session/show` knows it."""
    scope = principal.scope
    project_id, env = scope.project_id, scope.env
    return ProfileUpdate(
        project_id=project_id,
        env=env,
        kind="visitor",
        subject_id=uuid,
        ts=received_at,
        enrich_from=enrich_from,
    )
