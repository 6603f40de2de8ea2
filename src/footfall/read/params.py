"""Query-string parameters → read queries, with the spec's defaults, limits and error codes.

Shared by the HTTP routes and the MCP tools, so both answer the same questions the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from footfall.errors import Invalid
from footfall.read.queries import (
    ATTRIBUTION_DIMENSIONS,
    ATTRIBUTION_MODELS,
    FILTER_COLUMNS,
    FUNNEL_BREAKDOWNS,
    GROUP_BY_COLUMNS,
    INTERVALS,
    METRICS,
    SESSION_GROUPS,
    AttributionQuery,
    ConversionsQuery,
    EventLogQuery,
    FunnelPeopleQuery,
    FunnelQuery,
    FunnelStep,
    SessionsQuery,
    SessionSummaryQuery,
    SourcesQuery,
    StatsQuery,
)
from footfall.store.answers import TIME_BUCKETS
from footfall.store.base import EventQuery, ExportQuery, Scope

__all__ = [
    "attribution_query",
    "conversions_query",
    "event_log_query",
    "event_query",
    "export_query",
    "funnel_people_query",
    "funnel_query",
    "journey_query",
    "parse_duration",
    "session_summary_query",
    "sessions_query",
    "sources_query",
    "stats_query",
]

Params = Mapping[str, str]
_DURATION = re.compile(r"^(\d+)\s*([smhdw]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_STEP = re.compile(r"^(?P<event>[^\[\]]+?)\s*(?:\[(?P<where>[^\]]*)\])?$")


class _Errors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise Invalid("invalid_params", "invalid query parameters", details={"errors": self.errors})


def _time(p: Params, name: str, errs: _Errors) -> datetime:
    raw = (p.get(name) or "").strip()
    if not raw:
        errs.add(name, "required (ISO 8601)")
        return datetime.min.replace(tzinfo=UTC)
    try:
        value = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
    except ValueError:
        errs.add(name, "must be an ISO 8601 timestamp")
        return datetime.min.replace(tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _range(p: Params, errs: _Errors) -> tuple[datetime, datetime]:
    start, end = _time(p, "from", errs), _time(p, "to", errs)
    if "from" not in errs.errors and "to" not in errs.errors and start >= end:
        errs.add("to", "must be after from")
    return start, end


def _int(p: Params, name: str, default: int, low: int, high: int, errs: _Errors) -> int:
    raw = p.get(name)
    if raw is None or raw == "":
        return default
    # ASCII digits, few: isdigit() alone takes digits int() refuses (a superscript two), and
    # int() refuses more than 4,300 of them.
    digits = raw.strip()
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 18) or not low <= int(digits) <= high:
        errs.add(name, f"must be an integer from {low} to {high}")
        return default
    return int(digits)


def _choice(p: Params, name: str, default: str, allowed: tuple[str, ...], errs: _Errors) -> str:
    value = (p.get(name) or default).strip()
    if value not in allowed:
        errs.add(name, f"must be one of {', '.join(allowed)}")
        return default
    return value


def _bool(p: Params, name: str, errs: _Errors) -> bool:
    raw = (p.get(name) or "false").strip().lower()
    if raw not in ("true", "false", "1", "0"):
        errs.add(name, "must be true or false")
        return False
    return raw in ("true", "1")


def _columns(p: Params, name: str, allowed: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    raw = p.get(name)
    if raw is None or raw.strip() == "":
        return default
    cols = tuple(c.strip() for c in raw.split(",") if c.strip())
    bad = [c for c in cols if c not in allowed]
    if bad or len(set(cols)) != len(cols):
        raise Invalid(
            "invalid_group_by",
            f"{name} may name: {', '.join(allowed)}",
            details={"allowed": list(allowed), "invalid": bad or list(cols)},
        )
    return cols


def _filters(p: Params) -> tuple[tuple[str, str], ...]:
    return tuple((c, p[c]) for c in FILTER_COLUMNS if c != "event_name" and p.get(c))


def _timezone(p: Params, errs: _Errors) -> str:
    tz = (p.get("timezone") or "UTC").strip()
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder ("America"), too long
        errs.add("timezone", "must be an IANA time zone name such as Europe/Berlin")
        return "UTC"
    return tz


def parse_duration(raw: str) -> int | None:
    """`30d`, `12h`, `90m`, `3600` (seconds) → seconds.

    >>> parse_duration("7d"), parse_duration("90m"), parse_duration("x")
    (604800, 5400, None)
    """
    m = _DURATION.match(raw.strip().lower())
    return int(m.group(1)) * _UNIT[m.group(2)] if m else None


def _duration(p: Params, name: str, default: int, errs: _Errors) -> int:
    raw = p.get(name)
    if raw is None or raw == "":
        return default
    seconds = parse_duration(raw)
    if seconds is None or not 0 < seconds <= 366 * 86400:
        errs.add(name, "must be a duration such as 30m, 12h, 7d (at most 366d)")
        return default
    return seconds


def event_query(scope: Scope, p: Params) -> EventQuery:
    errs = _Errors()
    start, end = _range(p, errs)
    limit = _int(p, "limit", 100, 1, 1000, errs)
    errs.raise_if_any()
    return EventQuery(
        scope=scope, start=start, end=end, limit=limit,
        event=p.get("event") or None, source=p.get("source") or None,
        medium=p.get("medium") or None, user_id=p.get("user_id") or None,
        anonymous_id=p.get("anonymous_id") or None, country=p.get("country") or None,
    )


def stats_query(scope: Scope, p: Params) -> StatsQuery:
    errs = _Errors()
    start, end = _range(p, errs)
    metric = _choice(p, "metric", "count", METRICS, errs)
    interval = p.get("interval") or None
    if interval is not None and interval not in INTERVALS:
        errs.add("interval", f"must be one of {', '.join(INTERVALS)}")
        interval = None
    timezone = _timezone(p, errs)
    limit = _int(p, "limit", 100, 1, 1000, errs)
    include_bots = _bool(p, "include_bots", errs)
    value_property = (p.get("value_property") or "").strip() or None
    if metric == "sum" and value_property is None:
        errs.add("value_property", "required with metric=sum: the numeric property to add up")
    errs.raise_if_any()
    return StatsQuery(
        scope=scope, start=start, end=end, metric=metric, event=p.get("event") or None,
        value_property=value_property,
        group_by=_columns(p, "group_by", GROUP_BY_COLUMNS, ()), interval=interval,
        timezone=timezone, filters=_filters(p), include_bots=include_bots, limit=limit,
    )


def sources_query(scope: Scope, p: Params) -> SourcesQuery:
    errs = _Errors()
    start, end = _range(p, errs)
    breakdown = _choice(p, "breakdown", "source_medium", ("source_medium", "source"), errs)
    limit = _int(p, "limit", 50, 1, 200, errs)
    include_bots = _bool(p, "include_bots", errs)
    errs.raise_if_any()
    return SourcesQuery(
        scope=scope, start=start, end=end, breakdown=breakdown, limit=limit,
        include_bots=include_bots,
    )


def sessions_query(scope: Scope, p: Params) -> SessionsQuery:
    errs = _Errors()
    start, end = _range(p, errs)
    limit = _int(p, "limit", 100, 1, 1000, errs)
    include_bots = _bool(p, "include_bots", errs)
    after = _keyset(p, "after", errs)
    errs.raise_if_any()
    return SessionsQuery(
        scope=scope, start=start, end=end, limit=limit, include_bots=include_bots,
        user_id=p.get("user_id") or None, anonymous_id=p.get("anonymous_id") or None,
        filters=_filters(p), after=after,
    )


def session_summary_query(scope: Scope, p: Params) -> SessionSummaryQuery:
    """`/v1/sessions/summary`: from/to, group_by (entry_path | exit_path), the /v1/stats
    filters, include_bots, limit (1-1000)."""
    errs = _Errors()
    start, end = _range(p, errs)
    limit = _int(p, "limit", 100, 1, 1000, errs)
    include_bots = _bool(p, "include_bots", errs)
    errs.raise_if_any()
    return SessionSummaryQuery(
        scope=scope, start=start, end=end, group_by=_session_group(p), filters=_filters(p),
        include_bots=include_bots, limit=limit,
    )


def _session_group(p: Params) -> str | None:
    """One of SESSION_GROUPS or None; anything else is `invalid_group_by`, as in /v1/stats."""
    raw = (p.get("group_by") or "").strip()
    if raw and raw not in SESSION_GROUPS:
        raise Invalid(
            "invalid_group_by",
            f"group_by may name one of: {', '.join(SESSION_GROUPS)}",
            details={"allowed": list(SESSION_GROUPS), "invalid": [raw]},
        )
    return raw or None


def _keyset(p: Params, name: str, errs: _Errors) -> tuple[datetime, str] | None:
    """`<ISO time>,<id>`: where the previous page ended (its answer's `next`)."""
    raw = p.get(name)
    if not raw:
        return None
    when, sep, key = raw.partition(",")
    at: datetime | None
    try:
        sent = datetime.fromisoformat(when.strip())
        # An offset at the calendar's ends leaves it in UTC (9999-12-31T23:00-05:00).
        at = sent.replace(tzinfo=UTC) if sent.tzinfo is None else sent.astimezone(UTC)
    except (ValueError, OverflowError):
        at = None
    if not sep or at is None or len(key) > 256:
        errs.add(name, "must be <ISO 8601 time>,<id> as a previous answer's next gives it")
        return None
    return at, key


def keyset(at: str, key: str) -> str:
    """The `next` of a page: its last row's time and id, for `before`/`after`."""
    return f"{at},{key}"


def event_log_query(scope: Scope, p: Params) -> EventLogQuery:
    """`/v1/events`: from/to, the /v1/stats filters, event, person, before, limit (1-1000)."""
    errs = _Errors()
    start, end = _range(p, errs)
    limit = _int(p, "limit", 50, 1, 1000, errs)
    include_bots = _bool(p, "include_bots", errs)
    before = _keyset(p, "before", errs)
    errs.raise_if_any()
    event = p.get("event") or None
    return EventLogQuery(
        scope=scope, start=start, end=end, limit=limit, include_bots=include_bots,
        filters=((("event_name", event),) if event else ()) + _filters(p),
        person=p.get("person") or None, before=before,
    )


def _steps(raw: str, errs: _Errors) -> tuple[FunnelStep, ...]:
    """`$pageview[path=/pricing],signup,purchase[plan=pro;currency=usd]`"""
    steps: list[FunnelStep] = []
    for part in (s.strip() for s in re.split(r",(?![^\[]*\])", raw)):
        m = _STEP.match(part)
        if not part or not m:
            errs.add("steps", f"cannot read step {part!r}: use event or event[key=value;key=value]")
            continue
        where: list[tuple[str, str]] = []
        for cond in filter(None, (c.strip() for c in (m.group("where") or "").split(";"))):
            key, sep, value = cond.partition("=")
            if not sep or not key.strip():
                errs.add("steps", f"cannot read condition {cond!r}: use key=value")
                continue
            where.append((key.strip(), value.strip()))
        steps.append(FunnelStep(event=m.group("event").strip(), where=tuple(where)))
    if not 2 <= len(steps) <= 10 and "steps" not in errs.errors:
        errs.add("steps", "give 2 to 10 comma-separated steps")
    return tuple(steps)


def funnel_query(scope: Scope, p: Params) -> FunnelQuery:
    errs = _Errors()
    start, end = _range(p, errs)
    steps = _steps(p.get("steps") or "", errs)
    window = _duration(p, "window", 7 * 86400, errs)
    breakdown = p.get("breakdown") or None
    if breakdown is not None and breakdown not in FUNNEL_BREAKDOWNS:
        errs.add("breakdown", f"must be one of {', '.join(FUNNEL_BREAKDOWNS)}")
    include_bots = _bool(p, "include_bots", errs)
    errs.raise_if_any()
    return FunnelQuery(
        scope=scope, start=start, end=end, steps=steps, window_seconds=window,
        breakdown=breakdown, include_bots=include_bots,
    )


def funnel_people_query(scope: Scope, p: Params) -> FunnelPeopleQuery:
    """`/v1/funnel/people`: the funnel's parameters plus step, outcome, group, limit, offset."""
    errs = _Errors()
    try:
        funnel = funnel_query(scope, p)
    except Invalid as exc:
        errs.errors.update(exc.details.get("errors", {}))
        funnel = None
    outcome = _choice(p, "outcome", "dropped", ("dropped", "converted"), errs)
    steps = len(funnel.steps) if funnel is not None else 10
    last = steps - 1 if outcome == "dropped" else steps
    step = _int(p, "step", 0, 1, max(last, 1), errs)
    if "step" not in errs.errors and not step:
        errs.add("step", "required: the step's number (1 is the first)")
    if "step" not in errs.errors and last < 1:
        errs.add("step", "no step has a next step to drop before")
    limit = _int(p, "limit", 100, 1, 1000, errs)
    offset = _int(p, "offset", 0, 0, 1_000_000, errs)
    group = p.get("group") or None
    if group is not None and funnel is not None and funnel.breakdown is None:
        errs.add("group", "needs breakdown (group is one of its values)")
    errs.raise_if_any()
    assert funnel is not None
    return FunnelPeopleQuery(
        funnel=funnel, step=step, outcome=outcome, group=group, limit=limit, offset=offset
    )


def attribution_query(scope: Scope, p: Params, models: tuple[str, ...] = ATTRIBUTION_MODELS) -> AttributionQuery:
    """`/v1/attribution`; `models` are the `model` values this route takes."""
    errs = _Errors()
    start, end = _range(p, errs)
    conversion = (p.get("conversion") or p.get("event") or "").strip()
    if not conversion:
        errs.add("conversion", "required: the conversion event's name")
    model = _choice(p, "model", "last_non_direct", models, errs)
    lookback = _duration(p, "lookback", 30 * 86400, errs)
    limit = _int(p, "limit", 100, 1, 1000, errs)
    include_bots = _bool(p, "include_bots", errs)
    errs.raise_if_any()
    return AttributionQuery(
        scope=scope, start=start, end=end, conversion=conversion,
        value_property=(p.get("value_property") or "").strip() or None, model=model,
        lookback_seconds=lookback,
        group_by=_columns(p, "group_by", ATTRIBUTION_DIMENSIONS, ("source", "medium")),
        include_bots=include_bots, limit=limit,
    )


def journey_query(scope: Scope, p: Params) -> AttributionQuery:
    """`/v1/attribution/paths` and `/v1/attribution/time_to_convert`: the attribution
    parameters but `model` and `group_by`; `dimension` (default channel) names what a path
    is a sequence of."""
    errs = _Errors()
    dimension = _choice(p, "dimension", "channel", ATTRIBUTION_DIMENSIONS, errs)
    for name in ("model", "group_by"):
        if p.get(name):
            errs.add(name, "not a parameter of this route")
    try:
        q = attribution_query(scope, p)
    except Invalid as exc:
        errs.errors.update(exc.details.get("errors", {}))
        q = None
    errs.raise_if_any()
    assert q is not None
    return msgspec.structs.replace(q, group_by=(dimension,), model="all")


_MAX_PATH_TEXT = 65536


def _path(raw: str, errs: _Errors) -> tuple[str | None, ...]:
    """A path as the paths answer gives it: a JSON array of strings (null for no value)."""
    try:
        path = msgspec.json.decode(raw.encode(), type=list[str | None]) if len(raw) <= _MAX_PATH_TEXT else None
    except msgspec.DecodeError:
        path = None
    if not path:
        errs.add("path", 'must be a non-empty JSON array of strings (null for none), e.g. ["Organic Search","Direct"]')
        return ()
    return tuple(path)


def conversions_query(scope: Scope, p: Params) -> ConversionsQuery:
    """`/v1/attribution/conversions`: the conversions behind one number of the attribution
    reads. The attribution parameters and `dimension` (default channel), and one of: `path`
    (a JSON array, as `/v1/attribution/paths` answers it), `bucket` (a bucket's from_seconds
    as `/v1/attribution/time_to_convert` answers it), or `model` with `key` (the row's value)
    or `key_null=true` (the row without one); then limit, offset."""
    errs = _Errors()
    chosen = [name for name in ("path", "bucket", "model") if p.get(name)]
    if len(chosen) != 1:
        errs.add("behind", "give exactly one of path, bucket or model (with key or key_null=true)")
    behind = {"path": "path", "bucket": "bucket", "model": "credit"}[chosen[0]] if len(chosen) == 1 else "path"
    if "group_by" in p:
        errs.add("group_by", "not a parameter of this route: the row's column is dimension")
    dimension = _choice(p, "dimension", "channel", ATTRIBUTION_DIMENSIONS, errs)
    try:
        q = attribution_query(scope, {k: v for k, v in p.items() if k != "group_by"})
    except Invalid as exc:
        errs.errors.update(exc.details.get("errors", {}))
        q = None
    path = _path(p["path"], errs) if behind == "path" and p.get("path") else ()
    bucket = 0
    if behind == "bucket":
        raw = p.get("bucket", "").strip()
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or int(raw) not in TIME_BUCKETS:
            errs.add("bucket", f"must be a bucket's from_seconds: one of {', '.join(map(str, TIME_BUCKETS))}")
        else:
            bucket = int(raw)
    key_null = _bool(p, "key_null", errs)
    key = p.get("key")
    if behind == "credit" and (key is None) == (not key_null):
        errs.add("key", "give the row's value as key, or key_null=true for the row without one")
    if behind != "credit" and (key is not None or key_null):
        errs.add("key", "only with model: the row whose credit to list")
    limit = _int(p, "limit", 100, 1, 1000, errs)
    offset = _int(p, "offset", 0, 0, 1_000_000, errs)
    errs.raise_if_any()
    assert q is not None
    return ConversionsQuery(
        attribution=msgspec.structs.replace(q, group_by=(dimension,)), behind=behind,
        path=path, bucket=bucket, key=None if key_null else key, limit=limit, offset=offset,
    )


EXPORT_TABLES = ("events", "links", "profiles")
EXPORT_FORMATS = ("ndjson", "csv", "parquet")


def export_query(scope: Scope, p: Params) -> tuple[ExportQuery, str]:
    """`/v1/export`: optional from/to, what (one table), format (ndjson | csv | parquet)."""
    errs = _Errors()
    start = _time(p, "from", errs) if p.get("from") else None
    end = _time(p, "to", errs) if p.get("to") else None
    if start is not None and end is not None and not errs.errors and start >= end:
        errs.add("to", "must be after from")
    table = _choice(p, "what", "events", EXPORT_TABLES, errs)
    fmt = _choice(p, "format", "ndjson", EXPORT_FORMATS, errs)
    errs.raise_if_any()
    query = ExportQuery(scope=scope, table=table, start=start, end=end)  # type: ignore[arg-type]
    return query, fmt
