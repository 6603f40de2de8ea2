"""Every attribution model, and the conversion paths, against a plain-Python reference, on
random data whose sessions tie.

The SQL weighs touchpoints from aggregates over each conversion's touchpoints and builds paths
from lists sorted by start (#19); this checks each model's credits per channel, and each
path's conversions and value, against what is computed here from the definitions:
touchpoints in (session start, session id) order, so sessions of one person that start at the
same instant are ordered by their id; conversions without a session or any earlier one credited
whole to direct; the conversion's own session counted even when older than the lookback.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.errors import StoreUnavailable
from footfall.model import Event, IdentityLink
from footfall.read.queries import ATTRIBUTION_MODELS, AttributionQuery, ConversionsQuery
from footfall.store.duckdb import credit, journeys
from footfall.store.duckdb.store import DuckDBStore
from tests.store.test_attribution import DAY, DIRECT, SCOPE, at, buy, ndjson, src, visit

HALF_LIFE = 7 * DAY
# A session's channel follows from its number, so every event of a session agrees on it.
CHANNELS = [src("google", "organic", "Organic Search"), src("x", "paid", "Paid Social", "c1"), DIRECT]
# (person, session number, day, minute, converts): minutes 0-1 make sessions of one person start
# at the same instant. A conversion (`converts` > 0) comes half a minute after its visit (1), two
# days later in the same session (2: its own session is older than a short lookback), or from
# the other person in that session (3: its own session is not its person's).
_visit = st.tuples(
    st.sampled_from(["p0", "p1"]), st.integers(0, 3), st.integers(-10, 9), st.integers(0, 1), st.integers(0, 3)
)


def _events(rows: list[tuple[str, int, int, int, int]]) -> list[Event]:
    out: list[Event] = []
    for i, (person, session, day, minute, converts) in enumerate(rows):
        sid = f"{person}-{session}-{day}"
        out.append(visit(at(day, minute), person, sid, CHANNELS[session % 3]))
        if converts:  # session 0 converts outside any session
            later = 2 * DAY / 60 if converts == 2 else 0
            buyer = {"p0": "p1", "p1": "p0"}[person] if converts == 3 else person
            out.append(buy(at(day, minute + 0.5 + later), buyer, sid if session else None, 10 * (i + 1), CHANNELS[session % 3]))
    return out


def _weights(touch: list[tuple[datetime, str, str, str]], at_ts: datetime) -> dict[str, list[float]]:
    """Each model's weight of each touchpoint (start, session id, source, channel), in order."""
    n = len(touch)
    decay = [2 ** (-(at_ts - start).total_seconds() / HALF_LIFE) for start, *_ in touch]
    non_direct = [i for i, (_s, _id, source, _c) in enumerate(touch) if source != "direct"]
    lnd = non_direct[-1] if non_direct else n - 1
    position = [1.0] if n == 1 else [0.5, 0.5] if n == 2 else [0.4, *[0.2 / (n - 2)] * (n - 2), 0.4]
    return {
        "first_touch": [1.0 if i == 0 else 0.0 for i in range(n)],
        "last_touch": [1.0 if i == n - 1 else 0.0 for i in range(n)],
        "last_non_direct": [1.0 if i == lnd else 0.0 for i in range(n)],
        "linear": [1.0 / n] * n,
        "position_based": position,
        "time_decay": [d / sum(decay) for d in decay],
    }


def _touchpoints(events: list[Event], q: AttributionQuery) -> list[tuple[Event, float, list[Any]]]:
    """Each conversion, its value and its touchpoints (start, session id, source, channel), in
    order."""
    sessions: dict[str, Event] = {}
    for e in sorted(events, key=lambda e: e.ts):  # a session starts at its first event
        if e.session_id is not None:
            sessions.setdefault(e.session_id, e)
    lookback = timedelta(seconds=q.lookback_seconds)
    out = []
    for c in events:
        if c.name != "purchase" or not q.start <= c.ts < q.end:
            continue
        value = float(msgspec.json.decode(c.properties)["amount_cents"])
        touch = sorted(
            (first.ts, sid, first.source or "direct", first.channel or "")
            for sid, first in sessions.items()
            if (first.anonymous_id == c.anonymous_id and c.ts - lookback <= first.ts <= c.ts)
            or sid == c.session_id
        )
        out.append((c, value, touch))
    return out


def reference(events: list[Event], q: AttributionQuery) -> dict[str, dict[str, tuple[float, float]]]:
    """model -> channel -> (credited conversions, credited value)."""
    out: dict[str, dict[str, list[float]]] = {m: defaultdict(lambda: [0.0, 0.0]) for m in ATTRIBUTION_MODELS}
    for c, value, touch in _touchpoints(events, q):
        weights = _weights(touch, c.ts) if touch else {m: [1.0] for m in ATTRIBUTION_MODELS}
        channels = [channel for *_, channel in touch] or ["Direct"]
        for model, ws in weights.items():
            for channel, w in zip(channels, ws, strict=True):
                out[model][channel][0] += w
                out[model][channel][1] += w * value
    return {m: {ch: (round(a, 6), round(b, 6)) for ch, (a, b) in by.items() if a} for m, by in out.items()}


def reference_paths(events: list[Event], q: AttributionQuery) -> dict[tuple[str, ...], tuple[int, float]]:
    """path of channels -> (conversions, value); `("Direct",)` for a conversion without any
    touchpoint, as for one whose only touchpoint is direct."""
    out: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0, 0.0])
    for _c, value, touch in _touchpoints(events, q):
        path = tuple(channel for *_, channel in touch) or ("Direct",)
        out[path][0] += 1
        out[path][1] += value
    return {path: (int(n), round(v, 6)) for path, (n, v) in out.items()}


def _close(got: dict[str, tuple[float, float]], want: dict[str, tuple[float, float]]) -> bool:
    return got.keys() == want.keys() and all(
        got[k] == pytest.approx(want[k], abs=2e-6) for k in want
    )


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_visit, max_size=16), lookback_days=st.sampled_from([1, 3, 30]))
def test_every_model_matches_the_reference(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, int, int, int, int]], lookback_days: int
) -> None:
    events = _events(rows)
    q = AttributionQuery(
        scope=SCOPE, start=at(0), end=at(8), conversion="purchase", value_property="amount_cents",
        lookback_seconds=lookback_days * DAY, group_by=("channel",),
    )  # fmt: skip
    want = reference(events, q)
    s = DuckDBStore(tmp_path_factory.mktemp("models") / "e.duckdb")
    try:
        s.migrate()
        if events:
            s.append(ndjson(*events), b"", 1)
        both = s.attribution_compared(q)
        # Read in parts by person, as when the conversions outgrow the store's memory (the
        # models that order touchpoints): about one part per two conversions here.
        split = credit.compared(s.read, q, memory_bytes=credit.CONVERSION_BYTES * 2)
        assert split["totals"] == both["totals"]
        for model in ATTRIBUTION_MODELS:
            side, parts = ({
                r["channel"]: (r["conversions"][model], r["value"][model])
                for r in answer["rows"] if r["conversions"][model]
            } for answer in (both, split))
            one = msgspec.structs.replace(q, model=model)
            alone, alone_parts = ({
                r["channel"]: (r["conversions"], r["value"]) for r in answer["rows"]
            } for answer in (
                s.attribution(one), credit.attribution(s.read, one, credit.CONVERSION_BYTES * 2)
            ))  # fmt: skip
            assert _close(side, want[model]), (model, side, want[model])
            assert _close(parts, want[model]), (model, parts, want[model])
            assert _close(alone, want[model]), (model, alone, want[model])
            assert _close(alone_parts, want[model]), (model, alone_parts, want[model])
        paths = s.conversion_paths(q)["rows"]
        got = {tuple(r["path"]): (r["conversions"], r["value"]) for r in paths}
        assert got == reference_paths(events, q)
        for limit in (1, 2, 3):  # only the paths that may be first are decoded: the same order
            assert s.conversion_paths(msgspec.structs.replace(q, limit=limit))["rows"] == paths[:limit]
    finally:
        s.close()


# Paths by channel, with each conversion's value, over the days the tests below use.
_BY_CHANNEL = AttributionQuery(
    scope=SCOPE, start=at(0), end=at(8), conversion="purchase", value_property="amount_cents",
    group_by=("channel",),
)


def _stored(tmp_path: Path, events: bytes) -> DuckDBStore:
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    s.append(events, b"", 1)
    return s


def test_paths_without_a_direct_session_keep_direct_apart(tmp_path: Path) -> None:
    """A conversion without any touchpoint has the path `[direct]` by each dimension (channel,
    source, campaign: `[None]`), also when no session has that value to share it with."""
    s = _stored(tmp_path, ndjson(
        visit(at(1), "p", "s-a", CHANNELS[0]), buy(at(1, 1), "p", "s-a", 100, CHANNELS[0]),
        visit(at(2), "q", "s-b", CHANNELS[1]), buy(at(2, 1), "q", "s-b", 10, CHANNELS[1]),
        buy(at(3), "r", None, 1, DIRECT),
    ))  # fmt: skip
    for dimension, want in (
        ("channel", [(["Organic Search"], 1, 100.0), (["Paid Social"], 1, 10.0), (["Direct"], 1, 1.0)]),
        ("source", [(["google"], 1, 100.0), (["x"], 1, 10.0), (["direct"], 1, 1.0)]),
        # The first visit has no campaign either: its path and direct's are one.
        ("campaign", [([None], 2, 101.0), (["c1"], 1, 10.0)]),
    ):
        rows = s.conversion_paths(msgspec.structs.replace(_BY_CHANNEL, group_by=(dimension,)))["rows"]
        assert [(r["path"], r["conversions"], r["value"]) for r in rows] == want, dimension
    s.close()


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(_visit, min_size=1, max_size=16), cut=st.integers(0, 16),
    numbered=st.sampled_from(["never", "first load", "both loads"]),
)  # fmt: skip
def test_paths_read_numbered_unnumbered_and_renumbered_sessions_alike(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, int, int, int, int]], cut: int, numbered: str
) -> None:
    """Paths read from the sessions' places (session_order.py) where they hold, and the slow
    way elsewhere: the same paths, and the same conversions behind each, whether the sessions
    were never numbered, numbered before a second load wrote sessions between and after
    them (and merged events into some), or numbered after it."""
    events = _events(rows)
    q = AttributionQuery(
        scope=SCOPE, start=at(0), end=at(8), conversion="purchase", value_property="amount_cents",
        group_by=("channel",),
    )  # fmt: skip
    s = DuckDBStore(tmp_path_factory.mktemp("numbered") / "e.duckdb")
    try:
        s.migrate()
        for seq, part in enumerate((events[:cut], events[cut:]), 1):
            s._order_after = math.inf if numbered == "never" or (numbered == "first load" and seq == 2) else 0.0
            if part:
                s.append(ndjson(*part), b"", seq)
        paths = s.conversion_paths(q)["rows"]
        got = {tuple(r["path"]): (r["conversions"], r["value"]) for r in paths}
        assert got == reference_paths(events, q)
        for r in paths:
            behind = s.conversions_behind(ConversionsQuery(attribution=q, behind="path", path=tuple(r["path"])))
            assert (behind["totals"]["conversions"], behind["totals"]["value"]) == (r["conversions"], r["value"])
    finally:
        s.close()


def test_paths_are_read_from_the_sessions_places_once_numbered(tmp_path: Path) -> None:
    """Once the loader numbers the sessions, no conversion is read the slow way; before, and
    after an identify moves a device's sessions to its user, the moved ones are (until the
    loader numbers them again), with the same paths."""
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    s._order_after = math.inf
    s.append(ndjson(
        visit(at(1), "lap", "s-a", CHANNELS[0]), visit(at(2), "phone", "s-b", CHANNELS[1], user_id="alice"),
        visit(at(3), "lap", "s-c", CHANNELS[2]), buy(at(3, 1), "phone", "s-d", 100, DIRECT, user_id="alice"),
        visit(at(4), "v", "s-e", CHANNELS[0]), visit(at(5), "v", "s-f", CHANNELS[1]),
        buy(at(5, 1), "v", "s-f", 10, CHANNELS[1]),
    ), b"", 1)  # fmt: skip

    def odd() -> int:
        params: dict[str, Any] = credit.key_ceiling(s.read)
        _names, rows = s.read(journeys.path_codes(_BY_CHANNEL, params) + " SELECT count(*) FROM odd", params)
        return int(rows[0][0])

    def paths() -> list[tuple[list[str], int]]:
        return [(r["path"], r["conversions"]) for r in s.conversion_paths(_BY_CHANNEL)["rows"]]

    before = [(["Paid Social", "Direct"], 1), (["Organic Search", "Paid Social"], 1)]
    assert (odd(), paths()) == (2, before)
    s._order_after = 0.0
    s.append(b"", b"", 2)  # the loader numbers after a batch
    assert (odd(), paths()) == (0, before)
    s._order_after = math.inf
    link = IdentityLink(project_id=SCOPE.project_id, env=SCOPE.env, anonymous_id="lap", user_id="alice", ts=at(1))
    s.append(b"", ndjson(link), 3)
    after = [(["Organic Search", "Paid Social", "Direct", "Direct"], 1), (["Organic Search", "Paid Social"], 1)]
    assert (odd(), paths()) == (1, after)
    s._order_after = 0.0
    s.append(b"", b"", 4)
    assert (odd(), paths()) == (0, after)
    s.close()


def test_a_restart_numbers_the_sessions_the_loader_had_not(tmp_path: Path) -> None:
    """Sessions written after the loader last numbered them get their places when the store
    opens again, as do a store's sessions when migration 24 adds the column."""
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    s._order_after = math.inf
    s.append(ndjson(visit(at(1), "p", "s-1", CHANNELS[0]), buy(at(1, 1), "p", "s-1", 5, CHANNELS[0])), b"", 1)
    unnumbered = "SELECT count(*) FILTER (WHERE seq IS NULL), count(*) FROM sessions"
    assert s.read(unnumbered)[1] == [(1, 1)]
    s.close()
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    assert s.read(unnumbered)[1] == [(0, 1)]
    s.close()


def test_an_identify_takes_the_moved_sessions_places(tmp_path: Path) -> None:
    """The sessions an identify moves to a person are not read in the places they had as
    the device's: there, the laptop's second session and alice's own are places 2 and 1,
    a run that would read her path backwards."""
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    s.append(ndjson(
        visit(at(1), "lap", "s-l1", CHANNELS[0]), visit(at(2), "lap", "s-l2", CHANNELS[1]),
        visit(at(3), "phone", "s-a", DIRECT, user_id="alice"),
        buy(at(3, 1), "phone", "s-a", 100, DIRECT, user_id="alice"),
    ), b"", 1)  # fmt: skip
    link = IdentityLink(project_id=SCOPE.project_id, env=SCOPE.env, anonymous_id="lap", user_id="alice", ts=at(1))
    s._order_after = math.inf
    s.append(b"", ndjson(link), 2)
    q = msgspec.structs.replace(_BY_CHANNEL, lookback_seconds=DAY + DAY // 2)
    for _ in range(2):  # moved, then numbered again with alice's
        rows = s.conversion_paths(q)["rows"]
        assert [(r["path"], r["conversions"]) for r in rows] == [(["Paid Social", "Direct"], 1)]
        s._order_after = 0.0
        s.append(b"", b"", 3)
    s.close()


def test_paths_with_a_gap_in_their_places_or_more_than_fit(tmp_path: Path) -> None:
    """A session numbered, then found a bot's, leaves a gap in its person's places; a path of
    more touchpoints than fit in one integer (3 bits a code: 42): both are read the slow way."""
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    many = [visit(at(-20, i), "m", f"s-m{i}", CHANNELS[i // 40]) for i in range(45)]
    s.append(ndjson(
        visit(at(1), "p", "s-1", CHANNELS[0]), visit(at(2), "p", "s-2", CHANNELS[1]),
        visit(at(3), "p", "s-3", CHANNELS[2]), buy(at(3, 1), "p", "s-3", 100, DIRECT),
        *many, buy(at(-20, 50), "m", "s-m44", 10, CHANNELS[2]),
    ), b"", 1)  # fmt: skip
    s._order_after = math.inf
    s.append(ndjson(visit(at(2, 1), "p", "s-2", CHANNELS[1], is_bot=True)), b"", 2)
    q = msgspec.structs.replace(_BY_CHANNEL, start=at(-21))

    def odd(q: AttributionQuery) -> int:
        params: dict[str, Any] = credit.key_ceiling(s.read)
        _names, rows = s.read(journeys.path_codes(q, params) + " SELECT count(*) FROM odd", params)
        return int(rows[0][0])

    def paths(q: AttributionQuery) -> list[tuple[list[str], int]]:
        return [(r["path"], r["conversions"]) for r in s.conversion_paths(q)["rows"]]

    want = [(["Organic Search", "Direct"], 1), (["Organic Search"] * 40 + ["Paid Social"] * 5, 1)]
    with_bots = msgspec.structs.replace(q, include_bots=True)
    bots_too = [(["Organic Search", "Paid Social", "Direct"], 1), want[1]]
    assert (odd(q), paths(q), paths(with_bots)) == (2, want, bots_too)
    # Numbered again, p's places close over the bot's session, which has none.
    s._order_after = 0.0
    s.append(b"", b"", 3)
    assert (odd(q), paths(q)) == (1, want)  # the 45 touchpoints still do not fit
    assert (odd(with_bots), paths(with_bots)) == (2, bots_too)
    s.close()


def test_tied_sessions_are_ordered_by_their_id(tmp_path: Path) -> None:
    """Two sessions starting at the same instant: first touch takes the smaller id."""
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    s.append(ndjson(
        visit(at(1), "p", "s-b", CHANNELS[0]), visit(at(1), "p", "s-a", CHANNELS[1]),
        buy(at(2), "p", "s-c", 100, DIRECT),
    ), b"", 1)  # fmt: skip
    q = AttributionQuery(scope=SCOPE, start=at(0), end=at(8), conversion="purchase", group_by=("channel",))
    first = s.attribution(msgspec.structs.replace(q, model="first_touch"))["rows"]
    assert [(r["channel"], r["conversions"]) for r in first] == [("Paid Social", 1.0)]  # s-a
    s.close()


def test_paths_order_tied_sessions_by_id_and_merge_direct(tmp_path: Path) -> None:
    """A path orders two sessions that start at the same instant by their id, and a
    conversion without any touchpoint shares the path `[Direct]` with one whose only
    touchpoint is direct."""
    s = _stored(tmp_path, ndjson(
        visit(at(1), "p", "s-b", CHANNELS[0]), visit(at(1), "p", "s-a", CHANNELS[1]),
        buy(at(2), "p", "s-c", 100, DIRECT),
        visit(at(3), "q", "s-d", DIRECT), buy(at(3, 1), "q", "s-d", 10, DIRECT),
        buy(at(4), "r", None, 1, DIRECT),
    ))  # fmt: skip
    rows = s.conversion_paths(_BY_CHANNEL)["rows"]
    assert [(r["path"], r["conversions"], r["value"]) for r in rows] == [
        (["Direct"], 2, 11.0), (["Paid Social", "Organic Search", "Direct"], 1, 100.0),
    ]
    s.close()


def test_journeys_hold_the_own_session_older_than_the_lookback_or_not_the_persons(tmp_path: Path) -> None:
    """A conversion's own session is on its path, in order, and times its conversion, when
    it started before the lookback (beside a session of its person in it, or two tied ones)
    and when it is another person's."""
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    events = [
        visit(at(0), "p", "s-old", CHANNELS[0]),
        visit(at(2), "p", "s-b", CHANNELS[2]), visit(at(2), "p", "s-a", CHANNELS[1]),
        buy(at(2, 1), "p", "s-old", 100, CHANNELS[0]),
        visit(at(3), "q", "s-q", CHANNELS[1]), buy(at(3, 1), "r", "s-q", 10, CHANNELS[1]),
        visit(at(0), "u", "s-u0", CHANNELS[0]), visit(at(2), "u", "s-u1", CHANNELS[1]),
        buy(at(2, 1), "u", "s-u0", 1000, CHANNELS[0]),
    ]  # fmt: skip
    s.append(ndjson(*events), b"", 1)
    q = AttributionQuery(
        scope=SCOPE, start=at(0), end=at(8), conversion="purchase", value_property="amount_cents",
        group_by=("channel",), lookback_seconds=DAY,
    )  # fmt: skip
    rows = s.conversion_paths(q)["rows"]
    assert [(r["path"], r["conversions"], r["value"]) for r in rows] == [
        (["Organic Search", "Paid Social"], 1, 1000.0),
        (["Organic Search", "Paid Social", "Direct"], 1, 100.0), (["Paid Social"], 1, 10.0),
    ]
    assert {tuple(r["path"]): (r["conversions"], r["value"]) for r in rows} == reference_paths(events, q)
    # From the first touchpoint's start: p and u 2 days and a minute (their own sessions), r a
    # minute (q's session).
    ttc = s.time_to_convert(q)
    assert ttc["totals"] == {"conversions": 3, "with_touchpoints": 3}
    assert (ttc["seconds"]["min"], ttc["seconds"]["p50"], ttc["seconds"]["max"]) == (60.0, 2 * DAY + 60.0, 2 * DAY + 60.0)
    assert ttc["median_touchpoints"] == 2  # 3, 1 and 2
    s.close()


def test_a_side_by_side_read_takes_parts_its_memory_holds() -> None:
    """One part while the conversions' state fits 80% of the store's memory, then one more
    per such share, at most 64."""
    fits = int(0.8 * 96e6 / credit.CONVERSION_BYTES)
    assert [credit.parts(n, 96 * 10**6) for n in (0, 1, fits, fits + 1, 2 * fits + 1)] == [1, 1, 1, 2, 3]
    assert credit.parts(10**9, 1) == 64


@pytest.mark.parametrize("numbered", [False, True])
def test_reads_in_parts_add_up_to_the_read_at_once(tmp_path: Path, numbered: bool) -> None:
    """Conversions read in parts by person (a query each, then one adding them up) give what
    one query gives, for an ordered model and side by side; linear stays whole. Once the
    loader has numbered the sessions, the conversions' touchpoints are spans of places
    (touch_spans.py), which hold no state: read at once whatever the memory (the count of
    those that are not, the highest person key, the read)."""
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    s._order_after = 0.0 if numbered else math.inf
    s.append(ndjson(*(e for i, person in enumerate(["p0", "p1", "p2"]) for e in (
        visit(at(1), person, f"{person}-a", CHANNELS[i]), visit(at(2), person, f"{person}-b", CHANNELS[i - 1]),
        buy(at(3), person, f"{person}-b", 10 * (i + 1), DIRECT),
    ))), b"", 1)  # fmt: skip
    q = AttributionQuery(
        scope=SCOPE, start=at(0), end=at(8), conversion="purchase", value_property="amount_cents",
        group_by=("channel",), model="first_touch",
    )  # fmt: skip
    tiny = credit.CONVERSION_BYTES * 2  # 3 conversions: ceil(3 * 512 / (1024 * 0.8)) = 2 parts
    queries: list[str] = []

    def run(sql: str, params: Any = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        queries.append(sql)
        return s.read(sql, params)

    # Page views as conversions come from the events, whose person is resolved in the read.
    views = msgspec.structs.replace(q, conversion="$pageview", value_property=None)  # 6: 4 parts
    # Campaigns are NULL on all but one channel: a part may hold only NULLs in that column.
    campaigns = msgspec.structs.replace(q, group_by=("source", "campaign"))
    for read in (credit.attribution, credit.compared):
        for asked, k in ((q, 2), (views, 4), (campaigns, 2)):
            queries.clear()
            assert read(run, asked, tiny) == read(s.read, asked)
            spanned = numbered and asked is not views  # page views have no spans
            assert len(queries) == (3 if spanned else 1 + k + 1)  # the count, the parts, the sum
    queries.clear()
    linear = msgspec.structs.replace(q, model="linear")
    assert credit.attribution(run, linear, tiny) == credit.attribution(s.read, linear)
    assert len(queries) == 3  # the count of those without a span, the highest person key, the read
    s.close()


def test_a_read_in_parts_sees_one_state_of_the_store(tmp_path: Path) -> None:
    """Purchases loaded between the parts of a read are not in its answer: the store runs the
    parts in one snapshot (without it, the parts would count them). A read in a snapshot
    that runs out of memory answers `query_out_of_memory`, and the next read works."""
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    people = ["p0", "p1", "p2", "p3"]
    s.append(ndjson(*(e for i, person in enumerate(people) for e in (
        visit(at(1), person, f"{person}-a", CHANNELS[i % 3]), buy(at(2), person, f"{person}-a", 10, DIRECT),
    ))), b"", 1)  # fmt: skip
    q = AttributionQuery(
        scope=SCOPE, start=at(0), end=at(8), conversion="purchase", value_property="amount_cents",
        group_by=("channel",), model="first_touch",
    )  # fmt: skip
    before = credit.compared(s.read, q)
    late = ndjson(*(buy(at(3), person, f"{person}-a", 1000, DIRECT) for person in people))

    def racing(run: Any) -> Any:
        def read(sql: str, params: Any = None) -> tuple[list[str], list[tuple[Any, ...]]]:
            out = run(sql, params)
            if not loaded:  # after the count, before the first part
                s.append(late, b"", 2)
                loaded.append(sql)
            return out

        return read

    loaded: list[str] = []
    with s.snapshot() as run:
        assert credit.compared(racing(run), q, credit.CONVERSION_BYTES * 2) == before
    assert credit.compared(s.read, q)["totals"] == {"conversions": 8, "value": 4040.0}

    s.close()
    small = DuckDBStore(tmp_path / "e.duckdb", memory="4MB")
    with pytest.raises(StoreUnavailable) as raised, small.snapshot() as run:
        run("SELECT list(i ORDER BY random()) FROM range(20000000) t(i)")
    assert raised.value.code == "query_out_of_memory"
    assert small.read("SELECT count(*) FROM events")[1] == [(12,)]
    small.close()


def test_converters_past_the_key_ceiling_are_credited_alike(tmp_path: Path) -> None:
    """A read marks its converters in a bitstring of person keys up to the highest one it
    found (at most `KEY_CAP`): converters whose key is past it (made after it was read, or
    past the cap) get the same credits, paths and times as when marked."""
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    s.append(ndjson(*(e for i, person in enumerate(["p0", "p1", "p2"]) for e in (
        visit(at(1), person, f"{person}-a", CHANNELS[i]), visit(at(2), person, f"{person}-b", CHANNELS[i - 1]),
        buy(at(3), person, f"{person}-b", 10 * (i + 1), DIRECT), visit(at(3), f"{person}-x", f"{person}-c", DIRECT),
    ))), b"", 1)  # fmt: skip
    q = AttributionQuery(
        scope=SCOPE, start=at(0), end=at(8), conversion="purchase", value_property="amount_cents",
        group_by=("channel",), model="linear",
    )  # fmt: skip

    def answers() -> tuple[Any, ...]:
        return s.attribution_compared(q), s.attribution(q), s.conversion_paths(q), s.time_to_convert(q)

    want = answers()
    assert want[0]["totals"] == {"conversions": 3, "value": 60.0}
    assert sum(r["conversions"] for r in want[2]["rows"]) == 3
    # The converters' keys, in no fixed order among the batch's ids.
    _names, rows = s.read("SELECT key FROM visitor_keys WHERE id IN ('p0', 'p1', 'p2') ORDER BY key")
    keys = [row[0] for row in rows]
    for cap in (0, keys[0], keys[-1] - 1):  # none marked, the first only, all but the last
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(credit, "KEY_CAP", cap)
            assert answers() == want, cap
    s.close()
