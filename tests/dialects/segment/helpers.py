"""Small helpers for the Segment tests: Basic auth, unique ids, reads."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx

from tests.support.server import Server

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SUCCESS = {"success": True}
ORIGIN = "http://localhost:5173"  # on the default project's allowlist


def uid(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def post(server: Server, path: str, body: Any, key: str | None = None, **headers: str) -> httpx.Response:
    """POST as a browser would (so UA classification never marks it a bot), Basic when `key`."""
    h = {"user-agent": CHROME, **(basic(key) if key else {}), **headers}
    with httpx.Client(base_url=server.url, timeout=30) as c:
        if isinstance(body, (bytes, str)):
            return c.post(path, content=body, headers={"content-type": "application/json", **h})
        return c.post(path, json=body, headers=h)


def rows(server: Server, **params: Any) -> list[dict[str, Any]]:
    """`/v1/query` with the read key, oldest first."""
    return list(reversed(server.query(server.keys["rk_live"], **params)))
