"""normalise → enrich: an ordered list of named steps over the canonical `Event`.

Each step is `fn(event, ctx) -> Event | Drop`. The runner stops at the first drop, counts drops by
reason and times each step by name. A new step is one line in `STEPS`.
"""

from __future__ import annotations

import enum
import functools
import operator
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from footfall.attribution.custom import CustomRule, apply_custom
from footfall.attribution.rules import classify
from footfall.enrichment.geoip import GeoIP, normalise_ip
from footfall.enrichment.iphash import anonymous_id_for, ip_hash
from footfall.enrichment.urls import path_of
from footfall.enrichment.useragent import is_http_tool, parse_user_agent
from footfall.model import ENGAGEMENT_EVENT, Event, RequestContext
from footfall.pipeline.sessions import (
    INHERITED_FIELDS,
    NO_SIGNAL_RULES,
    SESSION_INHERITED,
    Sessionizer,
    VisitorState,
)

__all__ = [
    "ATTRIBUTION_COLUMNS",
    "STEPS",
    "Drop",
    "DropReason",
    "Pipeline",
    "StepContext",
    "attribute",
    "invalid_rows",
]


class DropReason(enum.StrEnum):
    INVALID = "invalid"
    NO_SESSION = "no_session"  # an engagement event for a visit that is over (or never began)


@dataclass(frozen=True)
class Drop:
    reason: DropReason


@dataclass
class StepContext:
    request: RequestContext
    own_hosts: frozenset[str]
    store_raw_ip: bool
    salt: bytes
    geoip: GeoIP
    sessions: VisitorState
    custom_rules: tuple[CustomRule, ...] = ()
    server_side: bool = False  # sent with a secret key (a backend), not from a browser
    # uids of events whose client asked not to be located (PostHog `$geoip_disable`)
    unlocated: frozenset[str] = frozenset()


# The canonical limits every dialect's events must meet before the write. Dialects reject
# stricter limits of their own with a 4xx; whatever still passes here unfit is dropped (counted,
# never stored half-way), not turned into a 500.
MAX_NAME = 256
MAX_PROPERTIES_BYTES = 64 * 1024
MAX_PROPERTY_KEYS = 1000


def drop_invalid(event: Event, ctx: StepContext) -> Event | Drop:
    if not event.name or len(event.name) > MAX_NAME:
        return Drop(DropReason.INVALID)
    if len(event.properties) > MAX_PROPERTIES_BYTES:
        return Drop(DropReason.INVALID)
    if (
        event.properties.count(":") > MAX_PROPERTY_KEYS
        and _key_count(event.properties) > MAX_PROPERTY_KEYS
    ):
        return Drop(DropReason.INVALID)
    return event


def _key_count(properties: str) -> int:
    def count(value: object) -> int:
        if isinstance(value, dict):
            return len(value) + sum(count(v) for v in value.values())
        if isinstance(value, list):
            return sum(count(v) for v in value)
        return 0

    return count(msgspec.json.decode(properties))


def invalid_rows(table: pa.Table) -> pa.BooleanArray:
    """`drop_invalid` over a whole Arrow table of events (an import of Footfall's own rows):
    true where the row would be dropped. A NULL name or properties counts as empty."""
    name = pc.fill_null(table.column("name").combine_chunks(), "")
    props = pc.fill_null(table.column("properties").combine_chunks(), "{}")
    bad = pc.or_(pc.equal(pc.utf8_length(name), 0), pc.greater(pc.utf8_length(name), MAX_NAME))
    bad = pc.or_(bad, pc.greater(pc.binary_length(props), MAX_PROPERTIES_BYTES))
    # Counting keys means parsing: only for the rows that could hold that many.
    many = pc.greater(pc.count_substring(props, ":"), MAX_PROPERTY_KEYS)
    if many.true_count:
        texts = props.to_pylist()
        over = [bool(m) and _key_count(texts[i]) > MAX_PROPERTY_KEYS for i, m in enumerate(many.to_pylist())]
        bad = pc.or_(bad, pa.array(over))
    return pc.fill_null(bad, True)


def maybe_put_stated_visitor(event: Event, ctx: StepContext) -> Event | Drop:
    """The visitor's IP and User-Agent as a caller states them (one server batch carries many
    visitors): dialects pass what their wire says through on `Event.ip` / `Event.user_agent`,
    and this one rule, for every dialect, decides. Only a backend's word (a secret key) is
    believed, and only an IP that is an address (kept in canonical form, so no text reaches
    the ip column or its hash); otherwise the request's own stand."""
    if not ctx.server_side:
        event.ip = event.user_agent = None
    elif event.ip is not None:
        addr = normalise_ip(event.ip)
        event.ip = None if addr is None else str(addr)
    return event


def maybe_put_anonymous_id(event: Event, ctx: StepContext) -> Event | Drop:
    if event.anonymous_id is None:
        event.anonymous_id = anonymous_id_for(
            ctx.salt,
            event.project_id,
            event.env,
            event.ip or ctx.request.ip or "",
            event.user_agent or ctx.request.user_agent or "",
        )
    return event


def maybe_put_path(event: Event, ctx: StepContext) -> Event | Drop:
    """Reads group by page: take the path from the landing URL when the client sent none."""
    if event.path is None and event.url:
        event.path = path_of(event.url)
    return event


def maybe_put_session(event: Event, ctx: StepContext) -> Event | Drop:
    """Time on a page extends a visit, it never starts one: a tab left open past the session
    timeout would otherwise make a visit of no pages (as in Plausible). The check is part of
    the assignment, so an engagement event joins the visit its own batch opened a step earlier
    in time, and two nodes cannot disagree between a check and an assignment."""
    if event.session_id is None and event.anonymous_id is not None:
        sid = ctx.sessions.assign(
            event.project_id,
            event.env,
            event.anonymous_id,
            event.ts,
            may_open=event.name != ENGAGEMENT_EVENT,
        )
        if sid is None:
            return Drop(DropReason.NO_SESSION)
        event.session_id = sid
    return event


# Event column → Attribution field.
ATTRIBUTION_COLUMNS = {
    "source": "source",
    "medium": "medium",
    "campaign": "campaign",
    "utm_term": "term",
    "utm_content": "content",
    "campaign_id": "campaign_id",
    "click_id_type": "click_id_type",
    "click_id": "click_id",
    "source_confidence": "confidence",
    "source_rule_id": "rule_id",
    "referrer_host": "referrer_host",
    "channel": "channel",
}


def attribute(
    url: str | None,
    referrer: str | None,
    own_hosts: frozenset[str],
    custom_rules: tuple[CustomRule, ...] = (),
) -> dict[str, object]:
    """The attribution columns of an event: project rules first, then the built-in classifier."""
    values = _attribution_values(url, referrer, own_hosts, custom_rules)
    return dict(zip(_ATTRIBUTION_FIELDS, values, strict=True))


def _attribution_values(
    url: str | None,
    referrer: str | None,
    own_hosts: frozenset[str],
    custom_rules: tuple[CustomRule, ...],
) -> tuple[object, ...]:
    if not custom_rules:
        return _builtin_values(url, referrer, own_hosts)
    a = apply_custom(custom_rules, url, referrer, classify(url, referrer, own_hosts), own_hosts)
    return _attribution_of(a)


@functools.lru_cache(maxsize=16384)
def _builtin_values(
    url: str | None, referrer: str | None, own_hosts: frozenset[str]
) -> tuple[object, ...]:
    return _attribution_of(classify(url, referrer, own_hosts))


_ATTRIBUTION_FIELDS = tuple(ATTRIBUTION_COLUMNS)
# One C call per event instead of a generator of getattr calls (the pipeline's hot loop, #23).
_attribution_of = operator.attrgetter(*ATTRIBUTION_COLUMNS.values())
_inherited_of = operator.attrgetter(*INHERITED_FIELDS)
_name_of = operator.attrgetter("name")
_ts_of = operator.attrgetter("ts")


def put_attribution(event: Event, ctx: StepContext) -> Event | Drop:
    values = _attribution_values(event.url, event.referrer, ctx.own_hosts, ctx.custom_rules)
    for column, value in zip(_ATTRIBUTION_FIELDS, values, strict=True):
        setattr(event, column, value)
    return event


def maybe_inherit_session_attribution(event: Event, ctx: StepContext) -> Event | Drop:
    """An event with no signal of its own (server-side signup, internal navigation) takes its
    session's attribution, so "signups by source" means something."""
    if event.session_id is None:
        return event
    key = (event.project_id, event.env, event.session_id)
    if event.source_rule_id in NO_SIGNAL_RULES:
        inherited = ctx.sessions.attribution(key)
        if inherited is not None:
            for name, value in zip(INHERITED_FIELDS, inherited, strict=True):
                setattr(event, name, value)
            event.source_rule_id = SESSION_INHERITED
    else:
        ctx.sessions.remember_attribution(key, _inherited_of(event))
    return event


def put_device(event: Event, ctx: StepContext) -> Event | Drop:
    # The stated User-Agent (`maybe_put_stated_visitor`), else the request's.
    ua = event.user_agent or ctx.request.user_agent
    event.user_agent = ua
    if ctx.server_side and is_http_tool(ua):
        # A backend sending with a secret key: its HTTP library says nothing about the visitor.
        event.device_type = "other"
        event.is_bot = False
        return event
    d = parse_user_agent(ua)
    event.device_type = d.device_type
    event.browser = d.browser
    event.browser_version = d.browser_version
    event.os = d.os
    event.os_version = d.os_version
    event.device_brand = d.brand
    event.device_model = d.model
    event.is_bot = d.is_bot
    return event


def put_geo(event: Event, ctx: StepContext) -> Event | Drop:
    if event.uid in ctx.unlocated:
        return event
    g = ctx.geoip.lookup(event.ip or ctx.request.ip)
    event.country = g.country
    event.region = g.region
    event.city = g.city
    event.latitude = g.latitude
    event.longitude = g.longitude
    event.time_zone = g.time_zone
    event.isp = g.isp
    event.organization = g.organization
    return event


def put_ip_hash(event: Event, ctx: StepContext) -> Event | Drop:
    ip = event.ip or ctx.request.ip
    if ip:
        event.ip_hash = ip_hash(ip, ctx.salt)
        event.ip = ip if ctx.store_raw_ip else None
    return event


Step = Callable[[Event, StepContext], "Event | Drop"]

STEPS: tuple[tuple[str, Step], ...] = (
    ("drop_invalid", drop_invalid),
    ("maybe_put_stated_visitor", maybe_put_stated_visitor),
    ("maybe_put_anonymous_id", maybe_put_anonymous_id),
    ("maybe_put_path", maybe_put_path),
    ("maybe_put_session", maybe_put_session),
    ("put_attribution", put_attribution),
    ("maybe_inherit_session_attribution", maybe_inherit_session_attribution),
    ("put_device", put_device),
    ("put_geo", put_geo),
    ("put_ip_hash", put_ip_hash),
)


@dataclass
class Pipeline:
    """Runs `STEPS` and keeps per-step timings and drop counts for /metrics."""

    geoip: GeoIP
    salt_for: Callable[[date], bytes]
    sessions: VisitorState = field(default_factory=Sessionizer)
    steps: tuple[tuple[str, Step], ...] = STEPS
    step_seconds: dict[str, float] = field(default_factory=dict)
    drops: Counter[str] = field(default_factory=Counter)

    def context(
        self,
        request: RequestContext,
        own_hosts: frozenset[str],
        store_raw_ip: bool,
        custom_rules: tuple[CustomRule, ...] = (),
        server_side: bool = False,
        unlocated: frozenset[str] = frozenset(),
    ) -> StepContext:
        return StepContext(
            request=request,
            own_hosts=own_hosts,
            store_raw_ip=store_raw_ip,
            salt=self.salt_for(request.received_at.date()),
            geoip=self.geoip,
            sessions=self.sessions,
            custom_rules=custom_rules,
            server_side=server_side,
            unlocated=unlocated,
        )

    def run(self, events: list[Event], ctx: StepContext) -> list[Event]:
        """Enrich events in place; returns those not dropped, in timestamp order.

        Step by step over the whole batch (each event still sees the steps in order), so the
        per-step timing costs two clock reads per batch, not per event.
        """
        if len(events) == 1:
            return self._run_one(events[0], ctx)
        # Sessions are assigned in time order, whatever order a batch arrived in (time on a
        # page after the page view it stayed on, at the same instant).
        if ENGAGEMENT_EVENT in map(_name_of, events):
            kept = sorted(events, key=lambda e: (e.ts, e.name == ENGAGEMENT_EVENT))
        else:  # the same order (a stable sort), without a tuple per event (#23)
            kept = sorted(events, key=_ts_of)
        for name, step in self.steps:
            t0 = time.perf_counter()
            survivors: list[Event] = []
            for event in kept:
                result = step(event, ctx)
                if isinstance(result, Drop):
                    self.drops[result.reason.value] += 1
                else:
                    survivors.append(event)
            kept = survivors
            self.step_seconds[name] = self.step_seconds.get(name, 0.0) + time.perf_counter() - t0
        return kept

    def _run_one(self, event: Event, ctx: StepContext) -> list[Event]:
        """`run` for a single event (most requests): one clock read per step, no lists."""
        seconds = self.step_seconds
        clock = time.perf_counter
        t0 = clock()
        for name, step in self.steps:
            result = step(event, ctx)
            t1 = clock()
            seconds[name] = seconds.get(name, 0.0) + t1 - t0
            t0 = t1
            if isinstance(result, Drop):
                self.drops[result.reason.value] += 1
                return []
        return [event]
