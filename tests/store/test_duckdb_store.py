"""The embedded store on a real DuckDB file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import msgspec
import pytest

from footfall.errors import StoreUnavailable
from footfall.model import Event, IdentityLink
from footfall.read.queries import SessionSummaryQuery
from footfall.store.base import EventQuery, Scope
from footfall.store.duckdb.store import DuckDBStore

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SCOPE = Scope("prj_a", "live")


def ev(n: int, **kw: object) -> Event:
    fields: dict[str, object] = {
        "project_id": "prj_a", "env": "live", "uid": f"uid-{n}", "name": "x",
        "ts": T0 + timedelta(minutes=n), "received_at": T0, "anonymous_id": "a1",
    }
    fields.update(kw)
    return Event(**fields)  # type: ignore[arg-type]


def ndjson(*items: msgspec.Struct) -> bytes:
    return b"".join(msgspec.json.encode(i) + b"\n" for i in items)


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    s = DuckDBStore(tmp_path / "events.duckdb")
    s.migrate()
    return s


def q(**kw: object) -> EventQuery:
    return EventQuery(scope=SCOPE, start=T0 - timedelta(days=1), end=T0 + timedelta(days=1), limit=1000, **kw)  # type: ignore[arg-type]


def test_migrations_are_versioned_and_run_once(tmp_path: Path) -> None:
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    version = s.schema_version()
    assert version >= 1
    s.append(ndjson(ev(1)), b"", 1)
    s.close()
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    assert s.schema_version() == version
    assert len(s.query_events(q())) == 1
    s.close()


def test_append_records_the_wal_position_with_the_rows(store: DuckDBStore) -> None:
    assert store.applied_seq() == 0
    assert store.append(ndjson(ev(1), ev(2)), b"", 7) == 2
    assert store.applied_seq() == 7


def test_a_failed_append_stores_nothing_and_keeps_the_position(store: DuckDBStore) -> None:
    store.append(ndjson(ev(1)), b"", 3)
    with pytest.raises(Exception):  # noqa: B017 (any backend error)
        store.append(ndjson(ev(2)) + b'{"project_id": "prj_a", "ts": "not a time"}\n', b"", 4)
    assert store.applied_seq() == 3
    assert len(store.query_events(q())) == 1


def test_event_ids_are_idempotent_within_and_across_batches(store: DuckDBStore) -> None:
    assert store.append(ndjson(ev(1, event_id="e1"), ev(2, event_id="e1"), ev(3)), b"", 1) == 2
    assert store.append(ndjson(ev(4, event_id="e1"), ev(5, event_id="e2")), b"", 2) == 1
    other_env = ev(6, event_id="e1", env="test")
    assert store.append(ndjson(other_env), b"", 3) == 1
    assert sorted(r["event_id"] or "-" for r in store.query_events(q())) == ["-", "e1", "e2"]


def test_user_filter_and_forget_follow_identity_links(store: DuckDBStore) -> None:
    link = IdentityLink(project_id="prj_a", env="live", anonymous_id="a1", user_id="u1", ts=T0)
    store.append(
        ndjson(ev(1), ev(2, anonymous_id="a2", user_id="u1"), ev(3, anonymous_id="a3")),
        ndjson(link), 1,
    )
    assert {r["anonymous_id"] for r in store.query_events(q(user_id="u1"))} == {"a1", "a2"}
    result = store.forget(SCOPE, "u1")
    assert (result.events, result.identities) == (2, 1)
    assert [r["anonymous_id"] for r in store.query_events(q())] == ["a3"]


def test_first_identity_link_wins(store: DuckDBStore) -> None:
    first = IdentityLink(project_id="prj_a", env="live", anonymous_id="a1", user_id="u1", ts=T0)
    second = IdentityLink(project_id="prj_a", env="live", anonymous_id="a1", user_id="u2", ts=T0 + timedelta(hours=1))
    store.append(ndjson(ev(1)), ndjson(first), 1)
    store.append(b"", ndjson(second), 2)
    assert len(store.query_events(q(user_id="u1"))) == 1
    assert store.query_events(q(user_id="u2")) == []


def test_session_tails_find_each_visitors_latest_derived_session(store: DuckDBStore) -> None:
    store.append(ndjson(
        ev(1, session_id="a1-1"), ev(2, session_id="a1-2"), ev(3, session_id="custom"),
        ev(4, anonymous_id="b", session_id="b-9"),
    ), b"", 1)
    tails = {t.anonymous_id: t for t in store.session_tails(T0)}
    assert tails["a1"].session_id == "a1-2"
    assert tails["b"].session_id == "b-9"


def test_session_attributions_take_the_first_event_with_a_signal(store: DuckDBStore) -> None:
    store.append(ndjson(
        ev(1, session_id="s1", source="direct", source_rule_id="direct"),
        ev(2, session_id="s1", source="google", source_rule_id="gclid"),
        ev(3, session_id="s1", source="bing", source_rule_id="msclkid"),
        ev(4, session_id="s2", source="direct", source_rule_id="direct"),
    ), b"", 1)
    rows = dict(store.session_attributions(T0, ("source", "source_rule_id")))
    assert rows == {("prj_a", "live", "s1"): ("google", "gclid")}


def test_sessions_are_folded_in_incrementally_across_batches(store: DuckDBStore) -> None:
    first = ndjson(
        ev(10, session_id="s", name="$pageview", path="/b", source="google", user_id=None),
        ev(12, session_id="s", name="click"),
    )
    later = ndjson(
        ev(5, session_id="s", name="$pageview", path="/a", source="bing"),  # arrives late, earlier ts
        ev(20, session_id="s", name="$pageview", path="/c", user_id="u1"),
    )
    store.append(first, b"", 1)
    store.append(later, b"", 2)
    dup = ndjson(ev(30, session_id="s", name="x", event_id="dup"), ev(31, session_id="s", name="x", event_id="dup"))
    store.append(dup, b"", 3)
    store.append(dup, b"", 4)  # a replay adds nothing
    _names, (row,) = store.read(
        "SELECT start_ts, end_ts, events, pageviews, entry_path, exit_path, source, user_id FROM sessions WHERE session_id = 's'"
    )
    assert row == (
        (T0 + timedelta(minutes=5)).replace(tzinfo=None), (T0 + timedelta(minutes=30)).replace(tzinfo=None),
        5, 3, "/a", "/c", "bing", "u1",
    )


def test_profile_updates_fold_in_order_and_forget_removes_them(store: DuckDBStore) -> None:
    from footfall.model import ProfileUpdate

    def upd(n: int, **kw: object) -> ProfileUpdate:
        base: dict[str, object] = {"project_id": "prj_a", "env": "live", "kind": "visitor", "subject_id": "a1", "ts": T0 + timedelta(minutes=n)}
        base.update(kw)
        return ProfileUpdate(**base)  # type: ignore[arg-type]

    store.append(ndjson(ev(1, user_id="u1")), b"", 1, [
        msgspec.json.encode(upd(1, attributes={"plan": "free", "seats": 1}, context={"url": {"href": "https://a"}})),
        msgspec.json.encode(upd(2, attributes={"plan": "pro"}, custom_data={"x": 1})),
    ])
    store.append(b"", b"", 2, [
        msgspec.json.encode(upd(3, attributes={"only": True}, replace=True, enrichment={"geo": {"country": "US"}})),
        msgspec.json.encode(upd(4, kind="person", subject_id="u1", attributes={"email": "u1@example.com"})),
    ])
    doc = store.profile(SCOPE, "visitor", "a1")
    assert doc is not None
    assert doc["attributes"] == {"only": True}
    assert doc["context"] == {"url": {"href": "https://a"}} and doc["custom_data"] == {"x": 1}
    assert doc["enrichment"] == {"geo": {"country": "US"}}
    assert (doc["created_at"], doc["updated_at"]) == ("2026-05-01T12:01:00.000000Z", "2026-05-01T12:03:00.000000Z")
    assert store.profile(SCOPE, "person", "u1")["attributes"] == {"email": "u1@example.com"}  # type: ignore[index]
    assert store.profile(SCOPE, "visitor", "nobody") is None
    store.forget(SCOPE, "u1")
    assert store.profile(SCOPE, "person", "u1") is None
    assert store.profile(SCOPE, "visitor", "a1") is None  # a1 carried u1's events


def test_set_once_and_unset_fold_in_log_order_within_and_across_batches(store: DuckDBStore) -> None:
    """The profile-update format every backend folds alike: `set_once` adds only keys not set
    yet, `attributes` merge, `unset` removes; in one update in that order, updates in log order."""
    from footfall.model import ProfileUpdate

    def upd(n: int, **kw: object) -> bytes:
        base = {"project_id": "prj_a", "env": "live", "kind": "person", "subject_id": "p1", "ts": T0 + timedelta(minutes=n)}
        return msgspec.json.encode(ProfileUpdate(**{**base, **kw}))  # type: ignore[arg-type]

    store.append(b"", b"", 1, [
        upd(1, set_once={"first": "a", "plan": "trial"}, attributes={"plan": "free"}),  # attributes win
        upd(2, set_once={"first": "b", "source": "ads"}, unset=["missing"]),
        upd(3, attributes={"email": "p@example.com"}),
    ])
    store.append(b"", b"", 2, [upd(4, unset=["email", "plan"]), upd(5, set_once={"plan": "pro"})])
    doc = store.profile(SCOPE, "person", "p1")
    assert doc is not None and doc["attributes"] == {"first": "a", "source": "ads", "plan": "pro"}


def test_alias_chains_resolve_to_the_end_person(store: DuckDBStore) -> None:
    def link(anon: str, user: str, n: int) -> IdentityLink:
        return IdentityLink(project_id="prj_a", env="live", anonymous_id=anon, user_id=user, ts=T0 + timedelta(minutes=n))

    store.append(ndjson(ev(1, anonymous_id="a"), ev(2, anonymous_id="b"), ev(3, anonymous_id="c")), ndjson(link("a", "b", 1)), 1)
    store.append(b"", ndjson(link("b", "c", 2)), 2)  # a → b → c
    assert {r["anonymous_id"] for r in store.query_events(q(user_id="c"))} == {"a", "b", "c"}
    store.append(ndjson(ev(4, anonymous_id="z")), ndjson(link("z", "a", 3)), 3)  # z → a, already at c
    assert {r["anonymous_id"] for r in store.query_events(q(user_id="c"))} == {"a", "b", "c", "z"}
    store.append(b"", ndjson(link("c", "a", 4)), 4)  # a cycle is not followed round
    _names, rows = store.read("SELECT anonymous_id, user_id FROM identities ORDER BY 1")
    assert all(anon != user for anon, user in rows)


def test_a_batch_read_past_the_memory_limit_is_store_unavailable(tmp_path: Path) -> None:
    """A CSV's read (one sorted query) that cannot fit the store's memory answers
    `query_out_of_memory` on its first batch (the dashboard's 503 before any byte) and releases
    its cursor: the next read works."""
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    s._con.execute(
        """INSERT INTO sessions (project_id, env, session_id, anonymous_id, start_ts, end_ts,
                                 events, pageviews, entry_path, exit_path, is_bot)
           SELECT 'prj_a', 'live', 's' || i, 'a' || (i % 5000), $t0 + to_seconds(i),
                  $t0 + to_seconds(i + 60), 3, 2, '/p' || i, '/q' || i, false
           FROM range(200000) r(i)""",
        {"t0": T0.replace(tzinfo=None)},
    )
    s.close()
    small = DuckDBStore(tmp_path / "e.duckdb", memory="4MB")
    q = SessionSummaryQuery(scope=SCOPE, start=T0, end=T0 + timedelta(days=5), group_by="entry_path")
    with pytest.raises(StoreUnavailable) as raised:
        next(small.session_summary_batches(q))
    assert raised.value.code == "query_out_of_memory"
    assert small.read("SELECT count(*) FROM sessions")[1] == [(200000,)]
    small.close()


def test_a_batch_read_whose_bit_sets_fail_reads_again_exactly(store: DuckDBStore) -> None:
    """A people count by bit sets that meets a key outside their range (`reads.stats`'s
    fallback) is read again without them, in a fresh transaction, as `stats` does."""
    store.append(ndjson(*(ev(i) for i in range(5))), b"", 1)
    failing = "SELECT bitstring_agg(x, 1, 3) IS NULL AS value FROM (VALUES (5)) t(x)"
    exact = "SELECT count(*) AS value FROM events"
    got = list(store._one_read(lambda run: (failing, {}, exact), 2))
    assert got == [[{"value": 5}]]
    with pytest.raises(duckdb.OutOfRangeException):
        list(store._one_read(lambda run: (failing, {}, None), 2))
    assert store.read("SELECT count(*) FROM events")[1] == [(5,)]
