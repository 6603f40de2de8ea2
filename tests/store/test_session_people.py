"""Each session's person key (`sessions.person_key`, migration 16) names exactly the person
attribution credits the session to, as resolved by string from the identity links at the time
of the read: under random batches loaded in either order, identifies after the fact, alias
chains, forget, reclassify, and after the migration fills an existing store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from footfall.model import Event, IdentityLink
from footfall.read.queries import ATTRIBUTION_MODELS, AttributionQuery
from footfall.store.duckdb import credit, journeys, session_people
from footfall.store.duckdb.store import DuckDBStore
from tests.store.test_visitor_hours import SCOPE, T0, batches, fresh, lines, load

# Every session whose keys do not name its person (user id, else the user its anonymous id is
# linked to, else the anonymous id; 0 for none) and its device (the anonymous id, without a
# user id): none may be left.
WRONG = """
SELECT s.project_id, s.env, s.session_id, s.user_id, s.anonymous_id, i.user_id AS linked,
       s.person_key, k.id AS person, s.device_key, d.id AS device
FROM sessions s
LEFT JOIN identities i
  ON i.project_id = s.project_id AND i.env = s.env AND i.anonymous_id = s.anonymous_id
LEFT JOIN visitor_keys k ON k.project_id = s.project_id AND k.env = s.env AND k.key = s.person_key
LEFT JOIN visitor_keys d ON d.project_id = s.project_id AND d.env = s.env AND d.key = s.device_key
WHERE s.person_key IS NULL
   OR (s.person_key = 0) <> (coalesce(s.user_id, i.user_id, s.anonymous_id) IS NULL)
   OR k.id IS DISTINCT FROM coalesce(s.user_id, i.user_id, s.anonymous_id)
   OR d.id IS DISTINCT FROM CASE WHEN s.user_id IS NULL THEN s.anonymous_id END
"""


def wrong(s: DuckDBStore) -> list[tuple[Any, ...]]:
    return s.read(WRONG, None)[1]


def answers(s: DuckDBStore, every: bool = True) -> list[dict[str, Any]]:
    """The attribution reads over the whole span, for one conversion event (`every`: each model
    alone too, else side by side, paths and time to convert)."""
    q = AttributionQuery(
        scope=SCOPE, start=T0, end=T0 + timedelta(days=6), conversion="buy",
        lookback_seconds=2 * 86400, group_by=("source",),
    )  # fmt: skip
    return [
        *(credit.attribution(s.read, replace(q, model=m)) for m in ATTRIBUTION_MODELS if every),
        credit.compared(s.read, q),
        journeys.paths(s.read, q),
        journeys.time_to_convert(s.read, q),
    ]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(loaded=batches, order=st.randoms(use_true_random=False), forget=st.sampled_from(["p1", "a3", "p4", "nobody"]))
def test_session_person_keys_stay_exact(
    tmp_path_factory: pytest.TempPathFactory,
    loaded: list[tuple[list[Event], list[IdentityLink]]], order: Any, forget: str,
) -> None:
    shuffled = list(loaded)
    order.shuffle(shuffled)
    for batches_in_order in (loaded, shuffled):
        s = fresh(tmp_path_factory.mktemp("people") / "e.duckdb")
        try:
            load(s, batches_in_order)
            assert wrong(s) == []
            before = answers(s, every=False)
            # Keys written again from the stored rows (what migration 16 does) answer the same.
            s._con.execute("UPDATE sessions SET person_key = NULL, device_key = NULL")
            session_people.backfill(s._con)
            assert wrong(s) == [] and answers(s, every=False) == before
            s.forget(SCOPE, forget)
            assert wrong(s) == []
            s.reclassify(T0 + timedelta(days=2), lambda p, u, r: {"source": "again", "source_rule_id": "x"}, ("source",))
            assert wrong(s) == []
            load(s, [([], [IdentityLink(project_id="prj_a", env="live", anonymous_id="a5", user_id="p6", ts=T0)])])
            assert wrong(s) == []
        finally:
            s.close()


def test_an_identify_after_the_fact_moves_the_sessions_and_their_credit(tmp_path: Path) -> None:
    s = fresh(tmp_path / "e.duckdb")

    def visit(n: int, anon: str, source: str, name: str = "$pageview", user: str | None = None) -> Event:
        at = T0 + timedelta(hours=n)
        return Event(
            project_id="prj_a", env="live", uid=f"u{n}", name=name, ts=at, received_at=at,
            anonymous_id=anon, user_id=user, session_id=f"{anon}-{n}", source=source,
        )  # fmt: skip

    def link(anon: str, user: str) -> IdentityLink:
        return IdentityLink(project_id="prj_a", env="live", anonymous_id=anon, user_id=user, ts=T0)

    # d1 visits from google, d2 from bing; alice buys on a third device with her user id.
    load(s, [([visit(1, "d1", "google"), visit(2, "d2", "bing"), visit(3, "d3", "email", "buy", "alice")], [])])
    q = AttributionQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=1), conversion="buy",
                         model="first_touch", group_by=("source",))  # fmt: skip
    assert [r["source"] for r in credit.attribution(s.read, q)["rows"]] == ["email"]
    load(s, [([], [link("d2", "d1")])])  # d2 is d1 now: not alice yet
    assert [r["source"] for r in credit.attribution(s.read, q)["rows"]] == ["email"]
    load(s, [([], [link("d1", "alice")])])  # the chain d2 → d1 → alice: both visits are hers
    assert wrong(s) == []
    assert [r["source"] for r in credit.attribution(s.read, q)["rows"]] == ["google"]
    linear = credit.attribution(s.read, replace(q, model="linear"))
    assert {r["source"]: r["conversions"] for r in linear["rows"]} == pytest.approx(
        {"google": 1 / 3, "bing": 1 / 3, "email": 1 / 3}
    )
    assert s.forget(SCOPE, "alice").sessions == 3
    assert wrong(s) == [] and credit.attribution(s.read, q)["rows"] == []


def test_the_migration_fills_the_keys_of_an_existing_store(tmp_path: Path) -> None:
    s = fresh(tmp_path / "e.duckdb")
    evs = [
        Event(project_id="prj_a", env="live", uid=f"u{i}", name=["$pageview", "buy"][i % 2],
              ts=T0 + timedelta(hours=i * 5), received_at=T0, anonymous_id=f"d{i % 5}",
              user_id="carol" if i == 7 else None, session_id=f"d{i % 5}-{i // 10}",
              source=["google", "bing", None][i % 3])
        for i in range(40)
    ]  # fmt: skip
    load(s, [(evs, [IdentityLink(project_id="prj_a", env="live", anonymous_id="d1", user_id="carol", ts=T0)])])
    loaded = answers(s)
    # The store as the previous release left it: no key columns, migration 16 not applied.
    for sql in (
        "ALTER TABLE sessions DROP COLUMN person_key",
        "ALTER TABLE sessions DROP COLUMN device_key",
        "DELETE FROM schema_migrations WHERE version = 16",
    ):
        s._con.execute(sql)
    s.close()
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    assert s.read("SELECT count(*) FROM schema_migrations WHERE version = 16", None)[1] == [(1,)]
    assert s.read("SELECT count(*), count(person_key) FROM sessions", None)[1] == [(20, 20)]
    assert wrong(s) == []
    assert answers(s) == loaded
    s.append(lines([Event(project_id="prj_a", env="live", uid="late", name="buy", ts=T0, received_at=T0,
                          anonymous_id="d4", session_id="d4-9")]), b"", s.applied_seq() + 1)  # fmt: skip
    assert wrong(s) == []
    s.close()
