"""A-TRACK's wire shapes, as its documentation page and SDK READMEs show them.

Vendor names (camelCase client fields, `uuid`, `referer`, `source_url`…) live only here. Unknown
fields are ignored. Per-field rules (reject, never truncate): URLs and the user agent at most
8192 characters, short strings (locale, timezone, platform…) at most 256, ids at most 128; JSON
maps at most 8 KB (checked in `mapping`). `page`, `per_page` and `events_limit` below 1 are
rejected; above their maximum they are capped (see `routes`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

__all__ = [
    "AttributesBody",
    "ClientContext",
    "ErrorBody",
    "EventBody",
    "EventRow",
    "EventShowBody",
    "EventShowResult",
    "InitBody",
    "SessionShowBody",
    "SessionShowResult",
    "decode",
]

Id = Annotated[str, Meta(max_length=128)]
RequiredId = Annotated[str, Meta(min_length=1, max_length=128)]
Name = Annotated[str, Meta(min_length=1, max_length=128)]
Url = Annotated[str, Meta(max_length=8192)]
Short = Annotated[str, Meta(max_length=256)]
Number = int | float
Sort = Literal["asc", "desc"]


# -- requests -----------------------------------------------------------------------------------


class UrlContext(msgspec.Struct, kw_only=True, omit_defaults=True):
    href: Url | None = None
    raw: Url | None = None
    path: Url | None = None
    query: Url | None = None
    hash: Url | None = None
    referer: Url | None = None
    source_url: Url | None = None


class ClientContext(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """`context.client`: what the browser (or the server, on the user's behalf) knows."""

    ip_address: Annotated[str, Meta(max_length=64)] | None = None
    user_agent: Url | None = None
    locale: Short | None = None
    language: Short | None = None
    languages: Annotated[list[Short], Meta(max_length=64)] | None = None
    timezone: Short | None = None
    timezone_offset_minutes: Number | None = None
    platform: Short | None = None
    screen_width: Number | None = None
    screen_height: Number | None = None
    viewport_width: Number | None = None
    viewport_height: Number | None = None
    pixel_ratio: Number | None = None
    color_depth: Number | None = None
    cookies_enabled: bool | None = None
    touch_points: Number | None = None
    device_memory_gb: Number | None = None
    hardware_concurrency: Number | None = None
    connection_type: Short | None = None
    connection_effective_type: Short | None = None
    connection_downlink_mbps: Number | None = None
    connection_rtt_ms: Number | None = None


class UserContext(msgspec.Struct, kw_only=True):
    attributes: dict[str, Any] | None = None


class InitContext(msgspec.Struct, kw_only=True):
    url: UrlContext | None = None
    client: ClientContext | None = None
    user: UserContext | None = None


class SdkUser(msgspec.Struct, kw_only=True):
    """The SDKs' shape: `{"user": {"uuid": ..., "attributes": {...}}}`."""

    uuid: Id | None = None
    attributes: dict[str, Any] | None = None


class InitBody(msgspec.Struct, kw_only=True):
    uuid: Id | None = None
    context: InitContext | None = None
    user: SdkUser | None = None
    custom_data: dict[str, Any] | None = None
    synchronous: bool | None = None  # accepted; Footfall always processes before answering


class AttributesBody(msgspec.Struct, kw_only=True):
    uuid: RequiredId
    attributes: dict[str, Any]
    replace: bool = False


class EventBody(msgspec.Struct, kw_only=True):
    uuid: Id | None = None
    event: Name
    attributes: dict[str, Any] | None = None
    timestamp: datetime | None = None


class SessionShowBody(msgspec.Struct, kw_only=True):
    uuid: RequiredId
    events_limit: Annotated[int, Meta(ge=1)] = 100
    sort: Sort = "desc"


class EventShowBody(msgspec.Struct, kw_only=True):
    name: Name | None = None
    page: Annotated[int, Meta(ge=1, le=1_000_000_000)] = 1
    per_page: Annotated[int, Meta(ge=1)] = 25
    sort: Sort = "desc"


# -- responses ----------------------------------------------------------------------------------


class Accepted(msgspec.Struct):
    success: bool
    uuid: str
    queued: bool


class UrlData(msgspec.Struct):
    raw: str | None
    href: str | None
    path: str | None
    query: str | None
    query_all: dict[str, str]
    source_url: str | None


class CountryNames(msgspec.Struct):
    en: str | None


class Country(msgspec.Struct):
    iso_code: str | None
    names: CountryNames


class Location(msgspec.Struct):
    latitude: float | None
    longitude: float | None
    time_zone: str | None


class City(msgspec.Struct):
    country: Country
    location: Location


class Isp(msgspec.Struct):
    isp: str | None
    organization: str | None


class IpData(msgspec.Struct):
    ip: str | None
    city: City
    isp: Isp


class NameVersion(msgspec.Struct):
    name: str | None
    version: str | None


class DeviceData(msgspec.Struct):
    model: str | None
    os: NameVersion
    client: NameVersion
    is_mobile: bool
    is_desktop: bool


class Session(msgspec.Struct):
    id: str
    uuid: str
    url_data: UrlData
    utm_data: dict[str, str]
    query_params: dict[str, str]
    click_ids: dict[str, str]
    source: str | None
    referer: str | None
    ip_address: str | None
    ip_data: IpData
    device_data: DeviceData
    client_attributes: dict[str, Any]
    user_attributes: dict[str, Any]
    custom_data: dict[str, Any]
    created_at: str
    updated_at: str


class SessionEvent(msgspec.Struct):
    id: str
    uuid: str | None
    name: str
    attributes: dict[str, Any]
    occurred_at: str


class SessionMeta(msgspec.Struct):
    uuid: str
    events_limit: int
    events_count: int
    sort: str


class SessionData(msgspec.Struct):
    session: Session
    attributes: dict[str, Any]
    events: list[SessionEvent]
    meta: SessionMeta


class SessionShowResult(msgspec.Struct):
    success: bool
    data: SessionData


class EventRow(msgspec.Struct):
    id: str
    session_id: str | None
    uuid: str | None
    name: str
    attributes: dict[str, Any]
    ip_address: str | None
    user_agent: str | None
    occurred_at: str
    created_at: str
    updated_at: str


class PageMeta(msgspec.Struct):
    name: str | None
    sort: str
    per_page: int
    current_page: int
    last_page: int
    # Laravel's paginator: null on an empty page
    from_: int | None = msgspec.field(name="from")
    to: int | None
    total: int


class EventShowResult(msgspec.Struct):
    success: bool
    data: list[EventRow]
    meta: PageMeta


class ErrorBody(msgspec.Struct, omit_defaults=True):
    success: bool
    message: str
    errors: dict[str, list[str]] | None = None


_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def decode(body: bytes, kind: type[Any]) -> Any:
    """Decode and validate (an empty body is `{}`); raises msgspec errors for `errors` to
    translate into field errors."""
    dec = _decoders.get(kind)
    if dec is None:
        dec = _decoders[kind] = msgspec.json.Decoder(kind)
    return dec.decode(body if body.strip() else b"{}")
