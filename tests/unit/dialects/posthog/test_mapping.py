"""Who an event is about, where the page and session go, what is never stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from footfall.dialects.posthog.mapping import map_events
from footfall.dialects.posthog.schema import CaptureEvent
from footfall.errors import Invalid
from footfall.model import Env, Event, KeyKind, Principal

NOW = datetime(2026, 5, 9, 12, 0, tzinfo=UTC)
BROWSER = Principal(project_id="p", env=Env.LIVE, kind=KeyKind.PUBLISHABLE, prefix="x")
SERVER = Principal(project_id="p", env=Env.LIVE, kind=KeyKind.SECRET, prefix="y")


def one(principal: Principal, **fields: object) -> tuple[tuple[object, ...], Event]:
    """(stated ip, stated user agent, located?) and the event."""
    out = map_events([CaptureEvent(**fields)], principal, NOW, None)  # type: ignore[arg-type]
    (event,) = out.events
    return (event.ip, event.user_agent, event.uid in out.unlocated), event


@pytest.mark.parametrize(("principal", "props", "ids"), [
    (BROWSER, {"$device_id": "d"}, ("a", None)),  # anonymous browser event
    (BROWSER, {"$device_id": "d", "$is_identified": True}, ("d", "a")),
    (SERVER, {}, ("a", "a")),  # a backend's events are a person's, keeping their own id
    (SERVER, {"$process_person_profile": False}, ("a", None)),
    (SERVER, {"$device_id": "d"}, ("d", "a")),
])
def test_who_the_event_is_about(principal: Principal, props: dict[str, object], ids: tuple[str, str | None]) -> None:
    _, event = one(principal, event="e", distinct_id="a", properties=props)
    assert (event.anonymous_id, event.user_id) == ids


def test_page_session_and_what_is_stripped() -> None:
    caller, event = one(SERVER, event="$pageview", distinct_id=7, properties={
        "$current_url": "https://a.example/x?utm_source=s", "$pathname": "/x", "$referrer": "$direct",
        "$session_id": "s1", "token": "sk", "$ip": "81.2.69.160", "$raw_user_agent": "UA", "keep": 1,
    })
    assert (event.url, event.path, event.referrer, event.session_id, event.anonymous_id) == (
        "https://a.example/x?utm_source=s", "/x", None, "s1", "7")
    assert json.loads(event.properties) == {"keep": 1}
    assert caller == ("81.2.69.160", "UA", False)
    caller, _ = one(BROWSER, event="e", distinct_id="a", properties={"$ip": "81.2.69.160", "$geoip_disable": True})
    # passed through: the core believes a stated visitor from sk_ callers only (review P3-9)
    assert caller == ("81.2.69.160", None, True)


def test_links_and_profile_updates() -> None:
    out = map_events([
        CaptureEvent(event="$identify", distinct_id="u", properties={"$anon_distinct_id": "a"}, set={"x": 1}),
        CaptureEvent(event="$create_alias", distinct_id="u", properties={"alias": "b", "$unset": ["y"]}),
    ], SERVER, NOW, None)
    assert [(link.anonymous_id, link.user_id) for link in out.links] == [("a", "u"), ("b", "u")]
    assert [(p.subject_id, p.attributes, p.unset) for p in out.profiles] == [("u", {"x": 1}, None), ("u", None, ["y"])]


def test_bad_events_name_their_index() -> None:
    with pytest.raises(Invalid, match=r"batch\[1\]: event is required"):
        map_events([CaptureEvent(event="e", distinct_id="a"), CaptureEvent(distinct_id="a")], SERVER, NOW, None)
    with pytest.raises(Invalid, match="uuid must be"):
        map_events([CaptureEvent(event="e", distinct_id="a", uuid="")], SERVER, NOW, None)
