"""Sankofa wire structs → canonical events, profile updates and identity links.

Per field (STYLE 6): `event_name`, `distinct_id`, `alias_id` must be non-empty strings (reject,
400); `timestamp` must parse as ISO 8601 (reject, 400; no offset means UTC); `properties` and
`default_properties` must be objects (reject, 400) and are stored whole: there is no size cap
beyond the route's body limit, as in the vendor's engine. A garbage `distinct_id` is not an
error: the request is accepted and nothing is stored (202 `discarded`).

Where the client's keys go:

- `distinct_id` → `anonymous_id` (reads by `user_id` match it, and an alias links it to a person);
- `properties.$session_id` → `session_id`;
- `default_properties.$current_url` / `$referrer` / `$pathname` → `url` / `referrer` / `path`
  (falling back to the same keys in `properties`), so attribution works as for any dialect;
- `$city`, `$region`, `$country`, `$timezone` are dropped: GeoIP always overrides them and its
  answer lives in the canonical columns;
- `$os`, `$browser`, `$device_model` stay in `properties`: the canonical columns hold the
  User-Agent parse, and the client's values are the fallback when the UA says nothing;
- the server-made `evt_` id is `properties.$event_id` and `lib_version` is `$lib_version`;
- the other `default_properties` merge under `properties` (the event's own keys win).
"""

from __future__ import annotations

import ipaddress
import secrets
import string
from datetime import UTC, datetime
from typing import Any

import msgspec

from footfall.dialects.sankofa.schema import AliasBody, PeopleBody, TrackBody
from footfall.errors import Invalid
from footfall.ids import uuid7
from footfall.model import Event, IdentityLink, Principal, ProfileUpdate
from footfall.timestamps import utc

__all__ = [
    "GEO_STANDIN_IP",
    "SCREEN_EVENTS",
    "SCREEN_PROPERTY",
    "check",
    "event_from_track",
    "geo_ip",
    "is_garbage",
    "link_from_alias",
    "new_event_id",
    "profile_from_people",
    "require_alias",
    "require_people",
    "require_track",
    "timestamp",
]

SCREEN_EVENTS = ("$screen", "$screen_view")
SCREEN_PROPERTY = "$screen_name"
# Where the SDKs put the screen's name, in order of preference; it is stored as `$screen_name`.
_SCREEN_KEYS = ("$screen_name", "screen_name", "$screen", "screen", "name")
_GARBAGE = ("gzip", "*/*", "deflate", "identity", "accept")
_GEO_KEYS = frozenset({"$city", "$region", "$country", "$timezone"})
_PAGE_KEYS = {"$current_url": "url", "$referrer": "referrer", "$pathname": "path"}
_NANOID = string.ascii_uppercase + string.ascii_lowercase + string.digits + "_-"  # 64 symbols

# Private client addresses are looked up as this one instead (a stable, synthetic geo: US).
GEO_STANDIN_IP = "8.8.8.8"
_PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_encode = msgspec.json.Encoder().encode


def is_garbage(distinct_id: str) -> bool:
    """The engine's garbage-id heuristic: too short, or a leaked HTTP header value.

    >>> is_garbage("ab"), is_garbage("a"), is_garbage("user_GZIP_1"), is_garbage("*/*")
    (False, True, True, True)
    """
    lowered = distinct_id.lower()
    return len(distinct_id) < 2 or any(word in lowered for word in _GARBAGE)


def new_event_id() -> str:
    """`evt_` + a 21-symbol nanoid (A-Za-z0-9_-); 256 is a multiple of 64, so no bias.

    >>> e = new_event_id(); (e[:4], len(e))
    ('evt_', 25)
    """
    return "evt_" + "".join(_NANOID[b & 63] for b in secrets.token_bytes(21))


def geo_ip(ip: str | None) -> str | None:
    """The address to enrich with: private and loopback clients become `GEO_STANDIN_IP`.

    >>> geo_ip("192.168.1.20"), geo_ip("::1"), geo_ip("81.2.69.160"), geo_ip("100.64.0.1")
    ('8.8.8.8', '8.8.8.8', '81.2.69.160', '100.64.0.1')
    """
    if ip is None:
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if any(addr.version == net.version and addr in net for net in _PRIVATE):
        return GEO_STANDIN_IP
    return ip


def _present(value: str | None) -> bool:
    return isinstance(value, str) and value != ""


def check(body: TrackBody | PeopleBody | AliasBody) -> tuple[str, ...]:
    """Required fields and the timestamp (400 otherwise); returns the ids to garbage-check."""
    ids: tuple[str, ...]
    if isinstance(body, TrackBody):
        ids = (require_track(body),)
    elif isinstance(body, PeopleBody):
        ids = (require_people(body),)
    else:
        ids = require_alias(body)
    timestamp(body.timestamp, datetime.now(UTC))
    return ids


def require_track(body: TrackBody) -> str:
    """The distinct id, once `event_name` and `distinct_id` are known to be non-empty."""
    if not (_present(body.event_name) and _present(body.distinct_id)):
        raise Invalid("invalid_payload", "event_name and distinct_id are required")
    assert body.distinct_id is not None
    return body.distinct_id


def require_people(body: PeopleBody) -> str:
    if not _present(body.distinct_id):
        raise Invalid("invalid_payload", "distinct_id is required")
    assert body.distinct_id is not None
    return body.distinct_id


def require_alias(body: AliasBody) -> tuple[str, str]:
    if not (_present(body.alias_id) and _present(body.distinct_id)):
        raise Invalid("invalid_payload", "alias_id and distinct_id are required")
    assert body.alias_id is not None and body.distinct_id is not None
    return body.alias_id, body.distinct_id


def timestamp(raw: str | None, default: datetime) -> datetime:
    """ISO 8601 in UTC; a value without an offset is read as UTC; absent or empty → `default`.

    >>> timestamp("2026-05-09T14:32:01", datetime.now(UTC)).isoformat()
    '2026-05-09T14:32:01+00:00'
    >>> timestamp("2026-05-09T16:32:01.5+02:00", datetime.now(UTC)).isoformat()
    '2026-05-09T14:32:01.500000+00:00'
    """
    if raw is None or raw.strip() == "":
        return default
    try:
        ts = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid("invalid_payload", "timestamp must be ISO 8601") from None
    if (at := utc(ts)) is None:
        raise Invalid("invalid_payload", "timestamp is out of range")
    return at


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _session(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(value)


def _screen_name(name: str, props: dict[str, Any]) -> str | None:
    if name not in SCREEN_EVENTS:
        return None
    for key in _SCREEN_KEYS:
        if found := _text(props.get(key)):
            return found
    return None


def event_from_track(
    body: TrackBody, principal: Principal, received_at: datetime
) -> tuple[Event, str | None]:
    """The canonical event, and the screen's name for `$screen` / `$screen_view` events."""
    assert principal.project_id is not None and body.event_name and body.distinct_id
    own = dict(body.properties or {})
    defaults = dict(body.default_properties or {})
    page: dict[str, str | None] = {}
    for key, column in _PAGE_KEYS.items():
        page[column] = _text(defaults.pop(key, None)) or _text(own.get(key))
        own.pop(key, None)
    session = own.pop("$session_id", None)
    props = {k: v for k, v in defaults.items() if k not in _GEO_KEYS}
    props.update((k, v) for k, v in own.items() if k not in _GEO_KEYS)
    screen = _screen_name(body.event_name, props)
    if screen is not None:
        props[SCREEN_PROPERTY] = screen
    if body.lib_version:
        props["$lib_version"] = body.lib_version
    props["$event_id"] = new_event_id()  # server-made; a client value is replaced
    event = Event(
        project_id=principal.project_id,
        env=principal.env.value,
        uid=uuid7(),
        name=body.event_name,
        ts=timestamp(body.timestamp, received_at),
        received_at=received_at,
        anonymous_id=body.distinct_id,
        session_id=_session(session),
        url=page["url"],
        path=page["path"],
        referrer=page["referrer"],
        properties=_encode(props).decode(),
        dialect="sankofa",
    )
    return event, screen


def profile_from_people(
    body: PeopleBody, principal: Principal, received_at: datetime
) -> ProfileUpdate:
    """Person properties merge key by key (`$name`, `$email`, `$avatar` by convention)."""
    assert principal.project_id is not None and body.distinct_id
    return ProfileUpdate(
        project_id=principal.project_id,
        env=principal.env.value,
        kind="person",
        subject_id=body.distinct_id,
        ts=timestamp(body.timestamp, received_at),
        attributes=dict(body.properties or {}),
    )


def link_from_alias(body: AliasBody, principal: Principal, received_at: datetime) -> IdentityLink:
    """The anonymous `alias_id` belongs to the person `distinct_id`."""
    assert principal.project_id is not None and body.alias_id and body.distinct_id
    return IdentityLink(
        project_id=principal.project_id,
        env=principal.env.value,
        anonymous_id=body.alias_id,
        user_id=body.distinct_id,
        ts=timestamp(body.timestamp, received_at),
    )
