"""Property tests: decoders and the classifier take any input without an unexpected exception."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.attribution.channels import CHANNELS
from footfall.attribution.rules import RULE_IDS, classify
from footfall.dialects.millimetric import schema
from footfall.dialects.millimetric.errors import invalid_from_msgspec
from footfall.errors import Invalid

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "event": st.text(max_size=200) | st.integers(),
        "event_id": st.text(max_size=200),
        "timestamp": st.text(max_size=40) | st.datetimes().map(lambda d: d.isoformat()),
        "anonymous_id": st.text(max_size=200),
        "user_id": st.text(max_size=300),
        "url": st.text(max_size=100),
        "properties": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(json_values, event_like, st.binary(max_size=200)))
def test_millimetric_decoders_only_raise_validation_errors(body: Any) -> None:
    raw = body if isinstance(body, bytes) else msgspec.json.encode(body)
    for kind in (schema.TrackBody, schema.BatchBody, schema.IdentifyBody, schema.ForgetBody):
        try:
            schema.decode(raw, kind)
        except (msgspec.DecodeError, UnicodeDecodeError) as err:
            if isinstance(err, msgspec.DecodeError):
                invalid = invalid_from_msgspec(err)
                assert isinstance(invalid, Invalid) and invalid.status == 400
                assert invalid.details["errors"]


@settings(max_examples=500, deadline=None)
@given(
    url=st.none() | st.text(max_size=120) | st.builds(lambda q: "https://shop.example/?" + q, st.text(max_size=80)),
    referrer=st.none() | st.text(max_size=120) | st.sampled_from(["https://l.facebook.com/", "android-app://com.google.android.gm/", "https://chatgpt.com/", "https://t.co/x"]),
)
def test_classifier_answers_every_input(url: str | None, referrer: str | None) -> None:
    a = classify(url, referrer)
    assert a.rule_id in RULE_IDS
    assert a.confidence in ("high", "medium", "low")
    assert a.channel in CHANNELS
    assert a.source and a.medium
    assert a.source == a.source.lower()


POST_ROUTES = [
    ("/v1/track", "millimetric"), ("/v1/batch", "millimetric"), ("/v1/identify", "millimetric"),
    ("/v1/forget", "millimetric"),
    ("/init", "atrack"), ("/attributes", "atrack"), ("/event", "atrack"),
    ("/session/show", "atrack"), ("/event/show", "atrack"),
    ("/api/v1/track", "sankofa"), ("/api/v1/people", "sankofa"), ("/api/v1/alias", "sankofa"),
    ("/api/v1/batch", "sankofa"),
    ("/api/event", "plausible"),
]


def test_every_decoder_over_http_answers_arbitrary_json_in_its_envelope(server: Any) -> None:
    import httpx

    key = server.keys["sk_live"]
    headers = {"Authorization": f"Bearer {key}", "x-a-track-key": key, "x-api-key": key, "content-type": "application/json"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:

        @settings(max_examples=400, deadline=None, database=None)
        @given(
            route=st.sampled_from(POST_ROUTES),
            body=st.one_of(json_values, event_like, st.binary(max_size=100)),
        )
        def check(route: tuple[str, str], body: Any) -> None:
            path, dialect = route
            raw = body if isinstance(body, bytes) else msgspec.json.encode(body)
            r = client.post(path, content=raw)
            assert r.status_code < 500, (path, r.status_code, r.text[:200])
            if dialect == "plausible":  # 202 `ok` as text, errors as `{"errors": {...}}`
                assert r.text == "ok" if r.status_code == 202 else isinstance(r.json()["errors"], dict)
                return
            payload = r.json()
            if r.status_code >= 400:
                if dialect == "millimetric":
                    assert isinstance(payload["error"], str)
                elif dialect == "atrack":
                    assert payload["success"] is False and payload["message"]
                else:
                    assert payload.get("ok") is False or "error" in payload

        check()
