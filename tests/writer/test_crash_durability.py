"""A 2xx means durable: kill -9 and SIGTERM under concurrent load lose no acknowledged event."""

from __future__ import annotations

import signal
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server

CLIENTS = 12
PER_CLIENT_MAX = 900  # /v1/query returns at most 1000 rows per visitor


class Load:
    """Concurrent clients sending events with unique ids; remembers every acknowledged id."""

    def __init__(self, server: Server, key: str) -> None:
        self.server = server
        self.key = key
        self.run_id = uuid.uuid4().hex[:8]
        self.acked: dict[str, set[str]] = {}
        self.lock = threading.Lock()
        self.enough = threading.Event()
        self.stop = threading.Event()
        self.target = 0
        self.threads = [threading.Thread(target=self._client, args=(i,)) for i in range(CLIENTS)]

    def _client(self, n: int) -> None:
        anon = f"crash_{self.run_id}_{n}"
        mine: set[str] = set()
        with self.lock:
            self.acked[anon] = mine
        i = 0
        with httpx.Client(base_url=self.server.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=10) as c:
            while not self.stop.is_set() and i < PER_CLIENT_MAX:
                batch = n % 3 == 0  # some clients send batches of 5
                ids = [f"{anon}-{i + k}" for k in range(5 if batch else 1)]
                i += len(ids)
                try:
                    if batch:
                        r = c.post("/v1/batch", json={"events": [{"event": "load", "event_id": e, "anonymous_id": anon} for e in ids]})
                    else:
                        r = c.post("/v1/track", json={"event": "load", "event_id": ids[0], "anonymous_id": anon})
                except httpx.TransportError:
                    return  # the server died: whatever was not answered was not acknowledged
                if r.status_code == 202:
                    with self.lock:
                        mine.update(ids)
                        if sum(len(v) for v in self.acked.values()) >= self.target:
                            self.enough.set()
                elif r.status_code != 503:
                    raise AssertionError(f"unexpected {r.status_code}: {r.text}")

    def run_until(self, acked: int) -> None:
        self.target = acked
        for t in self.threads:
            t.start()
        assert self.enough.wait(timeout=120), "load never reached its target"

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def total(self) -> int:
        return sum(len(v) for v in self.acked.values())


def assert_all_present(server: Server, load: Load) -> None:
    for anon, ids in load.acked.items():
        stored = [r["event_id"] for r in server.query(server.keys["sk_live"], anonymous_id=anon)]
        assert len(stored) == len(set(stored)), "an event was stored twice"
        missing = ids - set(stored)
        assert not missing, f"{len(missing)} acknowledged events lost for {anon}"


def crash_rounds(data: Path, rounds: int) -> None:
    server = Server(data).start()
    keys = server.keys
    for _ in range(rounds):
        load = Load(server, keys["sk_live"])
        load.run_until(acked=600)
        server.kill()  # SIGKILL while clients are mid-request
        load.join()
        assert load.total() >= 600
        server = Server(data)
        server.keys = keys
        server.start()
        assert_all_present(server, load)
    assert server.stop() == 0


def test_kill_9_under_load_loses_no_acknowledged_event(fresh_data: Path) -> None:
    crash_rounds(fresh_data, rounds=2)


@pytest.mark.slow
def test_repeated_kill_9_rounds(fresh_data: Path) -> None:
    crash_rounds(fresh_data, rounds=20)


def test_sigterm_drains_and_exits_cleanly(fresh_data: Path) -> None:
    server = Server(fresh_data).start()
    keys = server.keys
    load = Load(server, keys["sk_live"])
    load.run_until(acked=500)
    code = server.stop(signal.SIGTERM)
    load.join()
    assert code == 0
    server = Server(fresh_data)
    server.keys = keys
    server.start()
    assert_all_present(server, load)
    assert server.stop() == 0


def test_kill_9_then_clients_retry_everything_stores_each_event_once(fresh_data: Path) -> None:
    """A client that timed out retries batches the server had in fact stored (or had only in
    its WAL when it died): after the restart replays the WAL, every retried id is recognised
    (the store's event-id keys survive the crash with the rows) and nothing is stored twice."""
    server = Server(fresh_data).start()
    keys = server.keys
    load = Load(server, keys["sk_live"])
    load.run_until(acked=600)
    server.kill()
    load.join()
    server = Server(fresh_data)
    server.keys = keys
    server.start()
    try:
        with server.client(keys["sk_live"]) as c:
            for anon, ids in load.acked.items():
                ordered = sorted(ids)
                for i in range(0, len(ordered), 100):
                    chunk = ordered[i : i + 100]
                    events = [{"event": "load", "event_id": e, "anonymous_id": anon} for e in chunk]
                    r = c.post("/v1/batch", json={"events": events})
                    assert r.status_code == 202, r.text
        assert_all_present(server, load)
    finally:
        assert server.stop() == 0
