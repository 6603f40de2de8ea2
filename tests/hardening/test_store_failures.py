"""A full disk answers 503, never 500, loses nothing acknowledged, and the server recovers."""

from __future__ import annotations

from pathlib import Path

import httpx

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
                events = [{"event": "fill", "event_id": e, "anonymous_id": f"disk{b}", "properties": {"pad": "x" * 200}} for e in ids]
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
