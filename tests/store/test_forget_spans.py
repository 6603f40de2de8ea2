"""Forget deletes the person in one transaction, then rebuilds the tables the loader keeps for
their days a span of whole hours per transaction (at most `FORGET_SPAN_EVENTS` events each);
a forget cut short is finished when the store next opens. Whatever the spans, every table ends
as the events give it, and no id of the person is left."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb
import pytest
from msgspec.structs import replace

from footfall.model import Event, IdentityLink, Scope
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


def _link(anon: str, user: str, project: str = "prj_a") -> IdentityLink:
    return IdentityLink(project_id=project, env="live", anonymous_id=anon, user_id=user, ts=T0)


def _loaded(path: Path) -> DuckDBStore:
    """`_events` in prj_a and, a copy, in prj_b; d1 is `gone`'s, d3 is `kept`'s; and "d1" is
    the user id of someone else's events too (ids are strings: a device's may be a user's)."""
    s = fresh(path)
    other = [replace(e, project_id="prj_b", uid=f"b{e.uid}") for e in _events()]
    theirs = [
        replace(e, uid=f"x{e.uid}", anonymous_id="d7", user_id="d1", session_id=f"d7-{i}")
        for i, e in enumerate(_events()[::9])
    ]
    load(s, [(_events() + other + theirs, [_link("d1", "gone"), _link("d3", "kept"), _link("d1", "gone", "prj_b")])])
    return s


def _with_ids(s: DuckDBStore, table: str) -> list[tuple[Any, ...]]:
    """The rows of `table`, their device and person keys turned back into ids, and lists of
    times unnested (rows are split as loads came), sorted."""
    columns = [r[0] for r in s.read(f"SELECT column_name FROM (DESCRIBE {table})", None)[1]]
    # Conversions' spans of session places are found after, as the loader numbers sessions
    # (touch_spans.py), and checked by test_touch_spans.py.
    spans = {c: "NULL" for c in ("span_lo", "span_hi", "span_nd", "span_decay")}
    keys = {"device_key": "d.id", "person_key": "p.id", "session_key": "NULL", **spans}
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
    kept["ids"] = sorted(s.read("SELECT project_id, env, id FROM visitor_keys", None)[1])
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
    assert s.forget(SCOPE, "gone") == gone
    assert len(calls) > 3 * _DAYS  # many spans a day
    after = _tables(s)
    assert wrong(s) == []
    assert ("prj_a", "live", "gone") not in after["ids"]
    assert ("prj_a", "live", "d1") in after["ids"]  # the user id of another person's events
    assert ("prj_b", "live", "gone") in after["ids"]  # the same id in another project stays
    mine = {("prj_a", "live", i) for i in ("d2", "d3", "kept")}  # another person's linked device too
    assert mine <= set(after["ids"])
    assert s.read("SELECT count(*) FROM forget_days", None)[1] == [(0,)]
    assert after == _tables(whole)  # the same as a day a transaction
    assert after == _rebuilt(s)  # and as building every table again
    s.close()
    whole.close()


def test_a_day_is_cut_at_whole_hours_into_spans_of_bounded_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = fresh(tmp_path / "e.duckdb")
    load(s, [(_events(), [])])
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
    assert s.read("SELECT count(*) FROM events WHERE project_id = 'prj_a' AND anonymous_id = 'd1'", None)[1] == [(0,)]
    assert s.read("SELECT count(*) FROM identities WHERE project_id = 'prj_a' AND user_id = 'gone'", None)[1] == [(0,)]
    left = s.read("SELECT count(*) FROM forget_days", None)[1][0][0]
    assert 0 < left < _DAYS
    s.close()
    monkeypatch.setattr(DuckDBStore, "_rebuild", real)
    s = DuckDBStore(tmp_path / "cut.duckdb")
    s.migrate()
    assert s.read("SELECT count(*) FROM forget_days", None)[1] == [(0,)]
    assert wrong(s) == []
    assert _tables(s) == _tables(whole)  # as though it had never stopped
    assert ("prj_a", "live", "gone") not in _tables(s)["ids"]
    s.close()
    whole.close()


def test_a_forget_cut_short_is_finished_by_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    whole = _loaded(tmp_path / "whole.duckdb")
    gone = whole.forget(SCOPE, "gone")
    monkeypatch.setattr(store, "FORGET_SPAN_EVENTS", 3)
    s = _loaded(tmp_path / "cut.duckdb")
    real = DuckDBStore._rebuild
    b = Scope("prj_b", "live")

    def dies(self: DuckDBStore, scope: Any, day: date, span: tuple[datetime, datetime], whole_day: bool) -> None:
        if span[0] >= datetime.combine(T0.date(), datetime.min.time()) + timedelta(days=1):
            raise RuntimeError("killed")  # the first day rebuilt, then the process "dies"
        real(self, scope, day, span, whole_day)

    monkeypatch.setattr(DuckDBStore, "_rebuild", dies)
    for scope in (SCOPE, b):
        with pytest.raises(RuntimeError, match="killed"):
            s.forget(scope, "gone")
    pending = "SELECT project_id, count(*) FROM forget_days GROUP BY ALL ORDER BY ALL"
    assert s.read(pending, None)[1] == [("prj_a", _DAYS - 1), ("prj_b", _DAYS - 1)]
    monkeypatch.setattr(DuckDBStore, "_rebuild", real)
    # Asked again, it deletes nothing more and finishes its own scope's days, not another's.
    again = s.forget(SCOPE, "gone")
    assert (again.events, again.identities, again.sessions) == (0, 0, 0) and gone.events > 0
    assert s.read(pending, None)[1] == [("prj_b", _DAYS - 1)]
    s.close()

    def fails(*_: Any, **__: Any) -> None:
        raise duckdb.OutOfMemoryException("out of memory")

    with monkeypatch.context() as m, caplog.at_level(logging.ERROR, logger="footfall.store"):
        m.setattr(DuckDBStore, "_rebuild", fails)
        s = DuckDBStore(tmp_path / "cut.duckdb")
        s.migrate()  # a day that cannot be rebuilt does not keep the store from opening
        assert s.read(pending, None)[1] == [("prj_b", _DAYS - 1)]
        assert "asking again finishes them" in caplog.text
        s.close()
    s = DuckDBStore(tmp_path / "cut.duckdb")
    s.migrate()  # and the store finishes the rest when it opens
    whole.forget(b, "gone")
    assert s.read(pending, None)[1] == [] and wrong(s) == []
    assert _tables(s) == _tables(whole)
    s.close()
    whole.close()


def test_a_person_with_links_but_no_events_leaves_no_key(tmp_path: Path) -> None:
    s = _loaded(tmp_path / "e.duckdb")
    load(s, [([], [_link("d9", "ghost")])])  # a device never seen, linked to a user never seen
    before = _tables(s)
    result = s.forget(SCOPE, "ghost")
    assert (result.events, result.identities) == (0, 1)
    after = _tables(s)
    assert ("prj_a", "live", "ghost") in before["ids"] and ("prj_a", "live", "d9") in before["ids"]
    assert ("prj_a", "live", "ghost") not in after["ids"] and ("prj_a", "live", "d9") not in after["ids"]
    assert {k: v for k, v in after.items() if k != "ids"} == {k: v for k, v in before.items() if k != "ids"}
    assert s.read("SELECT count(*) FROM forget_days", None)[1] == [(0,)]
    s.close()
