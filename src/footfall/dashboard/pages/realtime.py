"""`/dashboard/p/{project}/{env}/realtime`: visitors in the last 30 minutes and the live event
stream (server-sent events from `/realtime/stream`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from footfall.dashboard import auth
from footfall.dashboard.live import feed
from footfall.dashboard.pages._access import Access, project_access
from footfall.dashboard.web import page, secure_headers
from footfall.errors import FootfallError
from footfall.model import Scope
from footfall.read.queries import PageQuery, StatsQuery
from footfall.service import Footfall

__all__ = ["WINDOW", "routes"]

WINDOW = timedelta(minutes=30)
STREAM_SECONDS = 300.0  # then the browser reconnects (EventSource), so no stream lives forever
KEEPALIVE_SECONDS = 15.0
COUNT_EVERY = 5.0  # recount visitors at most this often while events arrive


def _window(q: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"start": now - WINDOW, "end": now + timedelta(seconds=1), **q}


def _visitors(svc: Footfall, scope: Scope) -> int:
    rows = svc.store.stats(StatsQuery(scope=scope, **_window({"metric": "uniques"})))
    return int(rows[0]["value"]) if rows else 0


def _snapshot(svc: Footfall, scope: Scope) -> dict[str, Any]:
    pages = svc.store.stats(StatsQuery(
        scope=scope, **_window({"metric": "uniques", "event": "$pageview", "group_by": ("path",), "limit": 10}),
    ))
    sources = svc.store.stats(StatsQuery(
        scope=scope, **_window({"metric": "uniques", "group_by": ("source",), "limit": 10}),
    ))
    recent, _total = svc.store.page_events(PageQuery(scope=scope, per_page=30))
    return {"visitors": _visitors(svc, scope), "pages": pages, "sources": sources, "recent": recent}


async def realtime(request: Request) -> Response:
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    svc = auth.service(request)
    scope = Scope(access.project.id, access.env)
    try:
        data = await svc.read(lambda: _snapshot(svc, scope))
    except FootfallError as err:
        return page(request, "error.html", {"session": access.session, "message": err.message}, err.status)
    template = "_realtime_lists.html" if request.headers.get("hx-request") else "realtime.html"
    return page(request, template, {**access.context(request), **data})


def _sse(event: str, data: object) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + msgspec.json.encode(data) + b"\n\n"


async def stream(request: Request) -> Response:
    access = project_access(request)
    if not isinstance(access, Access):  # EventSource cannot follow a login page
        return secure_headers(PlainTextResponse("log in first", 401))
    svc = auth.service(request)
    scope = Scope(access.project.id, access.env)

    def allowed() -> bool:
        """Still logged in and still let see the project: a logout, an expired session or
        access taken away ends the stream before its next message, not when it times out."""
        return isinstance(project_access(request), Access)

    async def events() -> AsyncIterator[bytes]:
        with feed(svc).subscribe(scope) as queue:
            yield b"retry: 3000\n\n"
            yield _sse("visitors", await svc.read(lambda: _visitors(svc, scope)))
            deadline = time.monotonic() + STREAM_SECONDS
            counted = time.monotonic()
            while time.monotonic() < deadline:
                try:
                    items = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    if not allowed():
                        return
                    yield b": keepalive\n\n"
                    continue
                if not allowed():
                    return
                yield _sse("events", items)
                if time.monotonic() - counted >= COUNT_EVERY or queue.empty():
                    counted = time.monotonic()
                    yield _sse("visitors", await svc.read(lambda: _visitors(svc, scope)))

    response = StreamingResponse(
        events(), media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},  # proxies must not hold events back
    )
    return secure_headers(response)


routes = [
    Route("/dashboard/p/{project_id}/{env}/realtime", realtime, methods=["GET"]),
    Route("/dashboard/p/{project_id}/{env}/realtime/stream", stream, methods=["GET"]),
]
