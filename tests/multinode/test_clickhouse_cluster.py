"""Two nodes on one ClickHouse store (the real engine, chDB, behind the HTTP test server), one
PostgreSQL and one Redis: what "visible to reads" means across nodes (docs/multinode.md)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.multinode.conftest import start_all
from tests.support.clickhouse import ClickHouseHTTP, new_database
from tests.support.server import Server, cli
from tests.support.services import Postgres, Redis

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory, postgres: Postgres, redis_server: Redis
) -> Iterator[tuple[Server, Server, dict[str, str]]]:
    http = ClickHouseHTTP().start()
    tmp = tmp_path_factory.mktemp("ch-cluster")
    meta = postgres.database()
    made = json.loads(cli(tmp / "admin", "project", "create", "pair", "--meta", meta, "--json").stdout)
    env = {
        "FOOTFALL_META": meta, "FOOTFALL_STATE": redis_server.url,
        "FOOTFALL_STORE": http.url(new_database("pair")),
    }
    a, b = Server(tmp / "a", env=env), Server(tmp / "b", env=env)
    try:
        start_all([a, b])
        yield a, b, made["keys"]
    finally:
        for node in (a, b):
            if node.proc is not None:
                node.stop()
        http.stop()


def _wal_position(node: Server) -> tuple[int, int]:
    health = httpx.get(node.url + "/healthz", timeout=5).json()
    return int(health["store_applied_seq"]), int(health["wal_last_seq"])


def test_a_write_is_read_back_at_once_on_its_own_node(pair: tuple[Server, Server, dict[str, str]]) -> None:
    a, _b, keys = pair
    with a.client(keys["sk_live"]) as c:
        r = c.post("/v1/track", json={"event": "signup", "anonymous_id": "ryw", "event_id": "ryw-1"})
    assert r.status_code == 202
    # No waiting: a read on the node that acknowledged it waits for that node's own loader.
    assert [e["event_id"] for e in a.query(keys["rk_live"], anonymous_id="ryw")] == ["ryw-1"]


def test_what_a_acknowledged_is_visible_on_b_once_as_loader_applied_it(
    pair: tuple[Server, Server, dict[str, str]],
) -> None:
    a, b, keys = pair
    with a.client(keys["sk_live"]) as c:
        r = c.post("/v1/track", json={"event": "signup", "anonymous_id": "cross", "event_id": "cross-1"})
    assert r.status_code == 202
    _applied, acknowledged_upto = _wal_position(a)
    deadline = time.monotonic() + 30
    while _wal_position(a)[0] < acknowledged_upto:
        assert time.monotonic() < deadline, "A's loader did not apply its WAL"
        time.sleep(0.05)  # polling A's loader, the condition the docs state
    assert [e["event_id"] for e in b.query(keys["rk_live"], anonymous_id="cross")] == ["cross-1"]
    # And both nodes answer the same stats from the one store.
    params = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "metric": "count"}
    answers = []
    for node in (a, b):
        with node.client(keys["rk_live"]) as c:
            answers.append(c.get("/v1/stats", params=params).json())
    assert answers[0] == answers[1]
