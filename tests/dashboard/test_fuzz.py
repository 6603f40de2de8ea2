"""Generated URLs and forms against the dashboard: never a 5xx, hostile text never raw."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.dashboard.conftest import Dash

MARK = "<x-fuzz>"
KEYS = st.sampled_from([
    "period", "from", "to", "compare", "interval", "metric", "goal", "value", "panel",
    "source", "medium", "channel", "path", "country", "city", "utm_term", "x",
])  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(["custom", "7d", "2026-05-01", "9999-12-31", "0000-00-00", "hour", "month", "revenue", "year", "off"]),
    st.text(max_size=40).map(lambda t: t + MARK),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(KEYS, VALUES, max_size=6), hx=st.booleans())
@example(params={"period": "custom", "goal": "custom", "metric": "revenue"}, hx=False)  # was a 500
def test_report_urls(admin: httpx.Client, dash: Dash, params: dict[str, str], hx: bool) -> None:
    r = admin.get(dash.report_path(), params=params, headers={"HX-Request": "true"} if hx else {})
    assert r.status_code == 200, r.text[:500]
    assert MARK not in r.text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(st.sampled_from(["email", "password", "csrf", "next", "x"]), st.text(max_size=60), max_size=5))
def test_login_forms(dash: Dash, form: dict[str, str]) -> None:
    with httpx.Client(base_url=dash.server.url) as c:
        r = c.post("/dashboard/login", data=form)
        assert r.status_code in (401, 403, 429), r.text[:500]
        r = c.post("/dashboard/logout", data=form)
        assert r.status_code == 303


ATTRIBUTION_KEYS = st.sampled_from(["period", "from", "to", "conversion", "value", "lookback", "by", "measure", "table", "format", "x"])
ATTRIBUTION_VALUES = st.one_of(
    st.sampled_from(["custom", "7d", "2026-05-01", "signup", "amount", "90d", "source", "campaign", "value", "models", "paths", "time", "csv"]),
    st.text(max_size=40).map(lambda t: t + MARK),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(ATTRIBUTION_KEYS, ATTRIBUTION_VALUES, max_size=7))
def test_attribution_urls(admin: httpx.Client, dash: Dash, params: dict[str, str]) -> None:
    r = admin.get(dash.report_path() + "/attribution", params=params)
    assert r.status_code == 200, r.text[:500]
    if r.headers["content-type"].startswith("text/html"):
        assert MARK not in r.text


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(st.sampled_from(["current", "new", "again", "csrf", "x"]), st.text(max_size=60), max_size=5))
def test_account_forms(admin: httpx.Client, dash: Dash, form: dict[str, str]) -> None:
    r = admin.post("/dashboard/account", data=form)
    assert r.status_code in (400, 401, 403, 429), r.text[:500]
    assert MARK not in r.text
