"""Funnels on a real DuckDB file, against a fixed dataset with hand-computed answers."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.model import Event, IdentityLink
from footfall.read.queries import FunnelQuery, FunnelStep
from footfall.store.base import Scope
from footfall.store.duckdb.store import DuckDBStore

T0 = datetime(2026, 5, 1, tzinfo=UTC)
SCOPE = Scope("prj_f", "live")
_uid = itertools.count()

# Channels as the classifier would name them.
ORGANIC, PAID, DIRECT, SOCIAL = "Organic Search", "Paid Search", "Direct", "Organic Social"


def at(days: float, hours: float = 0, seconds: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours, seconds=seconds)


def ev(name: str, when: datetime, anon: str, **kw: Any) -> Event:
    props = kw.pop("props", {})
    fields: dict[str, Any] = {
        "project_id": SCOPE.project_id, "env": SCOPE.env, "uid": f"f{next(_uid):04d}",
        "name": name, "ts": when, "received_at": when, "anonymous_id": anon,
        "session_id": f"{anon}-{int(when.timestamp()) // 1800}", "properties": json.dumps(props),
    }  # fmt: skip
    fields.update(kw)
    return Event(**fields)


def pricing(when: datetime, anon: str, source: str, channel: str, **kw: Any) -> Event:
    return ev("$pageview", when, anon, path="/pricing", source=source, channel=channel, **kw)


def ndjson(*items: msgspec.Struct) -> bytes:
    return b"".join(msgspec.json.encode(i) + b"\n" for i in items)


# Steps: $pageview[path=/pricing] → signup → purchase[plan=pro]; first step in [day 0, day 2).
EVENTS = [
    # alice: pricing on her laptop before identifying (anon a_lap, linked to alice below), signup
    # identified, purchase from her phone (another anonymous id, same user): all 3 steps.
    pricing(at(0, 1), "a_lap", "google", ORGANIC),
    ev("signup", at(0, 2), "a_lap", user_id="alice"),
    ev("purchase", at(1), "a_phone", user_id="alice", props={"plan": "pro"}),
    # bob: pricing, signup, but buys the basic plan: steps 1-2.
    pricing(at(0, 3), "b1", "bing", ORGANIC),
    ev("signup", at(0, 4), "b1"),
    ev("purchase", at(0, 5), "b1", props={"plan": "basic"}),
    # carol: signs up 9 days after pricing: step 1 (step 2 too with a 10-day window).
    pricing(at(0, 6), "c1", "google", PAID),
    ev("signup", at(9), "c1"),
    # dave: signup before pricing (out of order), then a purchase without a later signup: step 1.
    ev("signup", at(0, 8), "d1"),
    pricing(at(0, 9), "d1", "direct", DIRECT),
    ev("purchase", at(0, 10), "d1", props={"plan": "pro"}),
    # erin: a pricing view before the range (ignored), then all steps, buying twice (counted once).
    pricing(at(-1), "e1", "facebook", "Paid Social"),
    pricing(at(1, 12), "e1", "twitter", SOCIAL),
    ev("signup", at(1, 13), "e1"),
    ev("purchase", at(1, 14), "e1", props={"plan": "pro"}),
    ev("purchase", at(1, 15), "e1", props={"plan": "pro"}),
    # frank: a bot doing everything: counted only with include_bots.
    pricing(at(0, 1), "bot1", "google", ORGANIC, is_bot=True),
    ev("signup", at(0, 2), "bot1", is_bot=True),
    ev("purchase", at(0, 3), "bot1", is_bot=True, props={"plan": "pro"}),
    # gina: views another page, then signs up: not in the funnel.
    ev("$pageview", at(0, 1), "g1", path="/about", source="google", channel=ORGANIC),
    ev("signup", at(0, 2), "g1"),
    # hank: pricing exactly at the range's end (exclusive): not in the funnel.
    pricing(at(2), "h1", "google", ORGANIC),
    ev("signup", at(2, 1), "h1"),
    # ivan: signup exactly 7 days after pricing (the window is inclusive), purchase 1 s too late.
    pricing(at(1, 20), "i1", "google", ORGANIC),
    ev("signup", at(8, 20), "i1"),
    ev("purchase", at(8, 20, 1), "i1", props={"plan": "pro"}),
    # another project's events never count.
    pricing(at(0, 1), "x1", "google", ORGANIC, project_id="prj_other"),
]
LINKS = [IdentityLink(project_id="prj_f", env="live", anonymous_id="a_lap", user_id="alice", ts=at(0, 2))]
STEPS = (
    FunnelStep("$pageview", (("path", "/pricing"),)),
    FunnelStep("signup"),
    FunnelStep("purchase", (("plan", "pro"),)),
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    s = DuckDBStore(tmp_path_factory.mktemp("funnels") / "e.duckdb")
    s.migrate()
    s.append(ndjson(*EVENTS), ndjson(*LINKS), 1)
    return s


def run(store: DuckDBStore, steps: tuple[FunnelStep, ...] = STEPS, **kw: Any) -> dict[str, Any]:
    return store.funnel(FunnelQuery(scope=SCOPE, start=at(0), end=at(2), steps=steps, **kw))


def counts(answer: dict[str, Any]) -> list[int]:
    return [s["people"] for s in answer["steps"]]


def test_default_funnel_counts_people_in_order_within_the_window(store: DuckDBStore) -> None:
    # step 1: alice, bob, carol, dave, erin, ivan = 6 (bot, gina's /about, hank at `end` excluded)
    # step 2: alice, bob, erin, ivan = 4 (carol 9 days late, dave signed up before pricing)
    # step 3: alice, erin = 2 (bob bought basic, ivan 1 s past the window)
    assert run(store) == {
        "steps": [
            {"step": 1, "event": "$pageview", "where": {"path": "/pricing"}, "people": 6,
             "conversion_rate": 1.0, "step_conversion_rate": 1.0},
            {"step": 2, "event": "signup", "where": {}, "people": 4,
             "conversion_rate": 0.666667, "step_conversion_rate": 0.666667},  # 4/6
            {"step": 3, "event": "purchase", "where": {"plan": "pro"}, "people": 2,
             "conversion_rate": 0.333333, "step_conversion_rate": 0.5},  # 2/6, 2/4
        ],
        "window_seconds": 7 * 86400,
        "breakdown": None,
    }  # fmt: skip


def test_identity_stitching_joins_devices_into_one_person(tmp_path: Path) -> None:
    # Without the a_lap → alice link, alice's pricing view belongs to a_lap, who never signed up,
    # and alice (the user) never saw pricing: step 2 loses her, and step 3 too.
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    s.append(ndjson(*EVENTS), b"", 1)
    assert counts(run(s)) == [6, 3, 1]
    s.append(b"", ndjson(*LINKS), 2)  # a link that arrives later applies to past events
    assert counts(run(s)) == [6, 4, 2]
    s.close()


def test_window(store: DuckDBStore) -> None:
    # 10 days: carol's signup (day 9) counts; ivan's purchase (7 d + 1 s) counts.
    assert counts(run(store, window_seconds=10 * 86400)) == [6, 5, 3]
    # 1 day: alice (purchase 23 h after pricing), bob, erin; ivan's signup is 7 days late.
    assert counts(run(store, window_seconds=86400)) == [6, 3, 2]
    # exactly 23 h: alice's purchase is at the edge (inclusive).
    assert counts(run(store, window_seconds=23 * 3600)) == [6, 3, 2]
    assert counts(run(store, window_seconds=23 * 3600 - 1)) == [6, 3, 1]


def test_bots_count_only_when_asked(store: DuckDBStore) -> None:
    assert counts(run(store, include_bots=True)) == [7, 5, 3]


def test_step_filters_and_two_step_funnels(store: DuckDBStore) -> None:
    # signups in range: alice, bob, dave, erin, gina = 5 (hank's is at day 2 01:00, carol's day 9)
    # purchase[plan=basic]: only bob's purchase matches, and he signed up before it.
    basic = (FunnelStep("signup"), FunnelStep("purchase", (("plan", "basic"),)))
    assert counts(run(store, basic)) == [5, 1]
    # a purchase of any plan after signing up: alice, bob, dave (signup 08:00, purchase 10:00), erin
    any_plan = (FunnelStep("signup"), FunnelStep("purchase"))
    assert counts(run(store, any_plan)) == [5, 4]
    # no such property value: nobody reaches step 2, rates are 0 from there.
    nobody = (FunnelStep("signup"), FunnelStep("purchase", (("plan", "gold"),)), FunnelStep("x"))
    answer = run(store, nobody)
    assert counts(answer) == [5, 0, 0]
    assert [(s["conversion_rate"], s["step_conversion_rate"]) for s in answer["steps"]] == [
        (1.0, 1.0), (0.0, 0.0), (0.0, 0.0)
    ]  # fmt: skip


def test_no_first_step_gives_zero_rates(store: DuckDBStore) -> None:
    answer = run(store, (FunnelStep("nothing"), FunnelStep("signup")))
    assert [(s["people"], s["conversion_rate"], s["step_conversion_rate"]) for s in answer["steps"]] == [
        (0, 0.0, 0.0), (0, 0.0, 0.0)
    ]  # fmt: skip


def test_breakdown_by_source_uses_the_first_step_event(store: DuckDBStore) -> None:
    answer = run(store, breakdown="source")
    assert answer["breakdown"] == "source"
    assert counts(answer) == [6, 4, 2]
    # google: alice (3 steps), carol (1), ivan (2) → [3, 2, 1]; bing: bob → [1, 1, 0];
    # direct: dave → [1, 0, 0]; twitter: erin's in-range view (not her earlier facebook one) → [1, 1, 1].
    groups = [(g["value"], [s["people"] for s in g["steps"]]) for g in answer["groups"]]
    assert groups == [("google", [3, 2, 1]), ("bing", [1, 1, 0]), ("direct", [1, 0, 0]), ("twitter", [1, 1, 1])]
    google = answer["groups"][0]["steps"]
    assert [(s["conversion_rate"], s["step_conversion_rate"]) for s in google] == [
        (1.0, 1.0), (0.666667, 0.666667), (0.333333, 0.5)
    ]  # fmt: skip
    bing = answer["groups"][1]["steps"]
    assert [(s["conversion_rate"], s["step_conversion_rate"]) for s in bing] == [
        (1.0, 1.0), (1.0, 1.0), (0.0, 0.0)
    ]  # fmt: skip


def test_breakdown_by_channel(store: DuckDBStore) -> None:
    answer = run(store, breakdown="channel")
    # Organic Search: alice, bob, ivan → [3, 3, 1]; then the single-person groups by name.
    groups = [(g["value"], [s["people"] for s in g["steps"]]) for g in answer["groups"]]
    assert groups == [
        (ORGANIC, [3, 3, 1]), (DIRECT, [1, 0, 0]), (SOCIAL, [1, 1, 1]), (PAID, [1, 0, 0])
    ]  # fmt: skip


def test_repeated_steps_need_distinct_events(store: DuckDBStore) -> None:
    # purchase[plan=pro] twice: only erin bought the pro plan twice (dave and alice once).
    twice = (FunnelStep("purchase", (("plan", "pro"),)), FunnelStep("purchase", (("plan", "pro"),)))
    assert counts(run(store, twice)) == [3, 1]


def test_property_keys_are_parameters_not_sql_or_json_path(tmp_path: Path) -> None:
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    odd = {"a.b": "1", "it's": "x", 'q"k': 2, "n": {"c": "2"}, "flag": True}
    s.append(ndjson(ev("a", at(0, 1), "p1"), ev("b", at(0, 2), "p1", props=odd)), b"", 1)
    for key, value, people in [
        ("a.b", "1", 1), ("it's", "x", 1), ('q"k', "2", 1), ("flag", "true", 1),
        ("n.c", "2", 0),  # a dotted key is one key, not a path into `n`
        ("$.*", "1", 0), ("') OR 1=1 --", "1", 0),
    ]:  # fmt: skip
        steps = (FunnelStep("a"), FunnelStep("b", ((key, value),)))
        assert counts(run(s, steps)) == [1, people], key
    s.close()


def test_breakdown_takes_the_first_event_even_without_a_value(tmp_path: Path) -> None:
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    s.append(ndjson(
        ev("a", at(0, 1), "n1"),  # no source: the group is null, not the later google
        ev("a", at(0, 2), "n1", source="google"),
        ev("b", at(0, 3), "n1"),
        ev("a", at(0, 1), "n2", source="google"),
        ev("a", at(0, 1), "n3", source="google"),
    ), b"", 1)  # fmt: skip
    answer = run(s, (FunnelStep("a"), FunnelStep("b")), breakdown="source")
    assert [(g["value"], [x["people"] for x in g["steps"]]) for g in answer["groups"]] == [
        ("google", [2, 0]), (None, [1, 1])
    ]  # fmt: skip
    s.close()


# -- against a reference, on random data with timestamp ties and repeated steps ---------------
def reached_steps(events: list[Event], steps: tuple[str, ...], window: timedelta) -> list[dict[str, str]]:
    """Per step, the people who reached it and when. Per person: anchor at the first step-1
    event in [at(0), at(2)); each later step takes the earliest (ts, uid) matching event, not
    the previous step's event, within the window."""
    reached: list[dict[str, str]] = [{} for _ in steps]
    for anon in {e.anonymous_id for e in events}:
        assert anon is not None
        mine = sorted((e for e in events if e.anonymous_id == anon), key=lambda e: (e.ts, e.uid))
        firsts = [e for e in mine if e.name == steps[0] and at(0) <= e.ts < at(2)]
        if not firsts:
            continue
        prev = firsts[0]
        reached[0][anon] = prev.ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for k, name in enumerate(steps[1:], start=1):
            nxt = next(
                (e for e in mine if e.name == name and e.uid != prev.uid
                 and prev.ts <= e.ts <= firsts[0].ts + window),
                None,
            )  # fmt: skip
            if nxt is None:
                break
            reached[k][anon] = nxt.ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            prev = nxt
    return reached


def reference(events: list[Event], steps: tuple[str, ...], window: timedelta) -> list[int]:
    return [len(people) for people in reached_steps(events, steps, window)]


_names = st.sampled_from(["a", "b"])
_event = st.tuples(st.sampled_from(["p1", "p2", "p3"]), _names, st.integers(0, 12))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(_event, max_size=25), steps=st.lists(_names, min_size=2, max_size=4))
def test_funnels_match_the_reference(tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str, int]], steps: list[str]) -> None:
    # Timestamps on a coarse grid (every 6 hours over 3 days), so ties are common.
    events = [ev(name, at(0, hours=6 * slot), anon) for anon, name, slot in rows]
    s = DuckDBStore(tmp_path_factory.mktemp("ref") / "e.duckdb")
    try:
        s.migrate()
        if events:
            s.append(ndjson(*events), b"", 1)
        answer = run(s, tuple(FunnelStep(n) for n in steps), window_seconds=86400)
        assert counts(answer) == reference(events, tuple(steps), timedelta(days=1))
    finally:
        s.close()


@pytest.mark.parametrize(
    ("column", "values"),
    [("country", ("DE", "US")), ("device_type", ("mobile", "desktop")), ("campaign", ("spring", "fall"))],
)
def test_breakdown_by_the_first_step_events_column(tmp_path: Path, column: str, values: tuple[str, str]) -> None:
    # p1 enters from the first value (and later from the second: the first event's counts),
    # p2 from the second; only p1 signs up.
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    a, b = values
    s.append(ndjson(
        ev("$pageview", at(0, 1), "p1", **{column: a}), ev("$pageview", at(0, 2), "p1", **{column: b}),
        ev("signup", at(0, 3), "p1"), ev("$pageview", at(0, 1), "p2", **{column: b}),
    ), b"", 1)
    answer = run(s, (FunnelStep("$pageview"), FunnelStep("signup")), breakdown=column)
    assert [(g["value"], [x["people"] for x in g["steps"]]) for g in answer["groups"]] == sorted(
        [(a, [1, 1]), (b, [1, 0])], key=lambda g: g[0]
    )
    s.close()
