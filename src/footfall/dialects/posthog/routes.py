"""PostHog capture routes: decode whatever the SDK wrapped, find the token, call the core.

Order: body (raw gzip by its magic bytes, `Content-Encoding: gzip`, `data=` forms, `?data=`,
lz64; capped) → JSON (400) → token from the batch, the events or their properties (401 when
absent, unknown, of another kind than `pk_`/`sk_`, or mixed) → Origin allowlist for `pk_`
(401) → no `sk_` key in a GET's `?data=` (401) → rate limit (429) → events (400 naming the first bad one) → durable write → exactly
`200 {"status": 1}`. Every path is served with and without its trailing slash, at `/` and under
`/posthog/`, for GET, POST and OPTIONS; CORS is permissive (the caller's Origin and requested
headers mirrored, no credentials): a browser key is still checked against its project's
allowlist before anything is stored.
"""

from __future__ import annotations

import asyncio

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from footfall.auth.origins import origin_allowed
from footfall.dialects.posthog import encoding, mapping, schema
from footfall.dialects.posthog.errors import render
from footfall.errors import Invalid, Unauthorized
from footfall.http import Endpoint, dialect_endpoint, json_response, read_body, request_context
from footfall.model import KeyKind, Principal
from footfall.ops.openapi import Operation
from footfall.service import Footfall

__all__ = ["OPERATIONS", "routes"]

MAX_BYTES = 8 * 1024 * 1024  # as sent and after decompression (posthog-python: 5 MB batches)
MAX_EVENTS = 5000
CAPTURE_PATHS = ("/e", "/i/v0/e", "/track", "/engage", "/capture", "/batch")
FLAG_PATHS = ("/flags", "/decide")
PREFIXES = ("", "/posthog")
COMPRESSION = ["gzip-js", "base64"]
CAPTURED = schema.Captured(status=1)
FLAGS = schema.Flags(
    flags={}, featureFlags={}, featureFlagPayloads={}, errorsWhileComputingFlags=False,
    sessionRecording=False, supportedCompression=COMPRESSION,
)
CONFIG = schema.RemoteConfig(supportedCompression=COMPRESSION, hasFeatureFlags=False)
_DEFAULT_ALLOW_HEADERS = "Content-Type, Content-Encoding, Authorization"


def _service(request: Request) -> Footfall:
    service: Footfall = request.app.state.footfall
    return service


def _cors(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    headers = {"Access-Control-Expose-Headers": "Retry-After", "Vary": "Origin"}
    # Mirrored, never with credentials: the key is in the body, and no page may have a
    # visitor's cookies for this host sent along and the answer read.
    headers["Access-Control-Allow-Origin"] = origin or "*"
    return headers


def _preflight(request: Request) -> Response:
    asked = request.headers.get("access-control-request-headers") or _DEFAULT_ALLOW_HEADERS
    return Response(status_code=200, headers={
        **_cors(request),
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": asked,
        "Access-Control-Max-Age": "86400",
    })


def _principal(request: Request, body: schema.CaptureBody | list[schema.CaptureEvent]) -> Principal:
    found = mapping.tokens(body)
    if not found:
        raise Unauthorized("missing_api_key", "API key not provided: send the project token "
                           "as api_key or token (a Footfall pk_ or sk_ key)")
    if len(found) > 1:
        raise Unauthorized("mixed_api_keys", "all events of a request must carry the same token")
    service = _service(request)
    principal = service.authenticate(found.pop())
    if principal.kind not in (KeyKind.PUBLISHABLE, KeyKind.SECRET) or principal.project_id is None:
        raise Unauthorized("key_kind_not_allowed", "capture takes a pk_ or sk_ key")
    if principal.kind is KeyKind.PUBLISHABLE:
        origin = request.headers.get("origin")
        if not origin_allowed(origin, service.project(principal.project_id).origins):
            raise Unauthorized("origin_not_allowed", "origin is not on the project's allowlist",
                               details={"origin": origin})
    return principal


def _decode(data: bytes) -> schema.CaptureBody | list[schema.CaptureEvent]:
    try:
        return schema.decode(data)
    except msgspec.ValidationError as err:
        raise Invalid("invalid_payload", f"invalid event: {err}") from None
    except msgspec.DecodeError:
        raise Invalid("invalid_payload", "body is not JSON (nor gzip, base64 or lz64 of it)") from None


async def capture(request: Request) -> Response:
    if request.method == "OPTIONS":
        return _preflight(request)
    raw = await read_body(request, MAX_BYTES) if request.method == "POST" else b""
    query = request.query_params
    args = (raw, request.headers.get("content-type", ""), query, MAX_BYTES)
    if encoding.is_lz64(raw, query):  # pure-Python lz-string: off the event loop
        data = await asyncio.to_thread(encoding.capture_payload, *args)
    else:
        data = encoding.capture_payload(*args)
    body = _decode(data)
    principal = _principal(request, body)
    if not raw and principal.kind is KeyKind.SECRET:
        # `?data=` ends up in access logs and proxies: a public pk_ key may go there, a secret not
        raise Unauthorized("secret_key_in_url", "sk_ keys may not travel in the URL: POST the body")
    items = mapping.events_of(body)
    if len(items) > MAX_EVENTS:
        raise Invalid("invalid_payload", f"at most {MAX_EVENTS} events per request")
    service = _service(request)
    service.admit(principal, "batch" if len(items) > 1 else "track")
    ctx = request_context(request)
    mapped = mapping.map_events(
        items, principal, ctx.received_at, mapping.sent_at(body, query.get("_")),
        engage=request.url.path.rstrip("/").endswith("/engage"),
    )
    # One ingest, so one commit: a batch is stored whole or not at all (a retry never
    # duplicates part of it); each event carries its own visitor's `$ip` / `$raw_user_agent`.
    await service.ingest(
        principal, ctx, mapped.events, mapped.links, mapped.profiles,
        unlocated=frozenset(mapped.unlocated),
    )
    return json_response(CAPTURED)


async def flags(request: Request) -> Response:
    """Feature flags are not served: every flag is off, nothing is recorded."""
    return _preflight(request) if request.method == "OPTIONS" else json_response(FLAGS)


async def remote_config(request: Request) -> Response:
    return _preflight(request) if request.method == "OPTIONS" else json_response(CONFIG)


def _route(path: str, handler: Endpoint) -> Route:
    inner = dialect_endpoint(render, path)(handler)

    async def endpoint(request: Request) -> Response:
        response = await inner(request)
        response.headers.update(_cors(request))
        return response

    endpoint.__name__ = handler.__name__
    return Route(path, endpoint, methods=["GET", "POST", "OPTIONS"])


def _variants(paths: tuple[str, ...]) -> list[str]:
    return [f"{prefix}{path}{slash}" for prefix in PREFIXES for path in paths for slash in ("", "/")]


routes: list[BaseRoute] = [
    *(_route(p, capture) for p in _variants(CAPTURE_PATHS)),
    *(_route(p, flags) for p in _variants(FLAG_PATHS)),
    # `path`: a token with an encoded slash still reaches the stub rather than a 404
    *(_route(f"{prefix}/array/{{token:path}}/config", remote_config) for prefix in PREFIXES),
]

_CAPTURE_QUERY = (
    ("data", "the payload (JSON, base64 or lz64) on GET", False),
    ("compression", "gzip-js | base64 | lz64", False),
    ("_", "the client's clock in epoch milliseconds when it sent", False),
    ("ver", "SDK version", False),
    ("ip", "ignored", False),
)


def _operations() -> list[Operation]:
    ops = []
    for path in _variants(CAPTURE_PATHS):
        ops.append(Operation(path, "POST", "Capture one event or a batch (PostHog)", "posthog", 200,
                             schema.Captured, schema.CaptureBody, query=_CAPTURE_QUERY[1:],
                             error=schema.ErrorBody, security=None))
        ops.append(Operation(path, "GET", "Capture from ?data= (PostHog)", "posthog", 200,
                             schema.Captured, query=_CAPTURE_QUERY, error=schema.ErrorBody,
                             security=None))
    for path in _variants(FLAG_PATHS):
        for method in ("GET", "POST"):
            ops.append(Operation(path, method, "Feature flags: none (PostHog stub)", "posthog",
                                 200, schema.Flags, security=None))
    for prefix in PREFIXES:
        ops.append(Operation(f"{prefix}/array/{{token}}/config", "GET",
                             "SDK remote config: compression, no flags (PostHog stub)", "posthog",
                             200, schema.RemoteConfig, security=None))
    return ops


OPERATIONS: list[Operation] = _operations()
