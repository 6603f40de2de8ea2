"""`GET /v1/export` and `POST /v1/import` on a real server."""

from __future__ import annotations

import gzip
import io
import json
import uuid
from typing import Any

import httpx
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from tests.portability.conftest import new_project
from tests.support.server import Server


@pytest.fixture(scope="module")
def project(server: Server) -> dict[str, Any]:
    keys = new_project(server, "export-route")
    with server.client(keys["sk_live"]) as c:
        events = [
            {"event": "$pageview", "anonymous_id": "v1", "timestamp": f"2026-03-01T10:0{n}:00+02:00",
             "url": "https://shop.example/?utm_source=news&utm_medium=email", "properties": {"n": n, "s": 'é\u2028"<'}}
            for n in range(5)
        ]
        assert c.post("/v1/batch", json={"events": events}).status_code == 202
        assert c.post("/v1/identify", json={"anonymous_id": "v1", "user_id": "u1", "traits": {"plan": "pro"}}).status_code == 200
    with server.client(keys["sk_test"]) as c:
        assert c.post("/v1/track", json={"event": "test-only", "anonymous_id": "t1"}).status_code == 202
    return keys


def lines(r: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in r.content.split(b"\n") if line]  # NDJSON splits on newlines only (U+2028 stays raw)


def test_events_come_out_with_every_stored_field_in_time_order(server: Server, project: dict[str, Any]) -> None:
    with server.client(project["rk_live"]) as c:
        r = c.get("/v1/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    rows = lines(r)
    assert [row["name"] for row in rows] == ["$pageview"] * 5 + ["$identify"]
    first = rows[0]
    assert first["ts"] == "2026-03-01T08:00:00.000000Z"  # the +02:00 offset, in UTC
    assert first["source"] == "news" and first["medium"] == "email" and first["session_id"]
    assert json.loads(first["properties"]) == {"n": 0, "s": 'é\u2028"<'}
    assert first["ip"] is None and first["ip_hash"]  # no raw IP unless the project stores them
    assert {row["project_id"] for row in rows} == {project["project_id"]}
    assert {row["env"] for row in rows} == {"live"}


def test_filters_tables_and_environments(server: Server, project: dict[str, Any]) -> None:
    with server.client(project["rk_live"]) as c:
        ranged = lines(c.get("/v1/export", params={"from": "2026-03-01T08:01:00Z", "to": "2026-03-01T08:03:00Z"}))
        links = lines(c.get("/v1/export", params={"what": "links"}))
        profiles = lines(c.get("/v1/export", params={"what": "profiles"}))
    assert [json.loads(r["properties"])["n"] for r in ranged] == [1, 2]
    assert [(r["anonymous_id"], r["user_id"]) for r in links] == [("v1", "u1")]
    assert json.loads(profiles[0]["attributes"]) == {"plan": "pro"}
    with server.client(project["sk_test"]) as c:
        assert [r["name"] for r in lines(c.get("/v1/export"))] == ["test-only"]


def test_csv_parquet_and_gzip(server: Server, project: dict[str, Any]) -> None:
    with server.client(project["rk_live"]) as c:
        raw = c.get("/v1/export", params={"format": "csv"}, headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"
        table = pa_csv.read_csv(io.BytesIO(raw.content))  # httpx already inflated it
        assert table.num_rows == 6 and "utm_content" in table.column_names
        parquet = c.get("/v1/export", params={"format": "parquet"})
        assert pq.read_table(io.BytesIO(parquet.content)).num_rows == 6
    with httpx.stream("GET", server.url + "/v1/export", headers={"Authorization": f"Bearer {project['rk_live']}", "Accept-Encoding": "gzip"}) as r:
        body = b"".join(r.iter_raw())
    assert gzip.decompress(body).count(b"\n") == 6


@pytest.mark.parametrize(
    ("params", "key", "status", "code"),
    [
        ({"format": "xml"}, "rk_live", 400, "invalid_params"),
        ({"what": "secrets"}, "rk_live", 400, "invalid_params"),
        ({"from": "yesterday"}, "rk_live", 400, "invalid_params"),
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "rk_live", 400, "invalid_params"),
        ({}, "pk_live", 403, "insufficient_scope"),
        ({}, None, 401, "missing_bearer_token"),
    ],
)
def test_export_errors_are_millimetric_envelopes(server: Server, project: dict[str, Any], params: dict[str, str], key: str | None, status: int, code: str) -> None:
    with server.client(project[key] if key else None) as c:
        r = c.get("/v1/export", params=params)
    assert r.status_code == status and r.json()["error"] == code


def event(uid: str, **kw: Any) -> dict[str, Any]:
    return {"project_id": "prj_someone_else", "env": "live", "uid": uid, "name": "imported",
            "ts": "2026-02-01T00:00:00Z", "received_at": "2026-02-01T00:00:00Z", "anonymous_id": "imp", **kw}  # fmt: skip


def test_import_stores_into_the_keys_project_once(server: Server) -> None:
    keys = new_project(server, "import-route")
    body = {"events": [event(str(uuid.uuid4())) for _ in range(3)] + [event(str(uuid.uuid4()), name="")]}
    with server.client(keys["sk_live"]) as c:
        first = c.post("/v1/import", json=body)
        again = c.post("/v1/import", json=body)
    assert first.status_code == again.status_code == 202
    assert first.json() == {"ok": True, "events": 3, "links": 0, "profiles": 0, "dropped": [3]}
    rows = server.query(keys["rk_live"])
    assert len(rows) == 3 and {r["event_name"] for r in rows} == {"imported"}
    assert server.query(keys["rk_test"]) == []


@pytest.mark.parametrize(
    ("body", "key", "status", "code"),
    [
        ({"events": [event("x")]}, "rk_live", 403, "import_requires_secret_key"),
        ({"events": [event("x")]}, "pk_live", 403, "import_requires_secret_key"),
        ({"events": [event("")]}, "sk_live", 400, "invalid_payload"),
        ({"events": [event("x" * 200)]}, "sk_live", 400, "invalid_payload"),
        ({"events": [{"uid": "x"}]}, "sk_live", 400, "invalid_payload"),
        ({"events": "nope"}, "sk_live", 400, "invalid_payload"),
    ],
)
def test_import_errors(server: Server, project: dict[str, Any], body: Any, key: str, status: int, code: str) -> None:
    with server.client(project[key]) as c:
        r = c.post("/v1/import", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"] == code
