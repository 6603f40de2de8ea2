"""Plausible wire structs → canonical events, with Plausible's limits applied per field.

Per field (STYLE 6), as Plausible's own ingestion does unless noted:

- `name|n`: required (400 `event_name`), an integer becomes text (404 tracking), at most 120
  characters (400). `pageview` → `$pageview`, `engagement` → `$engagement`.
- `url|u`: required (400 `url`), at most 2000 bytes (400), no `data:` scheme (400).
- `domain|d`: a comma list, each trimmed, lower-cased, without a leading `www.`; absent → the URL's
  host; empty → 400 `domain`.
- `referrer|r`: only a string counts; longer than 2000 bytes is cut to 2000 (not rejected).
- `props|p|meta|m`: an object, or its JSON text (text that is not a JSON object counts as no
  props, as in Plausible). Values that are objects, lists, null or blank are left out; the first
  30 props are kept, the rest dropped; a key over 300 bytes or a text value over 2000 bytes is a
  400 `props`. Scalars keep their JSON type (Plausible makes them text). Props named like the
  keys below (`$revenue_amount`, …) are left out: on this route only Footfall writes those
  (other dialects store their clients' properties as sent: docs/dialects/plausible.md).
- `revenue|$`: `{amount, currency}`; amount a number or decimal text, currency three letters.
  Footfall is stricter than Plausible here: anything else is a 400 `revenue`, so a purchase is
  never stored without the revenue the client meant to send. Stored as `$revenue_amount` (a
  number, so `/v1/attribution?value_property=$revenue_amount` credits it) and `$revenue_currency`.
- `interactive|i`: `false` is kept as `$interactive: false`; anything else is ignored.
- `hashMode|h`: `1` makes the path include the URL's `#fragment` (hash-routed sites).
- `engagement` needs `sd` (scroll %, capped at 100) or `e` (engaged ms, under 30 days) as an
  integer or integer text (else 400 `event_name`); kept as `$scroll_depth` and `$engaged_ms`.
- `w` (screen width) and `v` (tracker version) are not stored.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote, urlsplit

import msgspec

from footfall.dialects.plausible.schema import EventBody, Revenue
from footfall.errors import Invalid
from footfall.ids import uuid7
from footfall.model import ENGAGEMENT_EVENT, Event, Principal
from footfall.store.meta import normalise_domain

__all__ = [
    "ENGAGEMENT",
    "MAX_NAME_CHARS",
    "MAX_PROPS",
    "MAX_URL_BYTES",
    "SiteEvent",
    "event_for",
    "site_event",
]

MAX_NAME_CHARS = 120
MAX_URL_BYTES = 2000
MAX_PROPS = 30
MAX_PROP_KEY_BYTES = 300
MAX_PROP_VALUE_BYTES = 2000
MAX_ENGAGED_MS = 30 * 24 * 3600 * 1000  # older trackers sent absurd values; Plausible ignores them
ENGAGEMENT = ENGAGEMENT_EVENT
_NAMES = {"pageview": "$pageview", "engagement": ENGAGEMENT}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Keys this dialect writes: a client prop of the same name is left out, so `$revenue_amount`
# always means revenue the client sent as revenue.
_RESERVED = frozenset({"$revenue_amount", "$revenue_currency", "$scroll_depth", "$engaged_ms", "$interactive"})
_encode = msgspec.json.Encoder().encode


class SiteEvent(msgspec.Struct, kw_only=True):
    """One request, validated: the domains it is for and everything but the project."""

    domains: tuple[str, ...]
    name: str
    url: str
    path: str | None
    referrer: str | None
    properties: str


def _invalid(field: str, message: str) -> Invalid:
    return Invalid("invalid_payload", f"{field} {message}", details={"errors": {field: [message]}})


def _first(*values: Any) -> Any:
    """Plausible's `short || long`: the first value that is not null."""
    return next((v for v in values if v is not None), None)


def _name(body: EventBody) -> str:
    raw: str | int | None = _first(body.n, body.name)
    if isinstance(raw, int):
        raw = str(raw)
    if not raw:
        raise _invalid("event_name", "can't be blank")
    if len(raw) > MAX_NAME_CHARS:
        raise _invalid("event_name", f"should be at most {MAX_NAME_CHARS} character(s)")
    return _NAMES.get(raw, raw)


def _url(body: EventBody) -> str:
    url: str | None = _first(body.u, body.url)
    if url is None:
        raise _invalid("url", "is required")
    if len(url) * 4 > MAX_URL_BYTES and len(url.encode()) > MAX_URL_BYTES:
        raise _invalid("url", "must be a valid url")
    if url.lstrip()[:5].lower() == "data:":
        raise _invalid("url", "scheme is not allowed")
    return url


def _host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _domains(body: EventBody, url: str) -> tuple[str, ...]:
    raw = _first(body.d, body.domain)
    if raw is None:
        host = _host(url)
        if not host:
            raise _invalid("domain", "can't be blank")
        return (normalise_domain(host),)
    domains = _domain_list(raw)
    if not domains:  # blank, or only commas
        raise _invalid("domain", "can't be blank")
    return domains


@functools.lru_cache(maxsize=4096)
def _domain_list(raw: str) -> tuple[str, ...]:
    """A site sends the same `domain` value with every event: normalise it once."""
    domains = dict.fromkeys(normalise_domain(d) for d in raw.split(","))
    return tuple(d for d in domains if d)


def _truncate(text: str, limit: int) -> str:
    if len(text) * 4 <= limit:  # no character takes more than 4 bytes in UTF-8
        return text
    data = text.encode()
    return text if len(data) <= limit else data[:limit].decode(errors="ignore")


def _path(url: str, hash_mode: Any) -> str | None:
    """The path with the `#fragment` in hash mode; otherwise the pipeline derives it."""
    if _integer(hash_mode) != 1:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    path = parts.path or "/"
    return f"{path}#{unquote(parts.fragment)}" if parts.fragment else path


def _props(body: EventBody) -> dict[str, Any]:
    raw = _first(body.m, body.meta, body.p, body.props)
    if isinstance(raw, str):
        try:
            raw = msgspec.json.decode(raw)
        except (msgspec.DecodeError, RecursionError):
            raw = None
    if not isinstance(raw, dict):
        return {}
    kept: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None or isinstance(value, (dict, list)) or not key.strip() or key in _RESERVED:
            continue
        if isinstance(value, str) and not value.strip():
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        text = value if isinstance(value, str) else str(value)
        if len(key.encode()) > MAX_PROP_KEY_BYTES or len(text.encode()) > MAX_PROP_VALUE_BYTES:
            raise _invalid(
                "props",
                f"keys should have at most {MAX_PROP_KEY_BYTES} bytes and values {MAX_PROP_VALUE_BYTES} bytes",
            )
        kept[key] = value
        if len(kept) == MAX_PROPS:
            break
    return kept


def _revenue(revenue: Revenue) -> dict[str, Any]:
    problem = "needs amount (a number or decimal text) and currency (an ISO 4217 code such as USD)"
    currency = (revenue.currency or "").strip().upper()
    if not _CURRENCY.match(currency) or revenue.amount is None:
        raise _invalid("revenue", problem)
    try:
        amount = Decimal(str(revenue.amount).strip())
    except InvalidOperation:
        raise _invalid("revenue", problem) from None
    # 1e400 is a finite decimal but an infinite float, which JSON stores as null.
    if not amount.is_finite() or not math.isfinite(value := float(amount)):
        raise _invalid("revenue", problem)
    return {"$revenue_amount": value, "$revenue_currency": currency}


def _integer(value: Any) -> int | None:
    if isinstance(value, str) and value.isdecimal():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _engagement(body: EventBody) -> dict[str, int]:
    depth = _integer(body.sd)
    engaged = _integer(body.e)
    out = {}
    if depth is not None and depth >= 0:
        out["$scroll_depth"] = min(depth, 100)
    if engaged is not None and 0 <= engaged < MAX_ENGAGED_MS:
        out["$engaged_ms"] = engaged
    if not out:
        raise _invalid(
            "event_name",
            "engagement event requires a valid integer value for at least one of 'sd' or 'e' fields",
        )
    return out


def site_event(body: EventBody) -> SiteEvent:
    """Validate a request in Plausible's order; raises Invalid with `{field: [message]}`."""
    url = _url(body)
    name = _name(body)
    props = _props(body)
    if name == ENGAGEMENT:
        props.update(_engagement(body))
    revenue = _first(body.revenue_short, body.revenue)
    if revenue is not None:
        props.update(_revenue(revenue))
    if (body.i if body.i is not None else body.interactive) is False:
        props["$interactive"] = False
    referrer = _first(body.r, body.referrer)
    return SiteEvent(
        domains=_domains(body, url),
        name=name,
        url=url,
        path=_path(url, _first(body.h, body.hashMode)),
        referrer=_truncate(referrer, MAX_URL_BYTES) if isinstance(referrer, str) and referrer else None,
        properties=_encode(props).decode(),
    )


def event_for(site: SiteEvent, principal: Principal, received_at: datetime) -> Event:
    """The canonical event for one project the request's domains point at. No client id:
    the visitor is the cookieless daily id, and there is no event id to deduplicate by."""
    assert principal.project_id is not None
    return Event(
        project_id=principal.project_id,
        env=principal.env.value,
        uid=uuid7(),
        name=site.name,
        ts=received_at,
        received_at=received_at,
        url=site.url,
        path=site.path,
        referrer=site.referrer,
        properties=site.properties,
        dialect="plausible",
    )
