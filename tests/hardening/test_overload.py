"""Driven past capacity for a few seconds: only 2xx/429/503, bounded memory, recovery, no loss."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from tests.support.server import Server

CLIENTS = 150
SECONDS = 5.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def hammer(url: str, key: str) -> tuple[dict[int, int], dict[str, set[str]]]:
    statuses: dict[int, int] = {}
    acked: dict[str, set[str]] = {}
    deadline = time.monotonic() + SECONDS
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=limits, timeout=30) as client:

        async def one(n: int) -> None:
            anon = f"ovl{n}"
            mine = acked.setdefault(anon, set())
            i = 0
            while time.monotonic() < deadline and i < 900:
                ids = [f"{anon}-{i + k}" for k in range(5)]
                i += 5
                r = await client.post("/v1/batch", json={"events": [{"event": "ovl", "event_id": e, "anonymous_id": anon} for e in ids]})
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 202:
                    mine.update(ids)
                elif r.status_code in (429, 503):
                    assert r.headers.get("retry-after")

        await asyncio.gather(*(one(n) for n in range(CLIENTS)))
    return statuses, acked


def test_overload_sheds_load_and_loses_nothing(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", env={"FOOTFALL_MAX_PENDING": "200", "FOOTFALL_MAX_LAG": "2000"}).start()
    try:
        assert srv.proc is not None
        before = rss_mb(srv.proc.pid)
        statuses, acked = asyncio.run(hammer(srv.url, srv.keys["sk_live"]))
        peak = rss_mb(srv.proc.pid)
        assert set(statuses) <= {202, 429, 503}, statuses
        assert statuses.get(503, 0) > 0, f"capacity was never exceeded: {statuses}"
        assert statuses.get(202, 0) > 0
        assert peak - before < 400, f"RSS grew {before:.0f} → {peak:.0f} MB"
        with srv.client(srv.keys["sk_live"]) as c:  # recovered: accepts again at once
            assert c.post("/v1/track", json={"event": "after_overload"}).status_code == 202
        for anon, ids in acked.items():
            if ids:
                stored = {r["event_id"] for r in srv.query(srv.keys["sk_live"], anonymous_id=anon)}
                assert ids <= stored, f"{len(ids - stored)} acknowledged events lost for {anon}"
    finally:
        assert srv.stop() == 0
