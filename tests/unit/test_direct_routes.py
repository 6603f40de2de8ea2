"""DirectRoutes: exact (method, path) matches skip Starlette's router; nothing else changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from footfall.app import DirectRoutes


async def plain(request: Request) -> Response:
    # Which path served it: Starlette's router sets scope["router"], the direct path does not.
    return JSONResponse({"direct": "router" not in request.scope, "app": request.app is APP})


async def item(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["id"]})


async def refuses(request: Request) -> Response:
    raise HTTPException(418)


async def on_http_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": getattr(exc, "status_code", 500)}, getattr(exc, "status_code", 500))


APP = Starlette(routes=[
    Route("/plain", plain, methods=["POST"]),
    Route("/items/{id}", item),
    Route("/teapot", refuses),
    Mount("/sub", routes=[Route("/plain", plain)]),
], exception_handlers={HTTPException: on_http_error})


def call(method: str, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=DirectRoutes(APP, on_http_error))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.request(method, path)

    return asyncio.run(go())


def test_only_fixed_paths_with_function_endpoints_are_direct() -> None:
    table = DirectRoutes(APP, on_http_error).table
    assert set(table) == {("POST", "/plain"), ("GET", "/teapot"), ("HEAD", "/teapot")}


def test_direct_and_routed_requests_answer_alike() -> None:
    assert call("POST", "/plain").json() == {"direct": True, "app": True}
    assert call("GET", "/sub/plain").json() == {"direct": False, "app": True}
    assert call("GET", "/items/7").json() == {"id": "7"}
    assert call("GET", "/plain").status_code == 405  # wrong method: Starlette decides
    assert call("GET", "/nowhere").status_code == 404


def test_http_exceptions_reach_the_app_handler() -> None:
    r = call("GET", "/teapot")
    assert (r.status_code, r.json()) == (418, {"error": 418})


def test_the_start_up_heap_is_frozen_while_serving(tmp_path: Path) -> None:
    # Full GC passes skip what start-up loaded (no pause walking it), and exit frees it again.
    import gc

    from footfall.app import create_app
    from footfall.config import Settings

    app = create_app(Settings.from_env(data=str(tmp_path / "data"), rate_limits="off"))
    seen: list[int] = []

    async def go() -> None:
        queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        for message in ({"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}):
            queue.put_nowait(message)

        async def send(message: dict[str, str]) -> None:
            if message["type"] == "lifespan.startup.complete":
                seen.append(gc.get_freeze_count())
            assert not message["type"].endswith("failed"), message

        await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, queue.get, send)

    asyncio.run(go())
    assert seen and seen[0] > 10_000
    assert gc.get_freeze_count() == 0
