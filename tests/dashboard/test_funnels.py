"""The funnels page's HTML (no browser): every figure equals `/v1/funnel` and `/v1/funnel/people`
for the same parameters, the "API" link is that call, CSV equals the page, saved funnels round
trip with CSRF and stay inside their project, hostile event names are escaped."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from tests.dashboard.conftest import VIEWER, Dash, login
from tests.dashboard.seed import HOSTILE_EVENT

TODAY = datetime.now(UTC).date()
FIRST = TODAY - timedelta(days=29)
RANGE = {"from": f"{FIRST}T00:00:00Z", "to": f"{TODAY + timedelta(days=1)}T00:00:00Z"}
# The seed's funnel: pageviews of the newsletter landing page, then a signup.
STEPS = {"s1": "$pageview", "w1": "source=newsletter", "s2": "signup"}
API_STEPS = "$pageview[source=newsletter],signup"


@pytest.fixture(scope="module")
def viewer(dash: Dash) -> Iterator[httpx.Client]:
    c = login(dash.server, *VIEWER)
    yield c
    c.close()


def api(dash: Dash, route: str, **params: Any) -> dict[str, Any]:
    with dash.server.client(dash.server.keys["rk_live"]) as c:
        r = c.get(route, params={**RANGE, **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def funnel_page(client: httpx.Client, dash: Dash, project: str | None = None, **params: str) -> httpx.Response:
    query = {"period": "30d", **params}
    return client.get(f"{dash.report_path(project)}/funnels", params=query)


def figures(page: str, name: str) -> list[str]:
    return re.findall(rf'data-testid="{name}-\d+" data-value="([^"]*)"', page)


def test_bars_equal_the_api(admin: httpx.Client, dash: Dash) -> None:
    r = funnel_page(admin, dash, **STEPS, s3="$pageview", window="2w")
    assert r.status_code == 200, r.text
    answer = api(dash, "/v1/funnel", steps=API_STEPS + ",$pageview", window="2w")
    people = [s["people"] for s in answer["steps"]]
    assert people[0] > people[1] > 0, people
    assert [int(v) for v in figures(r.text, "people")] == people
    assert [float(v) for v in figures(r.text, "conversion")] == [s["conversion_rate"] for s in answer["steps"]]
    assert [float(v) for v in figures(r.text, "step-conversion")] == [s["step_conversion_rate"] for s in answer["steps"][2:]]
    assert [int(v) for v in figures(r.text, "dropoff")] == [people[0] - people[1], people[1] - people[2]]
    # The "API" link is exactly that call (no key), and it answers the same numbers.
    link = html.unescape(re.search(r'href="([^"]+)" data-testid="api-link"', r.text).group(1))  # type: ignore[union-attr]
    assert link.startswith("/v1/funnel?") and "key" not in link
    got = dict(parse_qsl(urlsplit(link).query))
    assert got["steps"] == API_STEPS + ",$pageview" and got["window"] == "2w"
    assert got == {**RANGE, "steps": API_STEPS + ",$pageview", "window": "2w"}


@pytest.mark.parametrize("breakdown", ["channel", "source", "campaign", "device_type", "country"])
def test_breakdown_equals_the_api(admin: httpx.Client, dash: Dash, breakdown: str) -> None:
    r = funnel_page(admin, dash, s1="$pageview", s2="signup", breakdown=breakdown)
    assert r.status_code == 200, r.text
    answer = api(dash, "/v1/funnel", steps="$pageview,signup", breakdown=breakdown)
    rows = re.findall(r'<tr data-testid="group-row">\s*<th scope="row" class="label">(.*?)</th>(.*?)</tr>', r.text, re.S)
    got = [(html.unescape(label), [int(v) for v in re.findall(r'data-testid="group-people" data-value="(\d+)"', cells)]) for label, cells in rows]
    want = [(g["value"] if g["value"] is not None else "(none)", [s["people"] for s in g["steps"]]) for g in answer["groups"]]
    assert got == want and len(want) >= 2


@pytest.mark.parametrize(("step", "outcome"), [(1, "dropped"), (2, "converted")])
def test_people_list_equals_the_api(admin: httpx.Client, dash: Dash, step: int, outcome: str) -> None:
    funnel = funnel_page(admin, dash, s1="$pageview", s2="signup").text
    link = re.search(rf'href="([^"]+)"[^>]*data-testid="{"dropoff" if outcome == "dropped" else "people"}-{step}"', funnel)
    assert link, funnel
    r = admin.get(html.unescape(link.group(1)))
    assert r.status_code == 200, r.text
    answer = api(dash, "/v1/funnel/people", steps="$pageview,signup", step=step, outcome=outcome, limit=50)
    assert answer["total"] > 0
    assert int(re.search(r'data-testid="people-total">(\d+)<', r.text).group(1)) == answer["total"]  # type: ignore[union-attr]
    shown = [html.unescape(p) for p in re.findall(r'data-testid="person" data-value="([^"]*)"', r.text)]
    assert shown == [p["person"] for p in answer["people"]]
    # Each person links to their timeline page.
    first = answer["people"][0]["person"]
    assert f'href="{dash.report_path()}/people/{first}"' in r.text


def test_people_pages(admin: httpx.Client, dash: Dash) -> None:
    base = f"{dash.report_path()}/funnels/people"
    query = {"period": "30d", "s1": "$pageview", "s2": "signup", "step": "1", "outcome": "dropped"}
    total = api(dash, "/v1/funnel/people", steps="$pageview,signup", step=1)["total"]
    assert total > 50  # more than a page
    second = admin.get(base, params={**query, "page": "2"})
    assert second.status_code == 200
    for raw in ("\u00b2", "9" * 5000):  # digits int() refuses: the first page, not a 500
        assert admin.get(base, params={**query, "page": raw}).status_code == 200
        assert admin.get(f"{dash.report_path()}/funnels", params={**query, "remove": raw}).status_code == 303
    want = api(dash, "/v1/funnel/people", steps="$pageview,signup", step=1, limit=50, offset=50)["people"]
    assert re.findall(r'data-testid="person" data-value="([^"]*)"', second.text) == [p["person"] for p in want]
    assert 'data-testid="prev"' in second.text
    # CSV: every person, no page limit, the same order.
    r = admin.get(base + ".csv", params=query)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["person", "entered_at", "reached_at"] and len(rows) - 1 == total
    everyone = api(dash, "/v1/funnel/people", steps="$pageview,signup", step=1, limit=1000)["people"]
    assert rows[1:] == [[p["person"], p["entered_at"], p["reached_at"]] for p in everyone]


def test_people_csv_of_a_breakdown_group(admin: httpx.Client, dash: Dash) -> None:
    """The people behind one breakdown value: the CSV has the group column and the API's list."""
    answer = api(dash, "/v1/funnel", steps="$pageview,signup", breakdown="device_type")
    group = answer["groups"][0]["value"]
    query = {"period": "30d", "s1": "$pageview", "s2": "signup", "breakdown": "device_type", "step": "1",
             "outcome": "dropped", "group": group}  # fmt: skip
    r = admin.get(f"{dash.report_path()}/funnels/people.csv", params=query)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    everyone = api(dash, "/v1/funnel/people", steps="$pageview,signup", breakdown="device_type", step=1,
                   outcome="dropped", group=group, limit=1000)["people"]  # fmt: skip
    assert rows[0] == ["person", "entered_at", "reached_at", "group"] and len(everyone) > 1
    assert rows[1:] == [[p["person"], p["entered_at"], p["reached_at"], p["group"]] for p in everyone]


def test_csv_equals_the_panel(admin: httpx.Client, dash: Dash) -> None:
    params = {**STEPS, "breakdown": "device_type"}
    page = funnel_page(admin, dash, **params).text
    r = admin.get(f"{dash.report_path()}/funnels.csv", params={"period": "30d", **params})
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    overall = [r for r in rows if r["group"] == "(all)"]
    assert [int(r["people"]) for r in overall] == [int(v) for v in figures(page, "people")]
    assert [float(r["conversion_rate"]) for r in overall] == [float(v) for v in figures(page, "conversion")]
    assert [r["dropped"] for r in overall] == [*figures(page, "dropoff"), ""]
    groups = re.findall(r'data-testid="group-people" data-value="(\d+)"', page)
    assert [r["people"] for r in rows if r["group"] != "(all)"] == groups
    assert overall[0]["where"] == "source=newsletter"


def test_step_buttons_and_errors(admin: httpx.Client, dash: Dash) -> None:
    path = f"{dash.report_path()}/funnels"
    r = admin.get(path, params={**STEPS, "add": "1"})
    assert r.status_code == 303
    assert r.headers["location"].startswith(path + "?") and "s3=" in r.headers["location"]
    added = admin.get(r.headers["location"]).text
    assert 'data-testid="step-row-3"' in added
    r = admin.get(path, params={**STEPS, "s3": "x", "remove": "1"})
    target = dict(parse_qsl(urlsplit(r.headers["location"]).query, keep_blank_values=True))
    assert target["s1"] == "signup" and target["s2"] == "x" and "s3" not in target
    # The API's own messages for what it cannot read; never a 500.
    bad = admin.get(path, params={"s1": "a", "s2": "b", "window": "forever"})
    assert bad.status_code == 200 and 'data-testid="funnel-errors"' in bad.text and "window" in bad.text
    assert 'data-testid="funnel-empty"' in admin.get(path).text
    assert admin.get(path + ".csv").status_code == 400
    assert admin.get(path + "/people", params={"s1": "a", "s2": "b", "step": "7"}).status_code == 400


def test_hostile_event_names_are_escaped(admin: httpx.Client, dash: Dash) -> None:
    r = funnel_page(admin, dash, s1=HOSTILE_EVENT, s2="$pageview", w2='path=/"><script>alert(1)</script>')
    assert r.status_code == 200
    assert HOSTILE_EVENT not in r.text and "<script>alert(1)" not in r.text
    assert str(escape(HOSTILE_EVENT)) in r.text
    assert figures(r.text, "people")[0] == "1"  # the seed sent it once
    csv_text = admin.get(f"{dash.report_path()}/funnels.csv", params={"s1": "=cmd()", "s2": "$pageview"}).text
    assert "'=cmd()" in csv_text


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m
    return m.group(1)


def _save(client: httpx.Client, dash: Dash, project: str, name: str, **extra: str) -> httpx.Response:
    page = funnel_page(client, dash, project, **STEPS, breakdown="channel").text
    state = html.unescape(re.search(r'name="state" value="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    data = {"csrf": _csrf(page), "state": state, "name": name, **extra}
    return client.post(f"{dash.report_path(project)}/funnels/saved", data=data, headers={"Origin": dash.server.url})


def _saved_ids(page: str) -> list[str]:
    return re.findall(r'data-testid="saved-(fnl_[0-9a-f]+)"', page)


def test_saved_funnel_round_trip(admin: httpx.Client, dash: Dash) -> None:
    r = _save(admin, dash, dash.project, "<b>Newsletter</b> → signup")
    assert r.status_code == 303, r.text
    page = admin.get(r.headers["location"]).text
    assert 'data-testid="saved-note"' in page and "&lt;b&gt;Newsletter&lt;/b&gt;" in page
    (fid,) = [i for i in _saved_ids(page) if i in r.headers["location"]]
    # Opening it restores the steps and the breakdown, over the period on screen.
    opened = re.search(rf'data-testid="saved-{fid}">\s*<span class="saved-name"><a href="([^"]+)"', page)
    assert opened
    reopened = admin.get(html.unescape(opened.group(1))).text
    assert 'value="source=newsletter"' in reopened and '<option value="channel" selected>' in reopened
    # Delete it (the admin may).
    gone = admin.post(
        f"{dash.report_path()}/funnels/saved/{fid}/delete",
        data={"csrf": _csrf(page)}, headers={"Origin": dash.server.url},
    )
    assert gone.status_code == 303
    assert fid not in _saved_ids(funnel_page(admin, dash).text)


def test_saving_needs_the_csrf_token(admin: httpx.Client, dash: Dash) -> None:
    before = _saved_ids(funnel_page(admin, dash).text)
    for extra, origin in (({"csrf": "forged"}, dash.server.url), ({}, "https://evil.example")):
        r = _save(admin, dash, dash.project, "forged", **extra) if origin == dash.server.url else admin.post(
            f"{dash.report_path()}/funnels/saved", data={"csrf": _csrf(funnel_page(admin, dash).text), "state": "s1=a&s2=b", "name": "x"},
            headers={"Origin": origin},
        )
        assert r.status_code == 403, r.text
    assert _saved_ids(funnel_page(admin, dash).text) == before
    assert _save(admin, dash, dash.project, "   ").status_code == 400  # a name is required


def test_saved_funnels_stay_in_their_project(admin: httpx.Client, viewer: httpx.Client, dash: Dash) -> None:
    r = _save(admin, dash, dash.project, "admin's funnel")
    fid = dict(parse_qsl(urlsplit(r.headers["location"]).query))["saved_as"]
    # The viewer sees only the other project: the admin's project answers 404, even to a delete.
    assert funnel_page(viewer, dash).status_code == 404
    other_page = funnel_page(viewer, dash, dash.other).text
    assert fid not in other_page
    token = _csrf(other_page)
    for project in (dash.project, dash.other):
        r = viewer.post(
            f"{dash.report_path(project)}/funnels/saved/{fid}/delete",
            data={"csrf": token}, headers={"Origin": dash.server.url},
        )
        assert r.status_code == 404
    assert fid in _saved_ids(funnel_page(admin, dash).text)
    # A viewer may save in their project; only its author or an admin deletes a funnel there.
    mine = _save(viewer, dash, dash.other, "viewer's funnel")
    assert mine.status_code == 303
    theirs = _save(admin, dash, dash.other, "admin's, in other")
    theirs_id = dict(parse_qsl(urlsplit(theirs.headers["location"]).query))["saved_as"]
    page = funnel_page(viewer, dash, dash.other).text
    assert f'data-testid="delete-{theirs_id}"' not in page
    refused = viewer.post(
        f"{dash.report_path(dash.other)}/funnels/saved/{theirs_id}/delete",
        data={"csrf": token}, headers={"Origin": dash.server.url},
    )
    assert refused.status_code == 403
    mine_id = dict(parse_qsl(urlsplit(mine.headers["location"]).query))["saved_as"]
    ok = viewer.post(
        f"{dash.report_path(dash.other)}/funnels/saved/{mine_id}/delete",
        data={"csrf": token}, headers={"Origin": dash.server.url},
    )
    assert ok.status_code == 303
    assert _saved_ids(funnel_page(viewer, dash, dash.other).text) == [theirs_id]


def test_logged_out_goes_to_login(dash: Dash) -> None:
    with httpx.Client(base_url=dash.server.url) as c:
        for path in ("/funnels", "/funnels.csv", "/funnels/people"):
            r = c.get(dash.report_path() + path)
            assert r.status_code == 303 and r.headers["location"].startswith("/dashboard/login")
        assert c.post(dash.report_path() + "/funnels/saved", data={"name": "x"}).status_code == 303


MARK = "<x-fuzz>"
KEYS = st.sampled_from([
    "period", "from", "to", "s1", "w1", "s2", "w2", "s3", "window", "breakdown", "add", "remove",
    "step", "outcome", "group", "page", "x",
])  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(["custom", "2026-05-01", "$pageview", "signup", "a[b=c]", "7d", "0", "2", "-1", "dropped", "converted", "country"]),
    st.text(max_size=30).map(lambda t: t + MARK),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(KEYS, VALUES, max_size=7), route=st.sampled_from(["", ".csv", "/people", "/people.csv"]))
def test_generated_funnel_urls(admin: httpx.Client, dash: Dash, params: dict[str, str], route: str) -> None:
    r = admin.get(f"{dash.report_path()}/funnels{route}", params=params)
    assert r.status_code in (200, 303, 400), r.text[:500]
    if r.headers.get("content-type", "").startswith("text/html"):
        assert MARK not in r.text
