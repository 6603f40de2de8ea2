"""MCP over streamable HTTP: `POST /mcp` (sk_/rk_ keys) and `POST /mcp/account` (ak_ keys).

The bearer key is checked here, before the SDK sees the request. The SDK and the servers built on
it (`mcp_server.py`) load on the first MCP request, not at start-up: they are ~30 MB of the
server's memory that a deployment without AI agents never needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from footfall.dialects.millimetric.errors import render
from footfall.dialects.millimetric.mcp_tools import CALLER_SCOPE_KEY, Caller
from footfall.errors import FootfallError, Forbidden, Overloaded, Unauthorized
from footfall.model import KeyKind
from footfall.service import Footfall

__all__ = ["McpEndpoints"]

log = logging.getLogger("footfall.mcp")


class _Guard:
    """ASGI wrapper: verify the bearer key and its kind, then hand the request to the SDK."""

    def __init__(
        self, endpoints: McpEndpoints, name: str, kinds: frozenset[KeyKind], refused: str
    ) -> None:
        self.endpoints = endpoints
        self.name = name
        self.kinds = kinds
        self.refused = refused  # the 403 code for another kind of key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            scope[CALLER_SCOPE_KEY] = self._authenticate(scope)
        except FootfallError as exc:
            await render(exc)(scope, receive, send)
            return
        except Exception:
            log.exception("MCP authentication failed")
            await render(FootfallError("internal_error", "internal error"))(scope, receive, send)
            return
        try:
            manager = await self.endpoints.manager(self.name)
        except FootfallError as exc:
            await render(exc)(scope, receive, send)
            return
        await manager.handle_request(scope, receive, send)

    def _authenticate(self, scope: Scope) -> Caller:
        header = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), ""
        )
        method, _, token = header.partition(" ")
        if method.lower() != "bearer" or not token.strip():
            raise Unauthorized("missing_bearer_token", "send Authorization: Bearer <key>")
        service: Footfall = scope["app"].state.footfall
        principal = service.authenticate(token.strip())
        if principal.kind not in self.kinds:
            allowed = sorted(k.value for k in self.kinds)
            raise Forbidden(
                self.refused,
                f"{principal.kind.value}_ keys cannot use this endpoint",
                details={"kind": principal.kind.value, "allowed": allowed},
            )
        return Caller(service=service, principal=principal)


class McpEndpoints:
    """The two MCP endpoints of one app: their routes, and the SDK's session managers, started
    on first use by a task that lives until shutdown (the SDK's task groups must be entered
    and left by one task, not by the request that happened to come first)."""

    def __init__(self) -> None:
        self._managers: dict[str, Any] = {}
        self._wanted: asyncio.Event | None = None
        self._ready: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._failed = False
        self.routes = [
            Route("/mcp", _Guard(self, "project", frozenset({KeyKind.SECRET, KeyKind.READ}), "key_kind_not_allowed"), methods=["POST"]),
            Route("/mcp/account", _Guard(self, "account", frozenset({KeyKind.ACCOUNT}), "account_key_required"), methods=["POST"]),
        ]

    async def manager(self, name: str) -> Any:
        if self._wanted is None or self._ready is None:
            raise Overloaded("shutting_down", "server is shutting down")
        self._wanted.set()
        await self._ready.wait()
        if self._failed:
            raise FootfallError("internal_error", "internal error")
        return self._managers[name]

    async def _serve(self) -> None:
        assert self._wanted and self._ready and self._stopping
        await self._wanted.wait()
        try:
            # In a thread: importing the SDK takes a moment the event loop should not wait.
            module = await asyncio.to_thread(
                importlib.import_module, "footfall.dialects.millimetric.mcp_server"
            )
            managers = module.managers()
            async with contextlib.AsyncExitStack() as stack:
                for m in managers.values():
                    await stack.enter_async_context(m.run())
                self._managers = managers
                self._ready.set()
                await self._stopping.wait()
        except Exception:
            log.exception("MCP could not start")
            self._failed = True
            self._ready.set()

    @contextlib.asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        self._wanted, self._ready, self._stopping = asyncio.Event(), asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(self._serve())
        try:
            yield
        finally:
            self._stopping.set()
            if not self._wanted.is_set():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self._wanted = self._ready = self._stopping = None
