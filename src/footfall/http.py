"""Dialect-neutral transport helpers: caller context, bounded bodies, JSON answers."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from footfall.auth.origins import client_ip
from footfall.errors import FootfallError, Invalid, PayloadTooLarge
from footfall.model import RequestContext

__all__ = [
    "decoded", "dialect_endpoint", "header", "json_response", "public_cors", "read_body",
    "read_raw", "request_context",
]

log = logging.getLogger("footfall.http")
_encode = msgspec.json.Encoder().encode

Renderer = Callable[[FootfallError], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


_HEADERS = "footfall.headers"


def header(request: Request, name: bytes) -> str | None:
    """The first value of a request header (`name` in lower case, as ASGI gives names), like
    `request.headers.get`, from one dict per request: Starlette scans the whole list on each
    look-up, and an ingest request makes six (#23)."""
    scope = request.scope
    raw = scope["headers"]
    cached = scope.get(_HEADERS)
    if cached is None or cached[0] is not raw:  # built once, again only if replaced
        cached = scope[_HEADERS] = (raw, dict(reversed(list(raw))))  # reversed: the first wins
    value: bytes | None = cached[1].get(name)
    return None if value is None else value.decode("latin-1")


def request_context(request: Request) -> RequestContext:
    service = request.app.state.footfall
    client = request.scope.get("client")
    ip = client_ip(client[0] if client else None, request.scope["headers"], service.settings.trusted_proxies)
    return RequestContext(
        ip=ip,
        user_agent=header(request, b"user-agent"),
        origin=header(request, b"origin"),
        received_at=datetime.now(UTC),
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, at most `limit` bytes both as sent and after gzip decoding."""
    return decoded(request, await read_raw(request, limit), limit)


async def read_raw(request: Request, limit: int) -> bytes:
    """The request body as sent (still compressed), at most `limit` bytes."""
    declared = header(request, b"content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(details={"limit_bytes": limit})
    # ASGI messages straight from the server (Starlette's `stream()` costs an async generator
    # per request); a small body comes in one message.
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(details={"limit_bytes": limit})
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decoded(request: Request, body: bytes, limit: int) -> bytes:
    """`body` with its Content-Encoding (gzip or none) undone, at most `limit` bytes."""
    encoding = (header(request, b"content-encoding") or "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return gunzip(body, limit)
    if encoding not in ("", "identity"):
        raise Invalid("invalid_payload", f"unsupported Content-Encoding {encoding!r}",
                      details={"errors": {"content-encoding": ["only gzip is supported"]}})
    return body


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress gzip, refusing as soon as the output passes `limit` (a decompression bomb
    is cut off after `limit` bytes of work, not expanded in full).

    >>> import gzip
    >>> gunzip(gzip.compress(b"x" * 10), 100)
    b'xxxxxxxxxx'
    """
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise Invalid("invalid_payload", "body is not valid gzip",
                      details={"errors": {"body": ["not valid gzip"]}}) from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(details={"limit_bytes": limit, "decompressed": True})
    if not inflater.eof:
        raise Invalid("invalid_payload", "gzip body is truncated",
                      details={"errors": {"body": ["truncated gzip"]}})
    return out


class _JsonAnswer(Response):
    """A JSON answer with its two headers made at once (Starlette's `init_headers` is generic;
    every ingest request ends here, #23)."""

    media_type = "application/json"

    def __init__(self, body: bytes, status: int) -> None:
        self.status_code = status
        self.background = None
        self.body = body
        self.raw_headers = [(b"content-length", b"%d" % len(body)), (b"content-type", b"application/json")]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if headers is None and status >= 200 and status not in (204, 304):
        return _JsonAnswer(_encode(body), status)
    return Response(_encode(body), status, headers, media_type="application/json")


def dialect_endpoint(render: Renderer, route: str) -> Callable[[Endpoint], Endpoint]:
    """Wrap a handler so every failure leaves in the dialect's own envelope, never as a bare 500."""

    def wrap(handler: Endpoint) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except FootfallError as exc:
                return render(exc)
            except ClientDisconnect:  # the client left mid-body: nobody to answer, not a bug
                return Response(status_code=400)
            except UnicodeError:  # invalid UTF-8, or a lone surrogate escape (\ud800)
                return render(Invalid("invalid_payload", "body is not valid UTF-8 text",
                                      details={"errors": {"body": ["not valid UTF-8"]}}))
            except RecursionError:  # JSON nested deeper than the decoder will follow
                return render(Invalid("invalid_payload", "JSON is nested too deeply",
                                      details={"errors": {"body": ["nested too deeply"]}}))
            except Exception:
                log.exception("unhandled error", extra={"route": route})
                return render(FootfallError("internal_error", "internal error"))

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


def public_cors(
    inner: Endpoint, headers: dict[str, str], preflight: dict[str, str]
) -> Endpoint:
    """An endpoint any origin may call (keyless or key-in-header vendor APIs): preflights are
    answered 204 with `preflight`, every other answer gets `headers`, errors included."""

    async def endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=preflight)
        response = await inner(request)
        response.headers.update(headers)
        return response

    endpoint.__name__ = inner.__name__
    return endpoint
