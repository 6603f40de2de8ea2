"""Operations endpoints, overload answers, privacy of what reaches disk and logs."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx

from tests.support.server import Server, cli


def test_healthz(server: Server) -> None:
    r = httpx.get(server.url + "/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True and body["store"] == "ok"
    assert body["store_applied_seq"] <= body["wal_last_seq"]
    assert body["control_plane"] == "ok" and body["shared_state"] == "memory"  # one node


def test_metrics_count_requests_events_and_commits(server: Server) -> None:
    with server.client(server.keys["sk_live"]) as c:
        assert c.post("/v1/track", json={"event": "metrics_probe"}).status_code == 202
    text = httpx.get(server.url + "/metrics").text
    assert re.search(r'footfall_http_requests_total\{route="/v1/track",status="202"\} [1-9]', text)
    assert re.search(r'footfall_events_accepted_total\{dialect="millimetric"\} [1-9]', text)
    assert re.search(r"footfall_wal_commits_total [1-9]", text)
    assert "footfall_commit_queue_depth" in text
    assert "footfall_http_request_seconds_bucket" in text
    assert re.search(r'footfall_pipeline_step_seconds_total\{step="put_attribution"\}', text)


def test_openapi_covers_every_route_with_payload_schemas(server: Server) -> None:
    spec = httpx.get(server.url + "/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in ("/v1/track", "/v1/batch", "/v1/identify", "/v1/forget", "/v1/query", "/v1/stats", "/v1/sources", "/v1/funnel", "/v1/attribution", "/healthz", "/metrics", "/openapi.json"):
        assert path in spec["paths"], path
    track = spec["paths"]["/v1/track"]["post"]
    ref = track["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert schema["required"] == ["event"]
    assert schema["properties"]["event"]["maxLength"] == 128
    assert "400" in track["responses"] and "202" in track["responses"]


def test_unknown_routes_and_methods_answer_json(server: Server) -> None:
    r = httpx.get(server.url + "/v1/nope")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    r = httpx.get(server.url + "/v1/track")
    assert (r.status_code, r.json()["error"]) == (405, "method_not_allowed")


def test_overload_answers_503_with_retry_after(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", env={"FOOTFALL_MAX_LAG": "-1"}).start()
    try:
        with srv.client(srv.keys["sk_live"]) as c:
            r = c.post("/v1/track", json={"event": "x"})
        assert r.status_code == 503
        assert r.headers["retry-after"] == "1"
        assert r.json()["error"] == "overloaded"
        assert srv.query(srv.keys["sk_live"]) == []  # nothing half-written
    finally:
        assert srv.stop() == 0


def test_no_raw_ip_or_key_secret_reaches_disk_or_logs(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data").start()
    marker = uuid.uuid4().hex
    try:
        with srv.client(srv.keys["sk_live"], **{"X-Forwarded-For": "203.0.113.77"}) as c:
            for _ in range(3):
                assert c.post("/v1/track", json={"event": marker}).status_code == 202
        (row,) = srv.query(srv.keys["sk_live"], event=marker, limit=1)
        assert row["event_name"] == marker
    finally:
        srv.stop()
    # The first run prints its keys once on the terminal on purpose; structured logs never do.
    logs = "\n".join(ln for ln in srv.log.read_text().splitlines() if ln.startswith("{"))
    assert '"level"' in logs
    blobs = b"".join(p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file())
    assert marker.encode() in blobs  # the scan does see stored data
    assert b"127.0.0.1" not in blobs
    assert b"203.0.113.77" not in blobs
    secrets = [key.split("_", 3)[3] for name, key in srv.keys.items() if name != "project_id"]
    assert len(secrets) == 6 and all(len(s) == 43 for s in secrets)
    for secret in secrets:
        assert secret.encode() not in blobs
        assert secret not in logs


def test_revoked_key_is_refused_by_a_running_server(server: Server) -> None:
    import json

    out = cli(server.data, "key", "create", "--project", server.keys["project_id"], "--kind", "sk", "--env", "live", "--json")
    key = json.loads(out.stdout)
    with server.client(key["key"]) as c:
        assert c.post("/v1/track", json={"event": "x"}).status_code == 202
    cli(server.data, "key", "revoke", key["prefix"])
    # The cache holds verdicts for at most 10 s; a fresh key string is not cached yet.
    _k, _e, prefix, secret = key["key"].split("_", 3)
    with server.client(f"sk_live_{prefix}_{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}") as c:
        assert c.post("/v1/track", json={"event": "x"}).json()["error"] == "invalid_api_key"
