"""Small helpers for the Sankofa tests: a client that speaks `x-api-key`, unique ids, reads."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.support.server import Server

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
EVENT_ID = re.compile(r"^evt_[A-Za-z0-9_-]{21}$")
RANGE = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}


def uid(prefix: str = "u") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def post(
    server: Server, path: str, body: Any, key: str | None = None, **headers: str
) -> httpx.Response:
    """POST as a browser would (so UA classification never marks it a bot)."""
    h = {"user-agent": CHROME, **headers}
    if key is not None:
        h["x-api-key"] = key
    with httpx.Client(base_url=server.url, timeout=30) as c:
        if isinstance(body, (bytes, str)):
            return c.post(path, content=body, headers={**h, "content-type": "application/json"})
        return c.post(path, json=body, headers=h)


def get(server: Server, path: str, key: str | None = None, **params: str) -> httpx.Response:
    h = {"user-agent": CHROME}
    if key is not None:
        h["x-api-key"] = key
    with httpx.Client(base_url=server.url, timeout=30) as c:
        return c.get(path, params=params, headers=h)


def rows(server: Server, key: str, **params: Any) -> list[dict[str, Any]]:
    """`/v1/query` with a read key (rk_ or sk_), oldest first."""
    return list(reversed(server.query(key, **params)))


def stats(server: Server, key: str, **params: str) -> list[dict[str, Any]]:
    with server.client(key) as c:
        r = c.get("/v1/stats", params={**RANGE, **params})
    assert r.status_code == 200, r.text
    out: list[dict[str, Any]] = r.json()["rows"]
    return out
