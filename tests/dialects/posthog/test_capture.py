"""The PostHog capture routes beyond the replayed cases: every path, CORS, people, caps, limits."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import msgspec
import pytest

from footfall.dialects.posthog import routes
from footfall.dialects.posthog.errors import render
from footfall.errors import Overloaded
from tests.dialects.posthog.helpers import CHROME, ORIGIN, STATUS_1, rows, send, uid
from tests.support.server import Server, cli


def test_every_capture_path_takes_post_get_and_preflight(server: Server) -> None:
    key, pk, name = server.keys["sk_live"], server.keys["pk_live"], uid("ph_paths")
    paths = [f"{pre}{c}{s}" for pre in ("", "/posthog") for c in routes.CAPTURE_PATHS for s in ("", "/")]
    assert len(paths) == 24
    with httpx.Client(base_url=server.url, timeout=30) as c:
        for path in paths:
            event = {"event": name, "distinct_id": uid(), "token": key}
            assert (c.post(path, json=event).status_code, c.post(path, json=event).json()) == (200, STATUS_1), path
            pixel = {**event, "token": pk}  # GET ?data= (the SDK's fallback) carries a browser key
            assert c.get(path, params={"data": json.dumps(pixel)}, headers={"origin": ORIGIN}).json() == STATUS_1, path
            pre = c.options(path, headers={"origin": "https://any.example", "access-control-request-method": "POST",
                                           "access-control-request-headers": "content-type, x-custom"})
            assert pre.status_code == 200, path
            assert pre.headers["access-control-allow-origin"] == "https://any.example"
            # The key travels in the body: no cookie is needed, so none may ride along (P2-8).
            assert "access-control-allow-credentials" not in pre.headers
            assert pre.headers["access-control-allow-headers"] == "content-type, x-custom"
            assert "POST" in pre.headers["access-control-allow-methods"]
    assert len(rows(server, event=name)) == 3 * len(paths)


def test_errors_carry_cors_so_the_browser_sdk_can_read_them(server: Server) -> None:
    r = send(server, "/e/", {"event": "x", "distinct_id": "a"}, origin=ORIGIN)
    assert r.status_code == 401 and r.json()["type"] == "authentication_error"
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-credentials" not in r.headers


def test_identify_stitches_alias_links_and_person_properties_apply_in_log_order(fresh_data: Path) -> None:
    srv = Server(fresh_data).start()
    key, pk = srv.keys["sk_live"], srv.keys["pk_live"]
    anon, person, alias = uid("anon"), uid("person"), uid("alias")
    try:
        browser = {"origin": ORIGIN}
        ev = lambda name, did, **props: {"event": name, "distinct_id": did, "properties": {"token": pk, **props}}  # noqa: E731
        assert send(srv, "/e/", ev("$pageview", anon, **{"$device_id": anon, "$is_identified": False}), **browser).json() == STATUS_1
        assert rows(srv, user_id=person) == []
        ident = ev("$identify", person, **{"$anon_distinct_id": anon, "$device_id": anon, "$is_identified": True})
        ident |= {"$set": {"plan": "free", "email": "a@example.com"}, "$set_once": {"first_seen": "may"}}
        assert send(srv, "/e/", ident, **browser).json() == STATUS_1
        # later updates, in order: set_once never overwrites, set does, unset removes
        batch = {"api_key": key, "batch": [
            {"event": "$set", "distinct_id": person, "properties": {"$set": {"plan": "pro"}, "$set_once": {"first_seen": "june", "source": "ads"}}},
            {"event": "upgraded", "distinct_id": person, "$unset": ["email"]},
            {"event": "$create_alias", "distinct_id": person, "properties": {"alias": alias}},
        ]}
        assert send(srv, "/batch/", batch, "gzip").json() == STATUS_1
        assert send(srv, "/e/", {"event": "from_alias", "distinct_id": alias, "token": key}).json() == STATUS_1
        got = rows(srv, user_id=person)
        assert sorted(r["event_name"] for r in got) == sorted(["$pageview", "$identify", "$set", "upgraded", "$create_alias", "from_alias"])
        assert got[0]["anonymous_id"] == anon and got[0]["user_id"] is None
    finally:
        srv.stop()
    with duckdb.connect(str(fresh_data / "events.duckdb"), read_only=True) as con:
        (attrs,) = con.execute("SELECT attributes FROM profiles WHERE kind = 'person' AND subject_id = ?", [person]).fetchone()
    assert msgspec.json.decode(attrs) == {"plan": "pro", "first_seen": "may", "source": "ads"}


def test_ip_and_user_agent_believed_only_from_server_keys_and_geoip_disable(server: Server) -> None:
    name, sk, pk = uid("ph_geo"), server.keys["sk_live"], server.keys["pk_live"]
    props = {"$ip": "81.2.69.160", "$raw_user_agent": CHROME}
    send(server, "/e/", {"event": name, "distinct_id": "srv", "token": sk, "timestamp": "2026-01-01T00:00:01Z", "properties": props},
         **{"user-agent": "python-requests/2.32"})
    send(server, "/e/", {"event": name, "distinct_id": "web", "token": pk, "timestamp": "2026-01-01T00:00:02Z", "properties": props}, origin=ORIGIN)
    send(server, "/e/", {"event": name, "distinct_id": "nogeo", "token": sk, "timestamp": "2026-01-01T00:00:03Z",
                         "properties": {**props, "$geoip_disable": True}})
    got = rows(server, event=name)
    assert [(r["country"], r["device_type"]) for r in got] == [("GB", "desktop"), (None, "desktop"), (None, "desktop")]
    assert all("$ip" not in json.loads(r["properties"]) for r in got)


def test_a_batch_of_many_callers_is_stored_whole_or_not_at_all(tmp_path: Path) -> None:
    """Review P1-4: a backend's batch for several visitors (each with its `$ip`) is one commit.
    With room for one pending record, the batch is taken whole (an empty queue takes any
    request); split into one ingest per visitor, the first part was stored and the second
    refused with 503, so the SDK's retry duplicated the first."""
    srv = Server(tmp_path / "data", env={"FOOTFALL_MAX_PENDING": "1"}).start()
    try:
        name = uid("ph_whole")
        batch = [
            {"event": name, "distinct_id": f"v{i}", "timestamp": f"2026-01-01T00:00:0{i}Z",
             "properties": {"$ip": ip, "$geoip_disable": i == 2}}
            for i, ip in enumerate(["81.2.69.160", "81.2.69.160", "8.8.8.8", "2.125.160.216"])
        ]
        r = send(srv, "/batch/", {"api_key": srv.keys["sk_live"], "batch": batch})
        got = rows(srv, event=name)
    finally:
        srv.stop()
    assert r.status_code == 200, r.text
    assert [(row["anonymous_id"], row["country"]) for row in got] == [("v0", "GB"), ("v1", "GB"), ("v2", None), ("v3", "GB")]


def test_timestamp_is_corrected_for_the_clients_clock(server: Server) -> None:
    name, key = uid("ph_skew"), server.keys["sk_live"]
    ahead = datetime.now(UTC) + timedelta(hours=3)  # the client's clock is 3 hours fast
    event = {"event": name, "distinct_id": "u", "timestamp": (ahead - timedelta(minutes=10)).isoformat()}
    assert send(server, "/batch/", {"api_key": key, "sent_at": ahead.isoformat(), "batch": [event]}).json() == STATUS_1
    (row,) = rows(server, event=name)
    stored = datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00"))
    assert abs(stored - (datetime.now(UTC) - timedelta(minutes=10))) < timedelta(minutes=1)


def test_decompression_is_capped_and_bad_encodings_are_400(server: Server) -> None:
    bomb = gzip.compress(b"[" + b" " * (routes.MAX_BYTES + 10) + b"]")
    with httpx.Client(base_url=server.url, timeout=30) as c:
        r = c.post("/e/", content=bomb, headers={"content-type": "text/plain"})
        assert (r.status_code, r.json()["type"], r.json()["code"]) == (413, "validation_error", "payload_too_large")
        r = c.post("/e/", content=gzip.compress(b'{"event": "x"}')[:-6])
        assert (r.status_code, r.json()["detail"]) == (400, "gzip body is truncated")
        r = c.post("/e/?compression=lz64", content="data=" + "A" * 20_000, headers={"content-type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413
        r = c.post("/e/", content="data=%%%not-base64", headers={"content-type": "application/x-www-form-urlencoded"})
        assert (r.status_code, r.json()["detail"]) == (400, "data is neither JSON nor base64")
        r = c.post("/e/", content=b'{"event": "x"}', headers={"content-encoding": "br"})
        assert r.status_code == 400


def test_rate_limit_answers_429_with_retry_after_in_posthogs_shape(tmp_path: Path) -> None:
    data = tmp_path / "data"
    project = json.loads(cli(data, "project", "create", "p", "--json").stdout)
    cli(data, "project", "limit", project["project_id"], "--route", "track", "--rate", "0.1", "--burst", "2")
    srv = Server(data, env={"FOOTFALL_RATE_LIMITS": "on"}).start()
    try:
        event = {"event": "x", "distinct_id": "u", "token": project["keys"]["sk_live"]}
        codes = [send(srv, "/e/", event).status_code for _ in range(2)]
        r = send(srv, "/e/", event)
    finally:
        srv.stop()
    assert codes == [200, 200]
    assert (r.status_code, r.json()["type"], r.json()["code"]) == (429, "server_error", "rate_limited")
    assert int(r.headers["retry-after"]) >= 1


@pytest.mark.parametrize("retry_after", [0.2, 3.5])
def test_overload_renders_503_with_retry_after(retry_after: float) -> None:
    r = render(Overloaded("overloaded", "write queue full", retry_after=retry_after))
    assert r.status_code == 503 and r.headers["retry-after"] == str(max(1, round(retry_after + 0.49)))
    assert json.loads(bytes(r.body)) == {"type": "server_error", "code": "overloaded", "detail": "write queue full", "attr": None}


def test_test_keys_write_test_data_and_forget_removes_a_posthog_person(server: Server) -> None:
    name, anon, person = uid("ph_env"), uid("anon"), uid("person")
    send(server, "/e/", {"event": name, "distinct_id": "t", "token": server.keys["sk_test"]})
    assert rows(server, event=name) == []
    assert len(server.query(server.keys["rk_test"], event=name)) == 1
    key = server.keys["sk_live"]
    send(server, "/batch/", {"api_key": key, "batch": [
        {"event": name, "distinct_id": anon, "properties": {"$process_person_profile": False}},
        {"event": "$identify", "distinct_id": person, "properties": {"$anon_distinct_id": anon}, "$set": {"email": "x@example.com"}},
    ]})
    assert len(rows(server, user_id=person)) == 2
    with server.client(key) as c:
        assert c.post("/v1/forget", json={"user_id": person}).status_code == 200
    assert rows(server, user_id=person) == [] and rows(server, anonymous_id=anon) == []


def test_openapi_lists_every_posthog_route(server: Server) -> None:
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    capture = [f"{pre}{c}{s}" for pre in routes.PREFIXES for c in routes.CAPTURE_PATHS for s in ("", "/")]
    flags = [f"{pre}{c}{s}" for pre in routes.PREFIXES for c in routes.FLAG_PATHS for s in ("", "/")]
    for path in capture + flags:
        assert {"get", "post"} <= paths[path].keys(), path
    assert paths["/e/"]["post"]["responses"]["401"]
    for pre in routes.PREFIXES:
        assert paths[f"{pre}/array/{{token}}/config"]["get"]["parameters"][0]["in"] == "path"
