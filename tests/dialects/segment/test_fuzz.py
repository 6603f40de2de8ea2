"""Hypothesis against a real server: any body on any Segment route (and on the shared bare paths,
with or without a key) is answered in a dialect's envelope, never with a 5xx."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.dialects.segment.helpers import basic
from tests.hardening.test_properties import json_values
from tests.support.server import Server

ids = st.text(max_size=40) | st.integers() | st.none() | st.floats(allow_nan=False)
times = st.text(max_size=30) | st.datetimes().map(lambda d: d.isoformat()) | st.integers()
contexts = st.fixed_dictionaries({}, optional={
    "ip": st.sampled_from(["81.2.69.160", "::1", "nope", ""]) | st.integers(),
    "userAgent": st.text(max_size=50) | st.integers(),
    "page": st.fixed_dictionaries({}, optional={k: st.text(max_size=60) | json_values for k in ("url", "path", "referrer")}),
    "campaign": st.dictionaries(st.sampled_from(["name", "source", "medium", "term", "content", "x"]), st.text(max_size=20) | json_values, max_size=4) | json_values,
})
message = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["track", "page", "screen", "identify", "group", "alias", "nope"]) | ids,
    "event": st.text(max_size=30) | ids, "name": st.text(max_size=20) | json_values,
    "userId": ids, "anonymousId": ids, "previousId": ids, "groupId": ids, "messageId": ids,
    "timestamp": times, "sentAt": times, "originalTimestamp": times,
    "properties": json_values, "traits": json_values, "context": contexts | json_values,
    "writeKey": st.text(max_size=10) | json_values,
})
bodies = st.one_of(
    message,
    st.fixed_dictionaries({"batch": st.lists(message, max_size=4) | json_values},
                          optional={"context": contexts, "sentAt": times, "writeKey": st.text(max_size=10)}),
    json_values,
    st.binary(max_size=60),
)
PATHS = ["/segment/v1/track", "/segment/v1/page", "/segment/v1/screen", "/segment/v1/identify",
         "/segment/v1/group", "/segment/v1/alias", "/segment/v1/batch", "/v1/t", "/v1/b",
         "/v1/track", "/v1/batch", "/v1/identify"]


def test_any_body_gets_an_envelope_never_a_5xx(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:

        @settings(max_examples=300, deadline=None, database=None)
        @given(path=st.sampled_from(PATHS), body=bodies, keyed=st.booleans())
        def check(path: str, body: Any, keyed: bool) -> None:
            raw = body if isinstance(body, bytes) else msgspec.json.encode(body)
            headers = basic(server.keys["sk_live"]) if keyed else {}
            r = client.post(path, content=raw, headers={"content-type": "text/plain", **headers})
            assert r.status_code < 500, (path, r.status_code, r.text[:200])
            payload = r.json()
            if r.status_code == 200:
                assert payload == {"success": True}
            elif r.status_code >= 400:
                segment = isinstance(payload.get("code"), str) and isinstance(payload.get("message"), str)
                millimetric = isinstance(payload.get("error"), str) and path in ("/v1/track", "/v1/batch", "/v1/identify")
                assert segment or millimetric, (path, payload)

        check()
