"""Millimetric routes (`/v1/*`): auth, decode, call the core, shape the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.auth.origins import origin_allowed
from footfall.dialects.millimetric import mapping, schema
from footfall.dialects.millimetric.errors import invalid_from_msgspec, render
from footfall.errors import Forbidden, Unauthorized
from footfall.http import dialect_endpoint, header, json_response, read_body, request_context
from footfall.model import KeyKind, Principal
from footfall.read import params
from footfall.read.queries import ATTRIBUTION_MODELS, AttributionQuery
from footfall.service import Footfall
from footfall.store.base import Scope, Store

__all__ = ["routes"]

Q = TypeVar("Q")

TRACK_MAX_BYTES = 64 * 1024
BATCH_MAX_BYTES = 16 * 1024 * 1024
SMALL_MAX_BYTES = 64 * 1024


def _service(request: Request) -> Footfall:
    service: Footfall = request.app.state.footfall
    return service


def _principal(request: Request, service: Footfall | None = None) -> Principal:
    service = service or _service(request)
    authorization = header(request, b"authorization") or ""
    scheme, _, token = authorization.partition(" ")
    if not authorization and request.query_params.get("key", "").startswith("pk_"):
        # navigator.sendBeacon cannot set headers: a browser key may travel in `?key=`
        # (it is public anyway, and still origin-checked). Secret keys never may.
        return service.authenticate(request.query_params["key"])
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing_bearer_token", "send Authorization: Bearer <key>")
    return service.authenticate(token.strip())


def _ingest_principal(
    request: Request, route: str = "track", service: Footfall | None = None
) -> Principal:
    service = service or _service(request)
    principal = _principal(request, service)
    if not principal.can_ingest:
        raise Forbidden("insufficient_scope", f"{principal.kind.value}_ keys cannot ingest")
    if principal.kind is KeyKind.PUBLISHABLE:
        origin = header(request, b"origin")
        assert principal.project_id is not None
        project = service.project(principal.project_id)
        if not origin_allowed(origin, project.origins):
            raise Forbidden(
                "origin_not_allowed", "origin is not on the project's allowlist",
                details={"origin": origin},
            )
    service.admit(principal, route)
    return principal


def _read_principal(request: Request) -> Principal:
    principal = _principal(request)
    if not principal.can_read or principal.project_id is None:
        raise Forbidden("insufficient_scope", f"{principal.kind.value}_ keys cannot read")
    return principal


def _decode(body: bytes, kind: type[Any]) -> Any:
    try:
        return schema.decode(body, kind)
    except msgspec.DecodeError as err:
        raise invalid_from_msgspec(err) from None


@dialect_endpoint(render, "/v1/track")
async def track(request: Request) -> Response:
    service = _service(request)
    principal = _ingest_principal(request, "track", service)
    body: schema.TrackBody = _decode(await read_body(request, TRACK_MAX_BYTES), schema.TrackBody)
    ctx = request_context(request)
    event = mapping.event_from_track(body, principal, ctx.received_at)
    await service.ingest(principal, ctx, [event])
    return json_response(schema.TrackAccepted(ok=True, event_id=body.event_id), 202)


@dialect_endpoint(render, "/v1/batch")
async def batch(request: Request) -> Response:
    service = _service(request)
    principal = _ingest_principal(request, "batch", service)
    body: schema.BatchBody = _decode(await read_body(request, BATCH_MAX_BYTES), schema.BatchBody)
    ctx = request_context(request)
    events = [
        mapping.event_from_track(item, principal, ctx.received_at, index)
        for index, item in enumerate(body.events)
    ]
    await service.ingest(principal, ctx, events)
    return json_response(schema.BatchAccepted(ok=True, count=len(events)), 202)


@dialect_endpoint(render, "/v1/identify")
async def identify(request: Request) -> Response:
    principal = _ingest_principal(request)
    body: schema.IdentifyBody = _decode(
        await read_body(request, SMALL_MAX_BYTES), schema.IdentifyBody
    )
    ctx = request_context(request)
    event = mapping.identify_event(body, principal, ctx.received_at)
    link = mapping.link_from_identify(body, principal, ctx.received_at)
    traits = mapping.traits_update(body, principal, ctx.received_at)
    await _service(request).ingest(principal, ctx, [event], [link], [traits] if traits else [])
    return json_response(schema.Ok(ok=True))


@dialect_endpoint(render, "/v1/forget")
async def forget(request: Request) -> Response:
    principal = _principal(request)
    if principal.kind is not KeyKind.SECRET or principal.project_id is None:
        raise Forbidden("forget_requires_secret_key", "only sk_ keys may forget users")
    body: schema.ForgetBody = _decode(await read_body(request, SMALL_MAX_BYTES), schema.ForgetBody)
    result = await _service(request).forget(principal, body.user_id)
    return json_response(
        schema.ForgetAccepted(
            ok=True,
            queued=False,
            deleted_events=result.events,
            deleted_identities=result.identities,
            deleted_sessions=result.sessions,
        )
    )


@dialect_endpoint(render, "/v1/query")
async def query(request: Request) -> Response:
    q = params.event_query(_read_principal(request).scope, request.query_params)
    service = _service(request)
    return json_response({"rows": await service.read(lambda: service.store.query_events(q))})


@dialect_endpoint(render, "/v1/stats")
async def stats(request: Request) -> Response:
    q = params.stats_query(_read_principal(request).scope, request.query_params)
    service = _service(request)
    rows = await service.read(lambda: service.store.stats(q))
    return json_response({"metric": q.metric, "rows": rows})


@dialect_endpoint(render, "/v1/sources")
async def sources(request: Request) -> Response:
    q = params.sources_query(_read_principal(request).scope, request.query_params)
    service = _service(request)
    rows = await service.read(lambda: service.store.sources(q))
    return json_response({"breakdown": q.breakdown, "rows": rows})


@dialect_endpoint(render, "/v1/sessions")
async def sessions(request: Request) -> Response:
    q = params.sessions_query(_read_principal(request).scope, request.query_params)
    service = _service(request)
    return json_response({"rows": await service.read(lambda: service.store.sessions(q))})


@dialect_endpoint(render, "/v1/events")
async def event_log(request: Request) -> Response:
    q = params.event_log_query(_read_principal(request).scope, request.query_params)
    service = _service(request)
    rows = await service.read(lambda: service.store.event_log(q))
    last = rows[-1] if len(rows) == q.limit else None
    return json_response({"rows": rows, "next": params.keyset(last["ts"], last["uid"]) if last else None})


async def _ask(
    request: Request, parse: Callable[[Scope, Any], Q], ask: Callable[[Store, Q], Any]
) -> Response:
    """A read: parse the query string for the key's project, ask the store off the loop."""
    q = parse(_read_principal(request).scope, request.query_params)
    service = _service(request)
    return json_response(await service.read(lambda: ask(service.store, q)))


@dialect_endpoint(render, "/v1/sessions/summary")
async def session_summary(request: Request) -> Response:
    return await _ask(
        request, params.session_summary_query, lambda store, q: {"rows": store.session_summary(q)}
    )


@dialect_endpoint(render, "/v1/funnel")
async def funnel(request: Request) -> Response:
    return await _ask(request, params.funnel_query, lambda store, q: store.funnel(q))


@dialect_endpoint(render, "/v1/funnel/people")
async def funnel_people(request: Request) -> Response:
    return await _ask(request, params.funnel_people_query, lambda store, q: store.funnel_people(q))


def _attribution_query(scope: Scope, p: Any) -> AttributionQuery:
    return params.attribution_query(scope, p, (*ATTRIBUTION_MODELS, "all"))


@dialect_endpoint(render, "/v1/attribution")
async def attribution(request: Request) -> Response:
    def ask(store: Store, q: AttributionQuery) -> dict[str, Any]:
        return store.attribution_compared(q) if q.model == "all" else store.attribution(q)

    return await _ask(request, _attribution_query, ask)


@dialect_endpoint(render, "/v1/attribution/paths")
async def conversion_paths(request: Request) -> Response:
    return await _ask(request, params.journey_query, lambda store, q: store.conversion_paths(q))


@dialect_endpoint(render, "/v1/attribution/time_to_convert")
async def time_to_convert(request: Request) -> Response:
    return await _ask(request, params.journey_query, lambda store, q: store.time_to_convert(q))


@dialect_endpoint(render, "/v1/attribution/conversions")
async def conversions_behind(request: Request) -> Response:
    return await _ask(request, params.conversions_query, lambda store, q: store.conversions_behind(q))


routes = [
    Route("/v1/track", track, methods=["POST"]),
    Route("/v1/batch", batch, methods=["POST"]),
    Route("/v1/identify", identify, methods=["POST"]),
    Route("/v1/forget", forget, methods=["POST"]),
    Route("/v1/query", query, methods=["GET"]),
    Route("/v1/stats", stats, methods=["GET"]),
    Route("/v1/sources", sources, methods=["GET"]),
    Route("/v1/sessions", sessions, methods=["GET"]),
    Route("/v1/sessions/summary", session_summary, methods=["GET"]),
    Route("/v1/events", event_log, methods=["GET"]),
    Route("/v1/funnel", funnel, methods=["GET"]),
    Route("/v1/funnel/people", funnel_people, methods=["GET"]),
    Route("/v1/attribution", attribution, methods=["GET"]),
    Route("/v1/attribution/paths", conversion_paths, methods=["GET"]),
    Route("/v1/attribution/time_to_convert", time_to_convert, methods=["GET"]),
    Route("/v1/attribution/conversions", conversions_behind, methods=["GET"]),
]
