"""`footfall import` of other tools' files: enrichment, sessions, rejects, idempotency, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import Server, cli

T = "2026-04-02T10:{:02d}:00Z"
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


def write(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A stopped data directory with one project."""
    d = tmp_path / "data"
    keys = json.loads(cli(d, "project", "create", "imp", "--json").stdout)
    return d, {"project_id": keys["project_id"], **keys["keys"]}


def exported(srv: Server, key: str) -> list[dict[str, Any]]:
    with srv.client(key) as c:
        body = c.get("/v1/export").content
    return [json.loads(line) for line in body.split(b"\n") if line]


def kill_9_midway(args: list[str], state: Path, n: int) -> int:
    """Run the import command `args` and kill -9 it once its progress file says it has stored
    some of its `n` rows but under half; returns the line it had recorded."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (state.exists() and 0 < next(iter(json.loads(state.read_text())["files"].values()), 0) < n // 2):
        assert proc.poll() is None and time.monotonic() < deadline, "import finished before it could be killed"
        time.sleep(0.01)  # polling the progress file for the moment to kill, not synchronising
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done: int = next(iter(json.loads(state.read_text())["files"].values()))
    return done


def run(d: Path, *args: str) -> dict[str, Any]:
    out = cli(d, "import", *args, "--json")
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def test_segment_archive_is_enriched_sessioned_and_linked(tmp_path: Path, data: tuple[Path, dict[str, Any]]) -> None:
    d, keys = data
    ctx = {"ip": "81.2.69.142", "userAgent": UA}
    src = write(tmp_path / "segment.ndjson", [
        {"type": "page", "messageId": "m1", "anonymousId": "s-a", "timestamp": T.format(0), "context": ctx,
         "properties": {"url": "https://shop.example/p?utm_source=google&utm_medium=cpc", "title": "P"}},
        {"type": "track", "messageId": "m2", "anonymousId": "s-a", "event": "Added", "timestamp": T.format(5), "context": ctx},
        {"type": "identify", "messageId": "m3", "anonymousId": "s-a", "userId": "user-1", "traits": {"plan": "pro"}, "timestamp": T.format(6), "context": ctx},
        {"type": "track", "messageId": "m4", "anonymousId": "s-a", "event": "Later", "timestamp": T.format(59), "context": ctx},
        "{not json",
        {"type": "track", "messageId": "m5", "event": "no time"},
        {"type": "teleport", "timestamp": T.format(1)},
    ])  # fmt: skip
    report = run(d, str(src), "--project", keys["project_id"], "--format", "segment")
    assert report["events"] == 4 and report["links"] == 1 and report["rejected"] == 3
    rejects = [json.loads(line) for line in (tmp_path / "segment.ndjson.rejects.ndjson").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [5, 6, 7]
    assert "timestamp is required" in rejects[1]["error"] and "teleport" in rejects[2]["error"]
    again = run(d, str(src), "--project", keys["project_id"], "--format", "segment")
    assert again["events"] == 4  # sent again, stored once (checked below)
    srv = Server(d).start()
    try:
        srv.keys = keys
        rows = sorted(srv.query(keys["rk_live"]), key=lambda r: r["timestamp"])
        assert [r["event_name"] for r in rows] == ["$pageview", "Added", "$identify", "Later"]
        assert [r["event_id"] for r in rows] == ["m1", "m2", "m3", "m4"]
        assert rows[0]["source"] == "google" and rows[0]["medium"] == "paid"
        assert rows[1]["source"] == "google"  # inherited from its session, as live
        assert {r["device_type"] for r in rows} == {"mobile"}
        assert rows[0]["session_id"] == rows[2]["session_id"] != rows[3]["session_id"]
        with srv.client(keys["rk_live"]) as c:
            sessions = c.get("/v1/sessions", params={"from": "2026-04-01T00:00:00Z", "to": "2026-04-03T00:00:00Z"}).json()["rows"]
            people = c.get("/v1/stats", params={"from": "2026-04-01T00:00:00Z", "to": "2026-04-03T00:00:00Z", "metric": "users"}).json()["rows"]
            counted = c.get("/v1/stats", params={"from": "2026-04-01T00:00:00Z", "to": "2026-04-03T00:00:00Z", "interval": "day"}).json()["rows"]
        assert sorted(s["events"] for s in sessions) == [1, 3]
        assert people[0]["value"] == 1  # the anonymous visitor is the identified user
        assert [r["value"] for r in counted] == [4]
        assert all(row["ip"] is None for row in exported(srv, keys["rk_live"]))  # raw IPs not kept
    finally:
        srv.stop()


def test_posthog_and_millimetric_exports(tmp_path: Path, data: tuple[Path, dict[str, Any]]) -> None:
    d, keys = data
    posthog = write(tmp_path / "posthog.ndjson", [
        {"uuid": "p1", "event": "$pageview", "distinct_id": "ph-anon", "timestamp": T.format(1),
         "properties": {"$current_url": "https://x.example/a", "$device_id": "ph-anon", "$raw_user_agent": UA, "color": "red"}},
        {"uuid": "p2", "event": "$identify", "distinct_id": "ph-user", "timestamp": T.format(2),
         "properties": {"$anon_distinct_id": "ph-anon", "$device_id": "ph-anon", "$set": {"email": "a@b.c"}}},
        {"uuid": "p3", "event": "no id"},
    ])  # fmt: skip
    mm = write(tmp_path / "mm.ndjson", [
        {"event": "signup", "anonymous_id": "m-a", "timestamp": T.format(3), "properties": {"k": "v"}},
        {"event": "big", "timestamp": T.format(3), "properties": {"k": "x" * 9000}},
    ])  # fmt: skip
    assert run(d, str(posthog), "--project", keys["project_id"], "--format", "posthog")["rejected"] == 1
    report = run(d, str(mm), "--project", keys["project_id"], "--format", "millimetric")
    assert report["events"] == 1 and report["rejected"] == 1
    assert run(d, str(mm), "--project", keys["project_id"], "--format", "millimetric")["events"] == 1
    srv = Server(d).start()
    try:
        rows = {r["event_id"] or r["event_name"]: r for r in srv.query(keys["rk_live"])}
        assert set(rows) == {"p1", "p2", "signup"}  # the millimetric line stored once
        assert json.loads(rows["p1"]["properties"]) == {"color": "red"} and rows["p1"]["path"] == "/a"
        assert rows["p2"]["user_id"] == "ph-user"
        with srv.client(keys["rk_live"]) as c:
            users = c.get("/v1/stats", params={"from": "2026-04-01T00:00:00Z", "to": "2026-04-03T00:00:00Z", "metric": "users", "event": "$pageview"}).json()["rows"]
        assert users[0]["value"] == 1  # the anonymous pageview belongs to the identified person
    finally:
        srv.stop()


def test_offline_commands_refuse_a_directory_a_server_holds(tmp_path: Path, data: tuple[Path, dict[str, Any]]) -> None:
    d, keys = data
    src = write(tmp_path / "x.ndjson", [{"event": "a", "timestamp": T.format(1)}])
    srv = Server(d).start()
    try:
        for args in (["import", str(src), "--format", "millimetric"], ["export", "--out", str(tmp_path / "o")]):
            out = cli(d, *args, "--project", keys["project_id"], check=False)
            assert out.returncode == 1 and "in use by a running server" in out.stderr
        out = cli(d, "import", str(src), "--project", "prj_nope", "--server", srv.url, check=False)
        assert out.returncode == 1 and "--server needs --key" in out.stderr
        # Through the server's API instead: a 2xx there means durable.
        env = {**os.environ, "FOOTFALL_KEY": keys["sk_live"]}
        subprocess.run([sys.executable, "-m", "footfall", "import", str(src), "--format", "millimetric", "--server", srv.url],
                       check=True, env=env, capture_output=True, timeout=60)  # fmt: skip
        assert [r["event_name"] for r in srv.query(keys["rk_live"])] == ["a"]
        out = cli(d, "export", "--server", srv.url, "--key", keys["pk_live"], "--out", str(tmp_path / "o"), check=False)
        assert out.returncode == 1 and "403" in out.stderr and "insufficient_scope" in out.stderr
        out = cli(d, "import", str(src), "--format", "millimetric", "--server", srv.url, "--key", keys["rk_live"], check=False)
        assert out.returncode == 1 and "import_requires_secret_key" in out.stderr
    finally:
        srv.stop()
    out = cli(d, "import", str(src), "--format", "millimetric", "--project", "prj_nope", check=False)
    assert out.returncode == 1 and "does not exist" in out.stderr


@pytest.mark.slow
def test_kill_9_during_import_then_resume_stores_every_row_once(tmp_path: Path, data: tuple[Path, dict[str, Any]]) -> None:
    d, keys = data
    n = 40_000
    src = write(tmp_path / "big.ndjson", [
        {"event": "e", "anonymous_id": f"v{i % 500}", "timestamp": f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z", "properties": {"i": i}}
        for i in range(n)
    ])  # fmt: skip
    state = tmp_path / "big.ndjson.import-state.json"
    args = [sys.executable, "-m", "footfall", "import", str(src), "--format", "millimetric",
            "--project", keys["project_id"], "--data", str(d)]  # fmt: skip
    done = kill_9_midway(args, state, n)
    report = run(d, str(src), "--format", "millimetric", "--project", keys["project_id"], "--resume")
    assert report["skipped"] == done and report["rows"] == n - done
    srv = Server(d).start()
    try:
        with srv.client(keys["rk_live"]) as c:
            stats = c.get("/v1/stats", params={"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "group_by": "event_name"}).json()
        assert stats["rows"][0]["value"] == n
        seen = [json.loads(row["properties"])["i"] for row in exported(srv, keys["rk_live"])]
        assert sorted(seen) == list(range(n))  # no loss, no duplicates
    finally:
        srv.stop()
