"""Password guesses on two real nodes sharing Redis: one budget for the cluster, as on one node
(5 tries per address or share link), not 5 per node."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.multinode.conftest import Cluster
from tests.support.server import Server

pytestmark = pytest.mark.slow

PASSWORD = "right password 1"


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m, page[:2000]
    return m.group(1)


def _post_form(client: httpx.Client, path: str, **form: str) -> httpx.Response:
    """GET the form (its CSRF token and cookie come from the node asked), then POST it."""
    csrf = _csrf(client.get(path).text)
    return client.post(path, data={"csrf": csrf, **form}, headers={"Origin": str(client.base_url)})


@pytest.fixture(scope="module")
def clients(cluster: Cluster) -> Iterator[list[httpx.Client]]:
    """A browser per node: the balancer sends each request of one guesser to either."""
    made = [httpx.Client(base_url=node.url, timeout=30) for node in cluster.nodes[:2]]
    yield made
    for c in made:
        c.close()


def _admin(cluster: Cluster, node: Server) -> tuple[httpx.Client, str]:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    made = subprocess.run(  # `user create` takes the control plane from the environment
        [sys.executable, "-m", "footfall", "user", "create", email, "--password-stdin",
         "--role", "admin", "--data", str(cluster.admin)],
        input=PASSWORD + "\n", capture_output=True, text=True, timeout=60,
        env={**os.environ, "FOOTFALL_META": cluster.meta},
    )
    assert made.returncode == 0, made.stderr
    admin = httpx.Client(base_url=node.url, timeout=30)
    r = _post_form(admin, "/dashboard/login", email=email, password=PASSWORD, next="/dashboard/")
    assert r.status_code == 303, r.text[:2000]
    return admin, email


def test_login_guesses_alternating_nodes_share_one_budget(
    cluster: Cluster, clients: list[httpx.Client]
) -> None:
    admin, email = _admin(cluster, cluster.nodes[0])
    admin.close()
    codes = [
        _post_form(clients[i % 2], "/dashboard/login", email=email, password=f"guess {i}").status_code
        for i in range(8)
    ]
    assert codes == [401] * 4 + [429] * 4  # the successful login above took one of the five
    # The right password waits too, on either node: the limit comes before any password work.
    r = _post_form(clients[1], "/dashboard/login", email=email, password=PASSWORD)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_share_password_guesses_alternating_nodes_share_one_budget(
    cluster: Cluster, clients: list[httpx.Client]
) -> None:
    admin, _email = _admin(cluster, cluster.nodes[0])
    share = f"/dashboard/p/{cluster.project['project_id']}/live/share"
    try:
        made = _post_form(admin, share, label="board", password=PASSWORD)
    finally:
        admin.close()
    assert made.status_code == 201, made.text[:2000]
    url = re.search(r'value="([^"]+)" data-testid="share-url"', made.text)
    assert url, made.text[:3000]
    path = "/" + url.group(1).split("/", 3)[3]
    codes = [_post_form(clients[i % 2], path, password=f"guess {i}").status_code for i in range(10)]
    assert codes == [401] * 5 + [429] * 5  # not 5 per node
    for c in clients:
        assert _post_form(c, path, password=PASSWORD).status_code == 429
