"""PostHog capture events → canonical events, identity links and person-profile updates.

Per field (STYLE 6):

- `event` must be a non-empty string (reject, 400); longer than 200 characters is truncated,
  as PostHog does;
- `distinct_id` (or `$distinct_id`, on the event or in its properties; strings or numbers) is
  required (reject, 400) and truncated to 200 characters;
- `uuid` → `event_id`, the idempotency key (at most 200 characters, else 400);
- `timestamp` that does not parse falls back to the receipt time (PostHog ingests such events
  with a warning rather than losing the batch, which its browser SDK would drop on a 4xx); it
  is skew-corrected with the batch's `sent_at` (or posthog-js's `?_=` milliseconds) by the
  core's one rule (`footfall.timestamps.corrected`: never after the receipt, never a 500);
- `properties` must be an object (reject, 400); `$current_url`, `$pathname`, `$referrer` move to
  url, path, referrer (`$direct` means none); `$session_id` → session id; the token, `$ip` and
  `$raw_user_agent` are never stored in properties (no raw IP at rest unless the project opts
  in, and then only in the ip column).

Who the event is about: `distinct_id` is the person (`user_id`) when the event says so
(`$is_identified`, or any server SDK (`sk_` key) unless `$process_person_profile` is false, or
`$identify` / `$create_alias`), with `$device_id` as its anonymous id (else `distinct_id` itself);
otherwise `distinct_id` is the anonymous id. `$set` / `$set_once` / `$unset` (beside `properties` or inside them) update
the person profile of `distinct_id`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

import msgspec

from footfall.dialects.posthog.schema import CaptureBody, CaptureEvent
from footfall.errors import Invalid
from footfall.ids import uuid7
from footfall.model import Event, IdentityLink, KeyKind, Principal, ProfileUpdate
from footfall.timestamps import corrected, from_epoch_millis

__all__ = ["MAX_ID", "Mapped", "events_of", "map_events", "sent_at", "tokens"]

MAX_ID = 200
_TOKEN_KEYS = ("token", "$token", "api_key")
# the token, a raw IP (only the ip column may hold one), and what the columns already hold
_NEVER_STORED = (*_TOKEN_KEYS, "$ip", "$raw_user_agent", "distinct_id", "$distinct_id")
_PROFILE_OPS = ("$set", "$set_once", "$unset")
_PERSON_EVENTS = ("$identify", "$create_alias")
_encode = msgspec.json.Encoder().encode


class Mapped(NamedTuple):
    events: list[Event]
    links: list[IdentityLink]
    profiles: list[ProfileUpdate]
    unlocated: set[str]  # uids of events that asked for no geolocation (`$geoip_disable`)


def events_of(body: CaptureBody | list[CaptureEvent]) -> list[CaptureEvent]:
    if isinstance(body, list):
        return body
    return body.batch if body.batch is not None else [body]


def tokens(body: CaptureBody | list[CaptureEvent]) -> set[str]:
    """Every token the request carries: on the batch, on each event, in its properties.

    >>> tokens([CaptureEvent(token="a"), CaptureEvent(properties={"token": "b"})]) == {"a", "b"}
    True
    """
    found: set[str] = set()
    if isinstance(body, CaptureBody):
        found.update(t for t in (body.api_key, body.token, body.dollar_token) if t)
    for item in events_of(body):
        found.update(t for t in (item.token, item.dollar_token, item.api_key) if t)
        token = (item.properties or {}).get("token")
        if isinstance(token, str) and token:
            found.add(token)
    return found


def _parse_time(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        ts = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return ts


def sent_at(body: CaptureBody | list[CaptureEvent], millis: str | None) -> datetime | None:
    """When the client sent the request by its own clock: the batch's `sent_at`, else
    posthog-js's `?_=<epoch ms>`.

    >>> sent_at([], "1778330000000").isoformat()
    '2026-05-09T12:33:20+00:00'
    """
    if isinstance(body, CaptureBody) and (ts := _parse_time(body.sent_at)):
        return ts
    return from_epoch_millis(millis)


def event_time(item: CaptureEvent, sent: datetime | None, received_at: datetime) -> datetime:
    """The event's time on the server's clock: the client's `timestamp` moved by how far the
    client's clock was off when it sent the request (received - (sent_at - timestamp)).

    >>> now = datetime.fromisoformat("2026-05-09T12:00:00+00:00")
    >>> event_time(CaptureEvent(timestamp="2026-05-09T13:59:00Z"),
    ...            datetime.fromisoformat("2026-05-09T14:00:00+00:00"), now).isoformat()
    '2026-05-09T11:59:00+00:00'
    >>> event_time(CaptureEvent(offset=1500), None, now).isoformat()
    '2026-05-09T11:59:58.500000+00:00'
    """
    ts = _parse_time(item.timestamp)
    if ts is not None:
        return corrected(ts, sent, received_at)
    if item.offset is not None and 0 <= item.offset < 10**12:
        return received_at - timedelta(milliseconds=item.offset)
    return received_at


def _id(value: Any) -> str | None:
    if type(value) is str:  # nearly always: skip the checks below
        return value[:MAX_ID].strip() or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip() if isinstance(value, str | int | float) else ""
    return text[:MAX_ID] or None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _problem(index: int | None, attr: str, message: str) -> Invalid:
    where = f"batch[{index}]: " if index is not None else ""
    return Invalid("invalid_payload", where + message, details={"attr": attr})


def _profile_ops(item: CaptureEvent, props: dict[str, Any]) -> dict[str, Any] | None:
    """`$set`, `$set_once` (objects) and `$unset` (a list of keys) from beside and inside
    the properties; the properties' own win. None when the event has none."""
    if (item.set is None and item.set_once is None and item.unset is None
            and "$set" not in props and "$set_once" not in props and "$unset" not in props):
        return None
    ops: dict[str, Any] = {"$set": item.set, "$set_once": item.set_once, "$unset": item.unset}
    for key in _PROFILE_OPS:
        inner = props.get(key)
        if key == "$unset" and isinstance(inner, list):
            ops[key] = [*(ops[key] or []), *(k for k in inner if isinstance(k, str))]
        elif key != "$unset" and isinstance(inner, dict):
            ops[key] = {**(ops[key] or {}), **inner}
    return ops


def map_events(
    items: list[CaptureEvent],
    principal: Principal,
    received_at: datetime,
    sent: datetime | None,
    *,
    engage: bool = False,
) -> Mapped:
    """Every event mapped, or a 400 naming the first bad one (`engage`: `/engage`, whose
    people updates carry no event name and mean `$identify`)."""
    assert principal.project_id is not None
    server = principal.kind is KeyKind.SECRET
    out = Mapped([], [], [], set())
    many = len(items) > 1
    for index, item in enumerate(items):
        where = index if many else None
        name = item.event or ("$identify" if engage and item.event is None else None)
        if not name:
            raise _problem(where, "event", "event is required")
        props = dict(item.properties or {})
        distinct_id = _id(item.distinct_id) or _id(item.dollar_distinct_id)
        distinct_id = distinct_id or _id(props.get("distinct_id")) or _id(props.get("$distinct_id"))
        if distinct_id is None:
            raise _problem(where, "distinct_id", "distinct_id is required")
        if item.uuid is not None and not 0 < len(item.uuid) <= MAX_ID:
            raise _problem(where, "uuid", f"uuid must be 1-{MAX_ID} characters")
        # Passed through: the core believes them from a backend (sk_) only, and checks the IP.
        ip, agent = _text(props.get("$ip")), _text(props.get("$raw_user_agent"))
        url, path = _text(props.pop("$current_url", None)), _text(props.pop("$pathname", None))
        referrer = _text(props.pop("$referrer", None))
        session = _id(props.pop("$session_id", None))
        ops = _profile_ops(item, props)
        identified = name in _PERSON_EVENTS or (
            (props.get("$is_identified") is True or server)
            and props.get("$process_person_profile") is not False
        )
        # A person's events without a device id keep their own id as the anonymous one, so a
        # backend's events of many people never share a derived (server IP) visitor or session.
        anon = _id(props.get("$anon_distinct_id")) if name == "$identify" else None
        anonymous_id = distinct_id
        if identified:
            anonymous_id = _id(props.get("$device_id")) or anon or distinct_id
        if anon:
            out.links.append(_link(principal, anon, distinct_id, received_at))
        if name == "$create_alias" and (alias := _id(props.get("alias"))):
            out.links.append(_link(principal, alias, distinct_id, received_at))
        for key in _NEVER_STORED:
            props.pop(key, None)
        ts = event_time(item, sent, received_at)
        event = Event(
            project_id=principal.project_id,
            env=principal.env.value,
            uid=uuid7(),
            event_id=item.uuid,
            name=name[:MAX_ID],
            ts=ts,
            received_at=received_at,
            anonymous_id=anonymous_id,
            user_id=distinct_id if identified else None,
            session_id=session,
            url=url,
            path=path,
            referrer=None if referrer == "$direct" else referrer,
            properties=_encode(props).decode(),
            dialect="posthog",
            ip=ip,
            user_agent=agent,
        )
        out.events.append(event)
        if props.get("$geoip_disable") is True:
            out.unlocated.add(event.uid)
        if ops is not None and any(ops.values()):
            out.profiles.append(ProfileUpdate(
                project_id=principal.project_id, env=principal.env.value, kind="person",
                subject_id=distinct_id, ts=ts, attributes=ops["$set"],
                set_once=ops["$set_once"], unset=ops["$unset"],
            ))
    return out


def _link(principal: Principal, anonymous_id: str, user_id: str, ts: datetime) -> IdentityLink:
    assert principal.project_id is not None
    return IdentityLink(project_id=principal.project_id, env=principal.env.value,
                        anonymous_id=anonymous_id, user_id=user_id, ts=ts)
