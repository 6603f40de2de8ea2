"""One server for the Plausible tests: projects chosen by their site domains, no keys sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.server import Server
from tests.support.sites import site_projects

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SHOP = "shop.example"  # the project `shop`
BLOG = "blog.example"  # the project `blog`
LIMITED = "limited.example"  # the project `limited`: one event per 100 s


class Site:
    def __init__(self, server: Server, projects: dict[str, dict[str, Any]]) -> None:
        self.server = server
        self.projects = projects  # name → `project create --json` output

    def post(self, body: Any, ua: str = CHROME, **headers: str) -> httpx.Response:
        """As the trackers send it: JSON text with `Content-Type: text/plain`."""
        content = body if isinstance(body, (str, bytes)) else json.dumps(body)
        h = {"user-agent": ua, "content-type": "text/plain", **headers}
        with httpx.Client(base_url=self.server.url, timeout=30) as c:
            return c.post("/api/event", content=content, headers=h)

    def rows(self, project: str = "shop", **params: Any) -> list[dict[str, Any]]:
        """Stored live events of a project, oldest first."""
        key = self.projects[project]["keys"]["rk_live"]
        return list(reversed(self.server.query(key, **params)))

    def get(self, project: str, path: str, **params: str) -> dict[str, Any]:
        key = self.projects[project]["keys"]["rk_live"]
        params = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", **params}
        with self.server.client(key) as c:
            r = c.get(path, params=params)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("plausible") / "data"
    projects = site_projects(data, {"shop": SHOP, "blog": BLOG, "limited": LIMITED}, {"limited": (0.01, 1)})
    server = Server(data, env={"FOOTFALL_RATE_LIMITS": "on"}).start()
    yield Site(server, projects)
    server.stop()
