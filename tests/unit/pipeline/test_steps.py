"""The pipeline's steps over canonical events, without HTTP or a store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from footfall.enrichment.geoip import GeoIP
from footfall.model import Event, RequestContext
from footfall.pipeline import STEPS, Pipeline

T0 = datetime(2026, 5, 16, 10, 0, tzinfo=UTC)
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"


def event(n: int, **kw: object) -> Event:
    fields: dict[str, object] = {"project_id": "p", "env": "live", "uid": f"u{n}", "name": "x", "ts": T0 + timedelta(minutes=n), "received_at": T0}
    fields.update(kw)
    return Event(**fields)  # type: ignore[arg-type]


def pipeline() -> Pipeline:
    return Pipeline(geoip=GeoIP(), salt_for=lambda day: b"s" * 32)


def ctx(p: Pipeline, ip: str | None = "8.8.8.8", raw_ip: bool = False, server: bool = False):  # type: ignore[no-untyped-def]
    return p.context(RequestContext(ip=ip, user_agent=IPHONE, origin=None, received_at=T0), frozenset({"shop.example"}), raw_ip, server_side=server)


def test_steps_are_named_by_convention() -> None:
    assert all(name.startswith(("put_", "maybe_", "drop_")) for name, _ in STEPS)


def test_full_enrichment_of_one_event() -> None:
    p = pipeline()
    (e,) = p.run([event(0, url="https://shop.example/?utm_source=facebook&utm_medium=cpc&fbclid=abc", referrer="https://l.facebook.com/")], ctx(p))
    assert e.anonymous_id and e.anonymous_id.startswith("anon_")
    assert e.session_id == f"{e.anonymous_id}-{int(T0.timestamp()) // 1800}"
    assert (e.source, e.medium, e.source_confidence, e.source_rule_id) == ("facebook", "paid", "high", "fb_ad_redirect")
    assert e.channel == "Paid Social"
    assert (e.browser, e.os, e.device_type) == ("Mobile Safari", "iOS", "mobile")
    assert e.country == "US"
    assert e.ip_hash and len(e.ip_hash) == 32 and e.ip is None
    assert set(p.step_seconds) == {name for name, _ in STEPS}


def test_raw_ip_only_when_the_project_opted_in() -> None:
    p = pipeline()
    (e,) = p.run([event(0)], ctx(p, raw_ip=True))
    assert e.ip == "8.8.8.8"


def test_events_without_a_signal_inherit_their_sessions_attribution() -> None:
    p = pipeline()
    first, internal, signup = p.run(
        [
            event(0, anonymous_id="a", url="https://shop.example/?gclid=x"),
            event(1, anonymous_id="a", url="https://shop.example/pricing", referrer="https://shop.example/"),
            event(2, anonymous_id="a"),
        ],
        ctx(p),
    )
    assert first.source_rule_id == "gclid"
    for e in (internal, signup):
        assert (e.source, e.medium, e.channel, e.source_rule_id) == ("google", "paid", first.channel, "session_inherited")
        assert e.click_id == "x"
    # a new session (31 minutes later) starts clean
    (later,) = p.run([event(33, anonymous_id="a")], ctx(p))
    assert (later.source, later.source_rule_id) == ("direct", "direct")


def test_a_session_keeps_the_first_signal() -> None:
    p = pipeline()
    events = p.run(
        [
            event(0, anonymous_id="b"),
            event(1, anonymous_id="b", url="https://shop.example/?utm_source=newsletter&utm_medium=email"),
            event(2, anonymous_id="b", url="https://shop.example/?gclid=y"),
            event(3, anonymous_id="b"),
        ],
        ctx(p),
    )
    assert [e.source for e in events] == ["direct", "newsletter", "google", "newsletter"]


def test_http_tools_are_bots_on_browser_keys_but_not_on_secret_keys() -> None:
    p = pipeline()
    for server_side, bot in ((False, True), (True, False)):
        c = p.context(RequestContext(ip="8.8.8.8", user_agent="curl/8.5.0", origin=None, received_at=T0), frozenset(), False, server_side=server_side)
        (e,) = p.run([event(0)], c)
        assert e.is_bot is bot
        assert e.device_type == ("bot" if bot else "other")
    crawler = p.context(RequestContext(ip="8.8.8.8", user_agent="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", origin=None, received_at=T0), frozenset(), False, server_side=True)
    (e,) = p.run([event(1)], crawler)
    assert e.is_bot  # a crawler stays a crawler whatever key it holds


def test_events_unfit_for_the_store_are_dropped_and_counted() -> None:
    import msgspec

    p = pipeline()
    too_many = msgspec.json.encode({f"k{i}": i for i in range(1001)}).decode()
    kept = p.run([event(0, name=""), event(1, name="x" * 257), event(2, properties="{" + '"a":"' + "x" * 70000 + '"}'), event(3, properties=too_many), event(4)], ctx(p))
    assert [e.uid for e in kept] == ["u4"]
    assert p.drops == {"invalid": 4}


def test_a_single_event_takes_the_same_steps_and_drops_as_a_batch() -> None:
    # One event per request is the common case and has its own loop in `Pipeline.run`.
    alone, batch = pipeline(), pipeline()
    url = "https://shop.example/?utm_source=facebook&utm_medium=cpc"
    (one,) = alone.run([event(0, url=url)], ctx(alone))
    (many, _other) = batch.run([event(0, url=url), event(1)], ctx(batch))
    assert one == many
    assert set(alone.step_seconds) == {name for name, _ in STEPS}
    assert alone.run([event(2, name="")], ctx(alone)) == []
    assert alone.drops == {"invalid": 1}


def test_an_engagement_event_extends_an_open_visit_but_never_starts_one() -> None:
    from footfall.model import ENGAGEMENT_EVENT

    p = pipeline()
    (view,) = p.run([event(0, name="$pageview", anonymous_id="a1")], ctx(p))
    (engaged,) = p.run([event(20, name=ENGAGEMENT_EVENT, anonymous_id="a1")], ctx(p))
    assert engaged.session_id == view.session_id
    # 31 minutes after the visit's last event: the visit is over, nothing to extend.
    assert p.run([event(51, name=ENGAGEMENT_EVENT, anonymous_id="a1")], ctx(p)) == []
    assert p.run([event(0, name=ENGAGEMENT_EVENT, anonymous_id="never_seen")], ctx(p)) == []
    assert p.drops["no_session"] == 2
    # Any other event after the gap starts a new visit as before.
    (later,) = p.run([event(52, name="$pageview", anonymous_id="a1")], ctx(p))
    assert later.session_id != view.session_id


def test_an_engagement_event_joins_the_visit_its_own_batch_opens() -> None:
    """Review P1-1: the session check and assignment happen per event, in time order, so a
    batch holding a new visitor's page view and its engagement keeps both."""
    from footfall.model import ENGAGEMENT_EVENT

    p = pipeline()
    view, engaged = p.run([event(1, name=ENGAGEMENT_EVENT, anonymous_id="b1"), event(0, name="$pageview", anonymous_id="b1")], ctx(p))
    assert (view.name, engaged.name) == ("$pageview", ENGAGEMENT_EVENT)
    assert engaged.session_id == view.session_id
    assert not p.drops


def test_a_visitor_stated_by_the_dialect_replaces_the_requests() -> None:
    """A server batch carries many visitors: an event's own IP and User-Agent (set before the
    pipeline) drive the device, geo, hash and derived id; the raw IP is still not kept."""
    p = pipeline()
    desktop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
    stated, plain = p.run([event(0, ip="81.2.69.160", user_agent=desktop), event(1)], ctx(p, ip="8.8.8.8", server=True))
    assert (stated.device_type, stated.browser, stated.country) == ("desktop", "Chrome", "GB")
    assert (plain.device_type, plain.country) == ("mobile", "US")
    assert stated.ip is None and stated.ip_hash and stated.ip_hash != plain.ip_hash
    assert stated.anonymous_id != plain.anonymous_id
    (kept,) = p.run([event(2, ip="81.2.69.160")], ctx(p, raw_ip=True, server=True))
    assert kept.ip == "81.2.69.160"


def test_only_a_backends_word_about_the_visitor_is_believed() -> None:
    """Review P3-9: one rule in the core, whichever dialect passed the values through: an IP
    and User-Agent stated for the visitor count only from a secret key; a browser's request
    describes its own visitor."""
    p = pipeline()
    desktop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
    (browser,) = p.run([event(0, ip="81.2.69.160", user_agent=desktop)], ctx(p, ip="8.8.8.8", raw_ip=True))
    assert (browser.ip, browser.country, browser.device_type, browser.user_agent) == ("8.8.8.8", "US", "mobile", IPHONE)


def test_a_stated_ip_that_is_no_ip_address_is_ignored() -> None:
    """Review P2-7: the core validates an IP a dialect passes through (PostHog's `$ip`), so
    no text lands in the ip column or its hash; a valid one is stored in canonical form."""
    p = pipeline()
    bad, mapped = p.run([event(0, ip="'; drop table events --"), event(1, ip="::ffff:81.2.69.160")], ctx(p, raw_ip=True, server=True))
    assert (bad.ip, bad.country) == ("8.8.8.8", "US")  # the request's, as if none was stated
    assert (mapped.ip, mapped.country) == ("81.2.69.160", "GB")


def test_invalid_rows_is_drop_invalid_over_a_whole_table() -> None:
    """The bulk import checks whole columns: the same verdict as the per-event step."""
    import json

    import msgspec

    from footfall.pipeline import Drop, drop_invalid, invalid_rows
    from footfall.store.batch import EVENT_SCHEMA, ndjson_table

    many = json.dumps({f"k{i}": i for i in range(1001)})
    nested = json.dumps({"a": [{"b": i} for i in range(1200)]})  # 1,201 keys: dropped
    colons = json.dumps({"k": ":" * 2000})  # many colons, one key: kept
    events = [
        event(0), event(1, name=""), event(2, name="n" * 256), event(3, name="n" * 257),
        event(4, name="é" * 256), event(5, properties=json.dumps({"x": "y" * (64 * 1024 - 16)})),
        event(6, properties=json.dumps({"x": "y" * (64 * 1024)})), event(7, properties=many),
        event(8, properties=nested), event(9, properties=colons),
    ]  # fmt: skip
    p = pipeline()
    expected = [isinstance(drop_invalid(e, ctx(p)), Drop) for e in events]
    table = ndjson_table(b"".join(msgspec.json.encode(e) + b"\n" for e in events), EVENT_SCHEMA)
    assert invalid_rows(table).to_pylist() == expected == [False, True, False, True, False, False, True, True, True, False]
