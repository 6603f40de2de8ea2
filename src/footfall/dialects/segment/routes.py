"""Segment routes (`/segment/v1/*` and the bare `/v1/*`): auth, limits, decode, call the core.

The write key is a Footfall key: `Authorization: Basic base64(key + ":")` or `writeKey` in the
body (segment-analytics-python 2.3.x sends no header). Browser keys (`pk_`) are Origin-checked
as Millimetric's are; secret keys (`sk_`) come from servers, whose `context.ip` and
`context.userAgent` then describe the visitor. Every success is exactly `200 {"success": true}`:
segment-analytics-python 2.3.x and rudder-sdk-python retry any other 2xx.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.auth.origins import origin_allowed
from footfall.dialects.millimetric import routes as mm_routes
from footfall.dialects.millimetric.cors import ALLOW_HEADERS
from footfall.dialects.segment import schema
from footfall.dialects.segment.errors import invalid_from_msgspec, render
from footfall.dialects.segment.mapping import TYPES, Canonical, add_message, merged
from footfall.errors import Forbidden, Invalid, PayloadTooLarge, Unauthorized
from footfall.http import dialect_endpoint, json_response, read_body, request_context
from footfall.model import KeyKind, Principal
from footfall.ops.openapi import Operation
from footfall.service import Footfall

__all__ = ["HANDLERS", "OPERATIONS", "PEEK_LIMITS", "PREFIX", "SHARED_PATHS", "cors_allow_headers", "routes"]

PREFIX = "/segment/v1"
EVENT_MAX_BYTES = 32 * 1024
BATCH_MAX_BYTES = 4 * 1024 * 1024  # rudder-sdk-python sends up to 4 MB and drops on a 4xx
METRICS_MAX_BYTES = 64 * 1024
SUCCESS = b'{"success":true}'
# The paths Millimetric (and Footfall's own import) also serve bare; `shared.py` tells the two
# apart there.
SHARED_PATHS = {
    "/v1/track": "track", "/v1/identify": "identify", "/v1/batch": "batch", "/v1/import": "import",
}
# How much of an unauthenticated body on a shared path is read to tell the dialects apart:
# the larger of the two dialects' single-event limits; for a batch, Segment's (a Millimetric
# batch that reaches the look has no key Millimetric takes, so its size does not matter).
PEEK_LIMITS = {
    "track": max(EVENT_MAX_BYTES, mm_routes.TRACK_MAX_BYTES),
    "identify": max(EVENT_MAX_BYTES, mm_routes.SMALL_MAX_BYTES),
    "batch": BATCH_MAX_BYTES,
    "import": BATCH_MAX_BYTES,  # Segment's alias of batch (Footfall's own import has a Bearer key)
}
# Server SDKs name the type; the browser SDK sends its first letter.
SINGLE = {
    "track": "track", "identify": "identify", "page": "page", "screen": "screen",
    "group": "group", "alias": "alias",
    "t": "track", "i": "identify", "p": "page", "s": "screen", "g": "group", "a": "alias",
}
BATCHES = ("batch", "import", "b")
_BARE = frozenset([*SINGLE, *BATCHES, "m"])

Handler = Callable[[Request], Awaitable[Response]]
# analytics-next sends Basic auth (so every event is preflighted) and, on a retry, X-Retry-Count.
_ALLOW_HEADERS = ALLOW_HEADERS + b", X-Retry-Count"


def cors_allow_headers(path: str) -> bytes:
    """The headers a preflight allows: Segment's paths add X-Retry-Count, Millimetric's (and
    the shared bare ones, which only Millimetric's browser snippet calls) stay as they were."""
    if path.startswith(PREFIX + "/") or (path.removeprefix("/v1/") in _BARE and path not in SHARED_PATHS):
        return _ALLOW_HEADERS
    return ALLOW_HEADERS


def _service(request: Request) -> Footfall:
    service: Footfall = request.app.state.footfall
    return service


def _success() -> Response:
    return Response(SUCCESS, 200, media_type="application/json")


def header_key(request: Request) -> str | None:
    """The write key from `Authorization: Basic`, None without the header."""
    header = request.headers.get("authorization", "").strip()
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer":
        raise Unauthorized("oauth_unsupported", "Segment OAuth tokens cannot be verified here; "
                           "send the write key (a Footfall key) with Basic auth")
    if scheme.lower() != "basic":
        raise Unauthorized("invalid_authorization", "send Authorization: Basic base64(writeKey:)")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("invalid_authorization", "Basic credentials are not base64") from None
    key = decoded.partition(":")[0]
    if not key:
        raise Unauthorized("missing_write_key", "the Basic user name must be the write key")
    return key


def _principal(request: Request, key: str, route: str) -> Principal:
    service = _service(request)
    principal = service.authenticate(key)
    if not principal.can_ingest or principal.project_id is None:
        raise Forbidden("insufficient_scope", f"{principal.kind.value}_ keys cannot ingest")
    if principal.kind is KeyKind.PUBLISHABLE:
        origin = request.headers.get("origin")
        if not origin_allowed(origin, service.project(principal.project_id).origins):
            raise Forbidden("origin_not_allowed", "a browser key (pk_) needs an Origin on the "
                            "project's allowlist; servers send an sk_ key")
    service.admit(principal, route)
    return principal


def _one_key(keys: list[str | None]) -> str:
    found = {k for k in keys if k}
    if not found:
        raise Unauthorized("missing_write_key", "send the write key with Basic auth or as writeKey")
    if len(found) > 1:
        raise Invalid("write_key_mismatch", "the request carries more than one write key")
    return found.pop()


def _decode(body: bytes, decoder: msgspec.json.Decoder[Any]) -> Any:
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as err:
        raise invalid_from_msgspec(err) from None


async def _store(request: Request, principal: Principal, messages: list[tuple[schema.Message, str, str]]) -> Response:
    ctx = request_context(request)
    out = Canonical()
    for msg, kind, where in messages:
        add_message(out, msg, kind, principal, ctx.received_at, where)
    await _service(request).ingest(principal, ctx, out.events, out.links, out.profiles)
    return _success()


def single(kind: str) -> Handler:
    """One message of `kind` per request (`/v1/track`, the browser's `/v1/t`, ...)."""

    async def handler(request: Request) -> Response:
        key = header_key(request)
        principal = _principal(request, key, "track") if key else None
        msg: schema.Message = _decode(await read_body(request, EVENT_MAX_BYTES), schema.MESSAGE)
        if principal is None:
            principal = _principal(request, _one_key([msg.write_key]), "track")
        else:
            _one_key([key, msg.write_key])
        return await _store(request, principal, [(msg, kind, "")])

    handler.__name__ = f"segment_{kind}"
    return handler


async def batch(request: Request) -> Response:
    """`{batch: [...], context?, integrations?, writeKey?, sentAt?}`, all or nothing."""
    key = header_key(request)
    principal = _principal(request, key, "batch") if key else None
    raw = await read_body(request, BATCH_MAX_BYTES)
    if len(raw) > EVENT_MAX_BYTES:
        items = _decode(raw, schema.BATCH_ITEMS).batch or []
        for index, item in enumerate(items):
            if len(item) > EVENT_MAX_BYTES:
                raise PayloadTooLarge("payload_too_large", f"batch[{index}] is larger than 32 KB")
    body: schema.Batch = _decode(raw, schema.BATCH)
    if body.batch is None:
        raise Invalid("invalid_payload", "batch: a list of messages is required")
    messages = []
    for index, msg in enumerate(body.batch):
        where = f"batch[{index}]: "
        if msg.type not in TYPES:
            raise Invalid("invalid_payload", f"{where}type must be one of {', '.join(TYPES)}")
        messages.append((merged(msg, body), msg.type, where))
    write_key = _one_key([key, body.write_key, *(m.write_key for m, _, _ in messages)])
    if principal is None:
        principal = _principal(request, write_key, "batch")
    return await _store(request, principal, messages)


async def metrics(request: Request) -> Response:
    """The browser SDK's own delivery metrics: read and let go (the settings sample none)."""
    await read_body(request, METRICS_MAX_BYTES)
    return _success()


async def settings(request: Request) -> Response:
    """What @segment/analytics-next loads first: send every event to this server."""
    principal = _service(request).authenticate(request.path_params["write_key"])
    if principal.kind is not KeyKind.PUBLISHABLE:
        # Settings URLs end up in pages and logs: only a browser key, public anyway, belongs there.
        raise Forbidden("browser_key_required", "settings are served for pk_ keys only")
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    api = {"apiKey": request.path_params["write_key"], "apiHost": host + PREFIX,
           "protocol": request.url.scheme}
    return json_response({
        "integrations": {"Segment.io": api},
        "plan": {"track": {"__default": {"enabled": True, "integrations": {}}}},
        "metrics": {"sampleRate": 0},
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    })


def _handlers() -> dict[str, Handler]:
    out: dict[str, Handler] = {name: single(kind) for name, kind in SINGLE.items()}
    out.update({name: batch for name in BATCHES})
    out["m"] = metrics
    return out


HANDLERS = {name: dialect_endpoint(render, f"{PREFIX}/{name}")(h) for name, h in _handlers().items()}
_settings = dialect_endpoint(render, f"{PREFIX}/projects/{{write_key}}/settings")(settings)

routes = [
    *(Route(f"{PREFIX}/{name}", h, methods=["POST"]) for name, h in HANDLERS.items()),
    *(Route(f"/v1/{name}", h, methods=["POST"]) for name, h in HANDLERS.items()
      if f"/v1/{name}" not in SHARED_PATHS),
    Route(PREFIX + "/projects/{write_key}/settings", _settings, methods=["GET"]),
    Route("/v1/projects/{write_key}/settings", _settings, methods=["GET"]),
]


def _operations() -> list[Operation]:
    summaries = {
        "track": "Record one event", "identify": "Link an anonymous id to a user, with traits",
        "page": "Record a page view", "screen": "Record a screen view",
        "group": "Associate a user with a group", "alias": "Link a previous id to a user",
        "batch": "Messages of any type in one durable write, all or nothing",
        "m": "The browser SDK's delivery metrics (read, not stored)",
    }
    ops = []
    for name in HANDLERS:
        kind = SINGLE.get(name, "batch" if name in BATCHES else name)
        request = schema.Message if name in SINGLE else schema.BatchDoc if kind == "batch" else None
        for path in (f"{PREFIX}/{name}", f"/v1/{name}"):
            if path in SHARED_PATHS:
                continue  # documented by Millimetric; Segment bodies are told apart (shared.py)
            ops.append(Operation(
                path, "POST", summaries[kind] + " (Segment)", "segment", 200, schema.Success,
                request, error=schema.ErrorBody, security=None if name == "m" else "segment",
            ))
    for path in (PREFIX + "/projects/{write_key}/settings", "/v1/projects/{write_key}/settings"):
        ops.append(Operation(
            path, "GET", "Settings for @segment/analytics-next (pk_ write key)", "segment", 200,
            None, error=schema.ErrorBody, security=None, path_params=(("write_key", "a pk_ key"),),
        ))
    return ops


OPERATIONS = _operations()
