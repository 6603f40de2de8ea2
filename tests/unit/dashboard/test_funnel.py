"""The funnels page's URL state: parsing never fails, a URL round-trips, the `steps` string is
the one `/v1/funnel` reads, a saved definition reopens the same funnel."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from footfall.dashboard import funnel
from footfall.dashboard.funnel import FunnelState, definition, from_definition, parse_funnel
from footfall.dashboard.state import ReportState
from footfall.model import Scope
from footfall.read.params import funnel_query
from footfall.read.queries import FunnelStep


def test_doctests() -> None:
    result = doctest.testmod(funnel)
    assert result.failed == 0 and result.attempted > 0


def test_url_round_trip_and_the_api_query() -> None:
    raw = {
        "period": "custom", "from": "2026-05-01", "to": "2026-05-31", "s1": "$pageview",
        "w1": "path=/pricing;plan=pro", "s2": "", "s3": "signup", "window": "2w", "breakdown": "country",
    }  # fmt: skip
    state = parse_funnel(raw)
    assert parse_funnel(dict(parse_qsl(state.url()[1:], keep_blank_values=True))) == state
    start, end = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    api = state.api_params(start, end)
    assert api == {
        "from": "2026-05-01T00:00:00Z", "to": "2026-06-01T00:00:00Z",
        "steps": "$pageview[path=/pricing;plan=pro],signup", "window": "2w", "breakdown": "country",
    }  # fmt: skip
    q = funnel_query(Scope("prj_1", "live"), api)
    assert q.steps == (FunnelStep("$pageview", (("path", "/pricing"), ("plan", "pro"))), FunnelStep("signup"))
    assert q.window_seconds == 14 * 86400 and q.breakdown == "country"


def test_bad_values_fall_back() -> None:
    state = parse_funnel({"period": "nope", "breakdown": "browser", "s1": "x" * 900, "window": ""})
    assert state.period.period == "30d" and state.breakdown is None and state.window == "7d"
    assert len(state.rows) == 2 and len(state.rows[0][0]) == 500
    assert not state.ready
    assert len(parse_funnel({f"s{i}": "e" for i in range(1, 15)}).rows) == 10


def test_step_buttons_keep_between_2_and_10_rows() -> None:
    two = FunnelState(period=ReportState(), rows=(("a", ""), ("b", "")))
    assert two.edited(False, 1).rows == two.rows  # never fewer than two rows
    ten = FunnelState(period=ReportState(), rows=tuple((f"e{i}", "") for i in range(10)))
    assert len(ten.edited(True, None).rows) == 10
    assert ten.edited(False, 99).rows == ten.rows


def test_a_saved_definition_reopens_the_funnel() -> None:
    state = parse_funnel({"s1": "a", "w1": "k=v", "s2": "", "s3": "b", "window": "1d", "breakdown": "channel"})
    saved = definition(state)
    assert saved == {"steps": [{"event": "a", "where": "k=v"}, {"event": "b", "where": ""}], "window": "1d", "breakdown": "channel"}
    period = ReportState(period="7d")
    reopened = from_definition(saved, period)
    assert reopened.steps == state.steps and reopened.window == "1d" and reopened.breakdown == "channel"
    assert reopened.period.period == "7d"
    # A definition it cannot read opens an empty funnel, never an error.
    assert not from_definition({"steps": "nope", "window": 3}, period).ready
