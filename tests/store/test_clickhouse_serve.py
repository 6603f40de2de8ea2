"""`footfall serve --store clickhouse://…` end to end, over real HTTP both ways: the server
process talks to the test ClickHouse HTTP server (chDB behind it) in this process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.clickhouse import ClickHouseHTTP, new_database
from tests.support.server import Server


@pytest.fixture
def clickhouse() -> Iterator[ClickHouseHTTP]:
    http = ClickHouseHTTP().start()
    yield http
    http.stop()


def _health(srv: Server) -> httpx.Response:
    return httpx.get(srv.url + "/healthz", timeout=5)


def _until(check: object, seconds: float = 30.0) -> None:
    """Poll a server-side state change (the loader's retry), bounded."""
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_an_outage_is_reported_buffered_in_the_wal_and_caught_up(
    tmp_path: Path, clickhouse: ClickHouseHTTP
) -> None:
    url = clickhouse.url(new_database("serve"))
    srv = Server(tmp_path / "data", env={"FOOTFALL_STORE": url, "FOOTFALL_READ_TIMEOUT": "5"}).start()
    try:
        sk = srv.keys["sk_live"]
        with srv.client(sk) as c:
            assert c.post("/v1/track", json={"event": "before", "anonymous_id": "o1"}).status_code == 202
            assert [r["event_name"] for r in srv.query(sk, anonymous_id="o1")] == ["before"]
            assert _health(srv).json()["store"] == "ok"

            clickhouse.down = True
            # Still accepted: durable in the node's WAL, loaded when ClickHouse is back.
            r = c.post("/v1/batch", json={"events": [
                {"event": "during", "anonymous_id": "o1", "event_id": f"d{i}"} for i in range(3)]})
            assert r.status_code == 202, r.text
            _until(lambda: _health(srv).status_code == 503)
            health = _health(srv).json()
            assert health["store"] == "failing" and health["wal_last_seq"] > health["store_applied_seq"]
            r = c.get("/v1/query", params={"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"})
            assert r.status_code == 503 and r.headers["retry-after"]

            clickhouse.down = False
            _until(lambda: _health(srv).status_code == 200)
            rows = srv.query(sk, anonymous_id="o1")
            assert sorted(r["event_name"] for r in rows) == ["before", "during", "during", "during"]
    finally:
        srv.stop()
    # A restart reads the session tails back from ClickHouse and keeps the same data.
    srv = Server(tmp_path / "data", env={"FOOTFALL_STORE": url})
    srv.keys = {"sk_live": sk}
    srv.start()
    try:
        assert len(srv.query(sk, anonymous_id="o1")) == 4
    finally:
        srv.stop()
