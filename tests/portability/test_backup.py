"""`footfall backup` of a running server's data directory, `footfall restore`, then a server on
the copy answering the same reads."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from tests.portability.conftest import new_project
from tests.support.server import Server, cli

RANGE = {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}


def send(srv: Server, key: str, n: int, tag: str) -> list[str]:
    events = [
        {"event": "$pageview" if i % 3 else "signup", "event_id": f"{tag}-{i}", "anonymous_id": f"{tag}-v{i % 7}",
         "timestamp": f"2026-01-{1 + i % 20:02d}T{i % 24:02d}:00:00Z", "url": "https://s.example/?utm_source=x&utm_medium=cpc"}
        for i in range(n)
    ]  # fmt: skip
    with srv.client(key) as c:
        assert c.post("/v1/batch", json={"events": events}).status_code == 202
    return [e["event_id"] for e in events]


def reads(srv: Server, key: str) -> dict[str, Any]:
    asks = {
        "query": ("/v1/query", {"limit": 1000}),
        "stats": ("/v1/stats", {"interval": "day", "group_by": "source"}),
        "uniques": ("/v1/stats", {"metric": "sessions"}),
        "sessions": ("/v1/sessions", {"limit": 1000}),
        "funnel": ("/v1/funnel", {"steps": "$pageview,signup"}),
        "sources": ("/v1/sources", {}),
    }
    with srv.client(key) as c:
        return {name: c.get(path, params={**RANGE, **p}).json() for name, (path, p) in asks.items()}


def event_ids(srv: Server, key: str) -> list[str]:
    with srv.client(key) as c:
        body = c.get("/v1/export").content
    return [json.loads(line)["event_id"] for line in body.split(b"\n") if line]


def test_backup_while_writing_then_restore(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data").start()
    keys = new_project(srv, "backup")
    before = send(srv, keys["sk_live"], 300, "before")
    # Read once: acknowledged means visible to the next read, so the store holds them now
    # (the loader may otherwise still be folding them when the backup starts: seq 0).
    assert len(event_ids(srv, keys["rk_live"])) == 300
    acked: list[str] = []
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            acked.extend(send(srv, keys["sk_live"], 50, f"during{n}"))
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        out = cli(srv.data, "backup", "--out", str(tmp_path / "b1"), "--json")
    finally:
        stop.set()
        writer.join()
    manifest = json.loads(out.stdout)
    assert manifest["online"] and manifest["store_seq"] > 0
    assert not (srv.data / "snapshots").exists() or not any((srv.data / "snapshots").iterdir())
    # Quiet now: a second online backup must answer every read like the server itself.
    cli(srv.data, "backup", "--out", str(tmp_path / "b2"))
    original = reads(srv, keys["rk_live"])
    srv.stop()

    cli(tmp_path / "r1", "restore", str(tmp_path / "b1"))
    cli(tmp_path / "r2", "restore", str(tmp_path / "b2"))
    r1 = Server(tmp_path / "r1").start()
    try:
        ids = event_ids(r1, keys["rk_live"])
        assert len(ids) == len(set(ids)) and set(before) <= set(ids) <= set(before) | set(acked)
        with r1.client(keys["rk_live"]) as c:
            count = c.get("/v1/stats", params=RANGE).json()["rows"][0]["value"]
            sessions = c.get("/v1/sessions", params={**RANGE, "limit": 1000}).json()["rows"]
        assert count == len(ids) == sum(s["events"] for s in sessions)  # rollup, sessions, events agree
    finally:
        r1.stop()
    r2 = Server(tmp_path / "r2").start()
    try:
        assert reads(r2, keys["rk_live"]) == original
    finally:
        r2.stop()


def test_offline_backup_and_refusals(tmp_path: Path) -> None:
    data = tmp_path / "data"
    keys = json.loads(cli(data, "project", "create", "x", "--json").stdout)
    src = tmp_path / "e.ndjson"
    src.write_text(json.dumps({"event": "a", "anonymous_id": "v", "timestamp": "2026-01-02T00:00:00Z"}) + "\n")
    cli(data, "import", str(src), "--format", "millimetric", "--project", keys["project_id"])
    assert json.loads(cli(data, "backup", "--out", str(tmp_path / "b"), "--json").stdout)["online"] is False
    again = cli(data, "backup", "--out", str(tmp_path / "b"), check=False)
    assert again.returncode == 1 and "not empty" in again.stderr
    taken = cli(tmp_path / "elsewhere", "restore", str(tmp_path / "b"))
    assert taken.returncode == 0
    assert cli(tmp_path / "elsewhere", "restore", str(tmp_path / "b"), check=False).returncode == 1
    damaged = tmp_path / "b" / "meta.sqlite"
    damaged.write_bytes(damaged.read_bytes() + b"x")
    out = cli(tmp_path / "fresh", "restore", str(tmp_path / "b"), check=False)
    assert out.returncode == 1 and "damaged" in out.stderr
    srv = Server(tmp_path / "elsewhere").start()
    try:
        assert [r["event_name"] for r in srv.query(keys["keys"]["rk_live"])] == ["a"]
    finally:
        srv.stop()


