"""One seeded server for the dashboard tests, with an admin and a viewer, and logged-in clients."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.dashboard.seed import seed
from tests.support.server import Server, cli

ADMIN = ("admin@example.com", "admin-password-1")
VIEWER = ("viewer@example.com", "viewer-password-1")


def create_user(data: Path, email: str, password: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "footfall", "user", "create", email, "--password-stdin", *args,
         "--data", str(data)],
        input=password + "\n", capture_output=True, text=True, timeout=60,
    )


_CLIENTS = itertools.count(1)


def login(server: Server, email: str, password: str, next_url: str = "/dashboard/") -> httpx.Client:
    # Each login from its own (documentation-range) address, so logins across the tests never
    # meet the per-IP login limit; the dashboard server trusts 127.0.0.1 as a proxy.
    ip = f"198.51.100.{next(_CLIENTS) % 250 + 1}"
    c = httpx.Client(base_url=server.url, timeout=30, headers={"X-Forwarded-For": ip})
    form = c.get("/dashboard/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, form.text
    r = c.post(
        "/dashboard/login",
        data={"email": email, "password": password, "csrf": csrf.group(1), "next": next_url},
        headers={"Origin": server.url},
    )
    assert r.status_code == 303, r.text
    return c


@dataclass
class Dash:
    server: Server
    project: str  # the default project, seeded
    other: str  # a second project, only the viewer's
    other_keys: dict[str, str]

    def report_path(self, project: str | None = None, env: str = "live") -> str:
        return f"/dashboard/p/{project or self.project}/{env}"


# One seeded server per module: a package-wide one would meet the login limit per e-mail
# address (5, then one per 12 s) across the modules' admin logins.
@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dash]:
    data = tmp_path_factory.mktemp("dash") / "data"
    # Trust the test client as a proxy so each seeded visitor's X-Forwarded-For gives a country.
    srv = Server(data, env={"FOOTFALL_TRUSTED_PROXIES": "127.0.0.1/32"}).start()
    try:
        other = json.loads(cli(data, "project", "create", "other", "--json").stdout)
        seed(srv.url, srv.keys["sk_live"])
        for (email, password), args in (
            (ADMIN, ("--role", "admin")),
            (VIEWER, ("--role", "viewer", "--project", other["project_id"])),
        ):
            out = create_user(data, email, password, *args)
            assert out.returncode == 0, out.stderr
        yield Dash(srv, srv.keys["project_id"], other["project_id"], other["keys"])
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def admin(dash: Dash) -> Iterator[httpx.Client]:
    c = login(dash.server, *ADMIN)
    yield c
    c.close()
