"""The canonical vocabulary every dialect maps into and the store writes out.

Dialects decode their own wire shapes and build these structs; nothing downstream of a dialect
sees a vendor's field names.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import msgspec

__all__ = [
    "ENGAGEMENT_EVENT",
    "Env",
    "Event",
    "IdentityLink",
    "KeyKind",
    "Principal",
    "ProfileUpdate",
    "RequestContext",
    "Scope",
]


# An event that reports how long a page was looked at and how far it was scrolled (properties
# `$engaged_ms`, `$scroll_depth`) when the visitor leaves it. It extends its visit, so visit
# duration counts the time on the last page, but it never starts a visit of its own and is not
# an interaction: a one-page visit with engagement is still a bounce.
ENGAGEMENT_EVENT = "$engagement"


class Env(enum.StrEnum):
    LIVE = "live"
    TEST = "test"


class KeyKind(enum.StrEnum):
    PUBLISHABLE = "pk"  # browser ingest, origin-checked
    SECRET = "sk"  # server ingest + read + forget
    READ = "rk"  # read only
    ACCOUNT = "ak"  # read across every project


class Scope(msgspec.Struct, frozen=True):
    """One project's data in one environment: the unit no read ever crosses."""

    project_id: str
    env: str


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: the verified key's project, environment and kind."""

    project_id: str | None  # None for account keys
    env: Env
    kind: KeyKind
    prefix: str

    @property
    def scope(self) -> Scope:
        """The project and environment this key reads and writes (not for account keys)."""
        if self.project_id is None:
            raise ValueError("account keys have no single project")
        return Scope(self.project_id, self.env.value)

    @property
    def can_ingest(self) -> bool:
        return self.kind in (KeyKind.PUBLISHABLE, KeyKind.SECRET)

    @property
    def can_read(self) -> bool:
        return self.kind in (KeyKind.SECRET, KeyKind.READ)


class RequestContext(msgspec.Struct, frozen=True):
    """What the transport knows about the caller, independent of dialect."""

    ip: str | None
    user_agent: str | None
    origin: str | None
    received_at: datetime


class Event(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One stored event: what the client said plus what the pipeline derived.

    Field names are the store's column names. Timestamps are UTC.
    """

    project_id: str
    env: str
    uid: str  # server-made row id (UUIDv7), always present
    event_id: str | None = None  # client idempotency key
    name: str
    ts: datetime
    received_at: datetime
    anonymous_id: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    url: str | None = None
    path: str | None = None
    referrer: str | None = None
    properties: str = "{}"  # JSON text, validated and size-checked by the dialect
    dialect: str = "millimetric"
    # enrichment: written by pipeline steps only
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    campaign_id: str | None = None
    click_id_type: str | None = None
    click_id: str | None = None
    source_confidence: str | None = None
    source_rule_id: str | None = None
    referrer_host: str | None = None
    channel: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    time_zone: str | None = None
    isp: str | None = None
    organization: str | None = None
    device_type: str | None = None
    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None
    device_brand: str | None = None
    device_model: str | None = None
    is_bot: bool = False
    ip_hash: str | None = None
    ip: str | None = None  # raw IP: only for projects that opted in
    user_agent: str | None = None


class ProfileUpdate(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A change to what is known about a visitor or a person, applied in WAL order.

    `attributes` merge key by key unless `replace`; `set_once` adds only the attribute keys
    not set yet and `unset` removes attribute keys (in one update: `set_once`, then
    `attributes`, then `unset`, so a key in both `attributes` and `set_once` takes the
    `attributes` value); `context` and `custom_data` merge key by key; `enrichment` (geo,
    device, source computed at ingest) merges key by key.
    """

    project_id: str
    env: str
    kind: str  # "visitor" (anonymous id / A-TRACK uuid) | "person" (user id)
    subject_id: str
    ts: datetime
    attributes: dict[str, Any] | None = None
    replace: bool = False
    set_once: dict[str, Any] | None = None
    unset: list[str] | None = None
    context: dict[str, Any] | None = None
    custom_data: dict[str, Any] | None = None
    enrichment: dict[str, Any] | None = None
    # uid of an event in the same ingest call whose enrichment (geo, device, attribution)
    # becomes this profile's `enrichment`: dialects never enrich anything themselves.
    enrich_from: str | None = None
    # the top-level enrichment keys taken from `enrich_from` (None: all); the others keep
    # what the profile had (e.g. a re-init keeps the first touch's source)
    enrich_keys: tuple[str, ...] | None = None


class IdentityLink(msgspec.Struct, kw_only=True):
    """`anonymous_id` belongs to the person `user_id` (identify / alias)."""

    project_id: str
    env: str
    anonymous_id: str
    user_id: str
    ts: datetime
