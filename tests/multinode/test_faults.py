"""PostgreSQL or Redis away: at start a clear error; during operation ingestion goes on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from footfall.auth.keys import CACHE_SECONDS
from tests.support.server import Server, cli, free_port
from tests.support.services import Postgres, Redis

pytestmark = pytest.mark.slow


def _serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "footfall", "serve", "--data", str(tmp_path / "data"),
         "--port", str(free_port()), *args],
        capture_output=True, text=True, timeout=60,
    )


def test_unreachable_postgres_or_redis_at_start_is_one_line_and_exit_2(
    tmp_path: Path, redis_server: Redis
) -> None:
    pg = f"postgresql://footfall:hunter2@127.0.0.1:{free_port()}/footfall"
    out = _serve(tmp_path, "--meta", pg)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith(
        "error: cannot reach the control plane at postgresql://footfall:***@127.0.0.1:"
    )
    redis = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    out = _serve(tmp_path, "--state", redis)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith(
        "error: cannot reach the shared state at redis://:***@127.0.0.1:"
    )
    assert "hunter2" not in out.stderr and "Traceback" not in out.stderr


def test_shared_state_without_a_shared_control_plane_is_warned_about(
    tmp_path: Path, redis_server: Redis
) -> None:
    node = Server(tmp_path / "data", env={"FOOTFALL_STATE": redis_server.url, "FOOTFALL_META": ""}).start()
    node.stop()
    assert "warning: --state is shared but the control plane is this node's own" in node.log.read_text()


def test_ingestion_goes_on_while_postgres_and_redis_are_away(tmp_path: Path) -> None:
    with Postgres.running() as pg, Redis.running() as redis:
        meta = pg.database()
        project = json.loads(cli(tmp_path / "admin", "project", "create", "p", "--meta", meta, "--json").stdout)
        sk, rk = project["keys"]["sk_live"], project["keys"]["rk_live"]
        node = Server(tmp_path / "node", env={
            "FOOTFALL_META": meta, "FOOTFALL_STATE": redis.url, "FOOTFALL_RATE_LIMITS": "on",
        }).start()
        try:
            with node.client(sk) as c:
                assert c.post("/v1/track", json={"event": "warm"}).status_code == 202
            assert node.query(rk, event="warm")
            pg.stop()
            redis.stop()
            cached_until = time.monotonic() + CACHE_SECONDS
            with node.client(sk) as c:
                first = c.post("/v1/track", json={"event": "during", "anonymous_id": "v1"})
                assert first.status_code == 202, first.text
                # Past the cache TTL, the node goes on with what it knew.
                while time.monotonic() < cached_until + 0.5:
                    time.sleep(0.25)  # waiting out a TTL, not synchronising
                for i in range(5):
                    r = c.post("/v1/track", json={"event": "during", "anonymous_id": f"v{i}"})
                    assert r.status_code == 202, r.text
            assert len(node.query(rk, event="during")) == 6
            health = httpx.get(node.url + "/healthz").json()
            assert health["ok"] is True and health["shared_state"] == "fallback"
            metrics = httpx.get(node.url + "/metrics").text
            assert re.search(r"^footfall_control_plane_stale_answers_total [1-9]", metrics, re.M)
            assert re.search(r"^footfall_shared_state_fallbacks_total [1-9]", metrics, re.M)
            # A key no node has seen cannot be checked: 503, retryable, in the dialect's format.
            unknown = "sk_live_abcdefgh_" + "x" * 43
            with node.client(unknown) as c:
                r = c.post("/v1/track", json={"event": "never"})
            assert r.status_code == 503 and r.json()["error"] == "control_plane_unavailable"
            assert "retry-after" in r.headers
            assert httpx.get(node.url + "/healthz").json()["control_plane"] == "unreachable"
            pg.start()  # same port, same data: the node reconnects on its next miss
            made = json.loads(cli(
                tmp_path / "admin", "key", "create", "--project", project["project_id"],
                "--kind", "sk", "--meta", meta, "--json",
            ).stdout)
            # It retries PostgreSQL at most every 5 s meanwhile: 503s until then, then 202.
            deadline = time.monotonic() + 15
            with node.client(made["key"]) as c:
                while (r := c.post("/v1/track", json={"event": "after"})).status_code == 503:
                    assert r.json()["error"] == "control_plane_unavailable"
                    assert time.monotonic() < deadline, "the node did not reconnect"
                    time.sleep(0.2)  # polling for the reconnect
                assert r.status_code == 202, r.text
            assert httpx.get(node.url + "/healthz").json()["control_plane"] == "ok"
        finally:
            node.stop()
