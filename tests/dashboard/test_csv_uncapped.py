"""Every panel's CSV has every row, past the API's own maximum of 1000: attribution by campaign
and its conversion paths with more campaigns than that (they once stopped at 1000), and a report
panel with more rows than the API answers at once, in the API's order; a top pages panel with
more than a million pages (it once stopped at a million, without a word)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from footfall.read.queries import ATTRIBUTION_MODELS
from tests.dashboard.conftest import ADMIN, Dash, create_user, login
from tests.support.server import Server

TODAY = datetime.now(UTC).date()
FIRST = TODAY - timedelta(days=29)
PERIOD = {"period": "custom", "from": FIRST.isoformat(), "to": TODAY.isoformat()}
SPAN = {"from": f"{FIRST}T00:00:00Z", "to": f"{TODAY + timedelta(days=1)}T00:00:00Z"}
API_MAX = 1000  # the API's largest `limit`
CAMPAIGNS = 1100  # one buyer each, from their own campaign
BUY = "bulk-buy"


def _amount(i: int) -> int:
    return i % 7 + 1


@pytest.fixture(scope="module")
def campaigns(dash: Dash) -> Dash:
    """CAMPAIGNS people, each coming from a campaign of their own and buying in that visit."""
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    events: list[dict[str, Any]] = []
    for i in range(CAMPAIGNS):
        who, at = f"bulk-{i}", when - timedelta(seconds=i)
        events += [
            {"event": "$pageview", "anonymous_id": who, "timestamp": at.isoformat(), "event_id": f"bulk-pv-{i}",
             "url": f"https://shop.example/?utm_source=ads&utm_medium=cpc&utm_campaign=bulk-{i:04d}"},
            {"event": BUY, "anonymous_id": who, "timestamp": (at + timedelta(minutes=1)).isoformat(),
             "event_id": f"bulk-buy-{i}", "properties": {"amount": _amount(i)}},
        ]  # fmt: skip
    with dash.server.client(dash.server.keys["sk_live"]) as c:
        for start in range(0, len(events), 1000):
            r = c.post("/v1/batch", json={"events": events[start : start + 1000]})
            assert r.status_code == 202, r.text
    return dash


def _csv(admin: httpx.Client, path: str, **params: str) -> list[dict[str, str]]:
    r = admin.get(path, params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), r.text[:500]
    return list(csv.DictReader(io.StringIO(r.text)))


def _api(dash: Dash, route: str, **params: str) -> dict[str, Any]:
    with dash.server.client(dash.server.keys["rk_live"]) as c:
        r = c.get(route, params={**SPAN, **params, "limit": str(API_MAX)})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


EXPECTED = {f"bulk-{i:04d}" for i in range(CAMPAIGNS)}
VALUE = sum(_amount(i) for i in range(CAMPAIGNS))


def test_attribution_csv_has_every_campaign(admin: httpx.Client, campaigns: Dash) -> None:
    rows = _csv(admin, f"{campaigns.report_path()}/attribution", **PERIOD, conversion=BUY,
                value="amount", by="campaign", table="models", format="csv")  # fmt: skip
    assert len(rows) == CAMPAIGNS > API_MAX
    assert {r["campaign"] for r in rows} == EXPECTED
    api = _api(campaigns, "/v1/attribution", conversion=BUY, value_property="amount", model="all", group_by="campaign")
    assert api["totals"] == {"conversions": CAMPAIGNS, "value": VALUE}
    for m in ATTRIBUTION_MODELS:
        assert sum(float(r[f"{m}_conversions"]) for r in rows) == pytest.approx(CAMPAIGNS), m
        assert sum(float(r[f"{m}_value"]) for r in rows) == pytest.approx(VALUE), m
    # The API's page of them is the CSV's head, in its order.
    assert [r["campaign"] for r in rows[:API_MAX]] == [r["campaign"] for r in api["rows"]]


def test_the_page_says_its_sums_are_of_the_top_rows(admin: httpx.Client, campaigns: Dash) -> None:
    r = admin.get(f"{campaigns.report_path()}/attribution", params={**PERIOD, "conversion": BUY, "by": "campaign"})
    assert r.status_code == 200
    assert 'data-testid="attribution-top-rows"' in r.text and "every model hands out all of it" not in r.text


def test_attribution_paths_csv_has_every_path(admin: httpx.Client, campaigns: Dash) -> None:
    rows = _csv(admin, f"{campaigns.report_path()}/attribution", **PERIOD, conversion=BUY,
                value="amount", by="campaign", table="paths", format="csv")  # fmt: skip
    assert len(rows) == CAMPAIGNS > API_MAX
    assert {r["path"] for r in rows} == EXPECTED
    assert sum(int(r["conversions"]) for r in rows) == CAMPAIGNS
    assert sum(float(r["value"]) for r in rows) == pytest.approx(VALUE)
    api = _api(campaigns, "/v1/attribution/paths", conversion=BUY, value_property="amount", dimension="campaign")
    assert api["totals"] == {"conversions": CAMPAIGNS, "value": VALUE}
    assert [r["path"] for r in rows[:API_MAX]] == [" > ".join(r["path"]) for r in api["rows"]]


def test_a_panel_csv_goes_past_the_apis_maximum(admin: httpx.Client, campaigns: Dash) -> None:
    rows = _csv(admin, campaigns.report_path(), **PERIOD, panel="campaigns", format="csv")
    got = [(r["campaign"], int(r["visitors"])) for r in rows]
    api = _api(campaigns, "/v1/stats", metric="uniques", group_by="campaign")["rows"]
    assert len(api) == API_MAX and got[:API_MAX] == [(r["campaign"] or "", r["value"]) for r in api]
    labels = [label for label, _n in got]
    assert len(labels) == len(set(labels))  # no row twice
    # The seeded traffic's campaigns are the largest rows (the API's), then one row per buyer.
    assert set(labels) == EXPECTED | {r["campaign"] or "" for r in api}
    assert all(n == 1 for label, n in got if label in EXPECTED)


PAGES = 1_000_001  # a row past the million the panel's CSV once stopped at


@pytest.fixture(scope="module")
def million_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, httpx.Client]]:
    """A server whose project has PAGES pages, viewed once each (imported in bulk, offline)."""
    data = tmp_path_factory.mktemp("million") / "data"
    srv = Server(data).start()
    keys = srv.keys
    srv.stop()
    assert create_user(data, *ADMIN, "--role", "admin").returncode == 0
    ts = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    events = data.parent / "events.ndjson"
    with events.open("w") as f:
        for i in range(PAGES):
            f.write(json.dumps({
                "uid": str(uuid.UUID(int=i + 1)), "name": "$pageview", "ts": ts, "received_at": ts,
                "anonymous_id": f"a{i % 5000}", "session_id": f"s{i % 5000}", "path": f"/p/{i}",
            }) + "\n")  # fmt: skip
    # `cli`'s minute may not be enough for a million rows on a slow machine.
    subprocess.run(
        [sys.executable, "-m", "footfall", "import", str(events), "--project", keys["project_id"],
         "--batch-rows", "250000", "--data", str(data)],
        capture_output=True, check=True, timeout=600,
    )  # fmt: skip
    srv = Server(data)
    srv.keys = keys
    srv.start()
    try:
        with closing(login(srv, *ADMIN)) as c:
            c.timeout = 300
            yield srv, c
    finally:
        srv.stop()


@pytest.mark.slow
def test_a_panel_csv_has_more_than_a_million_rows(million_pages: tuple[Server, httpx.Client]) -> None:
    srv, admin = million_pages
    path = f"/dashboard/p/{srv.keys['project_id']}/live"
    r = admin.get(path, params={"period": "7d", "panel": "pages", "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    reader = csv.reader(io.StringIO(r.text))
    assert next(reader) == ["path", "visitors"]
    rows = list(reader)
    assert len(rows) == PAGES
    assert {p for p, _n in rows} == {f"/p/{i}" for i in range(PAGES)}  # each once
    with srv.client(srv.keys["rk_live"]) as c:
        api = c.get("/v1/stats", params={
            "from": f"{TODAY - timedelta(days=8)}T00:00:00Z", "to": f"{TODAY + timedelta(days=1)}T00:00:00Z",
            "metric": "uniques", "event": "$pageview", "group_by": "path", "limit": str(API_MAX),
        }).json()["rows"]  # fmt: skip
    assert rows[:API_MAX] == [[a["path"], str(a["value"])] for a in api]
