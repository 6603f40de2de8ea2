"""A-TRACK test helpers: the seed's request bodies and a client speaking `x-a-track-key`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.server import Server, cli

ORIGIN = "http://localhost:5173"
# The seed's user agent, completed the way an iPhone's Safari sends it.
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)
QUERY = (
    "?utm_source=google&utm_campaign=spring-launch&campaign_id=cmp_123&gclid=gclid_123"
    "&fbclid=fbclid_123&custom_param=test"
)


def seed_init(ip: str = "50.89.98.90", **extra: Any) -> dict[str, Any]:
    """The seed's init without a uuid: landing URL with UTM tags, click ids and a custom param,
    source_url, referer, the client's IP, iPhone user agent, locale, timezone, user attributes
    and custom data."""
    return {
        "context": {
            "url": {
                "href": "https://a-track.io/pricing" + QUERY,
                "raw": "/pricing" + QUERY,
                "path": "/pricing",
                "query": QUERY,
                "source_url": "https://partner.example.com/blog/first-touch",
                "referer": "https://google.com/",
            },
            "client": {
                "ipAddress": ip,
                "userAgent": IPHONE_UA,
                "locale": "en-US",
                "timezone": "America/New_York",
                "screenWidth": 1179,
                "screenHeight": 2556,
                "viewportWidth": 393,
                "viewportHeight": 852,
            },
            "user": {"attributes": {"plan": "pro", "signup_step": "landing"}},
        },
        "custom_data": {"landing_variant": "v2", "widget_position": "hero"},
        **extra,
    }


def client(server: Server, key: str | None, *, origin: str | None = None, ua: str = IPHONE_UA) -> httpx.Client:
    headers = {"User-Agent": ua}
    if key is not None:
        headers["x-a-track-key"] = key
    if origin is not None:
        headers["Origin"] = origin
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def post(server: Server, key: str | None, path: str, body: Any = None, **kw: Any) -> httpx.Response:
    with client(server, key, **kw) as c:
        if isinstance(body, bytes):
            return c.post(path, content=body, headers={"content-type": "application/json"})
        return c.post(path, json=body)


def init(server: Server, key: str, body: dict[str, Any] | None = None, **kw: Any) -> str:
    r = post(server, key, "/init", body or {}, **kw)
    assert r.status_code in (200, 201), r.text
    uuid: str = r.json()["uuid"]
    return uuid


@pytest.fixture(scope="module")
def project(server: Server) -> dict[str, Any]:
    """A project of this module's own on the shared server, so project-wide reads
    (`/event/show` without a name) see only this module's events."""
    out = cli(server.data, "project", "create", "atrack", "--origin", ORIGIN, "--json")
    created: dict[str, Any] = json.loads(out.stdout)
    return created
