"""Sankofa's wire → canonical mapping as pure functions: ids, garbage check, IPs, timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from footfall.dialects.sankofa import mapping
from footfall.dialects.sankofa.schema import AliasBody, PeopleBody, TrackBody
from footfall.errors import Invalid
from footfall.model import Env, KeyKind, Principal
from tests.dialects.sankofa.helpers import EVENT_ID

NOW = datetime(2026, 5, 9, 12, 0, tzinfo=UTC)
LIVE = Principal(project_id="prj_1", env=Env.LIVE, kind=KeyKind.SECRET, prefix="abcdefgh")


@pytest.mark.parametrize(
    ("distinct_id", "garbage"),
    [
        ("a", True),  # shorter than 2 characters
        ("é", True),  # one character, two bytes: length counts characters
        ("ab", False),  # exactly 2 is fine
        ("user_123", False),
        ("gzip", True),
        ("GZip, deflate", True),  # case-insensitive
        ("x*/*y", True),
        ("*/", False),
        ("Deflate", True),
        ("IDENTITY", True),
        ("user_identity_7", True),  # a substring anywhere counts
        ("identit", False),
        ("Accept-Encoding", True),
        ("acceptance_tester", True),
        ("gzi", False),
        ("  ", False),  # two characters, as the engine counts them
    ],
)
def test_garbage_heuristic_edges(distinct_id: str, garbage: bool) -> None:
    assert mapping.is_garbage(distinct_id) is garbage


def test_event_ids_are_evt_and_a_21_char_nanoid() -> None:
    ids = {mapping.new_event_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(EVENT_ID.match(i) for i in ids)
    # Every symbol of the 64-letter alphabet shows up, so the mapping covers it all.
    assert len({c for i in ids for c in i[4:]}) == 64


@pytest.mark.parametrize(
    ("ip", "used"),
    [
        ("127.0.0.1", mapping.GEO_STANDIN_IP),
        ("::1", mapping.GEO_STANDIN_IP),
        ("10.1.2.3", mapping.GEO_STANDIN_IP),
        ("172.16.0.1", mapping.GEO_STANDIN_IP),
        ("172.31.255.255", mapping.GEO_STANDIN_IP),
        ("172.15.255.255", "172.15.255.255"),
        ("172.32.0.1", "172.32.0.1"),
        ("192.168.0.10", mapping.GEO_STANDIN_IP),
        ("::ffff:192.168.1.1", mapping.GEO_STANDIN_IP),
        ("81.2.69.160", "81.2.69.160"),
        ("2a00:1450::1", "2a00:1450::1"),
        ("not-an-ip", "not-an-ip"),
        (None, None),
    ],
)
def test_private_client_ips_are_replaced_for_geoip(ip: str | None, used: str | None) -> None:
    assert mapping.geo_ip(ip) == used


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-05-09T14:32:01.482Z", datetime(2026, 5, 9, 14, 32, 1, 482000, tzinfo=UTC)),
        ("2026-05-09T14:32:01", datetime(2026, 5, 9, 14, 32, 1, tzinfo=UTC)),  # no offset: UTC
        ("2026-05-09T16:32:01+02:00", datetime(2026, 5, 9, 14, 32, 1, tzinfo=UTC)),
        ("2026-05-09 14:32:01.123456", datetime(2026, 5, 9, 14, 32, 1, 123456, tzinfo=UTC)),
        (None, NOW),
        ("", NOW),
    ],
)
def test_timestamps(raw: str | None, expected: datetime) -> None:
    assert mapping.timestamp(raw, NOW) == expected


def test_a_timestamp_that_is_not_iso_8601_is_rejected() -> None:
    with pytest.raises(Invalid) as err:
        mapping.timestamp("yesterday", NOW)
    assert err.value.status == 400


def test_check_requires_the_ids_and_returns_them() -> None:
    assert mapping.check(TrackBody(event_name="e", distinct_id="d1")) == ("d1",)
    assert mapping.check(PeopleBody(distinct_id="d1")) == ("d1",)
    assert mapping.check(AliasBody(alias_id="a1", distinct_id="p1")) == ("a1", "p1")
    for body in (
        TrackBody(distinct_id="d1"),
        TrackBody(event_name="", distinct_id="d1"),
        TrackBody(event_name="e", distinct_id=""),
        PeopleBody(),
        AliasBody(distinct_id="p1"),
        TrackBody(event_name="e", distinct_id="d1", timestamp="nope"),
    ):
        with pytest.raises(Invalid):
            mapping.check(body)


def test_track_maps_ids_session_page_and_properties() -> None:
    body = TrackBody(
        event_name="checkout_started",
        distinct_id="user_123",
        timestamp="2026-05-09T14:32:01",
        properties={
            "cart_value": 49.99, "$session_id": "sess_abc123", "$event_id": "client-made",
            "$country": "FR", "shared": "event",
        },
        default_properties={
            "$current_url": "https://shop.example/cart?utm_source=news",
            "$referrer": "https://news.example/",
            "$pathname": "/cart",
            "$os": "ios", "$device_model": "iPhone 15", "$city": "Paris", "$timezone": "Europe/Paris",
            "$viewport_width": "390", "shared": "default",
        },
        lib_version="@sankofa/react-native@2.4.1",
    )
    event, screen = mapping.event_from_track(body, LIVE, NOW)
    assert screen is None
    assert (event.project_id, event.env, event.dialect) == ("prj_1", "live", "sankofa")
    assert (event.name, event.anonymous_id, event.user_id) == ("checkout_started", "user_123", None)
    assert event.session_id == "sess_abc123"
    assert event.ts == datetime(2026, 5, 9, 14, 32, 1, tzinfo=UTC)
    assert event.url == "https://shop.example/cart?utm_source=news"
    assert (event.referrer, event.path) == ("https://news.example/", "/cart")
    assert event.event_id is None  # no client idempotency key: the id lives in properties
    props = json.loads(event.properties)
    assert EVENT_ID.match(props.pop("$event_id"))  # server-made, the client's value replaced
    assert props == {
        "cart_value": 49.99, "shared": "event",  # the event's own keys win
        "$os": "ios", "$device_model": "iPhone 15",  # kept: the fallback to the UA parse
        "$viewport_width": "390",
        "$lib_version": "@sankofa/react-native@2.4.1",
    }  # GeoIP keys ($city, $country, $timezone) are gone: the server's geo always wins


@pytest.mark.parametrize("key", ["$screen_name", "screen_name", "$screen", "screen", "name"])
def test_screen_events_name_their_screen(key: str) -> None:
    for name in mapping.SCREEN_EVENTS:
        event, screen = mapping.event_from_track(
            TrackBody(event_name=name, distinct_id="d1", properties={key: "Checkout"}), LIVE, NOW
        )
        assert screen == "Checkout"
        assert json.loads(event.properties)[mapping.SCREEN_PROPERTY] == "Checkout"
    _event, screen = mapping.event_from_track(
        TrackBody(event_name="viewed", distinct_id="d1", properties={key: "Checkout"}), LIVE, NOW
    )
    assert screen is None


def test_numeric_session_ids_become_text() -> None:
    event, _ = mapping.event_from_track(
        TrackBody(event_name="e", distinct_id="d1", properties={"$session_id": 42}), LIVE, NOW
    )
    assert event.session_id == "42"


def test_people_and_alias() -> None:
    update = mapping.profile_from_people(
        PeopleBody(distinct_id="p1", properties={"$email": "a@example.com"}), LIVE, NOW
    )
    assert (update.kind, update.subject_id, update.attributes) == ("person", "p1", {"$email": "a@example.com"})
    assert update.replace is False  # merge
    link = mapping.link_from_alias(
        AliasBody(alias_id="anon_1", distinct_id="p1", timestamp="2026-05-01T00:00:00Z"), LIVE, NOW
    )
    assert (link.anonymous_id, link.user_id, link.env) == ("anon_1", "p1", "live")
    assert link.ts == datetime(2026, 5, 1, tzinfo=UTC)
