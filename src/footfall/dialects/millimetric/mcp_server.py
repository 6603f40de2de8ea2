"""The MCP servers themselves, on the official SDK (imported only when /mcp is first used).

The SDK's low-level `Server` and its `StreamableHTTPSessionManager` run in stateless,
JSON-response mode (one POST, one JSON-RPC answer, no session to keep). `mcp.py` checks the
bearer key before the SDK sees the request; the verified `Caller` rides in the ASGI scope, which
the SDK hands to every handler as `ctx.request`, so each tool reads only that key's project and
environment.
"""

from __future__ import annotations

import logging
from typing import Any

import mcp_types as types
import msgspec
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError

from footfall.dialects.millimetric.mcp_tools import (
    ACCOUNT_TOOLS,
    CALLER_SCOPE_KEY,
    PROJECT_TOOLS,
    RECENT_LIMIT,
    Caller,
    ToolSpec,
    all_projects,
    check_arguments,
    recent_events,
    schema_description,
)
from footfall.errors import FootfallError

__all__ = ["managers"]

log = logging.getLogger("footfall.mcp")
_encode = msgspec.json.Encoder().encode
_RECENT = "events://recent"
_SCHEMA = "schema://events"
_PROJECTS = "projects://all"
_READERS = {_RECENT: recent_events, _SCHEMA: schema_description, _PROJECTS: all_projects}
Ctx = ServerRequestContext[Any, Any]


def _caller(ctx: Ctx) -> Caller:
    request = ctx.request
    caller = request.scope.get(CALLER_SCOPE_KEY) if request is not None else None
    if not isinstance(caller, Caller):  # only reachable if the SDK stopped passing the request
        raise MCPError(code=types.INTERNAL_ERROR, message="request is not authenticated")
    return caller


def _json_result(body: dict[str, Any], *, error: bool = False) -> types.CallToolResult:
    text = _encode(body)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text.decode())],
        structured_content=msgspec.json.decode(text),
        is_error=error,
    )


def _error_result(exc: FootfallError) -> types.CallToolResult:
    return _json_result(
        {"error": exc.code, "message": exc.message, "details": exc.details}, error=True
    )


def _build_server(name: str, tools: tuple[ToolSpec, ...], resources: tuple[str, ...]) -> Server[Any]:
    by_name = {t.name: t for t in tools}

    async def list_tools(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        kind = _caller(ctx).principal.kind
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=t.name,
                    description=t.description,
                    input_schema=t.input_schema,
                    annotations=types.ToolAnnotations(
                        read_only_hint=t.read_only, destructive_hint=False,
                        idempotent_hint=t.read_only, open_world_hint=False,
                    ),
                )
                for t in tools
                if kind in t.kinds
            ]
        )

    async def call_tool(ctx: Ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        caller = _caller(ctx)
        spec = by_name.get(params.name)
        if spec is None:
            raise MCPError(code=types.INVALID_PARAMS, message=f"unknown tool: {params.name}")
        args = params.arguments or {}
        try:
            check_arguments(spec, args)
            return _json_result(await spec.handler(caller, args))
        except FootfallError as exc:
            return _error_result(exc)
        except Exception:
            log.exception("MCP tool failed", extra={"tool": spec.name})
            return _error_result(FootfallError("internal_error", "internal error"))

    async def list_resources(
        ctx: Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        _caller(ctx)
        described = {
            _RECENT: types.Resource(
                uri=_RECENT, name="recent_events", mime_type="application/json",
                description=f"The {RECENT_LIMIT} most recent events of this key's project (every project for an account key) and environment",
            ),
            _SCHEMA: types.Resource(
                uri=_SCHEMA, name="event_schema", mime_type="application/json",
                description="The event names seen in the last 30 days with their counts, the event fields, and the columns get_stats may group and filter by",
            ),
            _PROJECTS: types.Resource(
                uri=_PROJECTS, name="projects", mime_type="application/json",
                description="Every project this account key sees: id, name, created_at",
            ),
        }
        return types.ListResourcesResult(resources=[described[uri] for uri in resources])

    async def read_resource(
        ctx: Ctx, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        caller = _caller(ctx)
        uri = str(params.uri)
        if uri not in resources:
            raise MCPError(code=types.INVALID_PARAMS, message=f"unknown resource: {uri}")
        try:
            body = await _READERS[uri](caller)
        except FootfallError as exc:
            raise MCPError(
                code=types.INTERNAL_ERROR, message=exc.message,
                data={"error": exc.code, "details": exc.details},
            ) from None
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(
                    uri=uri, mime_type="application/json", text=_encode(body).decode()
                )
            ]
        )

    return Server(
        name,
        version="1",
        instructions="Footfall analytics. Times are ISO 8601 UTC; `from` is inclusive, `to` exclusive.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )


def _manager(server: Server[Any]) -> StreamableHTTPSessionManager:
    return StreamableHTTPSessionManager(app=server, json_response=True, stateless=True)


def managers() -> dict[str, StreamableHTTPSessionManager]:
    """The session managers of `/mcp` ("project") and `/mcp/account` ("account")."""
    # The SDK logs every stateless request's teardown at INFO; keep the server log readable.
    logging.getLogger("mcp.server.streamable_http").setLevel(logging.WARNING)
    return {
        "project": _manager(_build_server("footfall", PROJECT_TOOLS, (_RECENT, _SCHEMA))),
        "account": _manager(
            _build_server("footfall-account", ACCOUNT_TOOLS, (_RECENT, _SCHEMA, _PROJECTS))
        ),
    }
