"""Each conversion's touchpoints as a span of its person's session places (touch_spans.py): found
by the loader once it numbers the sessions, read by side by side and each model without an
aggregate per conversion, and never read once they may be wrong (sessions written, moved or
deleted since): such reads give what the slow way gives, which the reference test checks
against the definitions (test_attribution_reference.py)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from unittest.mock import patch

import msgspec
import pytest

from footfall.model import IdentityLink
from footfall.read.queries import ATTRIBUTION_MODELS, AttributionQuery
from footfall.store.duckdb import credit, touch_spans
from footfall.store.duckdb.store import DuckDBStore
from tests.store.test_attribution import (
    BING,
    DIRECT,
    GOOGLE_ORG,
    NEWSLETTER,
    SCOPE,
    at,
    buy,
    ndjson,
    visit,
)

Q = AttributionQuery(
    scope=SCOPE, start=at(0), end=at(30), conversion="purchase", value_property="amount_cents",
    group_by=("channel",),
)  # fmt: skip


def _store(tmp_path: Path) -> DuckDBStore:
    s = DuckDBStore(tmp_path / "e.duckdb")
    s.migrate()
    return s


def _read(s: DuckDBStore, q: AttributionQuery = Q) -> tuple[list[dict[str, Any]], list[str]]:
    """Side by side and each model alone, and the queries that read them."""
    queries: list[str] = []

    def run(sql: str, params: Any = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        queries.append(sql)
        return s.read(sql, params)

    answers = [credit.compared(run, q, s._memory_bytes)]
    answers += [credit.attribution(run, msgspec.structs.replace(q, model=m), s._memory_bytes) for m in ATTRIBUTION_MODELS]
    return answers, queries


def _slow(s: DuckDBStore, q: AttributionQuery = Q) -> list[dict[str, Any]]:
    """The same reads without spans."""
    with patch.object(credit, "spans_for", lambda q: False):
        return _read(s, q)[0]


def _weighed(queries: list[str]) -> list[str]:
    """How each read weighed its touchpoints: from spans alone, or (also) from the join (the
    queries that rank the answer's rows: not one asking for the totals of an empty answer)."""
    reads = [sql for sql in queries if "credited AS" in sql and "ORDER BY" in sql]
    return ["joined" if "near AS MATERIALIZED" in sql else "spans" for sql in reads]


def _spans(s: DuckDBStore) -> list[tuple[Any, ...]]:
    _names, rows = s.read(
        "SELECT k.id, c.span_lo, c.span_hi, c.span_nd FROM keyed_events c"
        " LEFT JOIN visitor_keys k ON k.key = c.person_key ORDER BY c.ts"
    )
    return rows


def test_spans_are_found_once_the_sessions_are_numbered_and_read_alone(tmp_path: Path) -> None:
    s = _store(tmp_path)
    s._order_after = math.inf
    s.append(ndjson(
        visit(at(1), "p", "s1", GOOGLE_ORG), visit(at(2), "p", "s2", NEWSLETTER),
        visit(at(3), "p", "s3", DIRECT), buy(at(3, 1), "p", "s3", 100),
        buy(at(4), "q", None, 10),  # no session, none before: direct
        visit(at(5), "r", "s5", BING), buy(at(5, 1), "x", "s5", 1),  # in r's session
        visit(at(5), "y", "s6", BING), visit(at(5), "y", "s7", NEWSLETTER), buy(at(6), "y", "s8", 5),  # tied
    ), b"", 1)  # fmt: skip
    before, queries = _read(s)
    assert _weighed(queries) == ["joined"] * 7  # not numbered: none found
    assert _spans(s) == [("p", None, None, None), ("q", None, None, None), ("x", None, None, None), ("y", None, None, None)]
    s._order_after = 0.0
    s.append(b"", b"", 2)  # the loader numbers after a batch, and finds the spans
    # p: places 1-3, the last non-direct the newsletter's; q: the empty span; x: its own session
    # is not among its person's (none); y: tied starts ordered by session id, then its own.
    assert _spans(s) == [("p", 1, 3, 2), ("q", 1, 0, None), ("x", None, -1, None), ("y", 1, 3, 2)]
    after, queries = _read(s)
    assert after == before == _slow(s)
    assert _weighed(queries) == ["joined"] * 7  # x is read the slow way, the others from spans
    s.close()


def test_with_every_conversion_spanned_no_join_is_read(tmp_path: Path) -> None:
    s = _store(tmp_path)
    s.append(ndjson(
        visit(at(1), "p", "s1", GOOGLE_ORG), visit(at(2), "p", "s2", NEWSLETTER), buy(at(2, 1), "p", "s2", 100),
        buy(at(4), "q", None, 10),
    ), b"", 1)  # fmt: skip
    s._number_sessions()
    answers, queries = _read(s)
    assert _weighed(queries) == ["spans"] * 7
    assert answers == _slow(s)
    assert answers[0]["totals"] == {"conversions": 2, "value": 110.0}
    # Only the defaults have spans: another lookback, or bots' sessions, read the slow way.
    for other in (msgspec.structs.replace(Q, lookback_seconds=86400), msgspec.structs.replace(Q, include_bots=True)):
        assert _weighed(_read(s, other)[1]) == ["joined"] * 7
    s.close()


def test_a_person_with_a_session_written_since_is_read_the_slow_way(tmp_path: Path) -> None:
    """p's span is 1-2; a late session between them gives p a third, without a place until
    the loader numbers it: read from the span, the purchase would lose it."""
    s = _store(tmp_path)
    s.append(ndjson(
        visit(at(1), "p", "s1", GOOGLE_ORG), visit(at(3), "p", "s3", NEWSLETTER), buy(at(3, 1), "p", "s3", 100),
    ), b"", 1)  # fmt: skip
    s._number_sessions()
    s._order_after = math.inf
    s.append(ndjson(visit(at(2), "p", "s2", BING)), b"", 2)
    answers, queries = _read(s)
    assert _weighed(queries) == ["joined"] * 7
    linear = {r["channel"]: r["conversions"] for r in answers[ATTRIBUTION_MODELS.index("linear") + 1]["rows"]}
    assert linear == pytest.approx({"Organic Search": 1 / 3, "Paid Search": 1 / 3, "Email": 1 / 3})
    assert answers == _slow(s)
    s._number_sessions()
    again, queries = _read(s)
    assert (again, _weighed(queries)) == (answers, ["spans"] * 7)
    s.close()


def test_a_span_cut_short_is_read_again_the_slow_way(tmp_path: Path) -> None:
    """A place deleted behind the loader's back (no store path does: each numbers its people
    again): the span's touchpoints are one short of its length, and the read starts over."""
    s = _store(tmp_path)
    s.append(ndjson(
        visit(at(1), "p", "s1", GOOGLE_ORG), visit(at(2), "p", "s2", NEWSLETTER), buy(at(2, 1), "p", "s2", 100),
    ), b"", 1)  # fmt: skip
    s._number_sessions()
    s._con.execute("DELETE FROM sessions WHERE session_id = 's1'")
    answers, queries = _read(s)
    assert _weighed(queries) == ["spans", "joined"] * 7
    assert answers == _slow(s)
    assert [(r["channel"], r["conversions"]) for r in answers[1]["rows"]] == [("Email", 1.0)]  # first touch
    s.close()


def test_forget_numbers_again_the_people_it_takes_a_session_from(tmp_path: Path) -> None:
    """r's second session holds an event of d's: forgetting d deletes it, and r's places
    would have a gap its purchase's span spans. Numbered again, r is read from spans."""
    s = _store(tmp_path)
    s.append(ndjson(
        visit(at(1), "r", "s1", GOOGLE_ORG), visit(at(2), "r", "s2", NEWSLETTER), visit(at(2, 5), "d", "s2", NEWSLETTER),
        visit(at(3), "r", "s3", BING), buy(at(3, 1), "r", "s3", 100),
    ), b"", 1)  # fmt: skip
    s._number_sessions()
    assert _weighed(_read(s)[1]) == ["spans"] * 7
    s._order_after = math.inf
    assert s.forget(SCOPE, "d").sessions == 1
    answers, queries = _read(s)
    assert _weighed(queries) == ["joined"] * 7  # r has sessions without a place
    assert answers == _slow(s)
    s._number_sessions()
    again, queries = _read(s)
    assert (again, _weighed(queries)) == (answers, ["spans"] * 7)
    s.close()


def test_an_identify_moves_sessions_and_spans_to_be_found_again(tmp_path: Path) -> None:
    """u1's purchase spans u1's sessions and the laptop's between them; then u1 is linked to
    u2, and the laptop's session (anonymous, so its person follows the links) moves to u2,
    while u1's own stay: u1 keeps a gap, u2 gains a session. Neither is read from a span
    until both are numbered again."""
    s = _store(tmp_path)
    s.append(
        ndjson(
            visit(at(1), "ph1", "s1", GOOGLE_ORG, user_id="u1"), visit(at(2), "lap", "s2", NEWSLETTER),
            visit(at(3), "ph1", "s3", BING, user_id="u1"), buy(at(3, 1), "ph1", "s3", 100, user_id="u1"),
            visit(at(1, 30), "ph2", "s4", DIRECT, user_id="u2"), buy(at(4), "ph2", "s5", 10, user_id="u2"),
        ),
        ndjson(IdentityLink(project_id=SCOPE.project_id, env=SCOPE.env, anonymous_id="lap", user_id="u1", ts=at(0))),
        1,
    )  # fmt: skip
    s._number_sessions()
    before = _read(s)
    assert _weighed(before[1]) == ["spans"] * 7
    s._order_after = math.inf
    link = IdentityLink(project_id=SCOPE.project_id, env=SCOPE.env, anonymous_id="u1", user_id="u2", ts=at(2))
    s.append(b"", ndjson(link), 2)
    answers, queries = _read(s)
    assert _weighed(queries) == ["joined"] * 7
    assert answers == _slow(s) != before[0]
    s._number_sessions()
    again, queries = _read(s)
    assert (again, _weighed(queries)) == (answers, ["spans"] * 7)
    s.close()


def test_a_conversion_an_identify_moves_alone_is_found_again(tmp_path: Path) -> None:
    """The tablet's purchase has no session: linked to u1, its span is u1's places 1-2; when
    u1 is linked to u2 it moves to u2 with no session of its own to take a place from, and
    its span goes with the move (read against u2's places, it would credit u2's sessions)."""
    s = _store(tmp_path)
    s.append(
        ndjson(
            visit(at(1), "ph1", "s1", GOOGLE_ORG, user_id="u1"), visit(at(2), "ph1", "s2", NEWSLETTER, user_id="u1"),
            buy(at(2, 30), "tab", None, 7),
            visit(at(1), "ph2", "s4", BING, user_id="u2"), buy(at(4), "ph2", "s4", 10, user_id="u2"),
        ),
        ndjson(IdentityLink(project_id=SCOPE.project_id, env=SCOPE.env, anonymous_id="tab", user_id="u1", ts=at(0))),
        1,
    )  # fmt: skip
    s._number_sessions()
    assert _weighed(_read(s)[1]) == ["spans"] * 7
    s._order_after = math.inf
    link = IdentityLink(project_id=SCOPE.project_id, env=SCOPE.env, anonymous_id="u1", user_id="u2", ts=at(2))
    s.append(b"", ndjson(link), 2)
    answers, queries = _read(s)
    assert _weighed(queries) == ["joined"] * 7
    first = {r["channel"]: r["value"] for r in answers[1]["rows"]}
    assert first == {"Paid Search": 17.0}  # u2's only session, before both purchases
    assert answers == _slow(s)
    s._number_sessions()
    again, queries = _read(s)
    assert (again, _weighed(queries)) == (answers, ["spans"] * 7)
    s.close()


def test_spans_are_found_for_the_default_lookback() -> None:
    """A read without a lookback of its own is the one spans serve."""
    assert Q.lookback_seconds == touch_spans.LOOKBACK_SECONDS and not Q.include_bots
    assert credit.spans_for(Q)
