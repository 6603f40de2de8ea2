"""`footfall import --data` of Footfall's own export: whole chunks of rows per store
transaction (no per-row decode/encode), with the same answers, rejects, idempotency and
resume as the row-by-row path."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from footfall.model import Scope
from footfall.portability.exporter import HttpSource, export_tables
from tests.portability.conftest import new_project
from tests.portability.test_import_cli import exported, kill_9_midway, run, write
from tests.portability.test_roundtrip import reads
from tests.support.server import Server, cli

START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=3)
URLS = ["https://shop.example/?utm_source=news&utm_medium=email", "https://shop.example/p", "https://shop.example/l?gclid=x"]


def _events() -> list[dict[str, Any]]:
    out = []
    for i in range(120):
        event: dict[str, Any] = {
            "event": ["$pageview", "signup", "purchase"][i % 3], "anonymous_id": f"v{i % 9}",
            "timestamp": (START + timedelta(minutes=17 * i)).isoformat(), "url": URLS[i % 3],
            "referrer": "https://www.google.com/" if i % 4 == 0 else None, "properties": {"i": i, "s": "é\u2028<"},
        }  # fmt: skip
        if i % 5 == 0:
            event["user_id"] = f"u{i % 9}"  # an implied identity link
        if i % 2 == 0:
            event["event_id"] = f"e{i}"
        out.append({k: v for k, v in event.items() if v is not None})
    return out


def _tables(srv: Server, key: str) -> list[list[dict[str, Any]]]:
    with srv.client(key) as c:
        return [[{**json.loads(line), "project_id": "-", "env": "-"} for line in c.get("/v1/export", params={"what": w}).content.split(b"\n") if line]
                for w in ("events", "links", "profiles")]  # fmt: skip


def test_offline_import_of_an_export_answers_every_read_the_same(tmp_path: Path) -> None:
    d = tmp_path / "data"
    srv = Server(d).start()
    try:
        src = new_project(srv, "src")
        with srv.client(src["sk_live"]) as c:
            assert c.post("/v1/batch", json={"events": _events()}).status_code == 202
            assert c.post("/v1/identify", json={"anonymous_id": "v1", "user_id": "u1", "traits": {"plan": "pro"}}).status_code == 200
        for fmt in ("ndjson", "parquet"):
            source = HttpSource(srv.url, src["rk_live"])
            try:
                export_tables(source, Scope(src["project_id"], "live"), ["events", "links", "profiles"], fmt, tmp_path / fmt)  # type: ignore[arg-type]
            finally:
                source.close()
    finally:
        srv.stop()
    lines = (tmp_path / "ndjson" / "events.ndjson").read_bytes().splitlines(keepends=True)
    assert len(lines) == 121
    dst = {fmt: json.loads(cli(d, "project", "create", fmt, "--json").stdout) for fmt in ("ndjson", "parquet", "bad")}
    for fmt in ("ndjson", "parquet"):
        # Chunks of 7 rows: many store transactions, sessions and visitors spanning them.
        report = run(d, str(tmp_path / fmt), "--project", dst[fmt]["project_id"], "--batch-rows", "7")
        assert (report["events"], report["links"], report["rejected"]) == (121, 9, 0), report
        again = run(d, str(tmp_path / fmt), "--project", dst[fmt]["project_id"])
        assert again["rejected"] == 0  # stored once: compared below
    # Bad rows inside chunks: each rejected with its line, the rest stored.
    bad = [
        (3, b'{"uid": "x", "name": \n'),
        (10, b'{"uid":"y1","name":"a","ts":"2026-03-01T00:00:00Z","received_at":"2026-03-01T00:00:00Z"}{"uid":"y2"}\n'),
        (20, json.dumps({**json.loads(lines[5]), "uid": None}).encode() + b"\n"),
        (30, json.dumps({**json.loads(lines[6]), "uid": "long", "name": "n" * 300}).encode() + b"\n"),
        (40, json.dumps({**json.loads(lines[7]), "uid": "old", "ts": "1960-01-01T00:00:00Z"}).encode() + b"\n"),
    ]
    mixed = [json.dumps({**json.loads(lines[0]), "ip": "81.2.69.142"}).encode() + b"\n", *lines[1:]]  # not kept
    for line, text in bad:
        mixed.insert(line - 1, text)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "events.ndjson").write_bytes(b"".join(mixed))
    report = run(d, str(tmp_path / "bad" / "events.ndjson"), "--project", dst["bad"]["project_id"], "--batch-rows", "16")
    assert report["rejected"] == 5 and report["rows"] == 126, report
    rejects = [json.loads(r) for r in (tmp_path / "bad" / "events.ndjson.rejects.ndjson").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [line for line, _ in bad]
    assert "missing required field `uid`" in rejects[2]["error"] and "dropped as invalid" in rejects[3]["error"]

    srv = Server(d).start()
    try:
        names = ["$pageview", "purchase"]
        live, live_tables = reads(srv, src["rk_live"], START, END, names), _tables(srv, src["rk_live"])
        assert live["query"][0] == 200 and len(live["query"][1]["rows"]) == 120  # and $identify, now
        for fmt in ("ndjson", "parquet"):
            assert reads(srv, dst[fmt]["keys"]["rk_live"], START, END, names) == live, fmt
            assert _tables(srv, dst[fmt]["keys"]["rk_live"]) == live_tables, fmt
        stored = exported(srv, dst["bad"]["keys"]["rk_live"])
        assert len(stored) == 121 and all(r["project_id"] == dst["bad"]["project_id"] and r["ip"] is None for r in stored)
    finally:
        srv.stop()


@pytest.mark.slow
def test_kill_9_during_a_bulk_import_then_resume_stores_every_row_once(tmp_path: Path) -> None:
    d = tmp_path / "data"
    keys = json.loads(cli(d, "project", "create", "imp", "--json").stdout)
    n = 40_000
    src = exported_events(tmp_path / "events.ndjson", n)
    state = tmp_path / "events.ndjson.import-state.json"
    args = [sys.executable, "-m", "footfall", "import", str(src), "--project", keys["project_id"],
            "--data", str(d), "--batch-rows", "500"]  # fmt: skip
    done = kill_9_midway(args, state, n)
    report = run(d, str(src), "--project", keys["project_id"], "--resume")
    assert report["skipped"] == done and report["rows"] == n - done
    srv = Server(d).start()
    try:
        assert_stored_once(srv, keys["keys"]["rk_live"], n)
    finally:
        srv.stop()


def exported_events(path: Path, n: int) -> Path:
    """`n` rows of an events export (of another project): 500 visitors, 8 sessions each."""
    return write(path, [
        {"project_id": "prj_elsewhere", "env": "live", "uid": f"u{i}", "name": "e", "anonymous_id": f"v{i % 500}",
         "session_id": f"v{i % 500}-{i // 5000}", "ts": f"2026-01-{1 + i // 1500:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
         "received_at": "2026-02-01T00:00:00Z", "properties": json.dumps({"i": i})}
        for i in range(n)
    ])  # fmt: skip


def assert_stored_once(srv: Server, key: str, n: int) -> None:
    """Every row of `exported_events(…, n)` is stored once, sessions included."""
    with srv.client(key) as c:
        stats = c.get("/v1/stats", params={"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}).json()
        sessions = c.get("/v1/stats", params={"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "metric": "sessions"}).json()
    assert stats["rows"][0]["value"] == n and sessions["rows"][0]["value"] == 500 * 8
    seen = [json.loads(row["properties"])["i"] for row in exported(srv, key)]
    assert sorted(seen) == list(range(n))  # no loss, no duplicates
