"""Sankofa routes (`/api/v1/*`): auth, allowlist, decode, call the core, shape the answer.

The engine's validation order: API key (401/403) → Origin allowlist (403) → rate limit (429) →
JSON (400) → required fields (400) → garbage `distinct_id` (202, nothing stored) → durable write
(200; 503 + `Retry-After` when the write queue is full). Every route answers CORS preflights and
carries CORS headers, errors included.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from footfall.auth.origins import origin_allowed
from footfall.dialects.sankofa import mapping, schema
from footfall.dialects.sankofa.errors import invalid_body, render, render_batch
from footfall.errors import Forbidden, Invalid, Unauthorized
from footfall.http import (
    Endpoint,
    Renderer,
    dialect_endpoint,
    json_response,
    public_cors,
    read_body,
    request_context,
)
from footfall.model import (
    Event,
    IdentityLink,
    KeyKind,
    Principal,
    ProfileUpdate,
    RequestContext,
    Scope,
)
from footfall.ops.openapi import Operation
from footfall.service import Footfall

__all__ = ["OPERATIONS", "routes"]

SMALL_MAX_BYTES = 1024 * 1024  # track / people / alias
BATCH_MAX_BYTES = 32 * 1024 * 1024
MAX_OPERATIONS = 1000  # the browser SDK sends up to 100

CORS_HEADERS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Retry-After"}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "x-api-key, Content-Type, Authorization",
    "Access-Control-Max-Age": "86400",
}
_KINDS: dict[str, type[Any]] = {
    "track": schema.TrackBody,
    "people": schema.PeopleBody,
    "alias": schema.AliasBody,
}


def _service(request: Request) -> Footfall:
    service: Footfall = request.app.state.footfall
    return service


def _principal(request: Request) -> Principal:
    """An `sk_` key of a project, from an allowed Origin (when one is sent and listed)."""
    token = request.headers.get("x-api-key", "").strip()
    if not token:
        raise Unauthorized("missing_api_key", "Missing API Key")
    service = _service(request)
    try:
        principal = service.authenticate(token)
    except Unauthorized as err:  # malformed_api_key / invalid_api_key: the vendor says 403
        raise Forbidden(err.code, "Invalid API Key") from None
    if principal.kind is not KeyKind.SECRET or principal.project_id is None:
        raise Forbidden("key_kind_not_allowed", "Invalid API Key")
    origin = request.headers.get("origin")
    project = service.project(principal.project_id)
    if origin and project.origins and not origin_allowed(origin, project.origins):
        raise Forbidden("origin_not_allowed", "Unauthorized Origin", details={"origin": origin})
    if not origin and not project.ip_authorized(request_context(request).ip):
        raise Forbidden("ip_not_allowed", "Unauthorized IP Address")
    return principal


def _admitted(request: Request, route: str) -> Principal:
    principal = _principal(request)
    _service(request).admit(principal, route)
    return principal


def _context(request: Request) -> RequestContext:
    """The caller as the core sees it, with a private client IP swapped for the stand-in."""
    ctx = request_context(request)
    ip = mapping.geo_ip(ctx.ip)
    return ctx if ip == ctx.ip else msgspec.structs.replace(ctx, ip=ip)


def _decode(body: bytes, kind: type[Any]) -> Any:
    try:
        return schema.decode(body, kind)
    except msgspec.DecodeError:
        raise invalid_body() from None


async def _pristine(service: Footfall, principal: Principal, screens: list[str]) -> list[schema.Command]:
    """CAPTURE_PRISTINE for each screen this project and environment has never seen."""
    assert principal.project_id is not None
    scope = Scope(principal.project_id, principal.env.value)
    out = []
    for screen in screens:
        if await service.first_sighting(
            scope, mapping.SCREEN_EVENTS, mapping.SCREEN_PROPERTY, screen
        ):
            out.append(schema.Command("CAPTURE_PRISTINE", {"screen": screen}))
    return out


def _discarded(status: str = "discarded") -> Response:
    return json_response(schema.Discarded(ok=True, status=status), 202)


async def track(request: Request) -> Response:
    principal = _admitted(request, "track")
    body: schema.TrackBody = _decode(await read_body(request, SMALL_MAX_BYTES), schema.TrackBody)
    if any(mapping.is_garbage(i) for i in mapping.check(body)):
        return _discarded()
    ctx = _context(request)
    event, screen = mapping.event_from_track(body, principal, ctx.received_at)
    service = _service(request)
    commands = await _pristine(service, principal, [screen] if screen else [])
    await service.ingest(principal, ctx, [event])
    return json_response(schema.TrackAccepted(ok=True, commands=commands))


async def people(request: Request) -> Response:
    principal = _admitted(request, "track")
    body: schema.PeopleBody = _decode(await read_body(request, SMALL_MAX_BYTES), schema.PeopleBody)
    if any(mapping.is_garbage(i) for i in mapping.check(body)):
        return _discarded()
    ctx = _context(request)
    update = mapping.profile_from_people(body, principal, ctx.received_at)
    await _service(request).ingest(principal, ctx, [], [], [update])
    return json_response(schema.Ok(ok=True))


async def alias(request: Request) -> Response:
    principal = _admitted(request, "track")
    body: schema.AliasBody = _decode(await read_body(request, SMALL_MAX_BYTES), schema.AliasBody)
    alias_id, distinct_id = mapping.check(body)
    if mapping.is_garbage(alias_id) or mapping.is_garbage(distinct_id):
        return _discarded()
    ctx = _context(request)
    link = mapping.link_from_alias(body, principal, ctx.received_at)
    if alias_id != distinct_id:  # an id is trivially itself: nothing to store
        await _service(request).ingest(principal, ctx, [], [link])
    return json_response(schema.Ok(ok=True))


def _operations(body: schema.BatchBody) -> list[Any]:
    """Every operation decoded and checked, or the whole batch is a 400 naming the bad one."""
    if body.operations is None:
        raise Invalid("invalid_payload", "operations is required")
    if len(body.operations) > MAX_OPERATIONS:
        raise Invalid("invalid_payload", f"at most {MAX_OPERATIONS} operations per batch")
    out = []
    for index, op in enumerate(body.operations):
        where = f"operations[{index}]"
        kind = _KINDS.get(op.type or "")
        if kind is None:
            raise Invalid("invalid_payload", f"{where}: type must be track, people or alias")
        if op.payload is None:
            raise Invalid("invalid_payload", f"{where}: payload is required")
        try:
            payload = schema.convert(op.payload, kind)
            ids = mapping.check(payload)
        except msgspec.ValidationError:
            raise Invalid("invalid_payload", f"{where}: Invalid request body") from None
        except Invalid as err:
            raise Invalid(err.code, f"{where}: {err.message}") from None
        out.append(None if any(mapping.is_garbage(i) for i in ids) else payload)
    return out


async def batch(request: Request) -> Response:
    principal = _admitted(request, "batch")
    assert principal.project_id is not None
    body: schema.BatchBody = _decode(await read_body(request, BATCH_MAX_BYTES), schema.BatchBody)
    payloads = _operations(body)
    kept = [p for p in payloads if p is not None]
    if payloads and not kept:
        return _discarded("discarded_all")
    ctx = _context(request)
    events: list[Event] = []
    profiles: list[ProfileUpdate] = []
    links: list[IdentityLink] = []
    screens: list[str] = []
    counts: Counter[str] = Counter()
    for payload in kept:
        if isinstance(payload, schema.TrackBody):
            event, screen = mapping.event_from_track(payload, principal, ctx.received_at)
            events.append(event)
            screens.extend([screen] if screen else [])
            counts["track"] += 1
        elif isinstance(payload, schema.PeopleBody):
            profiles.append(mapping.profile_from_people(payload, principal, ctx.received_at))
            counts["people"] += 1
        else:
            link = mapping.link_from_alias(payload, principal, ctx.received_at)
            links.extend([link] if link.anonymous_id != link.user_id else [])
            counts["alias"] += 1
    service = _service(request)
    commands = await _pristine(service, principal, screens)
    await service.ingest(principal, ctx, events, links, profiles)  # one durable write
    return json_response(
        schema.BatchAccepted(
            ok=True,
            project_id=principal.project_id,
            project_name=service.project(principal.project_id).name,
            environment=principal.env.value,
            operations_received=len(payloads),
            events_received=counts["track"],
            people_received=counts["people"],
            aliases_received=counts["alias"],
            discarded=len(payloads) - len(kept),
            commands=commands,
        )
    )


async def handshake(request: Request) -> Response:
    principal = _principal(request)
    assert principal.project_id is not None
    return json_response(schema.Handshake(project_id=principal.project_id, modules={}))


def _route(path: str, method: str, handler: Endpoint, renderer: Renderer = render) -> Route:
    """The handler in the Sankofa envelope, answering preflights and adding CORS headers."""
    inner = dialect_endpoint(renderer, path)(handler)
    return Route(path, public_cors(inner, CORS_HEADERS, PREFLIGHT_HEADERS), methods=[method, "OPTIONS"])


routes: list[BaseRoute] = [
    _route("/api/v1/track", "POST", track),
    _route("/api/v1/people", "POST", people),
    _route("/api/v1/alias", "POST", alias),
    _route("/api/v1/batch", "POST", batch, render_batch),
    _route("/api/v1/handshake", "GET", handshake),
]

_SEC = "sankofa"
OPERATIONS: list[Operation] = [
    Operation("/api/v1/track", "POST", "Record one event (Sankofa)", "sankofa", 200, schema.TrackAccepted, schema.TrackBody, error=schema.ErrorBody, security=_SEC),
    Operation("/api/v1/people", "POST", "Merge person properties (Sankofa)", "sankofa", 200, schema.Ok, schema.PeopleBody, error=schema.ErrorBody, security=_SEC),
    Operation("/api/v1/alias", "POST", "Link an anonymous id to a person (Sankofa)", "sankofa", 200, schema.Ok, schema.AliasBody, error=schema.ErrorBody, security=_SEC),
    Operation("/api/v1/batch", "POST", "track / people / alias operations in one durable write (Sankofa)", "sankofa", 200, schema.BatchAccepted, schema.BatchBody, error=schema.BatchErrorBody, security=_SEC),
    Operation(
        "/api/v1/handshake", "GET", "SDK start-up: the key's project and its modules (Sankofa)", "sankofa", 200, schema.Handshake,
        query=(("installed", "module the SDK runs", False), ("sdk", "web, ios, android, ...", False), ("distinct_id", "the device's id", False)),
        error=schema.ErrorBody, security=_SEC,
    ),
]
