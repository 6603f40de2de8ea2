"""Three nodes on one PostgreSQL and one Redis take a mixed load; one is killed with -9 mid-load
and restarted. Every acknowledged event is stored exactly once, sessions equal one node's run.

Two stores:

* `duckdb`: each node its own DuckDB (what runs today): each event is in the store of the
  node that acknowledged it, so the checks read the union of the nodes' answers.
* `clickhouse`: the cluster as deployed, one ClickHouse for all (`--store clickhouse://…`): the
  real ClickHouse engine (chDB) behind the HTTP test server, or the server named by
  `FOOTFALL_TEST_CLICKHOUSE_URL`. Any node answers for all, and `/v1/stats` must equal one node's.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from footfall.auth.keys import CACHE_SECONDS
from tests.multinode.conftest import start_all
from tests.support.clickhouse import ClickHouseHTTP, new_database
from tests.support.server import Server, cli
from tests.support.services import Postgres, Redis

pytestmark = pytest.mark.slow


@pytest.fixture(params=["duckdb", "clickhouse"])
def store_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None: each node its own DuckDB; else the ClickHouse URL every node shares."""
    if request.param == "duckdb":
        yield None
        return
    url = os.environ.get("FOOTFALL_TEST_CLICKHOUSE_URL")
    if url:
        yield url.rstrip("/") + "_" + uuid.uuid4().hex[:8]  # a database of its own
        return
    http = ClickHouseHTTP().start()
    try:
        yield http.url(new_database("nodes"))
    finally:
        http.stop()


@dataclass
class Nodes:
    servers: list[Server]
    project: dict[str, Any]
    meta: str
    shared_store: bool

    def rows(self, key: str) -> list[dict[str, Any]]:
        """Every stored event: from each node, the same (one store) or its own share."""
        answers = [s.query(key, limit=1000) for s in self.servers]
        if self.shared_store:
            for other in answers[1:]:
                assert sorted(r["event_id"] for r in other) == sorted(r["event_id"] for r in answers[0])
            return answers[0]
        return [r for rows in answers for r in rows]


@pytest.fixture
def nodes(
    tmp_path: Path, store_url: str | None, postgres: Postgres, redis_server: Redis
) -> Iterator[Nodes]:
    redis_server.flush()
    meta = postgres.database()
    project = json.loads(cli(tmp_path / "admin", "project", "create", "k9", "--meta", meta, "--json").stdout)
    env = {"FOOTFALL_META": meta, "FOOTFALL_STATE": redis_server.url}
    if store_url is not None:
        env["FOOTFALL_STORE"] = store_url
    servers = [Server(tmp_path / f"node{i}", env=env) for i in range(3)]
    start_all(servers)
    try:
        yield Nodes(servers, project, meta, store_url is not None)
    finally:
        for s in servers:
            if s.proc is not None:
                s.stop()


def _events(n: int, start: datetime) -> list[dict[str, Any]]:
    rng = random.Random(16)
    out, minutes = [], 0.0
    for i in range(n):
        minutes += rng.choice([0.2, 1, 4, 35])
        out.append({
            "event": rng.choice(["page", "signup", "purchase"]), "event_id": f"ev{i:05d}",
            "anonymous_id": f"visitor{rng.randrange(40)}",
            "timestamp": (start + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
            "url": rng.choice(["https://shop.example/", "https://shop.example/?utm_source=news&utm_medium=email"]),
        })
    return out


def _caught_up(node: Server) -> bool:
    health = httpx.get(node.url + "/healthz", timeout=5).json()
    return bool(health["store_applied_seq"] >= health["wal_last_seq"])


def _send(
    servers: list[Server], key: str, share: list[dict[str, Any]], acked: set[str],
    cut: set[str], lock: threading.Lock,
) -> None:
    """Each event to the next node; a refused or failed one to the node after (a balancer's retry)."""
    clients = [s.client(key) for s in servers]
    n = 0
    try:
        for body in share:
            for _attempt in range(200):
                i = n % 3
                n += 1
                try:
                    r = clients[i].post("/v1/track", json=body)
                except httpx.TransportError:
                    with lock:  # the killed node may have stored it without answering
                        cut.add(body["event_id"])
                    clients[i].close()
                    clients[i] = servers[i].client(key)  # the node may be back on its port
                    continue
                if r.status_code == 202:
                    with lock:
                        acked.add(body["event_id"])
                    break
                assert r.status_code in (429, 503), r.text
            else:
                raise AssertionError(f"{body['event_id']} never acknowledged")
    finally:
        for c in clients:
            c.close()


def test_kill_9_mid_load_loses_nothing_and_matches_one_node(nodes: Nodes, tmp_path: Path) -> None:
    servers = nodes.servers
    sk, rk = nodes.project["keys"]["sk_live"], nodes.project["keys"]["rk_live"]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    events = _events(450, start)
    acked: set[str] = set()
    cut: set[str] = set()  # sent to the node as it was killed: its answer never came
    lock = threading.Lock()
    # Each visitor's events go out in time order (as a browser sends them), one thread per
    # third of the visitors; every event to the next node, so a visitor alternates nodes.
    shares = [[e for e in events if int(e["anonymous_id"][7:]) % 3 == k] for k in range(3)]
    threads = [threading.Thread(target=_send, args=(servers, sk, s, acked, cut, lock)) for s in shares]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(acked) < len(events) // 3:  # mid-load
        assert time.monotonic() < deadline and all(t.is_alive() for t in threads)
        time.sleep(0.02)  # polling for the load to be under way
    victim = servers[1]
    victim.stop(signal.SIGKILL)
    victim.start()  # same --data: it replays its WAL, exactly once
    for t in threads:
        t.join()
    assert acked == {e["event_id"] for e in events}
    deadline = time.monotonic() + 60
    while not all(_caught_up(s) for s in servers):
        assert time.monotonic() < deadline, "a node's loader did not catch up"
        time.sleep(0.2)  # polling for the loaders

    rows = nodes.rows(rk)
    ids = [r["event_id"] for r in rows]
    assert set(ids) == acked, "every acknowledged event"
    twice = {i for i in ids if ids.count(i) > 1}
    if nodes.shared_store:
        assert not twice, "exactly once, a retry of an event the killed node had stored included"
    else:
        # Separate stores cannot recognise the same event_id: only an event the killed node
        # stored without answering, then retried elsewhere, may be in two nodes' stores.
        assert twice <= cut, twice - cut
        rows = list({r["event_id"]: r for r in rows}.values())

    # One node, the same events in the same per-visitor order: the same sessions and sources.
    single = Server(tmp_path / "single", env={"FOOTFALL_META": "", "FOOTFALL_STATE": ""}).start()
    try:
        with single.client(single.keys["sk_live"]) as c:
            for body in events:
                assert c.post("/v1/track", json=body).status_code == 202
        alone = single.query(single.keys["rk_live"], limit=1000)
        if nodes.shared_store:
            window = {"from": start.isoformat(), "to": (start + timedelta(days=2)).isoformat()}
            for metric in ("count", "uniques", "sessions"):
                params = {**window, "metric": metric, "group_by": "event_name"}
                with single.client(single.keys["rk_live"]) as c:
                    expected = c.get("/v1/stats", params=params).json()
                with servers[0].client(rk) as c:
                    assert c.get("/v1/stats", params=params).json() == expected, metric
    finally:
        single.stop()

    def by_event(rs: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
        return {r["event_id"]: (r["session_id"], r["source"], r["source_rule_id"]) for r in rs}

    assert by_event(rows) == by_event(alone)
    assert len({r["session_id"] for r in alone}) > 30  # the 35-minute gaps split visits

    if not nodes.shared_store:
        return  # revocation across nodes: test_nodes.py; here the cluster as deployed repeats it
    # A revoked key is refused everywhere within the cache TTL, the restarted node included.
    cli(tmp_path / "admin", "key", "revoke", sk.split("_")[2], "--meta", nodes.meta)
    deadline = time.monotonic() + CACHE_SECONDS + 2
    refused: set[int] = set()
    while len(refused) < 3 and time.monotonic() < deadline:
        for i, node in enumerate(servers):
            with node.client(sk) as c:
                if c.post("/v1/track", json={"event": "late"}).status_code == 401:
                    refused.add(i)
        time.sleep(0.2)  # polling for the revocation to reach each node
    assert refused == {0, 1, 2}
