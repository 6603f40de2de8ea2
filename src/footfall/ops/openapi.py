"""`GET /openapi.json`, generated from the payload types the routes decode with."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from footfall import __version__

__all__ = ["Operation", "openapi"]


class Operation(msgspec.Struct, frozen=True):
    path: str
    method: str
    summary: str
    tag: str
    ok_status: int
    response: type[Any] | None
    request: type[Any] | None = None
    query: tuple[tuple[str, str, bool], ...] = ()  # (name, description, required)
    path_params: tuple[tuple[str, str], ...] = ()  # (name, description)
    error: type[Any] | None = None
    security: str | None = "bearer"
    media_type: str = "application/json"
    request_media: tuple[str, ...] = ()  # a text body of these types, when `request` is None


def openapi(operations: list[Operation]) -> dict[str, Any]:
    types: list[Any] = []
    for op in operations:
        for t in (op.request, op.response, op.error):
            if t is not None and t not in types:
                types.append(t)
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    by_type = dict(zip(types, schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        entry: dict[str, Any] = {"summary": op.summary, "tags": [op.tag], "responses": {}}
        if op.security:
            entry["security"] = [{op.security: []}]
        if op.request is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": by_type[op.request]}},
            }
        elif op.request_media:
            entry["requestBody"] = {
                "required": True,
                "content": {m: {"schema": {"type": "string"}} for m in op.request_media},
            }
        described = dict(op.path_params)
        parameters = [
            {
                "name": n, "in": "path", "required": True,
                "description": described.get(n, n), "schema": {"type": "string"},
            }
            for n in re.findall(r"\{(\w+)\}", op.path)
        ] + [
            {"name": n, "in": "query", "required": r, "description": d, "schema": {"type": "string"}}
            for n, d, r in op.query
        ]
        if parameters:
            entry["parameters"] = parameters
        ok: dict[str, Any] = {"description": "OK"}
        if op.response is not None:
            ok["content"] = {op.media_type: {"schema": by_type[op.response]}}
        elif op.media_type != "application/json":
            ok["content"] = {op.media_type: {"schema": {"type": "string"}}}
        entry["responses"][str(op.ok_status)] = ok
        if op.error is not None:
            err = {"content": {"application/json": {"schema": by_type[op.error]}}}
            for status in ("400", "401", "403", "413", "429", "503"):
                entry["responses"][status] = {"description": "error", **err}
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Footfall", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "atrack": {"type": "apiKey", "in": "header", "name": "x-a-track-key"},
                "sankofa": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "segment": {"type": "http", "scheme": "basic"},
            },
        },
    }
