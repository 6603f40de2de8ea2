"""Plausible Events API (`POST /api/event`): no key, the event's domain picks the project.

Order: body (1 MB, 413) → JSON (400 `request`) → fields (400 per field) → domains: those no
project lists are answered 202 like Plausible and counted (`footfall_edge_drops`), with
`x-plausible-dropped` → each project's rate limit (429) → durable write (202 `ok`; 503 +
`Retry-After` when the write queue is full). An event whose domains point at two projects is
stored once in each, as Plausible stores it once per site. Browsers call it cross-origin
with `text/plain` bodies; every answer carries `Access-Control-Allow-Origin: *` and preflights
are answered for the callers that send JSON.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from footfall.dialects.plausible import mapping, schema
from footfall.dialects.plausible.errors import invalid_from_msgspec, render
from footfall.http import dialect_endpoint, public_cors, read_body, request_context
from footfall.model import Principal
from footfall.ops.openapi import Operation
from footfall.service import Footfall, IngestPart

__all__ = ["OPERATIONS", "routes"]

MAX_BODY_BYTES = 1_000_000  # Plausible reads at most this much
DIALECT = "plausible"
CORS_HEADERS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Retry-After"}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Content-Encoding",
    "Access-Control-Max-Age": "86400",
}


def _accepted(dropped: int = 0) -> Response:
    headers = {"x-plausible-dropped": str(dropped)} if dropped else None
    return Response("ok", 202, headers, media_type="text/plain")


@dialect_endpoint(render, "/api/event")
async def event(request: Request) -> Response:
    body = await read_body(request, MAX_BODY_BYTES)
    try:
        wire = schema.decode(body)
    except msgspec.DecodeError as err:
        raise invalid_from_msgspec(err) from None
    site = mapping.site_event(wire)
    service: Footfall = request.app.state.footfall
    principals: dict[str, Principal] = {}
    unknown = 0
    for domain in site.domains:
        principal = service.site_principal(domain)
        if principal is None:
            unknown += 1
        elif principal.project_id not in principals:
            assert principal.project_id is not None
            principals[principal.project_id] = principal
    if unknown:
        service.edge_drops[(DIALECT, "unknown_domain")] += unknown
    for principal in principals.values():
        service.admit(principal, "track")
    ctx = request_context(request)
    # One commit for every site the event names: stored for all or none, so a retry after a
    # 503 never duplicates it on the sites that took it (Plausible events carry no id).
    await service.ingest_parts(ctx, [
        IngestPart(principal, [mapping.event_for(site, principal, ctx.received_at)])
        for principal in principals.values()
    ])
    return _accepted(unknown)


routes: list[BaseRoute] = [
    Route("/api/event", public_cors(event, CORS_HEADERS, PREFLIGHT_HEADERS), methods=["POST", "OPTIONS"])
]

OPERATIONS: list[Operation] = [
    Operation(
        "/api/event", "POST", "Record one event (Plausible Events API; the domain picks the project)",
        "plausible", 202, None, schema.EventBody, error=schema.ErrorBody, security=None,
        media_type="text/plain",
    ),
]
