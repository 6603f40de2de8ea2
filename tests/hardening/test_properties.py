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
