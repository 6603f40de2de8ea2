"""The Plausible mapping without HTTP: any body either maps or raises Plausible's 400."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.dialects.plausible import mapping, schema
from footfall.dialects.plausible.errors import invalid_from_msgspec
from footfall.errors import Invalid
from footfall.model import Env, KeyKind, Principal

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10)
urls = st.text(max_size=40) | st.builds(lambda p, f: f"https://shop.example/{p}#{f}", st.text(max_size=20), st.text(max_size=10))
bodies = st.fixed_dictionaries(
    {},
    optional={
        "n": st.sampled_from(["pageview", "engagement", "signup"]) | st.integers() | values,
        "name": values, "u": urls | values, "url": urls, "d": st.text(max_size=30) | values,
        "domain": st.text(max_size=30), "r": values, "referrer": values,
        "p": st.dictionaries(st.text(max_size=10), values, max_size=40) | st.text(max_size=40) | values,
        "m": st.text(max_size=40), "$": st.fixed_dictionaries({}, optional={"amount": scalars, "currency": scalars}) | values,
        "revenue": values, "i": values, "h": st.sampled_from([0, 1, "1"]) | values, "sd": values, "e": values,
        "w": values, "v": values,
    },
)
PRINCIPAL = Principal("prj_x", Env.LIVE, KeyKind.PUBLISHABLE, "domain")


@settings(max_examples=200, deadline=None)
@given(body=bodies)
def test_any_body_maps_or_is_a_400_with_field_errors(body: dict[str, Any]) -> None:
    raw = msgspec.json.encode(body)
    try:
        wire = schema.decode(raw)
        site = mapping.site_event(wire)
    except msgspec.DecodeError as err:
        invalid = invalid_from_msgspec(err)
        assert invalid.status == 400 and invalid.details["errors"]
        return
    except Invalid as err:
        assert err.status == 400 and set(err.details["errors"]) <= {"event_name", "url", "domain", "props", "revenue"}
        return
    event = mapping.event_for(site, PRINCIPAL, datetime.now(UTC))
    props = msgspec.json.decode(event.properties)
    assert isinstance(props, dict)
    assert sum(not k.startswith("$") for k in props) <= mapping.MAX_PROPS
    assert all(not isinstance(v, (dict, list)) and v is not None for v in props.values())
    assert event.name and len(event.name) <= mapping.MAX_NAME_CHARS
    assert len(event.url.encode()) <= mapping.MAX_URL_BYTES and site.domains


def test_domains_are_compared_without_case_or_www() -> None:
    site = mapping.site_event(schema.decode(b'{"n":"x","u":"https://a.example/","d":" WWW.Shop.Example ,blog.example,shop.example"}'))
    assert site.domains == ("shop.example", "blog.example")
    site = mapping.site_event(schema.decode(b'{"n":"x","u":"https://www.Docs.Example:8443/p"}'))
    assert site.domains == ("docs.example",)


def test_the_short_field_wins_when_both_are_sent() -> None:
    site = mapping.site_event(schema.decode(b'{"n":"short","name":"long","u":"https://s.example/s","url":"https://s.example/l"}'))
    assert (site.name, site.url) == ("short", "https://s.example/s")
