"""Forget deletes the person in one transaction, then rebuilds the tables the loader keeps for
their days a span of whole hours per transaction (at most `FORGET_SPAN_EVENTS` events each);
a forget cut short is finished when the store next opens. Whatever the spans, every table ends
as the events give it, and no id of the person is left."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from footfall.model import Event, IdentityLink
from footfall.store.duckdb import event_times, keyed_events, rollups, store, visitors
from footfall.store.duckdb.store import DuckDBStore
from tests.store.test_keyed_events import wrong
from tests.store.test_visitor_hours import SCOPE, T0, fresh, load

_DAYS = 3


def _events() -> list[Event]:
    """Three UTC days of four devices, a few events most hours; d1 (linked to `gone`) is seen
    every day, and d2 shares one of d1's sessions."""
    evs = []
    for h in range(_DAYS * 24):
        for i in range(h % 5):
            device = f"d{(h + i) % 4}"
            at = T0 + timedelta(hours=h, minutes=7 * i)
            evs.append(
                Event(
                    project_id="prj_a", env="live", uid=f"u{h}-{i}", name=["$pageview", "signup", "buy"][i % 3],
                    ts=at, received_at=at, anonymous_id=device,
                    session_id=f"d1-{h // 3}" if device == "d2" and h == 30 else f"{device}-{h // 3}",
                    source=["google", None, "news"][h % 3], properties=f'{{"amount": {h}}}',
                )
            )  # fmt: skip
    return evs


def _loaded(path: Path) -> DuckDBStore:
    s = fresh(path)
    load(s, [(_events(), [IdentityLink(project_id="prj_a", env="live", anonymous_id="d1", user_id="gone", ts=T0)])])
    return s


def _with_ids(s: DuckDBStore, table: str) -> list[tuple[Any, ...]]:
    """The rows of `table`, their device and person keys turned back into ids, and lists of
    times unnested (rows are split as loads came), sorted."""
    columns = [r[0] for r in s.read(f"SELECT column_name FROM (DESCRIBE {table})", None)[1]]
    keys = {"device_key": "d.id", "person_key": "p.id", "session_key": "NULL"}
    shown = ", ".join(
        keys.get(c, "unnest(t.times)" if c == "times" else f"t.{c}")
        for c in columns
        if c not in ("first_ts", "last_ts")
    )
    sql = f"""
        SELECT {shown} FROM {table} t
        LEFT JOIN visitor_keys d ON d.project_id = t.project_id AND d.env = t.env AND d.key = t.device_key
        LEFT JOIN visitor_keys p ON p.project_id = t.project_id AND p.env = t.env AND p.key = t.person_key"""
    if "device_key" not in columns:
        sql = f"SELECT {shown.replace('d.id', 'NULL').replace('p.id', 'NULL')} FROM {table} t"
    return sorted(s.read(sql, None)[1], key=repr)


def _tables(s: DuckDBStore) -> dict[str, Any]:
    """What the loader keeps beside the events, in ids; the rollup summed by its key."""
    kept = {t: _with_ids(s, t) for t in ("visitor_hours", "page_hours", "event_hours", "event_times", "keyed_events")}
    kept["daily_rollup"] = sorted(
        s.read("SELECT * EXCLUDE (events), sum(events) FROM daily_rollup GROUP BY ALL", None)[1], key=repr
    )
    kept["ids"] = sorted(r[0] for r in s.read("SELECT id FROM visitor_keys", None)[1])
    return kept


def _rebuilt(s: DuckDBStore) -> dict[str, Any]:
    """`_tables` once every table is built again from the events, as the migrations do."""
    con = s._con
    visitors.backfill(con)
    event_times.backfill(con)
    keyed_events.backfill(con)
    con.execute("CREATE TEMP TABLE touched_days AS SELECT DISTINCT project_id, env, CAST(ts AS DATE) FROM events")
    for sql in rollups.REBUILD_DAYS:
        con.execute(sql)
    con.execute("DROP TABLE touched_days")
    return _tables(s)


def test_forget_in_spans_of_hours_leaves_the_tables_as_the_events_give_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _loaded(tmp_path / "whole.duckdb")
    gone = whole.forget(SCOPE, "gone")  # each day one span (few events a day)
    assert gone.events > 0 and gone.sessions > 0
    monkeypatch.setattr(store, "FORGET_SPAN_EVENTS", 3)  # every hour a span of its own
    s = _loaded(tmp_path / "spans.duckdb")
    calls: list[tuple[datetime, datetime]] = []
    real = DuckDBStore._rebuild

    def spy(self: DuckDBStore, scope: Any, day: date, span: tuple[datetime, datetime], whole_day: bool) -> None:
        calls.append(span)
        real(self, scope, day, span, whole_day)

    monkeypatch.setattr(DuckDBStore, "_rebuild", spy)
    # The first two days are rewritten in name order already: forget appends their rows in
    # runs of a span, so their weeks are due for a rewrite again (the late span).
    s._con.execute("UPDATE event_times_closed SET upto = $1, late_from = NULL, late_to = NULL", [T0 + timedelta(days=2)])
    assert s.forget(SCOPE, "gone") == gone
    late = s.read("SELECT late_from, late_to FROM event_times_closed", None)[1]
    # (the third day is not closed: its rows will be rewritten when it closes)
    assert late == [(T0.replace(tzinfo=None), (T0 + timedelta(days=2, hours=-1)).replace(tzinfo=None))]
    assert len(calls) > 3 * _DAYS  # many spans a day
    after = _tables(s)
    assert wrong(s) == []
    assert "gone" not in after["ids"] and "d1" not in after["ids"] and "d2" in after["ids"]
    assert s.read("SELECT count(*) FROM forget_days", None)[1] == [(0,)]
    assert after == _tables(whole)  # the same as a day a transaction
    assert after == _rebuilt(s)  # and as building every table again
    s.close()
    whole.close()


def test_a_day_is_cut_at_whole_hours_into_spans_of_bounded_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _loaded(tmp_path / "e.duckdb")
    day = T0.date()
    counts = {h: h % 5 for h in range(24)}  # as `_events` loads them: 0, 1, 2, 3, 4, 0, 1, ...
    monkeypatch.setattr(store, "FORGET_SPAN_EVENTS", 6)
    spans = s._spans(SCOPE, day)
    start = datetime.combine(day, datetime.min.time())
    assert spans[0][0] == start and spans[-1][1] == start + timedelta(days=1)
    assert all(a[1] == b[0] for a, b in pairwise(spans))  # the whole day, no gap
    sizes = [sum(counts[h] for h in range(a.hour, b.hour or 24)) for a, b in spans]
    assert all(n <= 6 for n in sizes) and sum(sizes) == sum(counts.values())
    # cut only where the next hour's events would not fit
    assert all(counts[b[0].hour] and x + counts[b[0].hour] > 6 for x, b in zip(sizes, spans[1:], strict=False))
    monkeypatch.setattr(store, "FORGET_SPAN_EVENTS", 3)  # an hour of 4 events goes alone
    assert (start + timedelta(hours=4), start + timedelta(hours=6)) in s._spans(SCOPE, day)  # and hour 5's none
    monkeypatch.setattr(store, "FORGET_SPAN_EVENTS", 10**6)
    assert s._spans(SCOPE, day) == [(start, start + timedelta(days=1))]
    s.close()


def test_a_forget_cut_short_is_finished_when_the_store_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _loaded(tmp_path / "whole.duckdb")
    whole.forget(SCOPE, "gone")
    monkeypatch.setattr(store, "FORGET_SPAN_EVENTS", 3)
    s = _loaded(tmp_path / "cut.duckdb")
    real, done = DuckDBStore._rebuild, []

    def dies(self: DuckDBStore, scope: Any, day: date, span: tuple[datetime, datetime], whole_day: bool) -> None:
        if len(done) == 30:  # a day and a bit rebuilt, then the process "dies"
            raise RuntimeError("killed")
        real(self, scope, day, span, whole_day)
        done.append(span)

    monkeypatch.setattr(DuckDBStore, "_rebuild", dies)
    with pytest.raises(RuntimeError, match="killed"):
        s.forget(SCOPE, "gone")
    # The person's events and links went in the first transaction; their days wait.
    assert s.read("SELECT count(*) FROM events WHERE anonymous_id = 'd1'", None)[1] == [(0,)]
    assert s.read("SELECT count(*) FROM identities", None)[1] == [(0,)]
    left = s.read("SELECT count(*) FROM forget_days", None)[1][0][0]
    assert 0 < left < _DAYS
    s.close()
    monkeypatch.setattr(DuckDBStore, "_rebuild", real)
    s = DuckDBStore(tmp_path / "cut.duckdb")
    s.migrate()
    assert s.read("SELECT count(*) FROM forget_days", None)[1] == [(0,)]
    assert wrong(s) == []
    assert _tables(s) == _tables(whole)  # as though it had never stopped
    assert "gone" not in _tables(s)["ids"]
    s.close()
    whole.close()
