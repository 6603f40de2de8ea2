"""The bare `/v1/track`, `/v1/identify`, `/v1/batch`: Segment and Millimetric told apart by the
spec's rule, and Millimetric's answers exactly as they were."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.dialects.segment.helpers import SUCCESS, post, rows, uid
from tests.support.server import Server

SHARED = ["/v1/track", "/v1/identify", "/v1/batch"]


def _segment_body(path: str, anon: str) -> dict[str, object]:
    message = {"event": "sc_shared", "anonymousId": anon, "userId": uid("user")}
    return {"batch": [{"type": "track", **message}]} if path == "/v1/batch" else message


def _millimetric_body(path: str, anon: str) -> dict[str, object]:
    if path == "/v1/batch":
        return {"events": [{"event": "mm_shared", "anonymous_id": anon}]}
    if path == "/v1/identify":
        return {"anonymous_id": anon, "user_id": uid("user")}
    return {"event": "mm_shared", "anonymous_id": anon}


@pytest.mark.parametrize("path", SHARED)
def test_basic_auth_is_segment(server: Server, path: str) -> None:
    anon = uid("anon")
    r = post(server, path, _segment_body(path, anon), server.keys["sk_live"])
    assert (r.status_code, r.json()) == (200, SUCCESS)
    assert [row["anonymous_id"] for row in rows(server, anonymous_id=anon)] == [anon]


@pytest.mark.parametrize("path", SHARED)
def test_no_header_and_a_segment_body_is_segment(server: Server, path: str) -> None:
    """segment-analytics-python 2.3.x: the write key only in the body."""
    anon = uid("anon")
    body = {**_segment_body(path, anon), "writeKey": server.keys["sk_live"]}
    r = post(server, path, body)
    assert (r.status_code, r.json()) == (200, SUCCESS)
    assert len(rows(server, anonymous_id=anon)) == 1


def test_camel_case_ids_alone_make_it_segment(server: Server) -> None:
    r = post(server, "/v1/track", {"event": "x", "anonymousId": "a"})
    assert (r.status_code, r.json()["code"]) == (401, "missing_write_key")


def test_gzip_without_a_header_is_looked_into(server: Server) -> None:
    anon = uid("anon")
    body = gzip.compress(json.dumps({**_segment_body("/v1/batch", anon), "writeKey": server.keys["sk_live"]}).encode())
    r = post(server, "/v1/batch", body, **{"content-encoding": "gzip"})
    assert (r.status_code, r.json()) == (200, SUCCESS)
    assert len(rows(server, anonymous_id=anon)) == 1


@pytest.mark.parametrize("path", SHARED)
def test_bearer_with_a_footfall_key_is_millimetric(server: Server, path: str) -> None:
    anon = uid("anon")
    r = post(server, path, _millimetric_body(path, anon), authorization=f"Bearer {server.keys['sk_live']}")
    assert r.status_code in (200, 202) and r.json()["ok"] is True
    assert len(rows(server, anonymous_id=anon)) == 1


def test_conflicting_signals_answer_in_the_headers_dialect(server: Server) -> None:
    # A Footfall key in Bearer chose Millimetric: a Segment body is its 400, not rerouted.
    r = post(server, "/v1/identify", {"anonymousId": "a", "userId": "u", "writeKey": server.keys["sk_live"]},
             authorization=f"Bearer {server.keys['sk_live']}")
    assert (r.status_code, r.json()["error"]) == (400, "invalid_payload")
    # Basic chose Segment: a Millimetric body is Segment's 400.
    r = post(server, "/v1/track", {"event": "x", "anonymous_id": "a"}, server.keys["sk_live"])
    assert r.status_code == 400 and r.json()["code"] == "invalid_payload"


def test_segment_oauth_is_refused_in_segment_format(server: Server) -> None:
    r = post(server, "/v1/batch", {"batch": [], "writeKey": "wk"}, authorization="Bearer eyJhbGciOiJSUzI1NiJ9.e30.x")
    assert (r.status_code, r.json()["code"]) == (401, "oauth_unsupported")


@pytest.mark.parametrize(
    ("headers", "body", "answer"),
    [
        ({}, {"event": "x"}, {"error": "missing_bearer_token", "details": {}}),
        ({"authorization": "Basic abc"}, {"event": "x"}, {"error": "missing_bearer_token", "details": {}}),
        ({"authorization": "Bearer nope"}, {"event": "x"}, {"error": "malformed_api_key", "details": {}}),
        ({}, b"{not json", {"error": "missing_bearer_token", "details": {}}),
        ({"content-length": str(64 * 1024 * 1024)}, b"", {"error": "missing_bearer_token", "details": {}}),
    ],
)
def test_millimetric_answers_are_unchanged(server: Server, headers: dict[str, str], body: object, answer: dict[str, object]) -> None:
    for path in SHARED:
        r = post(server, path, body, **headers) if "content-length" not in headers else _declared(server, path, headers)
        assert (r.status_code, r.json()) == (401, answer)


def _declared(server: Server, path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    """A body declared larger than any limit and never sent: answered before it is read."""
    import socket
    from urllib.parse import urlsplit

    import httpx

    port = urlsplit(server.url).port
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {headers['content-length']}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return httpx.Response(status, content=payload)


def test_the_beacon_key_in_the_query_is_millimetric(server: Server) -> None:
    anon = uid("anon")
    r = post(server, f"/v1/track?key={server.keys['pk_live']}", {"event": "mm_beacon", "anonymous_id": anon},
             origin="http://localhost:5173")
    assert (r.status_code, r.json()) == (202, {"ok": True, "event_id": None})
    assert len(rows(server, anonymous_id=anon)) == 1


@pytest.mark.parametrize(("path", "size"), [("/v1/track", 65 * 1024), ("/v1/identify", 65 * 1024), ("/v1/batch", 4 * 1024 * 1024 + 1)])
def test_unauthenticated_bodies_over_the_paths_largest_limit_are_not_read(server: Server, path: str, size: int) -> None:
    """Review P2-6: before any key is known, a body is read only up to the largest limit of
    the dialects serving the path (track/identify: Millimetric's 64 KB; batch: Segment's 4 MB),
    not 16 MB: one declared larger and never sent is answered at once."""
    import socket
    from urllib.parse import urlsplit

    with socket.create_connection(("127.0.0.1", urlsplit(server.url).port), timeout=10) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {size}\r\nConnection: close\r\n\r\n".encode())
        head = s.recv(65536)  # a timeout here: the server is waiting for the body
    assert head.split()[1] == b"401"
