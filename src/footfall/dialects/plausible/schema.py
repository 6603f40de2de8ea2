"""The Plausible Events API's wire shape (`POST /api/event`), long and short field names.

Trackers send JSON as `text/plain`. Every field is loosely typed on purpose: Plausible accepts
an integer event name (404 tracking), props as an object or a JSON string (the old script), and
ignores a `referrer`, `interactive` or `hashMode` of the wrong type; `mapping.py` applies its
rules field by field. The short name wins when both are sent, as in Plausible.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["ErrorBody", "EventBody", "Revenue", "decode"]


class Revenue(msgspec.Struct, kw_only=True):
    amount: float | str | None = None  # a number or a decimal string
    currency: str | None = None  # ISO 4217, e.g. "USD"


class EventBody(msgspec.Struct, kw_only=True):
    n: str | int | None = None  # event name; "pageview", "engagement" or a custom goal
    name: str | int | None = None
    u: str | None = None  # the page's URL
    url: str | None = None
    d: str | None = None  # site domain(s), comma separated; else the URL's host
    domain: str | None = None
    r: Any = None  # referrer (only a string counts)
    referrer: Any = None
    p: dict[str, Any] | str | None = None  # custom props: an object or its JSON text
    props: dict[str, Any] | str | None = None
    m: dict[str, Any] | str | None = None  # the old script's name for props
    meta: dict[str, Any] | str | None = None
    revenue_short: Revenue | None = msgspec.field(default=None, name="$")
    revenue: Revenue | None = None
    i: Any = None  # interactive: false keeps the event out of bounce counting (a bool counts)
    interactive: Any = None
    h: Any = None  # hash mode: 1 puts the URL's #fragment into the path
    hashMode: Any = None  # the wire name
    sd: Any = None  # engagement: scroll depth in percent
    e: Any = None  # engagement: engaged time in milliseconds
    w: Any = None  # screen width (not stored: the User-Agent says the device type)
    v: Any = None  # tracker version


class ErrorBody(msgspec.Struct):
    """Plausible's 400: `{"errors": {"<field>": ["<message>", ...]}}`."""

    errors: dict[str, list[str]]


_decoder = msgspec.json.Decoder(EventBody)


def decode(body: bytes) -> EventBody:
    """Decode and type-check; raises msgspec errors for the route to translate."""
    return _decoder.decode(body)
