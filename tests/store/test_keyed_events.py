"""`keyed_events` (migration 18) holds every stored event but page views once, with the keys of exactly the
person and device the events and identity links name at the time of the read, and of its
session (migration 19: each session's key, unique and kept through every merge): under random
batches loaded in either order, identifies after the fact, alias chains, forget, reclassify,
and after the migration fills an existing store. Attribution reads its conversions from it,
so its answers (each model, side by side, paths, time to convert, the lists behind them) are
the same from what the loader kept as from a backfill."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from footfall.model import Event, IdentityLink
from footfall.read.queries import ATTRIBUTION_MODELS, AttributionQuery, ConversionsQuery
from footfall.store.duckdb import credit, journeys, keyed_events
from footfall.store.duckdb.conversions import conversions_behind
from footfall.store.duckdb.store import DuckDBStore
from tests.store.test_visitor_hours import SCOPE, T0, batches, fresh, lines, load

# Each stored event as the events and links name it now, and each row of `keyed_events` with
# its keys turned back into ids: the two must be the same multiset.
_EXPECTED = """
SELECT e.project_id, e.env, e.name, e.ts, e.is_bot,
       CASE WHEN e.user_id IS NULL THEN e.anonymous_id END AS device,
       coalesce(e.user_id, i.user_id, e.anonymous_id) AS person, e.session_id, e.uid, e.properties,
       s.session_key
FROM events e
LEFT JOIN identities i
  ON i.project_id = e.project_id AND i.env = e.env AND i.anonymous_id = e.anonymous_id
LEFT JOIN sessions s ON s.project_id = e.project_id AND s.env = e.env AND s.session_id = e.session_id
WHERE e.name <> '$pageview'
"""
_KEPT = """
SELECT c.project_id, c.env, c.name, c.ts, c.is_bot, d.id, k.id, c.session_id, c.uid, c.properties,
       c.session_key
FROM keyed_events c
LEFT JOIN visitor_keys d ON d.project_id = c.project_id AND d.env = c.env AND d.key = c.device_key
LEFT JOIN visitor_keys k ON k.project_id = c.project_id AND k.env = c.env AND k.key = c.person_key
"""
WRONG = f"""
(({_EXPECTED}) EXCEPT ALL ({_KEPT})) UNION ALL (({_KEPT}) EXCEPT ALL ({_EXPECTED}))
UNION ALL  -- no person is NULL, never 0 (sessions without a person have key 0)
SELECT project_id, env, name, ts, is_bot, NULL, NULL, session_id, uid, properties, session_key
FROM keyed_events WHERE person_key = 0
UNION ALL  -- every session has a key of its own
SELECT project_id, env, NULL, NULL, NULL, NULL, NULL, session_id, NULL, NULL, session_key
FROM sessions
WHERE session_key IS NULL OR session_key IN (
    SELECT session_key FROM sessions GROUP BY session_key HAVING count(*) > 1)
UNION ALL  -- and the key of exactly its source, medium, campaign and channel (migration 20)
SELECT s.project_id, s.env, NULL, NULL, NULL, NULL, NULL, s.session_id, NULL, NULL, s.dims_key
FROM sessions s LEFT JOIN session_dims d USING (project_id, env, dims_key)
WHERE d.dims_key IS NULL OR (s.source, s.medium, s.campaign, s.channel)
    IS DISTINCT FROM (d.source, d.medium, d.campaign, d.channel)
UNION ALL  -- sessions that start together are flagged so (migration 21)
SELECT project_id, env, NULL, start_ts, NULL, NULL, NULL, session_id, NULL, NULL, NULL
FROM sessions s
WHERE NOT s.shared_start AND EXISTS (
    SELECT 1 FROM sessions o WHERE o.project_id = s.project_id AND o.env = s.env
      AND o.start_ts = s.start_ts AND o.session_id <> s.session_id)
UNION ALL  -- one key per values: no key on two rows, no values on two keys
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, dims_key
FROM session_dims GROUP BY dims_key HAVING count(*) > 1
UNION ALL
SELECT project_id, env, source, NULL, NULL, NULL, NULL, medium, NULL, campaign, NULL
FROM session_dims GROUP BY project_id, env, source, medium, campaign, channel HAVING count(*) > 1
"""


def wrong(s: DuckDBStore) -> list[tuple[Any, ...]]:
    return s.read(WRONG, None)[1]


SPANS = "span_lo, span_hi, span_nd, span_decay"


def rows(s: DuckDBStore) -> list[tuple[Any, ...]]:
    """The rows but their session keys (`wrong` checks those), which a migration gives anew,
    and their spans (touch_spans.py), which the loader finds after."""
    return sorted(s.read(f"SELECT * EXCLUDE (session_key, {SPANS}) FROM keyed_events", None)[1], key=repr)


def answers(s: DuckDBStore) -> list[dict[str, Any]]:
    """Every attribution read over the whole span, for one conversion event with a value, and
    the lists behind its numbers."""
    q = AttributionQuery(
        scope=SCOPE, start=T0, end=T0 + timedelta(days=6), conversion="buy",
        value_property="amount", lookback_seconds=2 * 86400, group_by=("source",),
    )  # fmt: skip
    out = [
        *(credit.attribution(s.read, replace(q, model=m)) for m in ATTRIBUTION_MODELS),
        credit.compared(s.read, q),
        journeys.paths(s.read, q),
        journeys.time_to_convert(s.read, q),
        journeys.paths(s.read, replace(q, include_bots=True)),
    ]
    for path in [r["path"] for r in out[-3]["rows"]][:2]:
        out.append(conversions_behind(s.read, ConversionsQuery(attribution=q, behind="path", path=tuple(path), limit=1000)))
    for row in out[0]["rows"][:2]:
        a = replace(q, model="first_touch")
        out.append(conversions_behind(s.read, ConversionsQuery(attribution=a, behind="credit", key=row["source"], limit=1000)))
    # The default lookback: each conversion's touchpoints read from its span of places where
    # it has one (touch_spans.py); `events_read` reads none.
    month = replace(q, lookback_seconds=30 * 86400)
    out += [*(credit.attribution(s.read, replace(month, model=m)) for m in ATTRIBUTION_MODELS)]
    out.append(credit.compared(s.read, month))
    return out


def _valued(loaded: list[tuple[list[Event], list[IdentityLink]]]) -> list[tuple[list[Event], list[IdentityLink]]]:
    """The batches, each event with a uid of its own (lists are ordered by time, then uid),
    each `buy` carrying an amount (some not a number)."""

    def valued(e: Event, uid: str) -> Event:
        amount = str(len(e.uid) * 7) if len(e.uid) % 4 else '"n/a"'
        return replace(e, uid=uid, properties=f'{{"amount": {amount}}}' if e.name == "buy" else "{}")

    return [
        ([valued(e, f"u{b}-{i}") for i, e in enumerate(events)], links)
        for b, (events, links) in enumerate(loaded)
    ]


def events_read(s: DuckDBStore) -> list[dict[str, Any]]:
    """`answers`, the conversions read from the events (as page views are) instead."""
    with patch.object(keyed_events, "holds", lambda name: False):
        return answers(s)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(loaded=batches, order=st.randoms(use_true_random=False), forget=st.sampled_from(["p1", "a3", "p4", "nobody"]))
def test_keyed_events_stay_exact(
    tmp_path_factory: pytest.TempPathFactory,
    loaded: list[tuple[list[Event], list[IdentityLink]]], order: Any, forget: str,
) -> None:
    loaded = _valued(loaded)
    shuffled = list(loaded)
    order.shuffle(shuffled)
    for batches_in_order in (loaded, shuffled):
        s = fresh(tmp_path_factory.mktemp("keyed") / "e.duckdb")
        try:
            load(s, batches_in_order)
            assert wrong(s) == []
            s._number_sessions()  # and the conversions' spans found
            before, kept = answers(s), rows(s)
            assert events_read(s) == before
            keyed_events.backfill(s._con)  # what migration 18 does: the same rows, answers
            assert rows(s) == kept and answers(s) == before
            s._number_sessions()
            # Each change below comes after the spans were found: what it changes is not read
            # from them (the sessions it changed have no place until numbered again).
            s.forget(SCOPE, forget)
            assert wrong(s) == []
            assert forget not in {r[0] for r in s.read("SELECT id FROM visitor_keys WHERE project_id = 'prj_a' AND env = 'live'", None)[1]}
            assert answers(s) == events_read(s)
            s._number_sessions()
            s.reclassify(T0 + timedelta(days=2), lambda p, u, r: {"source": "again", "source_rule_id": "x"}, ("source",))
            assert wrong(s) == []
            assert answers(s) == events_read(s)
            s._order_after = math.inf  # the identify's batch numbers nothing
            load(s, [([], [IdentityLink(project_id="prj_a", env="live", anonymous_id="a5", user_id="p6", ts=T0)])])
            assert wrong(s) == []
            before, kept = answers(s), rows(s)
            assert events_read(s) == before
            s._number_sessions()
            assert answers(s) == before
            keyed_events.backfill(s._con)
            assert rows(s) == kept and answers(s) == before
        finally:
            s.close()


def _ev(n: int, anon: str | None, name: str = "$pageview", user: str | None = None, amount: Any = None) -> Event:
    at = T0 + timedelta(hours=n)
    return Event(
        project_id="prj_a", env="live", uid=f"u{n}", name=name, ts=at, received_at=at,
        anonymous_id=anon, user_id=user, session_id=None if anon is None else f"{anon}-{n}",
        source=f"s{n}", properties="{}" if amount is None else f'{{"amount": {amount}}}',
    )  # fmt: skip


def _link(anon: str, user: str) -> IdentityLink:
    return IdentityLink(project_id="prj_a", env="live", anonymous_id=anon, user_id=user, ts=T0)


def test_an_identify_after_the_fact_moves_the_conversion_to_its_person(tmp_path: Path) -> None:
    s = fresh(tmp_path / "e.duckdb")
    # d1 visits, d2 buys (no visit of its own that counts: its session is the purchase's);
    # a purchase with neither id is credited to direct.
    load(s, [([_ev(1, "d1"), _ev(3, "d2", "buy", amount=40), _ev(4, None, "buy", amount=2)], [])])
    q = AttributionQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=1), conversion="buy",
                         value_property="amount", model="first_touch", group_by=("source",))  # fmt: skip

    def first() -> dict[str, float]:
        return {r["source"]: r["value"] for r in credit.attribution(s.read, q)["rows"]}

    assert first() == {"s3": 40.0, "direct": 2.0}
    load(s, [([], [_link("d2", "d3")])])
    load(s, [([], [_link("d3", "d1")])])  # the chain d2 -> d3 -> d1: d1's visit comes first
    assert wrong(s) == []
    assert first() == {"s1": 40.0, "direct": 2.0}
    listed = conversions_behind(s.read, ConversionsQuery(attribution=q, behind="credit", key="s1", limit=10))
    assert [(c["person"], c["value"]) for c in listed["rows"]] == [("d1", 40.0)]
    assert listed["totals"]["people"] == 1
    assert s.forget(SCOPE, "d1").events == 2
    assert wrong(s) == [] and first() == {"direct": 2.0}
    s.close()


# The store as a previous release left it: before migration 18 (no keyed_events), or at it
# (keyed_events without session keys, sessions without keys, in time order).
_BEFORE_19 = (
    *(f"ALTER TABLE keyed_events DROP COLUMN {c}" for c in SPANS.split(", ")),
    "DELETE FROM schema_migrations WHERE version = 25",
    "DELETE FROM schema_migrations WHERE version = 22",
    "ALTER TABLE sessions DROP COLUMN shared_start", "DELETE FROM schema_migrations WHERE version = 21",
    "ALTER TABLE sessions DROP COLUMN dims_key", "DROP TABLE session_dims",
    "DROP SEQUENCE session_dims_keys", "DELETE FROM schema_migrations WHERE version = 20",
    "ALTER TABLE keyed_events DROP COLUMN session_key", "ALTER TABLE sessions DROP COLUMN session_key",
    "DROP SEQUENCE session_keys", "DELETE FROM schema_migrations WHERE version = 19",
)
BEFORE_18 = (*_BEFORE_19, "DROP TABLE keyed_events", "DELETE FROM schema_migrations WHERE version = 18")


@pytest.mark.parametrize("release", [BEFORE_18, _BEFORE_19], ids=["before-18", "at-18"])
def test_the_migration_fills_an_existing_store(tmp_path: Path, release: tuple[str, ...]) -> None:
    s = fresh(tmp_path / "e.duckdb")
    evs = [_ev(i, f"d{i % 5}", ["$pageview", "buy"][i % 2], "carol" if i == 7 else None, i) for i in range(40)]
    load(s, [(evs, [_link("d1", "carol")])])
    loaded, kept = answers(s), rows(s)
    assert len(kept) == 20  # the buys: page views are not kept
    for sql in release:
        s._con.execute(sql)
    s.close()
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    assert s.read("SELECT count(*) FROM schema_migrations WHERE version IN (18, 19, 20, 21, 25)", None)[1] == [(5,)]
    assert rows(s) == kept and wrong(s) == []
    # and every conversion's span found when the store opened
    assert s.read("SELECT count(*) FROM keyed_events WHERE span_hi IS NULL", None)[1] == [(0,)]
    assert s.read("SELECT count(session_key) FROM keyed_events", None)[1] == [(20,)]
    assert answers(s) == loaded
    s.append(lines([_ev(50, "d4", "buy", amount=1), _ev(51, "d4", "buy", amount=2)]), b"", s.applied_seq() + 1)
    assert wrong(s) == [] and len(rows(s)) == 22
    s.close()


def test_forget_leaves_no_key_of_a_session_it_deletes(tmp_path: Path) -> None:
    s = fresh(tmp_path / "e.duckdb")
    # d1's visit and, a day later, d2's purchase in one session (a shared device): forgetting
    # d1 deletes the session, but not d2's purchase, whose day forget does not rebuild.
    load(s, [([_ev(1, "d1"), replace(_ev(30, "d2", "buy", amount=5), session_id="d1-1")], [])])
    assert wrong(s) == [] and s.read("SELECT count(session_key) FROM keyed_events", None)[1] == [(1,)]
    before = answers(s)
    assert s.forget(SCOPE, "d1").sessions == 1
    assert wrong(s) == []  # the purchase holds no key of the deleted session
    assert s.read("SELECT count(*), count(session_key) FROM keyed_events", None)[1] == [(1, 0)]
    assert s.read("SELECT count(*) FROM session_dims", None)[1] == [(0,)]  # its values went too
    after = answers(s)
    assert after != before and after == events_read(s)
    s.close()
