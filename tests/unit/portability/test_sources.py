"""Other tools' rows → canonical records (pure functions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from footfall.model import Scope
from footfall.portability.sources import BadLine, decoder_for

SCOPE = Scope("prj_t", "test")


def line(doc: object) -> bytes:
    return json.dumps(doc).encode() + b"\n"


def test_rows_without_an_id_get_the_same_uid_from_the_same_content() -> None:
    decode = decoder_for("millimetric")
    row = line({"event": "a", "timestamp": "2026-01-01T00:00:00+05:30"})
    first, again = decode(row, SCOPE).events[0], decode(row, SCOPE).events[0]
    other = decode(line({"event": "b", "timestamp": "2026-01-01T00:00:00+05:30"}), SCOPE).events[0]
    assert first.uid == again.uid != other.uid and first.uid[14] == "8"  # UUID version 8
    assert first.ts == datetime(2025, 12, 31, 18, 30, tzinfo=UTC) and first.project_id == "prj_t"


@pytest.mark.parametrize(
    ("fmt", "doc", "error"),
    [
        ("millimetric", {"event": "a"}, "timestamp is required"),
        ("millimetric", {"event": "a", "timestamp": "2026-01-01T00:00:00Z", "properties": {"k": "x" * 9000}}, "8 KB"),
        ("segment", {"type": "track", "timestamp": "2026-01-01T00:00:00Z"}, "without event"),
        ("segment", {"type": "alias", "userId": "u", "timestamp": "2026-01-01T00:00:00Z"}, "previousId"),
        ("segment", {"type": "track", "event": "e", "timestamp": "soon"}, "ISO 8601"),
        ("posthog", {"event": "e", "timestamp": "2026-01-01T00:00:00Z"}, "distinct_id"),
        ("footfall", {"uid": "x"}, "missing required field"),
    ],
)
def test_bad_rows_say_why(fmt: str, doc: object, error: str) -> None:
    with pytest.raises(BadLine, match=error):
        decoder_for(fmt)(line(doc), SCOPE)  # type: ignore[arg-type]


def test_segment_page_and_identify() -> None:
    decode = decoder_for("segment")
    page = decode(line({
        "type": "page", "messageId": "m", "anonymousId": "a", "timestamp": "2026-01-01T00:00:00Z",
        "context": {"ip": "1.2.3.4", "userAgent": "UA", "page": {"url": "https://x/p", "referrer": "https://r/"}},
        "properties": {"title": "T"},
    }), SCOPE).events[0]  # fmt: skip
    assert (page.name, page.event_id, page.url, page.referrer, page.ip, page.user_agent) == ("$pageview", "m", "https://x/p", "https://r/", "1.2.3.4", "UA")
    assert json.loads(page.properties) == {"title": "T"}
    ident = decode(line({"type": "identify", "anonymousId": "a", "userId": "u", "traits": {"plan": "pro"}, "timestamp": "2026-01-01T00:00:00Z"}), SCOPE)
    assert [e.name for e in ident.events] == ["$identify"]
    assert [(link.anonymous_id, link.user_id) for link in ident.links] == [("a", "u")]
    assert ident.profiles[0].attributes == {"plan": "pro"} and ident.profiles[0].kind == "person"


def test_posthog_anonymous_until_identified() -> None:
    decode = decoder_for("posthog")
    anon = decode(line({"event": "$pageview", "distinct_id": "d1", "uuid": "u1", "timestamp": "2026-01-01T00:00:00Z",
                        "properties": {"$device_id": "d1", "$current_url": "https://x/a", "token": "phc_secret", "k": 1}}), SCOPE)  # fmt: skip
    e = anon.events[0]
    assert (e.anonymous_id, e.user_id, e.event_id, e.url) == ("d1", None, "u1", "https://x/a")
    assert json.loads(e.properties) == {"k": 1}  # mapped keys and the project token are not kept
    ident = decode(line({"event": "$identify", "distinct_id": "user", "timestamp": "2026-01-01T00:00:00Z",
                         "properties": {"$device_id": "d1", "$anon_distinct_id": "d1", "$set": {"email": "e"}}}), SCOPE)  # fmt: skip
    assert [(link.anonymous_id, link.user_id) for link in ident.links] == [("d1", "user")]
    assert ident.events[0].user_id == "user" and ident.profiles[0].attributes == {"email": "e"}


def test_footfall_profile_row_rebuilds_created_and_updated_times() -> None:
    row = {"project_id": "other", "env": "live", "kind": "person", "subject_id": "u", "attributes": '{"a":1}',
           "context": "{}", "custom_data": "{}", "enrichment": "{}",
           "created_at": "2026-01-01T00:00:00.000000Z", "updated_at": "2026-02-01T00:00:00.000000Z"}  # fmt: skip
    first, touch = decoder_for("footfall", "profiles")(line(row), SCOPE).profiles
    assert first.attributes == {"a": 1} and first.replace and first.ts.month == 1
    assert touch.attributes is None and touch.ts.month == 2 and touch.project_id == "prj_t"
