"""Segment messages → canonical events, identity links and profile updates.

Per type (the spec's mapping decision):

- track → an event named `event`; page → `$pageview` (its `properties.url` / `path` / `referrer`
  stored in those columns, not twice); screen → `$screen` with `$screen_name`;
- identify → a `$identify` event, the link anonymousId → userId, and `traits` merged into the
  person's profile (the visitor's, when only an anonymousId is known);
- alias → the link previousId → userId (no event); group → `$groupidentify` with
  `$group_type`, `$group_key` and `$group_set` (the traits) in its properties;
- `messageId` → `event_id`, the idempotency key every replay is deduplicated on.

Per field (STYLE 6): a message needs `userId` or `anonymousId` (alias: `previousId` and
`userId`; track: `event`; group: `groupId`): else 400 naming the item. Numeric ids become
strings. `timestamp` (else `originalTimestamp`) is corrected for the client's clock with `sentAt`
(received - (sentAt - timestamp)) by the core's one rule (`footfall.timestamps.corrected`: never
after the receipt; absent, before 1970 or out of range, the receipt). url / path / referrer come from a page's `properties`, else `context.page`; a URL or
referrer that is not a string is ignored, one longer than 2048 characters is cut there.
`context.campaign` becomes the URL's utm tags when the URL carries none (a message without a
URL gets a query-only one, `?utm_source=…`), so attribution runs on it as on any landing URL.
`context.ip` (must be an IP address, else 400) and `context.userAgent` are passed through; the
core believes them for server callers (`sk_`) only, a browser's visitor is the request's own.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import msgspec

from footfall.dialects.segment.schema import Batch, Context, Message
from footfall.errors import Invalid
from footfall.ids import uuid7
from footfall.model import Event, IdentityLink, Principal, ProfileUpdate
from footfall.timestamps import corrected

__all__ = ["TYPES", "Canonical", "add_message", "merged", "with_campaign"]

TYPES = ("track", "page", "screen", "identify", "group", "alias")
MAX_URL = 2048
MAX_USER_AGENT = 1024
_CAMPAIGN = (("name", "utm_campaign"), ("source", "utm_source"), ("medium", "utm_medium"),
             ("term", "utm_term"), ("content", "utm_content"))
_encode = msgspec.json.Encoder().encode
_NO_CONTEXT = Context()
_PAGE_COLUMNS = frozenset({"url", "path", "referrer"})


@dataclass
class Canonical:
    """What one request's messages become, written by the core in one durable call."""

    events: list[Event] = field(default_factory=list)
    links: list[IdentityLink] = field(default_factory=list)
    profiles: list[ProfileUpdate] = field(default_factory=list)


def merged(item: Message, batch: Batch) -> Message:
    """The batch's `context` and `sentAt` apply to every item; the item's own keys win."""
    # Shared, not copied, when the item has none: a message's context is only ever read.
    if batch.context is not None:
        if item.context is None:
            item.context = batch.context
        else:
            mine, theirs = item.context, batch.context
            item.context = Context(
                page=mine.page or theirs.page,
                campaign=mine.campaign if mine.campaign is not None else theirs.campaign,
                ip=mine.ip if mine.ip is not None else theirs.ip,
                user_agent=mine.user_agent if mine.user_agent is not None else theirs.user_agent,
            )
    if item.sent_at is None:
        item.sent_at = batch.sent_at
    return item


def with_campaign(url: str | None, campaign: Any) -> str | None:
    """`context.campaign` as utm tags, unless the URL has its own.

    >>> with_campaign("https://a.test/p#x", {"name": "spring", "source": "news"})
    'https://a.test/p?utm_campaign=spring&utm_source=news#x'
    >>> with_campaign("https://a.test/?utm_source=ads", {"source": "news"})
    'https://a.test/?utm_source=ads'
    >>> with_campaign(None, {"medium": "email"})
    '?utm_medium=email'
    """
    if not isinstance(campaign, dict):
        return url
    pairs = [(tag, v) for key, tag in _CAMPAIGN if isinstance(v := campaign.get(key), str) and v]
    if not pairs:
        return url
    if url is None:
        return "?" + urlencode(pairs)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "utm_" in parts.query:
        return url
    query = "&".join(q for q in (parts.query, urlencode(pairs)) if q)
    return urlunsplit(parts._replace(query=query))


def _id(value: str | int | None) -> str | None:
    if value is None or value == "":
        return None
    return value if type(value) is str else str(value)


def _text(value: Any, limit: int = MAX_URL) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _visitor(context: Context, where: str) -> tuple[str | None, str | None]:
    """The end user's IP and User-Agent as `context` states them (believed by the core from
    `sk_` callers only)."""
    ip = context.ip
    if ip is not None:
        try:
            ip = str(ipaddress.ip_address(ip)) if isinstance(ip, str) else None
        except ValueError:
            ip = None
        if ip is None:
            raise Invalid("invalid_payload", f"{where}context.ip is not an IP address")
    return ip, _text(context.user_agent, MAX_USER_AGENT)


def _require(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise Invalid("invalid_payload", f"{where}{what}")


def add_message(
    out: Canonical,
    msg: Message,
    kind: str,
    principal: Principal,
    received_at: datetime,
    where: str = "",
) -> None:
    """Map one message of type `kind` into `out`, or raise Invalid naming `where` it is."""
    assert principal.project_id is not None
    project_id, env = principal.project_id, principal.env.value
    user_id, anonymous_id = _id(msg.user_id), _id(msg.anonymous_id)
    ts = corrected(msg.timestamp or msg.original_timestamp, msg.sent_at, received_at)
    if kind == "alias":
        previous_id = _id(msg.previous_id)
        _require(previous_id is not None and user_id is not None, where,
                 "alias needs previousId and userId")
        assert previous_id is not None and user_id is not None
        if previous_id != user_id:
            out.links.append(IdentityLink(project_id=project_id, env=env,
                                          anonymous_id=previous_id, user_id=user_id, ts=ts))
        return
    _require(user_id is not None or anonymous_id is not None, where,
             "userId or anonymousId is required")
    props = msg.properties or {}  # copied below before anything is added to it
    context = msg.context or _NO_CONTEXT
    page = context.page
    if page is not None:
        url, path, referrer = _text(page.url), _text(page.path), _text(page.referrer)
    else:
        url = path = referrer = None
    if kind == "track":
        _require(bool(msg.event), where, "track needs event")
        assert msg.event is not None
        name = msg.event
    elif kind == "page":
        name = "$pageview"
        url = _text(props.get("url")) or url
        path = _text(props.get("path")) or path
        referrer = _text(props.get("referrer")) or referrer
        # url / path / referrer live in their columns; the rest (title, search...) stays.
        props = {k: v for k, v in props.items() if k not in _PAGE_COLUMNS}
        for key in ("name", "category"):
            if (value := getattr(msg, key)) and key not in props:
                props[key] = value
    elif kind == "screen":
        name = "$screen"
        if msg.name:
            props = {**props, "$screen_name": msg.name}
    elif kind == "identify":
        name = "$identify"
        props = dict(msg.traits or {})
        if user_id and anonymous_id and user_id != anonymous_id:
            out.links.append(IdentityLink(project_id=project_id, env=env,
                                          anonymous_id=anonymous_id, user_id=user_id, ts=ts))
        if msg.traits:
            out.profiles.append(ProfileUpdate(
                project_id=project_id, env=env, kind="person" if user_id else "visitor",
                subject_id=user_id or anonymous_id or "", ts=ts, attributes=dict(msg.traits)))
    else:  # group
        group_id = _id(msg.group_id)
        _require(group_id is not None, where, "group needs groupId")
        name = "$groupidentify"
        props = {"$group_type": "group", "$group_key": group_id, "$group_set": msg.traits or {}}
    # Passed through: the core believes them from a backend (sk_) only.
    ip, user_agent = _visitor(context, where)
    if context.campaign:
        url = with_campaign(url, context.campaign)
    event = Event(
        project_id=project_id,
        env=env,
        uid=uuid7(),
        event_id=msg.message_id or None,
        name=name,
        ts=ts,
        received_at=received_at,
        anonymous_id=anonymous_id,
        user_id=user_id,
        url=url,
        path=path,
        referrer=referrer,
        properties=_encode(props).decode(),
        dialect="segment",
    )
    if ip is not None or user_agent is not None:  # (an Event built without them is ~3x cheaper)
        event.ip, event.user_agent = ip, user_agent
    out.events.append(event)
