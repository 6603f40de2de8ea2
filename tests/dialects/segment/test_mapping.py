"""Segment messages → canonical structs, without a server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from footfall.dialects.segment import schema
from footfall.dialects.segment.mapping import Canonical, add_message, merged
from footfall.errors import Invalid
from footfall.model import Env, KeyKind, Principal

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SK = Principal(project_id="prj", env=Env.LIVE, kind=KeyKind.SECRET, prefix="x")


def mapped(kind: str, body: dict[str, object]) -> Canonical:
    out = Canonical()
    add_message(out, schema.MESSAGE.decode(json.dumps(body)), kind, SK, NOW)
    return out


def test_the_batch_context_and_sent_at_apply_to_items_that_lack_them() -> None:
    batch = schema.BATCH.decode(json.dumps({
        "sentAt": "2026-05-01T12:00:05Z",
        "context": {"page": {"url": "https://a.example/"}, "ip": "81.2.69.160", "library": {"name": "x"}},
        "batch": [
            {"type": "track", "event": "a", "anonymousId": "v"},
            {"type": "track", "event": "b", "anonymousId": "v", "sentAt": "2026-05-01T12:00:01Z",
             "context": {"page": {"url": "https://b.example/"}, "userAgent": "ua"}},
        ],
    }))
    assert batch.batch is not None
    first, second = (merged(m, batch) for m in batch.batch)
    assert first.context is batch.context  # shared, not copied
    assert second.context is not None and second.context.page is not None
    assert (second.context.page.url, second.context.ip, second.context.user_agent) == ("https://b.example/", "81.2.69.160", "ua")
    assert (first.sent_at, second.sent_at) == (batch.sent_at, datetime(2026, 5, 1, 12, 0, 1, tzinfo=UTC))


def test_numeric_ids_become_strings_and_message_id_is_the_event_id() -> None:
    (event,) = mapped("track", {"event": "e", "userId": 42, "anonymousId": 7, "messageId": "m-1"}).events
    assert (event.user_id, event.anonymous_id, event.event_id, event.dialect) == ("42", "7", "m-1", "segment")


def test_original_timestamp_is_corrected_with_sent_at() -> None:
    sent = NOW + timedelta(hours=2)
    (event,) = mapped("track", {"event": "e", "anonymousId": "a", "originalTimestamp": (sent - timedelta(seconds=30)).isoformat(),
                                "sentAt": sent.isoformat()}).events
    assert event.ts == NOW - timedelta(seconds=30)


def test_page_url_properties_move_to_their_columns() -> None:
    (event,) = mapped("page", {"anonymousId": "a", "name": "Home", "properties": {
        "url": "https://a.example/p?q=1", "path": "/p", "referrer": "https://r.example/", "title": "T"}}).events
    assert (event.name, event.url, event.path, event.referrer) == ("$pageview", "https://a.example/p?q=1", "/p", "https://r.example/")
    assert json.loads(event.properties) == {"title": "T", "name": "Home"}


def test_non_string_urls_are_ignored_and_long_ones_cut() -> None:
    (event,) = mapped("track", {"event": "e", "anonymousId": "a", "context": {"page": {"url": 5, "referrer": "https://r/" + "x" * 5000}}}).events
    assert event.url is None and event.referrer is not None and len(event.referrer) == 2048


def test_identify_links_and_profiles_the_person_or_the_visitor() -> None:
    out = mapped("identify", {"anonymousId": "a", "userId": "u", "traits": {"plan": "pro"}})
    assert [(link.anonymous_id, link.user_id) for link in out.links] == [("a", "u")]
    assert [(p.kind, p.subject_id, p.attributes) for p in out.profiles] == [("person", "u", {"plan": "pro"})]
    out = mapped("identify", {"anonymousId": "a", "traits": {"plan": "free"}})
    assert out.links == [] and [(p.kind, p.subject_id) for p in out.profiles] == [("visitor", "a")]
    assert [e.name for e in out.events] == ["$identify"]


def test_alias_links_and_stores_no_event() -> None:
    out = mapped("alias", {"previousId": "old", "userId": "u"})
    assert out.events == [] and [(link.anonymous_id, link.user_id) for link in out.links] == [("old", "u")]
    assert mapped("alias", {"previousId": "u", "userId": "u"}).links == []  # an id is trivially itself


def test_group_properties() -> None:
    (event,) = mapped("group", {"userId": "u", "groupId": 9, "traits": {"seats": 3}}).events
    assert json.loads(event.properties) == {"$group_type": "group", "$group_key": "9", "$group_set": {"seats": 3}}


def test_the_stated_visitor_is_passed_through_for_the_core_to_judge() -> None:
    """Whether a caller may state the visitor is the core's rule (pipeline
    `maybe_put_stated_visitor`: `sk_` only); the dialect only maps its wire fields."""
    body = {"event": "e", "anonymousId": "a", "context": {"ip": "81.2.69.160", "userAgent": "ua"}}
    (event,) = mapped("track", body).events
    assert (event.ip, event.user_agent) == ("81.2.69.160", "ua")


@pytest.mark.parametrize(("kind", "body", "message"), [
    ("track", {"anonymousId": "a"}, "track needs event"),
    ("page", {}, "userId or anonymousId is required"),
    ("group", {"userId": "u"}, "group needs groupId"),
    ("alias", {"previousId": "p"}, "alias needs previousId and userId"),
    ("track", {"event": "e", "anonymousId": "a", "context": {"ip": "10.0.0.300"}}, "context.ip is not an IP address"),
])
def test_what_each_type_requires(kind: str, body: dict[str, object], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        mapped(kind, body)


def test_a_context_page_that_is_no_object_is_refused_at_decode() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"context\.page"):
        schema.MESSAGE.decode(b'{"context": {"page": "https://a/"}}')
