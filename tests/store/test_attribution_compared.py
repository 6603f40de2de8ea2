"""All six attribution models side by side, conversion paths and time to convert.

The fixed dataset is test_attribution.py's (its docstring draws it; the per-model answers there
are hand-computed). A hypothesis test checks paths and time to convert against plain-Python
references, and the side-by-side answer against each model asked alone, on random data.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.model import Event
from footfall.read.queries import ATTRIBUTION_MODELS, AttributionQuery
from footfall.store.duckdb.store import DuckDBStore
from tests.store.test_attribution import (
    DAY,
    DIRECT,
    EVENTS,
    LINKS,
    SCOPE,
    at,
    buy,
    ndjson,
    src,
    visit,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    s = DuckDBStore(tmp_path_factory.mktemp("compared") / "e.duckdb")
    s.migrate()
    s.append(ndjson(*EVENTS), ndjson(*LINKS), 1)
    return s


def query(**kw: Any) -> AttributionQuery:
    kw.setdefault("value_property", "amount_cents")
    kw.setdefault("start", at(0))
    kw.setdefault("end", at(10))
    return AttributionQuery(scope=SCOPE, conversion="purchase", **kw)


def side_by_side_equals_each_model(store: DuckDBStore, q: AttributionQuery) -> None:
    both = store.attribution_compared(q)
    assert both["models"] == list(ATTRIBUTION_MODELS) and both["model"] == "all"
    for model in ATTRIBUTION_MODELS:
        alone = store.attribution(msgspec.structs.replace(q, model=model))
        assert both["totals"] == alone["totals"]
        keys = q.group_by
        mine = {
            tuple(r[k] for k in keys): (r["conversions"][model], r["value"][model])
            for r in both["rows"] if r["conversions"][model] or r["value"][model]
        }
        assert mine == {tuple(r[k] for k in keys): (r["conversions"], r["value"]) for r in alone["rows"]}, model
        total = both["totals"]
        assert sum(r["conversions"][model] for r in both["rows"]) == pytest.approx(total["conversions"], abs=1e-5)
        assert sum(r["value"][model] for r in both["rows"]) == pytest.approx(total["value"], abs=1e-4)


@pytest.mark.parametrize("lookback", [DAY, 30 * DAY, 60 * DAY])
@pytest.mark.parametrize("group_by", [("source", "medium"), ("channel",), ("campaign", "source", "medium", "channel")])
@pytest.mark.parametrize("include_bots", [False, True])
def test_side_by_side_equals_each_model_alone(store: DuckDBStore, lookback: int, group_by: tuple[str, ...], include_bots: bool) -> None:
    side_by_side_equals_each_model(store, query(lookback_seconds=lookback, group_by=group_by, include_bots=include_bots))


def test_disagreement_and_order(store: DuckDBStore) -> None:
    rows = store.attribution_compared(query(group_by=("channel",)))["rows"]
    direct = rows[0]
    # Direct: 2 first-touch (dave, gina) vs 5 last-touch of 7 conversions.
    assert (direct["channel"], direct["disagreement"]) == ("Direct", round(3 / 7, 6))
    assert direct["conversions"] == {
        "first_touch": 2.0, "last_touch": 5.0, "last_non_direct": 2.0, "linear": 3.333333,
        "position_based": 3.4, "time_decay": 3.904762,
    }  # fmt: skip
    # Organic Search: first touch gives it alice (A1) and hank, last touch hank alone.
    organic = next(r for r in rows if r["channel"] == "Organic Search")
    assert (organic["conversions"]["first_touch"], organic["conversions"]["last_touch"]) == (2.0, 1.0)
    assert organic["disagreement"] == round(1 / 7, 6)
    sums = [sum(r["conversions"].values()) for r in rows]
    assert sums == sorted(sums, reverse=True)
    assert len(store.attribution_compared(query(group_by=("channel",), limit=2))["rows"]) == 2


def test_no_conversions(store: DuckDBStore) -> None:
    answer = store.attribution_compared(AttributionQuery(scope=SCOPE, start=at(0), end=at(10), conversion="nothing"))
    assert (answer["totals"], answer["rows"]) == ({"conversions": 0, "value": 0.0}, [])
    paths = store.conversion_paths(AttributionQuery(scope=SCOPE, start=at(0), end=at(10), conversion="nothing", group_by=("channel",)))
    assert (paths["totals"], paths["rows"]) == ({"conversions": 0, "value": 0.0}, [])
    ttc = store.time_to_convert(AttributionQuery(scope=SCOPE, start=at(0), end=at(10), conversion="nothing"))
    assert ttc["totals"] == {"conversions": 0, "with_touchpoints": 0}
    assert set(ttc["seconds"].values()) == {None} and ttc["median_touchpoints"] is None
    assert sum(b["conversions"] for b in ttc["buckets"]) == 0


def test_conversion_paths(store: DuckDBStore) -> None:
    answer = store.conversion_paths(query(group_by=("channel",)))
    assert answer["dimension"] == "channel"
    assert answer["totals"] == {"conversions": 7, "value": 20800.0}
    assert [(r["path"], r["conversions"], r["value"]) for r in answer["rows"]] == [
        (["Direct"], 2, 100.0),                                   # dave's D1; gina has no session
        (["Organic Search", "Email", "Direct"], 1, 10000.0),      # alice: laptop, laptop, phone
        (["Organic Social", "Direct"], 1, 5000.0),                # bob (B1 is 40 days back)
        (["Paid Search", "Direct"], 1, 3000.0),                   # carol's second purchase
        (["Paid Search"], 1, 2000.0),                             # carol's first
        (["Organic Search"], 1, 700.0),                           # hank
    ]  # fmt: skip
    assert answer["rows"][0]["share"] == round(2 / 7, 6) and answer["rows"][1]["touchpoints"] == 3
    by_source = store.conversion_paths(query(group_by=("source",), lookback_seconds=60 * DAY))
    assert ["bing", "facebook", "direct"] in [r["path"] for r in by_source["rows"]]
    with_bots = store.conversion_paths(query(group_by=("channel",), include_bots=True))
    assert with_bots["totals"]["conversions"] == 8


def test_time_to_convert(store: DuckDBStore) -> None:
    answer = store.time_to_convert(query())
    # From the first touchpoint's start: alice 14 d (A1), bob 7 d (B2), carol 0 and 7 d (C1),
    # dave 0, hank 20 min; gina has no touchpoint.
    assert answer["totals"] == {"conversions": 7, "with_touchpoints": 6}
    assert answer["seconds"] == {
        "p25": 0.0, "p50": 1200.0, "p75": 7 * DAY, "p90": 14 * DAY,
        "mean": round((14 + 7 + 7) * DAY / 6 + 200, 3), "min": 0.0, "max": 14 * DAY,
    }  # fmt: skip
    assert [b["conversions"] for b in answer["buckets"]] == [3, 0, 0, 0, 2, 1, 0]
    assert answer["buckets"][-1] == {"from_seconds": 30 * DAY, "to_seconds": None, "conversions": 0}
    assert answer["median_touchpoints"] == 1


# -- against references, on random data ------------------------------------------------------
CHANNELS = [src("google", "organic", "Organic Search"), src("x", "paid", "Paid Social", "c1"), DIRECT]
_visit = st.tuples(st.sampled_from(["p0", "p1", "p2"]), st.integers(0, 3), st.integers(-20, 12), st.integers(0, 2), st.booleans())


def _events(rows: list[tuple[str, int, int, int, bool]]) -> list[Event]:
    """(person, session number, day, channel, converts): a session's events are that day,
    one minute apart in the order drawn, so no two events of a person tie."""
    out: list[Event] = []
    for i, (person, session, day, channel, converts) in enumerate(rows):
        when = at(day, i)
        sid = f"{person}-{session}-{day}"
        out.append(visit(when, person, sid, CHANNELS[channel]))
        if converts:
            out.append(buy(at(day, i + 0.5), person, sid if session else None, 100 * (i + 1), CHANNELS[channel]))
    return out


def _touchpoints(events: list[Event], conversion: Event, lookback: timedelta) -> list[tuple[Any, str, str]]:
    """The conversion's touchpoints as (start, session id, channel), in credit order."""
    starts: dict[str, Event] = {}
    for e in sorted(events, key=lambda e: e.ts):
        if e.session_id is not None:
            starts.setdefault(e.session_id, e)
    touch = {
        sid: first for sid, first in starts.items()
        if (first.anonymous_id == conversion.anonymous_id and conversion.ts - lookback <= first.ts <= conversion.ts)
        or sid == conversion.session_id
    }  # fmt: skip
    return sorted((first.ts, sid, first.channel or "") for sid, first in touch.items())


def _nearest_rank(values: list[float], p: float) -> float:
    return sorted(values)[max(0, math.ceil(len(values) * p) - 1)]


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(_visit, max_size=14), lookback_days=st.sampled_from([1, 7, 30]))
def test_journeys_match_the_references(tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, int, int, int, bool]], lookback_days: int) -> None:
    events = _events(rows)
    s = DuckDBStore(tmp_path_factory.mktemp("ref") / "e.duckdb")
    try:
        s.migrate()
        if events:
            s.append(ndjson(*events), b"", 1)
        lookback = timedelta(days=lookback_days)
        q = query(lookback_seconds=lookback_days * DAY, group_by=("channel",))
        conversions = [e for e in events if e.name == "purchase" and at(0) <= e.ts < at(10)]
        paths: dict[tuple[str, ...], list[float]] = {}
        seconds: list[float] = []
        for c in conversions:
            touch = _touchpoints(events, c, lookback)
            paths.setdefault(tuple(ch for _t, _s, ch in touch) or ("Direct",), []).append(
                float(msgspec.json.decode(c.properties)["amount_cents"])
            )
            if touch:
                seconds.append((c.ts - touch[0][0]).total_seconds())
        got = s.conversion_paths(q)
        assert {tuple(r["path"]): (r["conversions"], r["value"]) for r in got["rows"]} == {
            p: (len(v), sum(v)) for p, v in paths.items()
        }
        assert sum(r["conversions"] for r in got["rows"]) == len(conversions)
        ttc = s.time_to_convert(q)
        assert ttc["totals"] == {"conversions": len(conversions), "with_touchpoints": len(seconds)}
        if seconds:
            assert ttc["seconds"]["p50"] == _nearest_rank(seconds, 0.5)
            assert ttc["seconds"]["p90"] == _nearest_rank(seconds, 0.9)
            assert ttc["seconds"]["max"] == max(seconds)
        assert sum(b["conversions"] for b in ttc["buckets"]) == len(seconds)
        side_by_side_equals_each_model(s, q)
    finally:
        s.close()
