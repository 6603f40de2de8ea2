"""The ASGI application: dialect routes, operations routes, lifespan of the core."""

from __future__ import annotations

import contextlib
import gc
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from footfall import dashboard
from footfall.config import Settings
from footfall.dialects.atrack import routes as atrack
from footfall.dialects.millimetric import schema as mm
from footfall.dialects.millimetric import snippet
from footfall.dialects.millimetric.cors import BrowserCors
from footfall.dialects.millimetric.mcp import McpEndpoints
from footfall.dialects.millimetric.portability import routes as portability_routes
from footfall.dialects.millimetric.routes import routes as millimetric_routes
from footfall.dialects.plausible import routes as plausible
from footfall.dialects.posthog import routes as posthog
from footfall.dialects.sankofa import routes as sankofa
from footfall.dialects.segment import routes as segment
from footfall.dialects.segment.shared import shared
from footfall.http import json_response
from footfall.ops.metrics import Metrics, MetricsMiddleware
from footfall.ops.openapi import Operation, openapi
from footfall.read.queries import (
    ATTRIBUTION_MODELS,
    FILTER_COLUMNS,
    GROUP_BY_COLUMNS,
    SESSION_GROUPS,
)
from footfall.service import Footfall

__all__ = ["OPERATIONS", "create_app"]

_RANGE = (("from", "ISO 8601, inclusive", True), ("to", "ISO 8601, exclusive", True))
_FUNNEL = (
    *_RANGE, ("steps", "event[key=value;...],event,... (2-10)", True), ("window", "conversion window, e.g. 7d", False),
    ("breakdown", "source | channel | campaign | device_type | country", False), ("include_bots", "true | false", False),
)
_CONVERSION = (
    *_RANGE, ("conversion", "conversion event name", True), ("value_property", "e.g. amount_cents", False),
    ("lookback", "e.g. 30d", False), ("include_bots", "true | false", False),
)
OPERATIONS: list[Operation] = [
    Operation("/v1/track", "POST", "Ingest one event", "millimetric", 202, mm.TrackAccepted, mm.TrackBody, error=mm.ErrorBody),
    Operation("/v1/batch", "POST", "Ingest 1-1000 events, all or nothing", "millimetric", 202, mm.BatchAccepted, mm.BatchBody, error=mm.ErrorBody),
    Operation("/v1/identify", "POST", "Link an anonymous id to a user", "millimetric", 200, mm.Ok, mm.IdentifyBody, error=mm.ErrorBody),
    Operation("/v1/forget", "POST", "Delete every event and link of a person (sk_ only)", "millimetric", 200, mm.ForgetAccepted, mm.ForgetBody, error=mm.ErrorBody),
    Operation(
        "/v1/query", "GET", "Raw events", "millimetric", 200, mm.QueryResult,
        query=(*_RANGE, *((f, "filter", False) for f in ("event", "source", "medium", "user_id", "anonymous_id", "country")), ("limit", "1-1000, default 100", False)),
        error=mm.ErrorBody,
    ),
    Operation(
        "/v1/stats", "GET", "Counts, uniques, sessions or users, grouped and bucketed", "millimetric", 200, None,
        query=(*_RANGE, ("metric", "count | uniques | sessions | users", False), ("event", "event name", False),
               ("group_by", "comma list of " + ", ".join(GROUP_BY_COLUMNS), False), ("interval", "hour | day | week | month", False),
               ("timezone", "IANA name for buckets (UTC)", False), ("include_bots", "true | false", False), ("limit", "1-1000 (100)", False),
               *((c, "filter", False) for c in FILTER_COLUMNS if c != "event_name")),
        error=mm.ErrorBody,
    ),
    Operation(
        "/v1/sources", "GET", "Top sources with uniques and paid share", "millimetric", 200, None,
        query=(*_RANGE, ("breakdown", "source_medium | source", False), ("limit", "1-200 (50)", False), ("include_bots", "true | false", False)),
        error=mm.ErrorBody,
    ),
    Operation(
        "/v1/sessions", "GET", "Sessions: duration, entry/exit page, bounce, first-event source", "millimetric", 200, None,
        query=(*_RANGE, ("user_id", "the person's sessions on every linked device", False), ("anonymous_id", "filter", False),
               ("limit", "1-1000 (100)", False), ("include_bots", "true | false", False),
               ("after", "<start>,<session_id> of the previous page's last row", False),
               *((c, "filter", False) for c in FILTER_COLUMNS if c != "event_name")),
        error=mm.ErrorBody,
    ),
    Operation(
        "/v1/sessions/summary", "GET", "Sessions that started in the period: count, bounces, total duration; or per entry or exit page", "millimetric", 200, None,
        query=(*_RANGE, ("group_by", " | ".join(SESSION_GROUPS) + " (none: one row of totals)", False), ("limit", "1-1000 (100)", False),
               ("include_bots", "true | false", False), *((c, "filter", False) for c in FILTER_COLUMNS if c != "event_name")),
        error=mm.ErrorBody,
    ),
    Operation(
        "/v1/events", "GET", "Events with their enrichment, newest first, filtered, paged (next)", "millimetric", 200, None,
        query=(*_RANGE, ("event", "event name", False), ("person", "the stitched person: user id, or an anonymous id", False),
               ("before", "a previous answer's next", False), ("limit", "1-1000 (50)", False),
               ("include_bots", "true | false", False), *((c, "filter", False) for c in FILTER_COLUMNS if c != "event_name")),
        error=mm.ErrorBody,
    ),
    Operation(
        "/v1/funnel", "GET", "Ordered steps: people per step and conversion rates", "millimetric", 200, None,
        query=_FUNNEL,
        error=mm.ErrorBody,
    ),
    Operation(
        "/v1/funnel/people", "GET", "The people who reached a funnel step, or dropped out after it (paged)", "millimetric", 200, None,
        query=(*_FUNNEL, ("step", "the step's number, 1 first", True), ("outcome", "dropped (default) | converted", False),
               ("group", "only this breakdown value", False), ("limit", "1-1000 (100)", False), ("offset", "0-1000000 (0)", False)),
        error=mm.ErrorBody,
    ),
    Operation(
        "/v1/attribution", "GET", "Conversions and value credited to sources by a model, or by all six side by side (model=all)", "millimetric", 200, None,
        query=(*_CONVERSION, ("model", ", ".join(ATTRIBUTION_MODELS) + " | all", False),
               ("group_by", "comma list of source, medium, campaign, channel", False), ("limit", "1-1000 (100)", False)),
        error=mm.ErrorBody,
    ),
    Operation(
        "/v1/attribution/paths", "GET", "The most common touchpoint sequences before converting", "millimetric", 200, None,
        query=(*_CONVERSION, ("dimension", "channel (default) | source | medium | campaign", False), ("limit", "1-1000 (100)", False)),
        error=mm.ErrorBody,
    ),
    Operation(
        "/v1/attribution/time_to_convert", "GET", "Time from first touch to conversion: percentiles and histogram", "millimetric", 200, None,
        query=_CONVERSION, error=mm.ErrorBody,
    ),
    Operation(
        "/v1/attribution/conversions", "GET", "The conversions behind one path, one time-to-convert bucket, or one row's credit under one model, each with its person and share (paged)", "millimetric", 200, None,
        query=(*_CONVERSION, ("dimension", "channel (default) | source | medium | campaign", False),
               ("path", 'one of path, bucket, model: a JSON array as /v1/attribution/paths gives it, e.g. ["Organic Search","Direct"]', False),
               ("bucket", "a time-to-convert bucket's from_seconds: 0, 3600, 86400, 259200, 604800, 1209600, 2592000", False),
               ("model", ", ".join(ATTRIBUTION_MODELS) + ": with key or key_null", False), ("key", "the row's value", False),
               ("key_null", "true: the row without a value", False), ("limit", "1-1000 (100)", False), ("offset", "0-1000000 (0)", False)),
        error=mm.ErrorBody,
    ),
    Operation(
        "/v1/export", "GET", "Every stored row of one table, streamed (gzip with Accept-Encoding)", "millimetric", 200, None,
        query=(("from", "ISO 8601, inclusive (default: the beginning)", False), ("to", "ISO 8601, exclusive (default: now and later)", False),
               ("what", "events | links | profiles (events)", False), ("format", "ndjson | csv | parquet (ndjson)", False)),
        error=mm.ErrorBody, media_type="application/x-ndjson",
    ),
    Operation("/v1/import", "POST", "Import canonical records (sk_ only; idempotent by uid and event_id)", "millimetric", 202, mm.ImportAccepted, mm.ImportBody, error=mm.ErrorBody),
    Operation("/v1/import/events", "POST", "Import rows of a Footfall events export as they are (NDJSON or CSV body; sk_ only; idempotent)", "millimetric", 202, mm.ImportRowsAccepted, error=mm.ErrorBody,
              request_media=("application/x-ndjson", "text/csv")),
    Operation("/v1/a.js", "GET", "The browser snippet (ETag, cacheable)", "millimetric", 200, None, security=None, media_type="application/javascript"),
    Operation("/mcp", "POST", "MCP (JSON-RPC 2.0, streamable HTTP) for sk_/rk_ keys", "millimetric", 200, None),
    Operation("/mcp/account", "POST", "MCP for account keys (ak_): every project", "millimetric", 200, None),
    Operation("/healthz", "GET", "Liveness and store health", "operations", 200, None, security=None),
    Operation("/metrics", "GET", "Prometheus metrics", "operations", 200, None, security=None, media_type="text/plain"),
    Operation("/openapi.json", "GET", "This document", "operations", 200, None, security=None),
]


async def healthz(request: Request) -> Response:
    svc: Footfall = request.app.state.footfall
    healthy = svc.loader.healthy and (svc.committer is not None and svc.committer.failed is None)
    body: dict[str, Any] = {
        "ok": healthy,
        "store": "ok" if svc.loader.healthy else "failing",
        "wal_last_seq": svc.wal.last_seq,
        "store_applied_seq": svc.loader.applied_seq,
        # Degraded, not down: the node keeps serving on cached answers / its own memory.
        "control_plane": "ok" if svc.meta.reachable else "unreachable",
        "shared_state": svc.state.status(),
    }
    return json_response(body, 200 if healthy else 503)


async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4")


async def http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "invalid_request")
    return json_response({"error": code, "details": {"path": request.url.path}}, status)


class DirectRoutes:
    """Send a request for a plain route (fixed path, function endpoint) straight to it.

    Starlette's router and its two exception middlewares cost more per request than the
    ingest handler itself (`/v1/track`: ~3.2k -> ~5.3k req/s on 2 cores, docs/performance.md).
    Our endpoints render every error in their dialect's envelope, so an exact (method, path)
    match skips them; everything else (404, 405, mounts, lifespan) goes through Starlette.
    """

    def __init__(
        self,
        app: Starlette,
        on_http_error: Callable[[Request, Exception], Awaitable[Response]],
        before_write: Callable[[], Awaitable[None] | None] | None = None,
    ) -> None:
        self.app = app
        self.on_http_error = on_http_error
        self.before_write = before_write
        self.table: dict[tuple[str, str], Callable[[Request], Awaitable[Response]]] = {}
        for route in app.routes:
            if (
                isinstance(route, Route)
                and not route.param_convertors
                and route.methods
                and inspect.iscoroutinefunction(route.endpoint)
            ):
                for method in route.methods:
                    self.table[(method, route.path)] = route.endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = (
            self.table.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        )
        if endpoint is None or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        scope["app"] = self.app
        if self.before_write is not None and scope["method"] == "POST":
            waiting = self.before_write()  # every write is a POST: wait for room first (#23)
            if waiting is not None:
                await waiting
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except HTTPException as exc:
            response = await self.on_http_error(request, exc)
        await response(scope, receive, send)


def _shared_with_segment(route: Route) -> Route:
    """Millimetric's route, or on the paths both dialects serve bare, the two told apart."""
    name = segment.SHARED_PATHS.get(route.path)
    if name is None:
        return route
    endpoint = shared(route.endpoint, segment.HANDLERS[name], segment.PEEK_LIMITS[name])
    return Route(route.path, endpoint, methods=["POST"])


def create_app(settings: Settings) -> ASGIApp:
    holder: dict[str, Footfall] = {}
    mcp = McpEndpoints()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service = Footfall(settings)
        holder["svc"] = service
        app.state.footfall = service
        await service.start()
        # What start-up loaded (libraries, referrer and user-agent data, routes) lives until
        # exit: frozen, the cyclic GC stops walking it on every full collection, a pause of
        # ~55 ms on the event loop each. Unfrozen at shutdown so exit frees it as usual.
        gc.collect()
        gc.freeze()
        try:
            async with mcp.run():
                yield
        finally:
            await service.stop()
            gc.unfreeze()

    every = [
        *OPERATIONS, *atrack.OPERATIONS, *sankofa.OPERATIONS, *plausible.OPERATIONS,
        *posthog.OPERATIONS, *segment.OPERATIONS,
    ]
    spec = openapi(every)

    async def openapi_json(request: Request) -> Response:
        return json_response(spec)

    routes = [
        *(_shared_with_segment(route) for route in [*millimetric_routes, *portability_routes]),
        *snippet.routes,
        *atrack.routes,
        *sankofa.routes,
        *plausible.routes,
        *posthog.routes,
        *segment.routes,
        *mcp.routes,
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        *dashboard.routes(),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error}
    )
    app.state.metrics = Metrics(lambda: holder.get("svc"), {op.path for op in every})

    def room_for_writes() -> Awaitable[None] | None:
        """Something to await only while the loader is behind: not a coroutine per request."""
        svc = holder.get("svc")
        if svc is None or svc.committer is None or not svc.committer.behind():
            return None  # none before start-up, or room now: nothing to wait for
        return svc.room_for_writes()

    return MetricsMiddleware(
        BrowserCors(
            DirectRoutes(app, http_error, room_for_writes),
            origin_known=lambda scope, o: holder["svc"].origin_known(o),
            prefixes=("/v1/", segment.PREFIX + "/"),
            allow_headers=segment.cors_allow_headers,
        ),
        metrics=app.state.metrics,
    )
