"""MCP tools and resources of the Millimetric dialect: argument checks, reads, writes.

Every tool turns its JSON arguments into the same string parameters the `/v1/*` routes read and
reuses `footfall.read.params`, so an MCP answer is the HTTP answer for the same question. The
caller's verified `Principal` decides the one project and environment a tool may touch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from footfall.dialects.millimetric import mapping, schema
from footfall.dialects.millimetric.errors import invalid_from_msgspec
from footfall.errors import Forbidden, Invalid
from footfall.model import KeyKind, Principal, RequestContext, Scope
from footfall.read import params
from footfall.read.queries import (
    FILTER_COLUMNS,
    FUNNEL_BREAKDOWNS,
    GROUP_BY_COLUMNS,
    INTERVALS,
    METRICS,
    StatsQuery,
)
from footfall.service import Footfall
from footfall.store.base import EventQuery

__all__ = [
    "ACCOUNT_TOOLS",
    "CALLER_SCOPE_KEY",
    "PROJECT_TOOLS",
    "RECENT_LIMIT",
    "Caller",
    "ToolSpec",
    "all_projects",
    "check_arguments",
    "event_names",
    "recent_events",
    "schema_description",
]

RECENT_LIMIT = 50
# Where /mcp's key check leaves the verified `Caller` in the ASGI scope for the SDK's handlers.
CALLER_SCOPE_KEY = "footfall.mcp.caller"
TRACK_MAX_BYTES = 64 * 1024
_encode = msgspec.json.Encoder().encode
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)
_STAT_FILTERS = tuple(c for c in FILTER_COLUMNS if c != "event_name")


@dataclass(frozen=True)
class Caller:
    """What the auth wrapper verified, handed to every tool through the request scope."""

    service: Footfall
    principal: Principal


Handler = Callable[[Caller, Mapping[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    input_schema: dict[str, Any]
    handler: Handler
    read_only: bool = True
    kinds: frozenset[KeyKind] = frozenset({KeyKind.SECRET, KeyKind.READ})


# -- argument handling -----------------------------------------------------------------------


def _text(name: str, value: Any) -> str:
    """One argument as the string a query parameter would carry."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise Invalid(
        "invalid_params", "invalid tool arguments",
        details={"errors": {name: ["must be a string or a number"]}},
    )


def _check_known(args: Mapping[str, Any], schema_: dict[str, Any]) -> None:
    allowed = set(schema_.get("properties", {}))
    unknown = sorted(k for k in args if k not in allowed)
    if unknown:
        raise Invalid(
            "invalid_params", "invalid tool arguments",
            details={"errors": {k: [f"unknown argument; known: {', '.join(sorted(allowed))}"] for k in unknown}},
        )


def _strings(args: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    return {n: _text(n, args[n]) for n in names if args.get(n) is not None}


def _columns(name: str, value: Any) -> str:
    """`group_by` as a list of columns or a comma-separated string."""
    if isinstance(value, list):
        return ",".join(_text(name, v) for v in value)
    return _text(name, value)


def _filters(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise Invalid(
            "invalid_params", "invalid tool arguments",
            details={"errors": {"filters": ["must be an object of column: value"]}},
        )
    bad = sorted(k for k in value if k not in _STAT_FILTERS)
    if bad:
        raise Invalid(
            "invalid_params", "invalid tool arguments",
            details={
                "errors": {"filters": [f"unknown filter column(s) {', '.join(bad)}; use `event` for event_name"]},
                "allowed": list(_STAT_FILTERS),
            },
        )
    return {k: _text(f"filters.{k}", v) for k, v in value.items() if v is not None}


def _steps(value: Any) -> str:
    """Funnel steps as a list (names or {event, where}) or the `/v1/funnel` string."""
    if not isinstance(value, list):
        return _text("steps", value)
    parts = []
    for i, step in enumerate(value):
        if isinstance(step, str):
            parts.append(step)
        elif isinstance(step, dict) and isinstance(step.get("event"), str):
            where = step.get("where") or {}
            if not isinstance(where, dict):
                raise Invalid(
                    "invalid_params", "invalid tool arguments",
                    details={"errors": {f"steps[{i}].where": ["must be an object of property: value"]}},
                )
            conds = ";".join(f"{k}={_text(f'steps[{i}].where.{k}', v)}" for k, v in where.items())
            parts.append(f"{step['event']}[{conds}]" if conds else step["event"])
        else:
            raise Invalid(
                "invalid_params", "invalid tool arguments",
                details={"errors": {f"steps[{i}]": ["must be an event name or {event, where}"]}},
            )
    return ",".join(parts)


def _stats_params(args: Mapping[str, Any]) -> dict[str, str]:
    p = _strings(args, ("from", "to", "metric", "event", "value_property", "interval", "timezone", "limit", "include_bots"))
    if args.get("group_by") is not None:
        p["group_by"] = _columns("group_by", args["group_by"])
    if args.get("filters") is not None:
        p.update(_filters(args["filters"]))
    return p


def _account_scope(caller: Caller, args: Mapping[str, Any]) -> Scope:
    project_id = args.get("project_id")
    if not isinstance(project_id, str) or not project_id:
        raise Invalid(
            "invalid_params", "invalid tool arguments",
            details={"errors": {"project_id": ["required: a project id from list_projects"]}},
        )
    caller.service.project(project_id)  # raises project_not_found
    return Scope(project_id, caller.principal.env.value)


# -- JSON schemas ----------------------------------------------------------------------------

_ISO = {"type": "string", "description": "ISO 8601 timestamp"}
_RANGE: dict[str, Any] = {
    "from": {**_ISO, "description": "ISO 8601 timestamp, inclusive"},
    "to": {**_ISO, "description": "ISO 8601 timestamp, exclusive"},
}
_BOTS = {"type": "boolean", "description": "include bot traffic (default false)"}
_PROJECT_ID = {"type": "string", "description": "a project id from list_projects"}


def _object(props: dict[str, Any], required: tuple[str, ...] = ("from", "to")) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


_TRACK_SCHEMA = _object(
    {
        "event": {"type": "string", "minLength": 1, "maxLength": 128, "description": "event name, e.g. signup"},
        "anonymous_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "user_id": {"type": "string", "minLength": 1, "maxLength": 256},
        "event_id": {"type": "string", "minLength": 1, "maxLength": 128, "description": "idempotency key"},
        "session_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "timestamp": {**_ISO, "description": "ISO 8601; now when absent"},
        "url": {"type": "string", "maxLength": 2048},
        "path": {"type": "string", "maxLength": 2048},
        "referrer": {"type": "string", "maxLength": 2048},
        "properties": {"type": "object", "description": "JSON object, at most 8 KB"},
    },
    required=("event",),
)
_QUERY_SCHEMA = _object(
    {
        **_RANGE,
        **{f: {"type": "string"} for f in ("event", "source", "medium", "user_id", "anonymous_id", "country")},
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
    }
)
_STATS_PROPS: dict[str, Any] = {
    **_RANGE,
    "metric": {"type": "string", "enum": list(METRICS), "default": "count"},
    "event": {"type": "string", "description": "only events with this name"},
    "value_property": {"type": "string", "description": "metric=sum: the numeric property summed"},
    "group_by": {
        "anyOf": [
            {"type": "array", "items": {"type": "string", "enum": list(GROUP_BY_COLUMNS)}},
            {"type": "string", "description": "comma-separated columns"},
        ]
    },
    "interval": {"type": "string", "enum": list(INTERVALS), "description": "adds a `bucket` column"},
    "timezone": {"type": "string", "description": "IANA zone for buckets, default UTC"},
    "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
    "filters": {
        "type": "object",
        "properties": {c: {"type": "string"} for c in _STAT_FILTERS},
        "additionalProperties": False,
        "description": "column equality filters",
    },
    "include_bots": _BOTS,
}
_STATS_SCHEMA = _object(_STATS_PROPS)
_SOURCES_PROPS: dict[str, Any] = {
    **_RANGE,
    "breakdown": {"type": "string", "enum": ["source_medium", "source"], "default": "source_medium"},
    "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    "include_bots": _BOTS,
}
_SOURCES_SCHEMA = _object(_SOURCES_PROPS)
_FUNNEL_SCHEMA = _object(
    {
        **_RANGE,
        "steps": {
            "description": "2-10 ordered steps: event names, {event, where: {property: value}}, "
            "or the string form `a,b[plan=pro],c`",
            "anyOf": [
                {
                    "type": "array", "minItems": 2, "maxItems": 10,
                    "items": {
                        "anyOf": [
                            {"type": "string"},
                            {
                                "type": "object",
                                "properties": {"event": {"type": "string"}, "where": {"type": "object"}},
                                "required": ["event"],
                            },
                        ]
                    },
                },
                {"type": "string"},
            ],
        },
        "window": {
            "anyOf": [{"type": "string"}, {"type": "integer"}],
            "description": "conversion window: 30m, 12h, 7d or seconds (default 7d)",
        },
        "breakdown": {"type": "string", "enum": list(FUNNEL_BREAKDOWNS)},
        "include_bots": _BOTS,
    },
    required=("from", "to", "steps"),
)
_COMPARE_SCHEMA = _object(
    {
        **_RANGE,
        "metric": {"type": "string", "enum": list(METRICS), "default": "count"},
        "event": {"type": "string", "description": "only events with this name"},
        "include_bots": _BOTS,
    }
)


# -- handlers --------------------------------------------------------------------------------


async def track_event(caller: Caller, args: Mapping[str, Any]) -> dict[str, Any]:
    principal = caller.principal
    if principal.kind is not KeyKind.SECRET:
        raise Forbidden(
            "insufficient_scope",
            f"{principal.kind.value}_ keys are read-only: track_event needs an sk_ key",
        )
    raw = _encode(dict(args))
    if len(raw) > TRACK_MAX_BYTES:
        raise Invalid("payload_too_large", "arguments too large", details={"limit_bytes": TRACK_MAX_BYTES})
    try:
        body: schema.TrackBody = schema.decode(raw, schema.TrackBody)
    except msgspec.DecodeError as err:
        raise invalid_from_msgspec(err) from None
    ctx = RequestContext(ip=None, user_agent=None, origin=None, received_at=datetime.now(UTC))
    event = mapping.event_from_track(body, principal, ctx.received_at)
    await caller.service.ingest(principal, ctx, [event])
    return {"ok": True, "event_id": body.event_id}


async def _query(caller: Caller, scope: Scope, args: Mapping[str, Any]) -> dict[str, Any]:
    names = ("from", "to", "event", "source", "medium", "user_id", "anonymous_id", "country", "limit")
    q = params.event_query(scope, _strings(args, names))
    svc = caller.service
    return {"rows": await svc.read(lambda: svc.store.query_events(q))}


async def _stats(caller: Caller, scope: Scope, args: Mapping[str, Any]) -> dict[str, Any]:
    q = params.stats_query(scope, _stats_params(args))
    svc = caller.service
    return {"metric": q.metric, "rows": await svc.read(lambda: svc.store.stats(q))}


async def _sources(caller: Caller, scope: Scope, args: Mapping[str, Any]) -> dict[str, Any]:
    q = params.sources_query(scope, _strings(args, ("from", "to", "breakdown", "limit", "include_bots")))
    svc = caller.service
    return {"breakdown": q.breakdown, "rows": await svc.read(lambda: svc.store.sources(q))}


async def _funnel(caller: Caller, scope: Scope, args: Mapping[str, Any]) -> dict[str, Any]:
    p = _strings(args, ("from", "to", "window", "breakdown", "include_bots"))
    if args.get("steps") is not None:
        p["steps"] = _steps(args["steps"])
    q = params.funnel_query(scope, p)
    svc = caller.service
    result: dict[str, Any] = await svc.read(lambda: svc.store.funnel(q))
    return result


async def query_events(caller: Caller, args: Mapping[str, Any]) -> dict[str, Any]:
    return await _query(caller, caller.principal.scope, args)


async def get_stats(caller: Caller, args: Mapping[str, Any]) -> dict[str, Any]:
    return await _stats(caller, caller.principal.scope, args)


async def top_sources(caller: Caller, args: Mapping[str, Any]) -> dict[str, Any]:
    return await _sources(caller, caller.principal.scope, args)


async def funnel(caller: Caller, args: Mapping[str, Any]) -> dict[str, Any]:
    return await _funnel(caller, caller.principal.scope, args)


async def list_projects(caller: Caller, args: Mapping[str, Any]) -> dict[str, Any]:
    projects = caller.service.meta.projects()
    return {
        "env": caller.principal.env.value,
        "projects": [{"id": p.id, "name": p.name, "origins": list(p.origins)} for p in projects],
    }


async def compare_projects(caller: Caller, args: Mapping[str, Any]) -> dict[str, Any]:
    p = _strings(args, ("from", "to", "metric", "event", "include_bots"))
    env = caller.principal.env.value
    projects = caller.service.meta.projects()
    queries = [params.stats_query(Scope(project.id, env), p) for project in projects]
    if not queries:  # still validate the arguments when there is nothing to compare
        params.stats_query(Scope("-", env), p)
    svc = caller.service
    results = await svc.read(lambda: [svc.store.stats(q) for q in queries])
    rows: list[dict[str, Any]] = [
        {"project_id": project.id, "name": project.name, "value": found[0]["value"] if found else 0}
        for project, found in zip(projects, results, strict=True)
    ]
    rows.sort(key=lambda r: (-(r["value"] or 0), r["name"]))
    return {"metric": p.get("metric") or "count", "env": env, "rows": rows}


async def account_stats(caller: Caller, args: Mapping[str, Any]) -> dict[str, Any]:
    rest = {k: v for k, v in args.items() if k != "project_id"}
    return await _stats(caller, _account_scope(caller, args), rest)


async def account_sources(caller: Caller, args: Mapping[str, Any]) -> dict[str, Any]:
    rest = {k: v for k, v in args.items() if k != "project_id"}
    return await _sources(caller, _account_scope(caller, args), rest)


def _with_project(schema_: dict[str, Any]) -> dict[str, Any]:
    return _object({"project_id": _PROJECT_ID, **schema_["properties"]}, ("project_id", "from", "to"))


_ACCOUNT = frozenset({KeyKind.ACCOUNT})

PROJECT_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "track_event",
        "Record one event in this key's project and environment (sk_ keys only). "
        "Arguments are the body of POST /v1/track.",
        _TRACK_SCHEMA, track_event, read_only=False, kinds=frozenset({KeyKind.SECRET}),
    ),
    ToolSpec(
        "query_events",
        "Raw events, newest first, in [from, to) with optional filters (GET /v1/query).",
        _QUERY_SCHEMA, query_events,
    ),
    ToolSpec(
        "get_stats",
        "Count, uniques, sessions or users in [from, to), optionally grouped and bucketed "
        "(GET /v1/stats).",
        _STATS_SCHEMA, get_stats,
    ),
    ToolSpec(
        "top_sources",
        "Traffic sources with events, uniques and paid share (GET /v1/sources).",
        _SOURCES_SCHEMA, top_sources,
    ),
    ToolSpec(
        "funnel",
        "People reaching each ordered step within the conversion window (GET /v1/funnel).",
        _FUNNEL_SCHEMA, funnel,
    ),
)

ACCOUNT_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "list_projects", "Every project: id, name and allowed origins.",
        {"type": "object", "properties": {}, "additionalProperties": False}, list_projects,
        kinds=_ACCOUNT,
    ),
    ToolSpec(
        "compare_projects",
        "One stats value per project for this key's environment, in [from, to).",
        _COMPARE_SCHEMA, compare_projects, kinds=_ACCOUNT,
    ),
    ToolSpec(
        "get_stats", "get_stats for one project (GET /v1/stats).",
        _with_project(_STATS_SCHEMA), account_stats, kinds=_ACCOUNT,
    ),
    ToolSpec(
        "top_sources", "top_sources for one project (GET /v1/sources).",
        _with_project(_SOURCES_SCHEMA), account_sources, kinds=_ACCOUNT,
    ),
)


def check_arguments(spec: ToolSpec, args: Mapping[str, Any]) -> None:
    """Reject arguments the tool does not know (the reads would silently ignore them)."""
    if spec.name != "track_event":  # /v1/track ignores unknown fields; so does its tool
        _check_known(args, spec.input_schema)


# -- resources -------------------------------------------------------------------------------


def _scopes(caller: Caller) -> list[Scope]:
    """The key's project, or, for an account key, every project; in the key's environment."""
    principal = caller.principal
    if principal.project_id is not None:
        return [principal.scope]
    return [Scope(p.id, principal.env.value) for p in caller.service.meta.projects()]


async def recent_events(caller: Caller) -> dict[str, Any]:
    """The newest events of the key's project, or, for an account key, of every project (each
    row then names its project)."""
    svc = caller.service
    principal = caller.principal
    if principal.project_id is not None:
        q = EventQuery(
            scope=principal.scope, start=_EPOCH, end=_END_OF_TIME, limit=RECENT_LIMIT
        )
        return {"rows": await svc.read(lambda: svc.store.query_events(q))}
    scopes = _scopes(caller)

    def newest() -> list[dict[str, Any]]:
        rows = []
        for scope in scopes:
            q = EventQuery(scope=scope, start=_EPOCH, end=_END_OF_TIME, limit=RECENT_LIMIT)
            rows += [{"project_id": scope.project_id, **r} for r in svc.store.query_events(q)]
        return sorted(rows, key=lambda r: str(r["timestamp"]), reverse=True)[:RECENT_LIMIT]

    return {"rows": await svc.read(newest)}


_FIELD_NOTES = {
    "timestamp": "when the event happened (UTC, ISO 8601)",
    "event_name": "the event's name; `$pageview`, `$identify` are system events",
    "event_id": "client idempotency key",
    "anonymous_id": "visitor id (derived when the client sent none)",
    "user_id": "identified person",
    "session_id": "30 minutes of inactivity end a session",
    "source": "traffic source from the classifier (e.g. google, facebook, direct)",
    "medium": "paid, organic, social, referral, email, direct, ...",
    "campaign": "utm_campaign",
    "source_confidence": "high, medium or low",
    "source_rule_id": "the classifier rule that decided source/medium",
    "channel": "marketing channel derived from source/medium",
    "properties": "JSON-encoded object sent with the event",
}


EVENT_NAMES_DAYS = 30
EVENT_NAMES_MAX = 1000


async def event_names(caller: Caller) -> list[dict[str, Any]]:
    """The distinct event names of the last 30 days with their counts, most frequent first
    (bots included: an agent asking what is tracked wants every name)."""
    end = datetime.now(UTC)
    start = end - timedelta(days=EVENT_NAMES_DAYS)
    queries = [
        StatsQuery(scope=scope, start=start, end=end, group_by=("event_name",),
                   include_bots=True, limit=EVENT_NAMES_MAX)
        for scope in _scopes(caller)
    ]  # fmt: skip
    svc = caller.service
    results = await svc.read(lambda: [svc.store.stats(q) for q in queries])
    counts: dict[str, int] = {}
    for rows in results:
        for row in rows:
            counts[row["event_name"]] = counts.get(row["event_name"], 0) + int(row["value"] or 0)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:EVENT_NAMES_MAX]
    return [{"name": name, "count": count} for name, count in ranked]


async def all_projects(caller: Caller) -> dict[str, Any]:
    """`projects://all`: every project an account key sees."""
    return {
        "projects": [
            {"id": p.id, "name": p.name, "created_at": p.created_at}
            for p in caller.service.meta.projects()
        ]
    }


async def schema_description(caller: Caller) -> dict[str, Any]:
    row_schema = msgspec.json.schema(schema.QueryRow)
    return {
        "event_names_days": EVENT_NAMES_DAYS,
        "event_names": await event_names(caller),
        "event_fields": [
            {"name": name, "description": _FIELD_NOTES.get(name, "")}
            for name in (f.name for f in msgspec.structs.fields(schema.QueryRow))
        ],
        "event_row_schema": row_schema,
        "group_by_columns": list(GROUP_BY_COLUMNS),
        "filter_columns": list(FILTER_COLUMNS),
        "metrics": list(METRICS),
        "intervals": list(INTERVALS),
        "sources_breakdowns": ["source_medium", "source"],
        "funnel_breakdowns": list(FUNNEL_BREAKDOWNS),
    }
