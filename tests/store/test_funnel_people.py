"""The people behind a funnel step (`Store.funnel_people`): the same people `funnel` counts.

The fixed dataset is test_funnels.py's (hand-computed counts there); a hypothesis test checks
every step and outcome against a plain-Python reference on random data full of ties.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.read.queries import FunnelPeopleQuery, FunnelQuery, FunnelStep
from footfall.store.duckdb.store import DuckDBStore
from tests.store.test_funnels import EVENTS, LINKS, SCOPE, STEPS, at, ev, ndjson, reached_steps


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    s = DuckDBStore(tmp_path_factory.mktemp("funnel_people") / "e.duckdb")
    s.migrate()
    s.append(ndjson(*EVENTS), ndjson(*LINKS), 1)
    return s


def people(store: DuckDBStore, step: int, outcome: str, steps: tuple[FunnelStep, ...] = STEPS, **kw: Any) -> dict[str, Any]:
    page = {k: kw.pop(k) for k in ("group", "limit", "offset") if k in kw}
    funnel = FunnelQuery(scope=SCOPE, start=at(0), end=at(2), steps=steps, **kw)
    return store.funnel_people(FunnelPeopleQuery(funnel=funnel, step=step, outcome=outcome, **page))


def names(answer: dict[str, Any]) -> set[str]:
    return {p["person"] for p in answer["people"]}


def test_who_reached_and_who_dropped(store: DuckDBStore) -> None:
    # test_funnels: step 1 alice bob carol dave erin ivan; step 2 alice bob erin ivan; step 3 alice erin.
    assert names(people(store, 1, "converted")) == {"alice", "b1", "c1", "d1", "e1", "i1"}
    assert names(people(store, 1, "dropped")) == {"c1", "d1"}
    assert names(people(store, 2, "dropped")) == {"b1", "i1"}
    assert names(people(store, 3, "converted")) == {"alice", "e1"}
    # alice is one person across her laptop (pre-identify pricing view) and her phone.
    answer = people(store, 3, "converted")
    alice = next(p for p in answer["people"] if p["person"] == "alice")
    assert alice == {"person": "alice", "entered_at": "2026-05-01T01:00:00.000000Z", "reached_at": "2026-05-02T00:00:00.000000Z"}
    assert {k: v for k, v in answer.items() if k != "people"} == {
        "step": 3, "event": "purchase", "outcome": "converted", "breakdown": None, "group": None,
        "total": 2, "limit": 100, "offset": 0,
    }  # fmt: skip


def test_counts_equal_the_funnel(store: DuckDBStore) -> None:
    for kw in ({}, {"include_bots": True}, {"window_seconds": 10 * 86400}):
        bars = [s["people"] for s in store.funnel(FunnelQuery(scope=SCOPE, start=at(0), end=at(2), steps=STEPS, **kw))["steps"]]
        for k in range(1, 4):
            assert people(store, k, "converted", **kw)["total"] == bars[k - 1]
            if k < 3:
                assert people(store, k, "dropped", **kw)["total"] == bars[k - 1] - bars[k]


def test_paging_is_stable_and_newest_first(store: DuckDBStore) -> None:
    everyone = people(store, 1, "converted")["people"]
    assert [p["entered_at"] for p in everyone] == sorted((p["entered_at"] for p in everyone), reverse=True)
    pages = [people(store, 1, "converted", limit=2, offset=o) for o in (0, 2, 4, 6)]
    assert [p for page in pages for p in page["people"]] == everyone
    assert [page["total"] for page in pages] == [6, 6, 6, 6]  # also past the last page


def test_a_breakdown_group(store: DuckDBStore) -> None:
    answer = people(store, 1, "dropped", breakdown="source", group="google")
    # carol came from google and stopped at step 1; alice (google too) went on.
    assert answer["people"] == [
        {"person": "c1", "entered_at": "2026-05-01T06:00:00.000000Z", "reached_at": "2026-05-01T06:00:00.000000Z", "group": "google"}
    ]
    assert people(store, 1, "converted", breakdown="source", group="nowhere")["total"] == 0


# -- against test_funnels' reference, on random data with timestamp ties and repeated steps --
_names = st.sampled_from(["a", "b"])
_event = st.tuples(st.sampled_from(["p1", "p2", "p3", "p4"]), _names, st.integers(0, 12))


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(_event, max_size=25), steps=st.lists(_names, min_size=2, max_size=4))
def test_people_match_the_reference(tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str, int]], steps: list[str]) -> None:
    events = [ev(name, at(0, hours=6 * slot), anon) for anon, name, slot in rows]
    s = DuckDBStore(tmp_path_factory.mktemp("ref") / "e.duckdb")
    try:
        s.migrate()
        if events:
            s.append(ndjson(*events), b"", 1)
        funnel = tuple(FunnelStep(n) for n in steps)
        expected = reached_steps(events, tuple(steps), timedelta(days=1))
        for k in range(1, len(steps) + 1):
            got = people(s, k, "converted", funnel, window_seconds=86400)["people"]
            assert {p["person"]: p["reached_at"] for p in got} == expected[k - 1]
            if k < len(steps):
                got = people(s, k, "dropped", funnel, window_seconds=86400)["people"]
                assert {p["person"] for p in got} == set(expected[k - 1]) - set(expected[k])
    finally:
        s.close()
