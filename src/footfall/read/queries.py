"""The read side's questions, as plain structs every backend answers in SQL."""

from __future__ import annotations

from datetime import datetime

import msgspec

from footfall.model import Scope

__all__ = [
    "ATTRIBUTION_DIMENSIONS",
    "ATTRIBUTION_MODELS",
    "FILTER_COLUMNS",
    "FUNNEL_BREAKDOWNS",
    "GROUP_BY_COLUMNS",
    "INTERVALS",
    "METRICS",
    "SESSION_GROUPS",
    "AttributionQuery",
    "ConversionsQuery",
    "EventLogQuery",
    "FunnelPeopleQuery",
    "FunnelQuery",
    "FunnelStep",
    "PageQuery",
    "SessionSummaryQuery",
    "SessionsQuery",
    "SourcesQuery",
    "StatsQuery",
]

# Columns `group_by` and filters may name: the spec's list plus campaign/channel/referrer_host.
GROUP_BY_COLUMNS = (
    "event_name", "source", "medium", "campaign", "channel", "referrer_host", "country",
    "device_type", "browser", "os", "path", "utm_content", "utm_term", "region", "city",
)  # fmt: skip
FILTER_COLUMNS = GROUP_BY_COLUMNS
METRICS = ("count", "uniques", "sessions", "users", "sum")
SESSION_GROUPS = ("entry_path", "exit_path")
# Event columns a funnel may break down by (the value of the person's first step-1 event).
FUNNEL_BREAKDOWNS = ("source", "channel", "campaign", "device_type", "country")
INTERVALS = ("hour", "day", "week", "month")
ATTRIBUTION_MODELS = (
    "first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay",
)  # fmt: skip
ATTRIBUTION_DIMENSIONS = ("source", "medium", "campaign", "channel")


class StatsQuery(msgspec.Struct, frozen=True, kw_only=True):
    scope: Scope
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC
    metric: str = "count"  # count | uniques (people) | sessions | users (identified people) | sum
    event: str | None = None
    value_property: str | None = None  # metric=sum: the numeric property summed (e.g. revenue)
    group_by: tuple[str, ...] = ()
    interval: str | None = None
    timezone: str = "UTC"
    filters: tuple[tuple[str, str], ...] = ()  # (column in FILTER_COLUMNS, value)
    include_bots: bool = False
    limit: int = 100


class SessionsQuery(msgspec.Struct, frozen=True, kw_only=True):
    scope: Scope
    start: datetime  # sessions that started in [start, end)
    end: datetime
    user_id: str | None = None  # the person's sessions, on every linked anonymous id
    anonymous_id: str | None = None
    # As SessionSummaryQuery's: the session's first-event columns, or sessions with such an event.
    filters: tuple[tuple[str, str], ...] = ()
    # Keyset paging: the (start, session_id) of the previous page's last row; rows after it in
    # the list's order (start descending, then session id).
    after: tuple[datetime, str] | None = None
    include_bots: bool = False
    limit: int = 100


class SessionSummaryQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Sessions that started in [start, end): how many, how many bounced, their total duration,
    optionally per entry or exit page. Filters name the session's first-event columns; `path`
    and `event_name` keep the sessions that had such an event."""

    scope: Scope
    start: datetime
    end: datetime
    group_by: str | None = None  # one of SESSION_GROUPS
    filters: tuple[tuple[str, str], ...] = ()
    include_bots: bool = False
    limit: int = 100


class PageQuery(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a project's events, newest or oldest first (no time range)."""

    scope: Scope
    name: str | None = None
    exclude_names: tuple[str, ...] = ()  # e.g. a dialect's own bookkeeping events
    anonymous_id: str | None = None
    page: int = 1
    per_page: int = 25
    descending: bool = True


class EventLogQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Events in [start, end), newest first (ts, then uid, descending), with the report's
    filters; optionally one person's only: the stitched person key the people counts use
    (user id, else the user its anonymous id is linked to, else the anonymous id)."""

    scope: Scope
    start: datetime
    end: datetime
    filters: tuple[tuple[str, str], ...] = ()  # (column in FILTER_COLUMNS, value)
    person: str | None = None
    before: tuple[datetime, str] | None = None  # keyset paging: (ts, uid) of the last row seen
    include_bots: bool = False
    limit: int = 50


class SourcesQuery(msgspec.Struct, frozen=True, kw_only=True):
    scope: Scope
    start: datetime
    end: datetime
    breakdown: str = "source_medium"  # source_medium | source
    include_bots: bool = False
    limit: int = 50


class FunnelStep(msgspec.Struct, frozen=True):
    event: str
    where: tuple[tuple[str, str], ...] = ()  # property equality filters, values compared as text


class FunnelQuery(msgspec.Struct, frozen=True, kw_only=True):
    scope: Scope
    start: datetime  # the first step must happen in [start, end)
    end: datetime
    steps: tuple[FunnelStep, ...]
    window_seconds: int = 7 * 86400  # each later step within this long of the first
    breakdown: str | None = None  # one of FUNNEL_BREAKDOWNS (of the person's first step)
    include_bots: bool = False


class FunnelPeopleQuery(msgspec.Struct, frozen=True, kw_only=True):
    """The people behind one step of a funnel: who reached it, or who reached it and not the
    next step."""

    funnel: FunnelQuery
    step: int  # 1-based
    outcome: str = "dropped"  # converted (reached `step`) | dropped (reached it, not step + 1)
    group: str | None = None  # only this breakdown value (needs funnel.breakdown)
    limit: int = 100
    offset: int = 0


class AttributionQuery(msgspec.Struct, frozen=True, kw_only=True):
    scope: Scope
    start: datetime  # conversions in [start, end)
    end: datetime
    conversion: str  # the conversion event's name
    value_property: str | None = None  # e.g. amount_cents
    model: str = "last_non_direct"  # or "all" (every model side by side: Store.attribution_compared)
    lookback_seconds: int = 30 * 86400  # sessions that started this long before a conversion
    group_by: tuple[str, ...] = ("source", "medium")
    include_bots: bool = False
    limit: int = 100


class ConversionsQuery(msgspec.Struct, frozen=True, kw_only=True):
    """The conversions behind one number of the attribution reads, each with its person:
    `behind="path"`: the conversions whose path (`attribution.group_by[0]` over their
    touchpoints, as `conversion_paths` groups them) is `path`; `"bucket"`: those whose time to
    convert falls in the time-to-convert bucket starting at `bucket` seconds; `"credit"`: those
    that give some of `attribution.model`'s credit to the row whose `group_by[0]` is `key`
    (None: the row without a value), each with its share."""

    attribution: AttributionQuery
    behind: str  # path | bucket | credit
    path: tuple[str | None, ...] = ()
    bucket: int = 0  # a lower bound of TIME_BUCKETS (store/answers.py)
    key: str | None = None
    limit: int = 100
    offset: int = 0
