"""Segment ingestion against a real server: idempotency, clock skew, gzip, limits, the visitor a
server speaks for, rate limits, CORS and the settings the browser SDK loads."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.dialects.segment.helpers import CHROME, ORIGIN, SUCCESS, basic, post, rows, uid
from tests.support.server import Server, cli

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def test_a_replayed_message_id_is_stored_once(server: Server) -> None:
    anon, sk = uid("anon"), server.keys["sk_live"]
    message = {"type": "track", "event": "sc_retry", "anonymousId": anon, "messageId": uid("msg")}
    for _ in range(2):
        assert post(server, "/segment/v1/track", message, sk).json() == SUCCESS
        assert post(server, "/segment/v1/batch", {"batch": [message]}, sk).json() == SUCCESS
    assert len(rows(server, anonymous_id=anon)) == 1


def test_client_clock_skew_is_corrected_with_sent_at(server: Server) -> None:
    anon, sk = uid("anon"), server.keys["sk_live"]
    ahead = datetime.now(UTC) + timedelta(hours=3)  # the device's clock is 3 h fast
    batch = {"batch": [{"type": "track", "event": "sc_skew", "anonymousId": anon,
                        "timestamp": _iso(ahead - timedelta(minutes=10))}], "sentAt": _iso(ahead)}
    before = datetime.now(UTC)
    assert post(server, "/segment/v1/batch", batch, sk).json() == SUCCESS
    after = datetime.now(UTC)
    (row,) = rows(server, anonymous_id=anon)
    stored = datetime.fromisoformat(row["timestamp"])
    assert before - timedelta(minutes=10, seconds=2) <= stored <= after - timedelta(minutes=9, seconds=58)


def test_a_future_timestamp_without_sent_at_is_clamped(server: Server) -> None:
    anon = uid("anon")
    future = datetime.now(UTC) + timedelta(days=30)
    body = {"event": "sc_future", "anonymousId": anon, "timestamp": _iso(future)}
    assert post(server, "/segment/v1/track", body, server.keys["sk_live"]).json() == SUCCESS
    (row,) = rows(server, anonymous_id=anon)
    assert datetime.fromisoformat(row["timestamp"]) <= datetime.now(UTC)


@pytest.mark.parametrize("path", ["/segment/v1/batch", "/v1/batch"])
def test_gzip_bodies(server: Server, path: str) -> None:
    anon = uid("anon")
    body = gzip.compress(json.dumps({"batch": [{"type": "track", "event": "sc_gz", "anonymousId": anon}]}).encode())
    r = post(server, path, body, server.keys["sk_live"], **{"content-encoding": "gzip"})
    assert (r.status_code, r.json()) == (200, SUCCESS)
    assert len(rows(server, anonymous_id=anon)) == 1
    r = post(server, path, b"\x1f\x8bnot gzip", server.keys["sk_live"], **{"content-encoding": "gzip"})
    assert (r.status_code, r.json()["code"]) == (400, "invalid_payload")


def test_size_limits(server: Server) -> None:
    sk, anon = server.keys["sk_live"], uid("anon")
    big = {"event": "sc_big", "anonymousId": anon, "properties": {"blob": "x" * 33_000}}
    r = post(server, "/segment/v1/track", big, sk)
    assert (r.status_code, r.json()["code"]) == (413, "payload_too_large")
    r = post(server, "/segment/v1/batch", {"batch": [{"type": "track", **big}]}, sk)
    assert (r.status_code, r.json()) == (413, {"code": "payload_too_large", "message": "batch[0] is larger than 32 KB"})
    # Up to 4 MB per batch (rudder-sdk-python sends that much): 150 items of ~25 KB.
    item = {"type": "track", "event": "sc_big_batch", "anonymousId": anon, "properties": {"blob": "y" * 25_000}}
    body = json.dumps({"batch": [item] * 150}).encode()
    assert 3_500_000 < len(body) < 4 * 1024 * 1024
    assert post(server, "/segment/v1/batch", body, sk).json() == SUCCESS
    assert len(rows(server, anonymous_id=anon)) == 150
    r = post(server, "/segment/v1/batch", json.dumps({"batch": [item] * 170}).encode(), sk)
    assert (r.status_code, r.json()["code"]) == (413, "payload_too_large")


def test_a_server_states_the_visitor_a_browser_cannot(server: Server) -> None:
    sk_anon, pk_anon = uid("anon"), uid("anon")
    context = {"ip": "81.2.69.160", "userAgent": IPHONE}
    body = {"batch": [{"type": "track", "event": "sc_visitor", "anonymousId": sk_anon, "context": context}]}
    assert post(server, "/segment/v1/batch", body, server.keys["sk_live"]).json() == SUCCESS
    body = {"event": "sc_visitor", "anonymousId": pk_anon, "context": context}
    assert post(server, "/segment/v1/t", body, server.keys["pk_live"], origin=ORIGIN).json() == SUCCESS
    (from_server,) = rows(server, anonymous_id=sk_anon)
    (from_browser,) = rows(server, anonymous_id=pk_anon)
    assert (from_server["device_type"], from_server["country"]) == ("mobile", "GB")
    assert (from_browser["device_type"], from_browser["country"]) == ("desktop", None)


def test_identify_and_alias_stitch_anonymous_visits_to_the_user(server: Server) -> None:
    sk, anon, old, user = server.keys["sk_live"], uid("anon"), uid("old"), uid("user")
    batch = {"batch": [
        {"type": "page", "anonymousId": anon, "properties": {"url": "https://shop.example/?utm_source=news&utm_medium=email"}},
        {"type": "page", "anonymousId": old, "properties": {"url": "https://shop.example/a"}},
        {"type": "identify", "anonymousId": anon, "userId": user, "traits": {"plan": "pro"}},
        {"type": "alias", "previousId": old, "userId": user},
    ]}
    assert post(server, "/segment/v1/batch", batch, sk).json() == SUCCESS
    with server.client(server.keys["rk_live"]) as c:
        r = c.get("/v1/sessions", params={"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "user_id": user})
    assert r.status_code == 200, r.text
    assert {s["anonymous_id"] for s in r.json()["rows"]} == {anon, old}


def test_rate_limits_answer_429_in_segment_format(tmp_path: Path) -> None:
    data = tmp_path / "data"
    project = json.loads(cli(data, "project", "create", "p", "--json").stdout)
    cli(data, "project", "limit", project["project_id"], "--route", "batch", "--rate", "0.1", "--burst", "2")
    srv = Server(data, env={"FOOTFALL_RATE_LIMITS": "on"}).start()
    try:
        key = project["keys"]["sk_live"]
        body = {"batch": [{"type": "track", "event": "x", "anonymousId": "a"}]}
        codes = [post(srv, "/segment/v1/batch", body, key).status_code for _ in range(2)]
        assert codes == [200, 200]
        r = post(srv, "/segment/v1/batch", body, key)
        assert r.status_code == 429
        assert r.json() == {"code": "rate_limited", "message": "too many requests, slow down"}
        assert int(r.headers["retry-after"]) >= 1
        # the body's writeKey takes from the same bucket
        r = post(srv, "/v1/batch", {**body, "writeKey": key})
        assert (r.status_code, r.json()["code"]) == (429, "rate_limited")
    finally:
        srv.stop()


def test_cors_for_the_browser_sdk(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        pre = c.options("/segment/v1/t", headers={
            "origin": ORIGIN, "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type,x-retry-count"})
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == ORIGIN
        assert "X-Retry-Count" in pre.headers["access-control-allow-headers"]
        # Millimetric's preflight is exactly as it was
        mm = c.options("/v1/track", headers={"origin": ORIGIN, "access-control-request-method": "POST"})
        assert mm.headers["access-control-allow-headers"] == "Authorization, Content-Type, Content-Encoding"
    r = post(server, "/segment/v1/t", {"event": "sc_cors", "anonymousId": uid()}, server.keys["pk_live"], origin=ORIGIN)
    assert r.json() == SUCCESS
    assert r.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize("prefix", ["/segment", ""])
def test_settings_send_the_browser_sdk_here(server: Server, prefix: str) -> None:
    pk = server.keys["pk_live"]
    with httpx.Client(base_url=server.url, timeout=30) as c:
        r = c.get(f"{prefix}/v1/projects/{pk}/settings", headers={"origin": ORIGIN, "user-agent": CHROME})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ORIGIN
    body = r.json()
    host = server.url.removeprefix("http://")
    assert body["integrations"]["Segment.io"] == {"apiKey": pk, "apiHost": f"{host}/segment/v1", "protocol": "http"}
    assert body["metrics"]["sampleRate"] == 0


def test_write_key_in_basic_without_the_colon(server: Server) -> None:
    import base64

    anon = uid("anon")
    token = base64.b64encode(server.keys["sk_live"].encode()).decode()
    r = post(server, "/segment/v1/track", {"event": "sc_nocolon", "anonymousId": anon}, authorization=f"Basic {token}")
    assert r.json() == SUCCESS
    assert basic("k") == {"Authorization": "Basic azo="}
    assert len(rows(server, anonymous_id=anon)) == 1
