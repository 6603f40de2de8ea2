"""`event_times` answers funnels exactly as the event scan does: random events loaded in several
batches with partial hours at the range's edges, devices identified and aliased after the fact,
forget and reclassify, bots, environments, projects; the loader keeps the same rows a backfill
makes (one per key: merged across batches), and the migration fills an existing store. Closed
days and weeks rewritten in name order (`event_times_runs`) keep every row and every answer,
also when events and identifies arrive for a day after its rewrite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footfall.model import Event, IdentityLink
from footfall.read.queries import AttributionQuery, FunnelPeopleQuery, FunnelQuery, FunnelStep
from footfall.store.duckdb import event_times, event_times_runs, funnels
from footfall.store.duckdb.store import DuckDBStore
from tests.store.test_keyed_events import BEFORE_18
from tests.store.test_visitor_hours import SCOPE, fresh, load

T0 = datetime(2026, 3, 28, tzinfo=UTC)  # funnels are in UTC: no time zone to vary
NAMES = ["$pageview", "$pageview", "signup", "buy"]

# Dense in time (a few devices over 3 hours, many events of a name in one hour, ties
# to the minute), so rows whose times straddle a previous step's time are common.
event = st.builds(
    lambda n, minutes, anon, user, env, project, bot, name: Event(
        project_id=project, env=env, uid=f"u{n}", name=name, ts=T0 + timedelta(minutes=minutes),
        received_at=T0, anonymous_id=None if anon is None else f"a{anon}",
        user_id=None if user is None else f"{'a' if user % 3 == 0 else 'p'}{user}", is_bot=bot,
    ),
    st.integers(0, 10**9), st.integers(0, 3 * 60), st.one_of(st.none(), st.integers(0, 2)),
    st.one_of(st.none(), st.none(), st.integers(0, 4)), st.sampled_from(["live"] * 5 + ["test"]),
    st.sampled_from(["prj_a"] * 5 + ["prj_b"]), st.sampled_from([False] * 5 + [True]),
    st.sampled_from(NAMES),
)  # fmt: skip
link = st.builds(
    lambda anon, user: IdentityLink(
        project_id="prj_a", env="live", anonymous_id=f"a{anon}", user_id=f"{'a' if user % 3 == 0 else 'p'}{user}", ts=T0
    ),
    st.integers(0, 3), st.integers(0, 4),
)  # fmt: skip
batches = st.lists(
    st.tuples(st.lists(event, min_size=5, max_size=30), st.lists(link, max_size=3)), min_size=2, max_size=4
)


def _steps(names: list[str]) -> tuple[FunnelStep, ...]:
    kept = [n for i, n in enumerate(names) if i == 0 or n != names[i - 1]]
    return tuple(FunnelStep(n) for n in kept)


# Minutes, so the edges fall inside hours; a range from 1 minute to 4 hours.
funnel = st.builds(
    lambda start, length, names, window, bots: FunnelQuery(
        scope=SCOPE, start=T0 + timedelta(minutes=start), end=T0 + timedelta(minutes=start + length),
        steps=_steps(names), window_seconds=window, include_bots=bots,
    ),
    st.sampled_from([0, 0, 7, 60, 95]), st.sampled_from([1, 30, 60, 125, 240]),
    st.lists(st.sampled_from(["$pageview", "signup", "buy"]), min_size=3, max_size=5).filter(
        lambda n: len(_steps(n)) >= 2
    ),
    st.sampled_from([60, 600, 1800, 86400]), st.booleans(),
)  # fmt: skip


def same(s: DuckDBStore, q: FunnelQuery) -> dict[str, Any]:
    """The funnel and the people behind every bar, from `event_times`, checked against the scan."""
    assert funnels.uses_times(q)
    fast = funnels.funnel(s.read, q)
    assert fast == funnels.funnel(s.read, q, use_times=False), q
    for step in range(1, len(q.steps) + 1):
        for outcome in ("converted", "dropped") if step < len(q.steps) else ("converted",):
            p = FunnelPeopleQuery(funnel=q, step=step, outcome=outcome, limit=1000)
            listed = funnels.people(s.read, p)
            assert listed == funnels.people(s.read, p, use_times=False), (q, p)
            # The people CSV's one read: the same people, in order, from either table.
            names, every = s.read(*funnels.every_person_sql(p))
            assert every == s.read(*funnels.every_person_sql(p, use_times=False))[1], (q, p)
            assert [dict(zip(names, r, strict=True)) for r in every] == listed["people"], (q, p)
    for limit, offset in ((2, 1), (1, 4)):  # pages cut inside runs of people entering at once
        p = FunnelPeopleQuery(funnel=q, step=1, outcome="converted", limit=limit, offset=offset)
        assert funnels.people(s.read, p) == funnels.people(s.read, p, use_times=False), (q, p)
    return fast


def rows(s: DuckDBStore) -> list[tuple[Any, ...]]:
    """Every row of both tables that `event_times_runs` rewrites, in no order."""
    got = s.read("SELECT * FROM event_times", None)[1] + s.read("SELECT * FROM keyed_events", None)[1]
    return sorted(got, key=repr)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(loaded=batches, queries=st.lists(funnel, min_size=2, max_size=5), forget=st.sampled_from(["p1", "a3", "p4"]))
def test_event_times_answer_funnels_as_the_events_do(
    tmp_path_factory: pytest.TempPathFactory,
    loaded: list[tuple[list[Event], list[IdentityLink]]],
    queries: list[FunnelQuery],
    forget: str,
) -> None:
    s = fresh(tmp_path_factory.mktemp("times") / "e.duckdb")
    try:
        load(s, loaded[:1])
        kept = rows(s)
        # The events' day closes and is rewritten in name order; later batches bring events
        # of that day and identifies that move its rows to other people.
        event_times_runs.backfill(s._con, now=T0 + timedelta(days=1))
        assert rows(s) == kept
        load(s, loaded[1:])
        for q in queries:
            same(s, q)
        kept = rows(s)
        event_times.backfill(s._con)  # what the loader kept, merged, is what a backfill makes
        assert rows(s) == kept
        s.forget(SCOPE, forget)
        assert forget not in {r[0] for r in s.read("SELECT id FROM visitor_keys WHERE project_id = 'prj_a' AND env = 'live'", None)[1]}
        for q in queries:
            same(s, q)
        kept = rows(s)
        event_times.backfill(s._con)
        assert rows(s) == kept
    finally:
        s.close()


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ev(uid: str, name: str, when: datetime, anon: str, user: str | None = None) -> Event:
    return Event(project_id="prj_a", env="live", uid=uid, name=name, ts=when, received_at=T0, anonymous_id=anon, user_id=user)


def test_late_identify_alias_chain_and_a_row_split_over_batches(tmp_path: Path) -> None:
    s = fresh(tmp_path / "e.duckdb")
    # d1's signup at 10:05 comes before its page view at 10:10, a second signup at 10:20 after:
    # step 2 is 10:20, from the hour's list of times (its first time is before the anchor).
    load(s, [([ev("1", "signup", at(10 + 5 / 60), "d1"), ev("2", "$pageview", at(10 + 10 / 60), "d1")], [])])
    load(s, [([ev("3", "signup", at(10 + 20 / 60), "d1"), ev("4", "buy", at(11), "d2")], [])])
    assert s.read("SELECT count(*) FROM event_times WHERE name = 'signup'", None)[1] == [(1,)]  # merged
    steps = (FunnelStep("$pageview"), FunnelStep("signup"), FunnelStep("buy"))
    q = FunnelQuery(scope=SCOPE, start=at(0), end=at(24), steps=steps)

    def reached(q: FunnelQuery) -> list[int]:
        return [b["people"] for b in same(s, q)["steps"]]

    assert reached(q) == [1, 1, 0]
    p = funnels.people(s.read, FunnelPeopleQuery(funnel=q, step=2, outcome="converted", limit=10))
    assert p["people"] == [{"person": "d1", "entered_at": "2026-03-28T10:10:00.000000Z", "reached_at": "2026-03-28T10:20:00.000000Z"}]
    assert reached(FunnelQuery(scope=SCOPE, start=at(0), end=at(24), steps=steps, window_seconds=5 * 60)) == [1, 0, 0]
    # d2 (the buyer) is d1 after the fact, through the alias chain d2 → d1 → carol.
    load(s, [([], [IdentityLink(project_id="prj_a", env="live", anonymous_id="d2", user_id="d1", ts=T0)])])
    assert reached(q) == [1, 1, 1]
    load(s, [([], [IdentityLink(project_id="prj_a", env="live", anonymous_id="d1", user_id="carol", ts=T0)])])
    load(s, [([ev("5", "buy", at(10.5), "d3", "carol")], [])])
    p = funnels.people(s.read, FunnelPeopleQuery(funnel=q, step=3, outcome="converted", limit=10))
    assert p["people"] == [{"person": "carol", "entered_at": "2026-03-28T10:10:00.000000Z", "reached_at": "2026-03-28T10:30:00.000000Z"}]
    # A range starting inside the hour of the page view: read from the events at that edge.
    assert reached(FunnelQuery(scope=SCOPE, start=at(10.1), end=at(24), steps=steps)) == [1, 1, 1]
    assert reached(FunnelQuery(scope=SCOPE, start=at(10.2), end=at(24), steps=steps)) == [0, 0, 0]
    s.reclassify(T0, lambda p, u, r: {"source": "again", "source_rule_id": "referral"}, ("source",))
    assert reached(q) == [1, 1, 1]
    assert s.forget(SCOPE, "carol").events == 5
    assert reached(q) == [0, 0, 0]
    assert rows(s) == []
    s.close()


def test_a_busy_key_is_split_into_rows_of_bounded_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One person sending many events an hour: the loader stops merging into a full row, so no
    store transaction rewrites an ever longer list (it ran the loader out of memory), and the
    split rows answer every funnel as the events do and hold every time a backfill holds."""
    monkeypatch.setattr(event_times, "_MERGE_MOST", 3)
    s = fresh(tmp_path / "e.duckdb")
    for b in range(12):  # 12 transactions, each with two page views and one signup of d1's
        minute = b * 4
        load(s, [([
            ev(f"p{b}", "$pageview", at(10 + minute / 60), "d1"),
            ev(f"q{b}", "$pageview", at(10 + (minute + 1) / 60), "d1"),
            ev(f"s{b}", "signup", at(10 + (minute + 2) / 60), "d1"),
            ev(f"b{b}", "buy", at(10 + (minute + 3) / 60), "d2"),
        ], [])])
    sizes = s.read("SELECT coalesce(len(times), 1) FROM event_times WHERE name = '$pageview'", None)[1]
    assert len(sizes) > 1 and max(n for (n,) in sizes) <= 3 - 1 + 2  # a row not yet full, plus a batch's
    steps = (FunnelStep("$pageview"), FunnelStep("signup"), FunnelStep("buy"))
    for start, window in ((at(0), 86400), (at(10.2), 86400), (at(10.5), 120), (at(10 + 1 / 60), 60)):
        same(s, FunnelQuery(scope=SCOPE, start=start, end=at(24), steps=steps, window_seconds=window))
    load(s, [([], [IdentityLink(project_id="prj_a", env="live", anonymous_id="d2", user_id="d1", ts=T0)])])
    assert same(s, FunnelQuery(scope=SCOPE, start=at(0), end=at(24), steps=steps))["steps"][2]["people"] == 1

    def times(s: DuckDBStore) -> dict[tuple[Any, ...], list[Any]]:
        got: dict[tuple[Any, ...], list[Any]] = {}
        for *key, first, listed in s.read(
            "SELECT hour, device_key, person_key, name, is_bot, first_ts, times FROM event_times", None
        )[1]:
            got.setdefault(tuple(key), []).extend(listed or [first])
        return {k: sorted(set(v)) for k, v in got.items()}

    split = times(s)
    event_times.backfill(s._con)  # one row per key, every time in it
    assert times(s) == split
    s.close()


def test_the_migration_backfills_an_existing_store(tmp_path: Path) -> None:
    s = fresh(tmp_path / "e.duckdb")
    evs = [ev(f"u{i}", NAMES[i % 4], at(i * 0.4), f"d{i % 5}", "carol" if i == 7 else None) for i in range(60)]
    load(s, [(evs, [IdentityLink(project_id="prj_a", env="live", anonymous_id="d1", user_id="carol", ts=T0)])])
    q = FunnelQuery(scope=SCOPE, start=at(1), end=at(20), steps=(FunnelStep("$pageview"), FunnelStep("signup"), FunnelStep("buy")))
    before, kept = same(s, q), rows(s)
    assert before["steps"][0]["people"] == 5
    # The store as the previous release left it: no event_times, migration 14 not applied.
    for sql in ("DROP TABLE event_times", "DELETE FROM schema_migrations WHERE version = 14"):
        s._con.execute(sql)
    s.close()
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    assert s.read("SELECT count(*) FROM schema_migrations WHERE version = 14", None)[1] == [(1,)]
    assert rows(s) == kept
    assert same(s, q) == before
    s.close()


def in_order(s: DuckDBStore, table: str, before: datetime, since: datetime) -> bool:
    """Are `table`'s rows of [since, before), in the table's own order, in run order?"""
    at, order = event_times_runs.TABLES[table]
    got = s.read(
        f"SELECT {order} FROM {table} WHERE {at} >= $a AND {at} < $b ORDER BY rowid",
        {"a": since.replace(tzinfo=None), "b": before.replace(tzinfo=None)},
    )[1]
    return got == sorted(got)


def ordered(s: DuckDBStore, before: datetime, since: datetime = T0 - timedelta(days=30)) -> bool:
    """Are both tables' rows of [since, before) in run order?"""
    return all(in_order(s, table, before, since) for table in event_times_runs.TABLES)


def unordered(s: DuckDBStore, before: datetime, since: datetime = T0 - timedelta(days=30)) -> bool:
    """Are neither table's rows of [since, before) in run order?"""
    return not any(in_order(s, table, before, since) for table in event_times_runs.TABLES)


def closed_upto(s: DuckDBStore) -> datetime:
    return s.read("SELECT upto FROM event_times_closed", None)[1][0][0]  # type: ignore[no-any-return]


def by_hand(s: DuckDBStore) -> DuckDBStore:
    """The store, its loader not closing days after a batch (the test calls `close_day` with
    its own clock)."""
    s._close_after = datetime.max.replace(tzinfo=UTC)
    return s


def test_closed_days_then_their_week_are_rewritten_in_name_order(tmp_path: Path) -> None:
    s = by_hand(fresh(tmp_path / "e.duckdb"))
    s._con.execute("UPDATE event_times_closed SET upto = '2026-03-27'")
    # Friday 27 March to Tuesday 31 March 2026, names interleaved in time, two people a day.
    friday = datetime(2026, 3, 27, tzinfo=UTC)
    evs = [
        ev(f"u{i}", NAMES[i % 4], friday + timedelta(hours=i * 2.5), f"d{i % 3}", "carol" if i % 7 == 0 else None)
        for i in range(44)
    ]
    load(s, [(evs, [])])
    kept = rows(s)
    steps = (FunnelStep("$pageview"), FunnelStep("signup"), FunnelStep("buy"))
    q = FunnelQuery(scope=SCOPE, start=friday, end=friday + timedelta(days=5), steps=steps)
    before = same(s, q)
    assert unordered(s, friday + timedelta(days=1))  # as appended: in time order
    now = datetime(2026, 3, 31, 10, tzinfo=UTC)
    # One day per call while closed days wait; Sunday's call rewrites the week it ends too.
    assert event_times_runs.close_day(s._con, now) == now
    assert closed_upto(s) == datetime(2026, 3, 28)
    assert ordered(s, datetime(2026, 3, 28, tzinfo=UTC))
    assert unordered(s, datetime(2026, 3, 29, tzinfo=UTC))
    assert event_times_runs.close_day(s._con, now) == now
    assert event_times_runs.close_day(s._con, now) == now  # Sunday the 29th, and its week
    assert closed_upto(s) == datetime(2026, 3, 30)
    assert ordered(s, datetime(2026, 3, 30, tzinfo=UTC))
    week = s.read("SELECT rowid FROM event_times WHERE hour < '2026-03-30' ORDER BY rowid", None)[1]
    assert [r[0] for r in week] == list(range(week[0][0], week[0][0] + len(week)))  # one run
    midnight = datetime(2026, 4, 1, tzinfo=UTC)
    assert event_times_runs.close_day(s._con, now) == midnight  # Monday: nothing waits after it
    assert event_times_runs.close_day(s._con, now) == midnight
    assert closed_upto(s) == datetime(2026, 3, 31)
    assert unordered(s, datetime(2026, 4, 1, tzinfo=UTC))  # today is still open
    assert rows(s) == kept
    assert same(s, q) == before
    # A late event for Saturday: appended, then its week is rewritten again before any day.
    load(s, [([ev("late", "signup", datetime(2026, 3, 28, 5, tzinfo=UTC), "d2")], [])])
    assert unordered(s, datetime(2026, 3, 30, tzinfo=UTC))
    assert event_times_runs.close_day(s._con, now) == now
    assert s.read("SELECT upto, late_from FROM event_times_closed", None)[1] == [(datetime(2026, 3, 31), None)]
    assert ordered(s, datetime(2026, 3, 30, tzinfo=UTC))
    # Late events over two weeks: a week per call, the span's end kept until its week is done.
    load(s, [([ev("l2", "buy", datetime(2026, 3, 30, 9, tzinfo=UTC), "d1"),
               ev("l3", "$pageview", datetime(2026, 3, 27, 9, tzinfo=UTC), "d0")], [])])  # fmt: skip
    assert event_times_runs.close_day(s._con, now) == now
    assert s.read("SELECT late_from, late_to FROM event_times_closed", None)[1] == [
        (datetime(2026, 3, 30), datetime(2026, 3, 30, 9))
    ]
    assert ordered(s, datetime(2026, 3, 30, tzinfo=UTC))
    assert event_times_runs.close_day(s._con, now) == now  # Monday the 30th: a day run
    assert s.read("SELECT upto, late_from, late_to FROM event_times_closed", None)[1] == [(datetime(2026, 3, 31), None, None)]
    assert ordered(s, datetime(2026, 3, 31, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC))
    # Late events of no one (neither id): not in event_times, in keyed_events, late all the same.
    nobody = [Event(project_id="prj_a", env="live", uid=f"n{i}", name=name, ts=datetime(2026, 3, 29, 20 - i, tzinfo=UTC),
                    received_at=T0) for i, name in enumerate(["signup", "buy", "buy"])]  # fmt: skip
    load(s, [(nobody, [])])
    assert not in_order(s, "keyed_events", datetime(2026, 3, 30, tzinfo=UTC), friday)
    assert s.read("SELECT late_from FROM event_times_closed", None)[1] == [(datetime(2026, 3, 29, 18),)]
    assert event_times_runs.close_day(s._con, now) == now
    assert ordered(s, datetime(2026, 3, 30, tzinfo=UTC), friday)
    before = same(s, q)
    # A late identify moves rows inside the runs; a forget rebuilds its days in run order.
    load(s, [([], [IdentityLink(project_id="prj_a", env="live", anonymous_id="d1", user_id="carol", ts=T0)])])
    after = same(s, q)
    assert after["steps"][0]["people"] < before["steps"][0]["people"]
    s.forget(SCOPE, "carol")
    s.purge()  # the store file copied: the rows keep their order
    same(s, q)
    for day in range(4):  # forget's days are rebuilt in order, the others keep the week's
        assert ordered(s, friday + timedelta(days=day + 1), friday + timedelta(days=day))
    s.close()


def test_a_week_bigger_than_the_bound_stays_in_day_runs(tmp_path: Path) -> None:
    s = by_hand(fresh(tmp_path / "e.duckdb"))
    s._con.execute("UPDATE event_times_closed SET upto = '2026-03-23'")
    sunday = datetime(2026, 3, 29, tzinfo=UTC)
    load(s, [([ev(f"u{i}", NAMES[i % 4], sunday - timedelta(hours=i * 5), f"d{i % 3}") for i in range(30)], [])])
    now = datetime(2026, 3, 30, 10, tzinfo=UTC)
    # 30 rows of event_times and 14 of keyed_events (the events but page views): both count.
    assert s.read("SELECT (SELECT count(*) FROM event_times), (SELECT count(*) FROM keyed_events)", None)[1] == [(30, 14)]
    while event_times_runs.close_day(s._con, now, week_rows=40) == now:
        pass
    assert closed_upto(s) == datetime(2026, 3, 30)
    for day in range(7):
        assert ordered(s, sunday - timedelta(days=day - 1), sunday - timedelta(days=day))
    assert unordered(s, sunday + timedelta(days=1), sunday - timedelta(days=6))  # no week run
    s.close()


def test_the_loader_rewrites_a_closed_day_after_a_batch(tmp_path: Path) -> None:
    s = fresh(tmp_path / "e.duckdb")
    old = closed_upto(s) - timedelta(days=3)
    s._con.execute("UPDATE event_times_closed SET upto = $u", {"u": old})
    load(s, [([ev("1", "$pageview", datetime.now(UTC), "d1")], [])])
    assert closed_upto(s) == old + timedelta(days=1)  # one day per batch
    # Events of a day already rewritten: the same batch's close rewrites their week again.
    load(s, [([ev(f"m{i}", NAMES[i % 4], at(i * 0.5), f"d{i % 3}") for i in range(40)], [])])
    assert s.read("SELECT late_from FROM event_times_closed", None)[1] == [(None,)]
    assert closed_upto(s) == old + timedelta(days=1)
    assert ordered(s, datetime(2026, 3, 30, tzinfo=UTC))
    s.close()


def test_the_migration_rewrites_the_closed_weeks_of_an_existing_store(tmp_path: Path) -> None:
    s = by_hand(fresh(tmp_path / "e.duckdb"))
    evs = [ev(f"u{i}", NAMES[i % 4], at(i * 6), f"d{i % 5}", "carol" if i == 7 else None) for i in range(60)]
    load(s, [(evs, [])])
    q = FunnelQuery(scope=SCOPE, start=at(1), end=at(300), steps=(FunnelStep("$pageview"), FunnelStep("signup"), FunnelStep("buy")))
    before, kept = same(s, q), rows(s)
    assert unordered(s, at(400))
    # The store as a release before 17 left it: no keyed_events yet (18, 19), nor 22.
    for sql in ("DROP TABLE event_times_closed", "DELETE FROM schema_migrations WHERE version = 17", *BEFORE_18):
        s._con.execute(sql)
    s.close()
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    today = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    assert closed_upto(s) in (today, today + timedelta(days=1))  # (a test across midnight)
    assert rows(s) == kept
    monday = datetime(2026, 3, 23, tzinfo=UTC)
    for week in range(3):  # the events' three weeks are closed: each is one run
        assert ordered(s, monday + timedelta(days=7 * week + 7), monday + timedelta(days=7 * week))
    assert same(s, q) == before
    s.close()


SEARCH = {"source": "google", "medium": "organic", "channel": "Organic Search"}
EMAIL = {"source": "newsletter", "medium": "email", "channel": "Email"}


def attributed(s: DuckDBStore) -> list[dict[str, Any]]:
    """Every attribution read of the `buy` conversions that `keyed_events` holds."""
    q = AttributionQuery(scope=SCOPE, start=at(0), end=at(400), conversion="buy", group_by=("channel",))
    return [s.attribution_compared(q), s.conversion_paths(q), s.time_to_convert(q)]


def test_the_migration_rewrites_the_closed_periods_of_keyed_events(tmp_path: Path) -> None:
    s = by_hand(fresh(tmp_path / "e.duckdb"))
    # Each device's visits, from search or email: paths of several touchpoints.
    evs = [
        msgspec.structs.replace(
            ev(f"u{i}", NAMES[i % 4], at(i * 6), f"d{i % 5}", "carol" if i == 7 else None),
            session_id=f"s{i // 4}", **(SEARCH if i % 8 < 4 else EMAIL),
        )
        for i in range(60)
    ]  # fmt: skip
    load(s, [(evs, [])])
    # The store as release 21 left it: event_times' runs closed up to Thursday 9 April, a late
    # span waiting, keyed_events as the loader appended it (in time order).
    state = (datetime(2026, 4, 9), datetime(2026, 4, 1, 5), datetime(2026, 4, 2, 7))
    s._con.execute("UPDATE event_times_closed SET upto = $1, late_from = $2, late_to = $3", list(state))
    for sql in (
        "CREATE TEMP TABLE appended AS SELECT * FROM keyed_events ORDER BY ts",
        "DELETE FROM keyed_events",
        "INSERT INTO keyed_events SELECT * FROM appended ORDER BY ts",
        "DELETE FROM schema_migrations WHERE version = 22",
    ):
        s._con.execute(sql)
    kept, answers = rows(s), attributed(s)
    assert answers[2]["totals"] == {"conversions": 15, "with_touchpoints": 15}
    assert {len(row["path"]) for row in answers[1]["rows"]} == {1, 2, 3, 4}
    assert not in_order(s, "keyed_events", at(400), at(0))
    s.close()
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    assert s.read("SELECT * FROM event_times_closed", None)[1] == [state]  # the loader's to go on
    assert rows(s) == kept
    monday = datetime(2026, 3, 23, tzinfo=UTC)
    for week in range(2):  # the closed weeks: each one run
        assert in_order(s, "keyed_events", monday + timedelta(days=7 * week + 7), monday + timedelta(days=7 * week))
    assert in_order(s, "keyed_events", datetime(2026, 4, 7, tzinfo=UTC), datetime(2026, 4, 6, tzinfo=UTC))
    assert in_order(s, "keyed_events", datetime(2026, 4, 9, tzinfo=UTC), datetime(2026, 4, 8, tzinfo=UTC))
    assert not in_order(s, "keyed_events", datetime(2026, 4, 9, tzinfo=UTC), monday + timedelta(days=14))  # days
    assert not in_order(s, "keyed_events", at(400), datetime(2026, 4, 9, tzinfo=UTC))  # not closed: as appended
    assert attributed(s) == answers
    # A week of more rows than the bound is rewritten a day per transaction.
    for sql in (
        "CREATE TEMP TABLE appended AS SELECT * FROM keyed_events ORDER BY ts",
        "DELETE FROM keyed_events",
        "INSERT INTO keyed_events SELECT * FROM appended ORDER BY ts",
    ):
        s._con.execute(sql)
    event_times_runs.backfill_keyed(s._con, week_rows=1)
    assert rows(s) == kept
    week = monday + timedelta(days=7)
    assert all(in_order(s, "keyed_events", week + timedelta(days=d + 1), week + timedelta(days=d)) for d in range(7))
    assert not in_order(s, "keyed_events", week + timedelta(days=7), week)
    s.close()
