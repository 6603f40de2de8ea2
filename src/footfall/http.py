"""Dialect-neutral transport helpers: caller context, bounded bodies, JSON answers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from footfall.auth.origins import client_ip
from footfall.errors import FootfallError, PayloadTooLarge
from footfall.model import RequestContext

__all__ = ["dialect_endpoint", "json_response", "read_body", "request_context"]

log = logging.getLogger("footfall.http")
_encode = msgspec.json.Encoder().encode

Renderer = Callable[[FootfallError], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


def request_context(request: Request) -> RequestContext:
    service = request.app.state.footfall
    peer = request.client.host if request.client else None
    ip = client_ip(peer, request.scope["headers"], service.settings.trusted_proxies)
    return RequestContext(
        ip=ip,
        user_agent=request.headers.get("user-agent"),
        origin=request.headers.get("origin"),
        received_at=datetime.now(UTC),
    )


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(details={"limit_bytes": limit})
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(details={"limit_bytes": limit})
        chunks.append(chunk)
    return b"".join(chunks)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_encode(body), status, headers, media_type="application/json")


def dialect_endpoint(render: Renderer, route: str) -> Callable[[Endpoint], Endpoint]:
    """Wrap a handler so every failure leaves in the dialect's own envelope, never as a bare 500."""

    def wrap(handler: Endpoint) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except FootfallError as exc:
                return render(exc)
            except Exception:
                log.exception("unhandled error", extra={"route": route})
                return render(FootfallError("internal_error", "internal error"))

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap
