"""A-TRACK routes (`/init`, `/attributes`, `/event`, `/session/show`, `/event/show`): auth
(`x-a-track-key`), decode, call the core, shape the answer.

Keys: the ingest routes take a browser key (`pk_`, origin-checked against the project's allowlist)
or a server key (`sk_`); the read routes return personal data and need `sk_` or `rk_`.
CORS: an origin that some project allows gets CORS headers on every answer (errors included),
so the browser SDK can read the uuid `/init` returns; a preflight from any other origin is a 403
without CORS headers. A `pk_` key is still checked against its own project's allowlist.

Reads hide the internal `$init` events (Footfall's bookkeeping of each `/init`, not an A-TRACK
event); `/v1/query` still sees them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from footfall.auth.origins import origin_allowed
from footfall.dialects.atrack import _shape, mapping, schema
from footfall.dialects.atrack.errors import invalid_from_msgspec, render
from footfall.errors import Forbidden, NotFound, Unauthorized
from footfall.http import dialect_endpoint, json_response, read_body, request_context
from footfall.ids import uuid4
from footfall.model import KeyKind, Principal
from footfall.ops.openapi import Operation
from footfall.read.queries import PageQuery
from footfall.service import Footfall

__all__ = ["EVENTS_LIMIT_MAX", "OPERATIONS", "PER_PAGE_MAX", "routes"]

HEADER = "x-a-track-key"
BODY_MAX_BYTES = 64 * 1024
EVENTS_LIMIT_MAX = 1000  # /session/show: larger values are capped
PER_PAGE_MAX = 100  # /event/show: larger values are capped
_CORS = {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": f"{HEADER}, content-type",
    "Access-Control-Max-Age": "86400",
}

# Footfall's bookkeeping events, never shown by A-TRACK's reads (even when asked for by name)
_HIDDEN = (mapping.INIT_EVENT,)

Handler = Callable[[Request], Awaitable[Response]]


def _service(request: Request) -> Footfall:
    service: Footfall = request.app.state.footfall
    return service


def _principal(request: Request) -> Principal:
    token = request.headers.get(HEADER, "").strip()
    if not token:
        raise Unauthorized("missing_api_key", f"Send your key in the {HEADER} header.")
    return _service(request).authenticate(token)


def _ingest_principal(request: Request) -> Principal:
    principal = _principal(request)
    if not principal.can_ingest or principal.project_id is None:
        raise Forbidden("insufficient_scope", f"{principal.kind.value}_ keys cannot send data; use a pk_ or sk_ key.")
    if principal.kind is KeyKind.PUBLISHABLE:
        project = _service(request).project(principal.project_id)
        if not origin_allowed(request.headers.get("origin"), project.origins):
            raise Forbidden("origin_not_allowed", "This origin is not allowed for this key.")
    _service(request).admit(principal, "track")
    return principal


def _read_principal(request: Request) -> Principal:
    principal = _principal(request)
    if not principal.can_read or principal.project_id is None:
        raise Forbidden("insufficient_scope", f"{principal.kind.value}_ keys cannot read data; use an sk_ or rk_ key.")
    return principal


def _decode(body: bytes, kind: type[Any]) -> Any:
    try:
        return schema.decode(body, kind)
    except msgspec.DecodeError as err:
        raise invalid_from_msgspec(err) from None


def _endpoint(route: str) -> Callable[[Handler], Handler]:
    """The dialect's error envelope, CORS headers for known origins, and preflights."""

    def wrap(handler: Handler) -> Handler:
        inner = dialect_endpoint(render, route)(handler)

        async def endpoint(request: Request) -> Response:
            origin = request.headers.get("origin")
            known = origin is not None and _service(request).origin_known(origin)
            if request.method == "OPTIONS":
                if origin is not None and not known:
                    response = render(Forbidden("origin_not_allowed", "This origin is not allowed."))
                else:
                    response = Response(status_code=204, headers=_CORS)
            else:
                response = await inner(request)
            if origin is not None and known:
                response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            return response

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


@_endpoint("/init")
async def init(request: Request) -> Response:
    principal = _ingest_principal(request)
    body: schema.InitBody = _decode(await read_body(request, BODY_MAX_BYTES), schema.InitBody)
    ctx = mapping.init_request(body, request_context(request))
    service = _service(request)
    scope = principal.scope
    uuid = mapping.init_uuid(body)
    existing: dict[str, Any] | None = None
    if uuid is None:
        uuid = uuid4()
    else:
        known = uuid
        existing = await service.read(lambda: service.store.profile(scope, "visitor", known))
    event = mapping.init_event(body, uuid, principal, ctx.received_at)
    profile = mapping.init_profile(
        body, uuid, principal, ctx.received_at,
        existing=existing,
        store_raw_ip=service.project(scope.project_id).store_raw_ip,
        enrich_from=event.uid,
    )
    await service.ingest(principal, ctx, [event], profiles=[profile])
    return json_response(schema.Accepted(True, uuid, False), 201 if existing is None else 200)


@_endpoint("/attributes")
async def attributes(request: Request) -> Response:
    principal = _ingest_principal(request)
    body: schema.AttributesBody = _decode(
        await read_body(request, BODY_MAX_BYTES), schema.AttributesBody
    )
    ctx = request_context(request)
    service = _service(request)
    scope = principal.scope
    update = mapping.attributes_update(body, principal, ctx.received_at)
    if await service.read(lambda: service.store.profile(scope, "visitor", body.uuid)) is None:
        raise NotFound("uuid_not_found", "No session with this uuid; call /init first.")
    await service.ingest(principal, ctx, [], profiles=[update])
    return json_response(schema.Accepted(True, body.uuid, False))


@_endpoint("/event")
async def event(request: Request) -> Response:
    principal = _ingest_principal(request)
    body: schema.EventBody = _decode(await read_body(request, BODY_MAX_BYTES), schema.EventBody)
    ctx = request_context(request)
    uuid = body.uuid or uuid4()
    row = mapping.event_from_track(body, uuid, principal, ctx.received_at)
    profiles = [] if body.uuid else [mapping.new_visitor(uuid, principal, ctx.received_at, row.uid)]
    await _service(request).ingest(principal, ctx, [row], profiles=profiles)
    return json_response(schema.Accepted(True, uuid, False))


@_endpoint("/session/show")
async def session_show(request: Request) -> Response:
    principal = _read_principal(request)
    body: schema.SessionShowBody = _decode(
        await read_body(request, BODY_MAX_BYTES), schema.SessionShowBody
    )
    service = _service(request)
    scope = principal.scope
    limit = min(body.events_limit, EVENTS_LIMIT_MAX)
    query = PageQuery(
        scope=scope, anonymous_id=body.uuid, per_page=limit, descending=body.sort == "desc",
        exclude_names=_HIDDEN,
    )

    def run() -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        profile = service.store.profile(scope, "visitor", body.uuid)
        return profile, service.store.page_events(query)[0] if profile is not None else []

    profile, rows = await service.read(run)
    if profile is None:
        raise NotFound("uuid_not_found", "No session with this uuid.")
    store_raw_ip = service.project(scope.project_id).store_raw_ip
    data = schema.SessionData(
        session=_shape.session(body.uuid, profile, store_raw_ip),
        attributes=profile.get("attributes") or {},
        events=[_shape.session_event(r) for r in rows],
        meta=schema.SessionMeta(
            uuid=body.uuid, events_limit=limit, events_count=len(rows), sort=body.sort
        ),
    )
    return json_response(schema.SessionShowResult(success=True, data=data))


@_endpoint("/event/show")
async def event_show(request: Request) -> Response:
    principal = _read_principal(request)
    body: schema.EventShowBody = _decode(
        await read_body(request, BODY_MAX_BYTES), schema.EventShowBody
    )
    service = _service(request)
    scope = principal.scope
    per_page = min(body.per_page, PER_PAGE_MAX)
    query = PageQuery(
        scope=scope, name=body.name, page=body.page, per_page=per_page,
        descending=body.sort == "desc", exclude_names=_HIDDEN,
    )
    rows, total = await service.read(lambda: service.store.page_events(query))
    store_raw_ip = service.project(scope.project_id).store_raw_ip
    return json_response(
        schema.EventShowResult(
            success=True,
            data=[_shape.event_row(r, store_raw_ip) for r in rows],
            meta=_shape.page_meta(body.name, body.sort, per_page, body.page, len(rows), total),
        )
    )


_METHODS = ["POST", "OPTIONS"]
routes: list[BaseRoute] = [
    Route("/init", init, methods=_METHODS),
    Route("/attributes", attributes, methods=_METHODS),
    Route("/event", event, methods=_METHODS),
    Route("/session/show", session_show, methods=_METHODS),
    Route("/event/show", event_show, methods=_METHODS),
]

_TAG, _AUTH = "atrack", "atrack"
OPERATIONS: list[Operation] = [
    Operation("/init", "POST", "Create (201) or update (200) a session identity and its profile", _TAG, 201, schema.Accepted, schema.InitBody, error=schema.ErrorBody, security=_AUTH),
    Operation("/attributes", "POST", "Merge (or with replace: true, replace) a session's attributes", _TAG, 200, schema.Accepted, schema.AttributesBody, error=schema.ErrorBody, security=_AUTH),
    Operation("/event", "POST", "Track an event for a session uuid (a new uuid when none is sent)", _TAG, 200, schema.Accepted, schema.EventBody, error=schema.ErrorBody, security=_AUTH),
    Operation("/session/show", "POST", "The enriched session, its attributes and recent events (sk_/rk_)", _TAG, 200, schema.SessionShowResult, schema.SessionShowBody, error=schema.ErrorBody, security=_AUTH),
    Operation("/event/show", "POST", "Events of the project, paginated (sk_/rk_)", _TAG, 200, schema.EventShowResult, schema.EventShowBody, error=schema.ErrorBody, security=_AUTH),
]  # fmt: skip
