"""Several real `footfall serve` processes sharing one PostgreSQL control plane and one Redis.

Each node keeps its own data directory (WAL and DuckDB: one DuckDB file admits one process), so
these tests check what the nodes share; the event store shared by a cluster is ClickHouse's
(`tests/multinode/test_clickhouse_cluster.py` runs two nodes on one ClickHouse).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import Server, cli
from tests.support.services import Postgres, Redis


@dataclass
class Cluster:
    nodes: list[Server]
    meta: str  # the shared control plane's URL
    state: str  # the shared Redis
    project: dict[str, object]
    admin: Path  # a data directory for admin commands (they act on the shared control plane)

    def key(self, name: str) -> str:
        keys = self.project["keys"]
        assert isinstance(keys, dict)
        return str(keys[name])

    def admin_cli(self, *args: str) -> str:
        return cli(self.admin, *args, "--meta", self.meta).stdout


def start_all(servers: list[Server]) -> list[Server]:
    with ThreadPoolExecutor(len(servers)) as pool:
        return list(pool.map(lambda s: s.start(), servers))


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, postgres: Postgres, redis_server: Redis
) -> Iterator[Cluster]:
    """One cluster for a module's tests: they keep apart with their own ids, keys, projects."""
    redis_server.flush()
    meta = postgres.database()
    tmp_path = tmp_path_factory.mktemp("cluster")
    admin = tmp_path / "admin"
    project = json.loads(cli(admin, "project", "create", "shop", "--meta", meta, "--json").stdout)
    env = {"FOOTFALL_META": meta, "FOOTFALL_STATE": redis_server.url, "FOOTFALL_RATE_LIMITS": "on"}
    nodes = [Server(tmp_path / f"node{i}", env=env) for i in range(3)]
    start_all(nodes)
    try:
        yield Cluster(nodes, meta, redis_server.url, project, admin)
    finally:
        with ThreadPoolExecutor(len(nodes)) as pool:
            list(pool.map(lambda n: n.stop() if n.proc is not None else None, nodes))
