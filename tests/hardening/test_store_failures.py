"""A full disk answers 503, never 500, loses nothing acknowledged, and the server recovers."""

from __future__ import annotations

from pathlib import Path

import httpx

from footfall.store.duckdb.store import DuckDBStore
from tests.support.server import Server


def test_full_disk_answers_503_and_keeps_every_acknowledged_event(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = Server(data, env={"FOOTFALL_READ_TIMEOUT": "2"}, max_file_bytes=3 * 1024 * 1024).start()
    keys = srv.keys
    acked: list[str] = []
    statuses: set[int] = set()
    try:
        with srv.client(keys["sk_live"]) as c:
            for b in range(400):  # bounded: ~6 MB of events against a 3 MB file limit
                ids = [f"full-{b}-{i}" for i in range(50)]
                events = [
                    {
                        "event": "fill",
                        "event_id": e,
                        "anonymous_id": f"disk{b}",
                        "properties": {"pad": "x" * 200},
                    }
                    for e in ids
                ]
                r = c.post("/v1/batch", json={"events": events})
                statuses.add(r.status_code)
                if r.status_code == 202:
                    acked.extend(ids)
                else:
                    assert r.status_code == 503, r.text
                    assert r.headers["retry-after"]
                    assert r.json()["error"] in ("store_unavailable", "overloaded")
                    break
            assert 503 in statuses, "the file limit was never reached"
            health = httpx.get(srv.url + "/healthz")
            assert health.status_code in (200, 503)
    finally:
        srv.stop()
    assert acked
    srv = Server(data)  # the disk has room again
    srv.keys = keys
    srv.start()
    try:
        stored: set[str] = set()
        for b in {int(e.split("-")[1]) for e in acked}:
            stored |= {r["event_id"] for r in srv.query(keys["sk_live"], anonymous_id=f"disk{b}")}
        assert set(acked) <= stored
        with srv.client(keys["sk_live"]) as c:  # and it takes writes again
            assert c.post("/v1/track", json={"event": "after"}).status_code == 202
    finally:
        srv.stop()


def test_a_read_over_the_memory_limit_answers_503_not_500(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = Server(data).start()
    keys = srv.keys
    srv.stop()
    # Enough events that a sessions read cannot fit in 4 MB, written while the server is down.
    store = DuckDBStore(data / "events.duckdb")
    store.read("SELECT 1")  # the store file and its schema exist after the first start
    store._con.execute(
        """INSERT INTO sessions (project_id, env, session_id, anonymous_id, start_ts, end_ts,
                                 events, pageviews, entry_path, exit_path, is_bot)
           SELECT $p, 'live', 's' || i, 'a' || (i % 5000), TIMESTAMP '2026-04-01' + to_seconds(i),
                  TIMESTAMP '2026-04-01' + to_seconds(i + 60), 3, 2, '/p' || i, '/q' || i, false
           FROM range(200000) r(i)""",
        {"p": keys["project_id"]},
    )
    store.close()
    srv = Server(data, env={"FOOTFALL_STORE_MEMORY": "4MB"})
    srv.keys = keys
    srv.start()
    try:
        span = {"from": "2026-03-01T00:00:00Z", "to": "2026-06-01T00:00:00Z", "limit": "1000"}
        with srv.client(keys["rk_live"]) as c:
            r = c.get("/v1/sessions", params=span)
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "query_out_of_memory"
            assert int(r.headers["retry-after"]) >= 1
        with srv.client(keys["sk_live"]) as c:  # writes are still taken (durable in the WAL)
            assert (
                c.post("/v1/track", json={"event": "after", "anonymous_id": "m1"}).status_code
                == 202
            )
        assert httpx.get(srv.url + "/healthz").status_code in (200, 503)
    finally:
        srv.stop()
    srv = Server(data)  # with room to work, the accepted event is there
    srv.keys = keys
    srv.start()
    try:
        assert [e["event_name"] for e in srv.query(keys["rk_live"], anonymous_id="m1")] == ["after"]
    finally:
        srv.stop()
