"""Every wrapper an SDK puts around a capture body decodes to the same JSON; caps hold."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any
from urllib.parse import quote

import lzstring
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.dialects.posthog import encoding
from footfall.dialects.posthog.encoding import LZ64_MAX_CHARS, capture_payload
from footfall.errors import Invalid, PayloadTooLarge

FORM = "application/x-www-form-urlencoded"
LIMIT = 1 << 20
# lz-string (JavaScript) compresses UTF-16 code units; the Python compressor used here to make
# test bodies only handles the Basic Multilingual Plane, so the text stays within it.
text = st.text(alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)
events = st.fixed_dictionaries({"event": text.filter(bool), "properties": st.dictionaries(text, json_values, max_size=5)})


def wrapped(text: str, how: str) -> tuple[bytes, str, dict[str, str]]:
    raw = text.encode()
    b64 = base64.b64encode(raw).decode()
    if how == "gzip":
        return gzip.compress(raw), "text/plain", {}
    if how == "plain":
        return raw, "application/json", {}
    if how == "form-base64":  # sendBeacon: unescaped, so `+` arrives as a space
        return f"data={b64}".encode(), FORM, {"compression": "base64"}
    if how == "form-base64-gzip":
        return f"data={quote(base64.b64encode(gzip.compress(raw)).decode())}".encode(), FORM, {}
    if how == "form-lz64":
        return f"data={quote(lzstring.LZString().compressToBase64(text))}&compression=lz64".encode(), FORM, {}
    if how == "get-json":
        return b"", "", {"data": text}
    if how == "get-base64":
        return b"", "", {"data": b64, "compression": "base64"}
    raise ValueError(how)


HOWS = ["gzip", "plain", "form-base64", "form-base64-gzip", "form-lz64", "get-json", "get-base64"]


@pytest.mark.parametrize("how", HOWS)
@settings(max_examples=30, deadline=None)
@given(batch=st.lists(events, min_size=1, max_size=3))
def test_every_wrapper_gives_back_the_json(how: str, batch: list[dict[str, Any]]) -> None:
    text = json.dumps(batch, ensure_ascii=False)
    body, content_type, query = wrapped(text, how)
    if how == "form-lz64" and len(body) > LZ64_MAX_CHARS:
        return
    assert json.loads(capture_payload(body, content_type, query, LIMIT)) == batch


def test_caps_and_refusals() -> None:
    with pytest.raises(PayloadTooLarge):
        capture_payload(gzip.compress(b" " * (LIMIT + 1)), "text/plain", {}, LIMIT)
    with pytest.raises(PayloadTooLarge):  # base64 of gzip: the same cap
        capture_payload(b"data=" + quote(base64.b64encode(gzip.compress(b" " * (LIMIT + 1))).decode()).encode(), FORM, {}, LIMIT)
    with pytest.raises(PayloadTooLarge):
        capture_payload(b"data=" + b"A" * (LZ64_MAX_CHARS + 1), FORM, {"compression": "lz64"}, LIMIT)
    with pytest.raises(Invalid, match="no data"):
        capture_payload(b"", "", {}, LIMIT)
    with pytest.raises(Invalid, match="without a data field"):
        capture_payload(b"x=1", FORM, {}, LIMIT)
    with pytest.raises(Invalid, match="not valid lz64"):
        capture_payload(b"data=!!!!&compression=lz64", FORM, {}, LIMIT)
    surrogate_pair = lzstring.LZString().compressToBase64('[{"event": "\ud83d\ude00"}]')
    assert json.loads(capture_payload(f"data={quote(surrogate_pair)}".encode(), FORM, {"compression": "lz64"}, LIMIT)) == [{"event": "\U0001f600"}]
    with pytest.raises(Invalid, match="neither JSON nor base64"):
        capture_payload(b"data=%25%25", FORM, {}, LIMIT)


@pytest.mark.parametrize(
    ("body", "query", "legacy"),
    [
        (b"data=N4Ig&compression=lz64", {}, True),
        (b"data=N4Ig", {"compression": "lz64"}, True),
        (b"", {"data": "N4Ig", "compression": "lz64"}, True),
        (b'{"event": "a"}', {}, False),
        (b"data=eyJ9&compression=base64", {}, False),
    ],
)
def test_lz64_bodies_are_told_apart_to_decode_off_the_event_loop(body: bytes, query: dict[str, str], legacy: bool) -> None:
    """Review P4-15: the pure-Python lz-string decoder runs in a thread (`capture` asks this)."""
    assert encoding.is_lz64(body, query) is legacy
