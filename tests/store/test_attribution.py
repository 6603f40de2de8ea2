"""Conversion attribution on a real DuckDB file, against a fixed dataset with hand-computed answers.

Sessions (source / medium / campaign / channel of their first event):

    person  session  starts           source/medium   campaign  channel         conversions
    alice   A1       day -13          google/organic  -         Organic Search
    alice   A2       day -6           newsletter/email may      Email
    alice   A3       day 1 (phone)    direct/direct   -         Direct          day 1, 10000
    bob     B1       day -40          bing/paid       spring    Paid Search
    bob     B2       day -5           facebook/social -         Organic Social
    bob     B3       day 2            direct/direct   -         Direct          day 2, 5000
    carol   C1       day 0            google/paid     brand     Paid Search     day 0, 2000
    carol   C2       day 7            direct/direct   -         Direct          day 7, 3000
    dave    D1       day 4            direct/direct   -         Direct          day 4, "lots" → 0
    hank    H1       day 6 00:00      duckduckgo/organic -      Organic Search  day 6 00:20, 700
    gina    (no session at all)                                                 day 6, 100
    bot     F1       day 2            google/organic  -         Organic Search  day 2 00:30, 99999
    erin    E1       day -1, day 10   google/organic                            outside [day 0, day 10)

Alice's laptop (A1, A2) is anonymous until identify links it to her; her phone session (A3) carries
her user id. Each conversion is the first event of its session (so its session starts at the
conversion), except hank's, 20 minutes into H1. Totals: 7 conversions, value 20800.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from footfall.model import Event, IdentityLink
from footfall.read.queries import ATTRIBUTION_MODELS, AttributionQuery
from footfall.store.base import Scope
from footfall.store.duckdb.store import DuckDBStore

T0 = datetime(2026, 5, 1, tzinfo=UTC)
SCOPE = Scope("prj_c", "live")
DAY = 86400
_uid = itertools.count()


def src(source: str, medium: str, channel: str, campaign: str | None = None) -> dict[str, Any]:
    return {"source": source, "medium": medium, "channel": channel, "campaign": campaign}


GOOGLE_ORG = src("google", "organic", "Organic Search")
NEWSLETTER = src("newsletter", "email", "Email", "may")
DIRECT = src("direct", "direct", "Direct")
BING = src("bing", "paid", "Paid Search", "spring")
FACEBOOK = src("facebook", "social", "Organic Social")
GOOGLE_PAID = src("google", "paid", "Paid Search", "brand")
DDG = src("duckduckgo", "organic", "Organic Search")


def at(days: float, minutes: float = 0) -> datetime:
    return T0 + timedelta(days=days, minutes=minutes)


def ev(name: str, when: datetime, anon: str, session: str | None, attrs: dict[str, Any], **kw: Any) -> Event:
    fields: dict[str, Any] = {
        "project_id": SCOPE.project_id, "env": SCOPE.env, "uid": f"c{next(_uid):04d}", "name": name,
        "ts": when, "received_at": when, "anonymous_id": anon, "session_id": session, **attrs,
    }  # fmt: skip
    if "amount" in kw:
        fields["properties"] = json.dumps({"amount_cents": kw.pop("amount")})
    fields.update(kw)
    return Event(**fields)


def visit(when: datetime, anon: str, session: str, attrs: dict[str, Any], **kw: Any) -> Event:
    return ev("$pageview", when, anon, session, attrs, **kw)


def buy(when: datetime, anon: str, session: str | None, amount: Any, attrs: dict[str, Any] = DIRECT, **kw: Any) -> Event:
    return ev("purchase", when, anon, session, attrs, amount=amount, **kw)


EVENTS = [
    visit(at(-13), "a_lap", "A1", GOOGLE_ORG),
    visit(at(-6), "a_lap", "A2", NEWSLETTER),
    buy(at(1), "a_phone", "A3", 10000, user_id="alice"),
    visit(at(-40), "b1", "B1", BING),
    visit(at(-5), "b1", "B2", FACEBOOK),
    buy(at(2), "b1", "B3", 5000),
    buy(at(0), "c1", "C1", 2000, GOOGLE_PAID),
    buy(at(7), "c1", "C2", 3000),
    buy(at(4), "d1", "D1", "lots"),
    visit(at(6), "h1", "H1", DDG),
    buy(at(6, 20), "h1", "H1", 700, DDG),
    buy(at(6), "g1", None, 100),
    visit(at(2), "bot1", "F1", GOOGLE_ORG, is_bot=True),
    buy(at(2, 30), "bot1", "F1", 99999, GOOGLE_ORG, is_bot=True),
    buy(at(-1), "e1", "E1", 1, GOOGLE_ORG),
    buy(at(10), "e1", "E2", 1, GOOGLE_ORG),
    buy(at(1), "x1", "X1", 5, GOOGLE_ORG, project_id="prj_other"),
    ev("signup", at(1), "a_phone", "A3", DIRECT, user_id="alice"),  # not the conversion event
]
LINKS = [IdentityLink(project_id="prj_c", env="live", anonymous_id="a_lap", user_id="alice", ts=at(1))]


def ndjson(*items: msgspec.Struct) -> bytes:
    return b"".join(msgspec.json.encode(i) + b"\n" for i in items)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    s = DuckDBStore(tmp_path_factory.mktemp("credit") / "e.duckdb")
    s.migrate()
    s.append(ndjson(*EVENTS), ndjson(*LINKS), 1)
    return s


def run(store: DuckDBStore, **kw: Any) -> dict[str, Any]:
    kw.setdefault("value_property", "amount_cents")
    return store.attribution(AttributionQuery(scope=SCOPE, start=at(0), end=at(10), conversion="purchase", **kw))


def rows(store: DuckDBStore, **kw: Any) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in run(store, **kw)["rows"]]


def test_answer_shape_and_totals(store: DuckDBStore) -> None:
    answer = run(store)
    assert {k: v for k, v in answer.items() if k != "rows"} == {
        "model": "last_non_direct", "conversion": "purchase", "value_property": "amount_cents",
        "lookback_seconds": 30 * DAY, "totals": {"conversions": 7, "value": 20800.0},
    }  # fmt: skip
    assert answer["rows"][0] == {"source": "google", "medium": "paid", "conversions": 2.0, "value": 5000.0}


# Per model, group_by source, medium, the default 30-day lookback.
EXPECTED = {
    # alice → A1 google/organic, bob → B2 facebook (B1 is 42 days back), carol → C1 twice,
    # dave, gina (no session: direct) → direct, hank → H1.
    "first_touch": [
        ("google", "paid", 2.0, 5000.0), ("direct", "direct", 2.0, 100.0),
        ("google", "organic", 1.0, 10000.0), ("facebook", "social", 1.0, 5000.0),
        ("duckduckgo", "organic", 1.0, 700.0),
    ],
    # alice A3, bob B3, carol's 2nd C2, dave, gina → direct: 10000 + 5000 + 3000 + 0 + 100.
    "last_touch": [
        ("direct", "direct", 5.0, 18100.0), ("google", "paid", 1.0, 2000.0),
        ("duckduckgo", "organic", 1.0, 700.0),
    ],
    # alice → A2 (A3 is direct), bob → B2, carol → C1 twice; dave and gina only have direct.
    "last_non_direct": [
        ("google", "paid", 2.0, 5000.0), ("direct", "direct", 2.0, 100.0),
        ("newsletter", "email", 1.0, 10000.0), ("facebook", "social", 1.0, 5000.0),
        ("duckduckgo", "organic", 1.0, 700.0),
    ],
    # alice 1/3 each of A1 A2 A3; bob 1/2 B2, 1/2 B3; carol 1 C1, then 1/2 C1, 1/2 C2.
    # direct: 1/3 + 1/2 + 1/2 + 1 + 1 = 3.333333; 3333.333333 + 2500 + 1500 + 0 + 100
    # google/paid: 1 + 1/2 = 1.5; 2000 + 1500
    "linear": [
        ("direct", "direct", 3.333333, 7433.333333), ("google", "paid", 1.5, 3500.0),
        ("duckduckgo", "organic", 1.0, 700.0), ("facebook", "social", 0.5, 2500.0),
        ("google", "organic", 0.333333, 3333.333333), ("newsletter", "email", 0.333333, 3333.333333),
    ],
    # alice 0.4 A1, 0.2 A2, 0.4 A3; bob 0.5/0.5; carol 1, then 0.5/0.5.
    # direct: 0.4 + 0.5 + 0.5 + 1 + 1 = 3.4; 4000 + 2500 + 1500 + 0 + 100 = 8100
    "position_based": [
        ("direct", "direct", 3.4, 8100.0), ("google", "paid", 1.5, 3500.0),
        ("duckduckgo", "organic", 1.0, 700.0), ("facebook", "social", 0.5, 2500.0),
        ("google", "organic", 0.4, 4000.0), ("newsletter", "email", 0.2, 2000.0),
    ],
    # 2^(-age/7d): alice A1 14 d → 1/4, A2 7 d → 1/2, A3 → 1: weights 1/7, 2/7, 4/7.
    # bob B2 7 d → 1/2, B3 → 1: 1/3, 2/3. carol's 2nd: C1 7 d → 1/2, C2 → 1: 1/3, 2/3.
    # direct: 4/7 + 2/3 + 2/3 + 1 + 1 = 82/21 = 3.904762;
    #         40000/7 + 10000/3 + 2000 + 0 + 100 = 190000/21 + 2100 = 11147.619048
    # google/paid: 1 + 1/3; 2000 + 1000
    "time_decay": [
        ("direct", "direct", 3.904762, 11147.619048), ("google", "paid", 1.333333, 3000.0),
        ("duckduckgo", "organic", 1.0, 700.0), ("facebook", "social", 0.333333, 1666.666667),
        ("newsletter", "email", 0.285714, 2857.142857), ("google", "organic", 0.142857, 1428.571429),
    ],
}  # fmt: skip


@pytest.mark.parametrize("model", ATTRIBUTION_MODELS)
def test_models(store: DuckDBStore, model: str) -> None:
    assert rows(store, model=model) == EXPECTED[model]


@pytest.mark.parametrize("model", ATTRIBUTION_MODELS)
@pytest.mark.parametrize("lookback", [DAY, 7 * DAY, 30 * DAY, 60 * DAY])
@pytest.mark.parametrize("group_by", [("source", "medium"), ("channel",), ("campaign", "source", "medium", "channel")])
@pytest.mark.parametrize("include_bots", [False, True])
def test_credits_sum_to_the_totals(
    store: DuckDBStore, model: str, lookback: int, group_by: tuple[str, ...], include_bots: bool
) -> None:
    answer = run(store, model=model, lookback_seconds=lookback, group_by=group_by, include_bots=include_bots)
    totals = {"conversions": 8, "value": 120799.0} if include_bots else {"conversions": 7, "value": 20800.0}
    assert answer["totals"] == totals
    assert sum(r["conversions"] for r in answer["rows"]) == pytest.approx(totals["conversions"], abs=1e-5)
    assert sum(r["value"] for r in answer["rows"]) == pytest.approx(totals["value"], abs=1e-5)


def test_lookback(store: DuckDBStore) -> None:
    # 60 days: bob's first touch is B1 bing (42 days back).
    assert ("bing", "paid", 1.0, 5000.0) in rows(store, model="first_touch", lookback_seconds=60 * DAY)
    # The window is inclusive: A1 is exactly 14 days before alice's purchase.
    first = rows(store, model="first_touch", lookback_seconds=14 * DAY)
    assert ("google", "organic", 1.0, 10000.0) in first
    first = rows(store, model="first_touch", lookback_seconds=14 * DAY - 1)
    assert ("newsletter", "email", 1.0, 10000.0) in first
    # 1 day: only the conversions' own sessions: alice A3, bob B3, carol's C2 are direct.
    assert rows(store, lookback_seconds=DAY) == [
        ("direct", "direct", 5.0, 18100.0), ("google", "paid", 1.0, 2000.0),
        ("duckduckgo", "organic", 1.0, 700.0),
    ]  # fmt: skip


def test_the_conversions_own_session_always_counts(store: DuckDBStore) -> None:
    # 60 s: H1 started 20 minutes before hank's purchase, yet it is the purchase's session.
    assert ("duckduckgo", "organic", 1.0, 700.0) in rows(store, lookback_seconds=60)


def test_group_by(store: DuckDBStore) -> None:
    # linear by channel: as by source/medium, google/organic → Organic Search (hank's too).
    assert rows(store, model="linear", group_by=("channel",)) == [
        ("Direct", 3.333333, 7433.333333), ("Paid Search", 1.5, 3500.0),
        ("Organic Search", 1.333333, 4033.333333), ("Organic Social", 0.5, 2500.0),
        ("Email", 0.333333, 3333.333333),
    ]  # fmt: skip
    # last_non_direct by campaign: alice → may; carol → brand twice; bob, dave, gina, hank → none.
    assert rows(store, group_by=("campaign",)) == [
        (None, 4.0, 5800.0), ("brand", 2.0, 5000.0), ("may", 1.0, 10000.0),
    ]  # fmt: skip
    answer = run(store, model="first_touch", group_by=("source", "medium", "campaign", "channel"), limit=2)
    assert answer["rows"] == [
        {"source": "google", "medium": "paid", "campaign": "brand", "channel": "Paid Search",
         "conversions": 2.0, "value": 5000.0},
        {"source": "direct", "medium": "direct", "campaign": None, "channel": "Direct",
         "conversions": 2.0, "value": 100.0},
    ]  # fmt: skip


def test_bots_count_only_when_asked(store: DuckDBStore) -> None:
    answer = run(store, model="last_touch", include_bots=True)
    assert answer["totals"] == {"conversions": 8, "value": 120799.0}
    assert [tuple(r.values()) for r in answer["rows"]] == [
        ("direct", "direct", 5.0, 18100.0), ("google", "organic", 1.0, 99999.0),
        ("google", "paid", 1.0, 2000.0), ("duckduckgo", "organic", 1.0, 700.0),
    ]  # fmt: skip


def test_without_a_value_property_values_are_zero(store: DuckDBStore) -> None:
    answer = run(store, value_property=None, model="last_touch")
    assert answer["value_property"] is None
    assert answer["totals"] == {"conversions": 7, "value": 0.0}
    assert [tuple(r.values()) for r in answer["rows"]] == [
        ("direct", "direct", 5.0, 0.0), ("duckduckgo", "organic", 1.0, 0.0), ("google", "paid", 1.0, 0.0),
    ]  # fmt: skip


def test_no_conversions(store: DuckDBStore) -> None:
    answer = store.attribution(AttributionQuery(scope=SCOPE, start=at(0), end=at(10), conversion="nothing"))
    assert (answer["totals"], answer["rows"]) == ({"conversions": 0, "value": 0.0}, [])


def test_sessions_linked_later_by_identify_count(tmp_path: Path) -> None:
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    s.append(ndjson(*EVENTS), b"", 1)
    # Unlinked, alice's laptop sessions belong to someone else: her only touch is A3, direct.
    # alice, dave, gina: 10000 + 0 + 100
    assert rows(s, model="first_touch")[0] == ("direct", "direct", 3.0, 10100.0)
    s.append(b"", ndjson(*LINKS), 2)
    assert rows(s, model="first_touch") == EXPECTED["first_touch"]
    s.close()


def test_values_that_are_not_finite_numbers_count_as_zero(tmp_path: Path) -> None:
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    amounts = ["NaN", "Infinity", "-inf", "1e3", 12.5, True, None, "12 EUR"]
    s.append(ndjson(*(buy(at(1, i), f"v{i}", f"V{i}", a) for i, a in enumerate(amounts))), b"", 1)
    answer = run(s, model="linear")
    assert answer["totals"] == {"conversions": 8, "value": 1012.5}  # 1e3 + 12.5
    assert answer["rows"] == [{"source": "direct", "medium": "direct", "conversions": 8.0, "value": 1012.5}]
    s.close()
