"""Odd input that reached a 500: a conversion name a download's file name cannot hold as Latin-1,
and custom days at the ends of the calendar (the range, its comparison or its UTC times fell
out of datetime's range). Each now answers 200: the name has an ASCII form, the days fall back."""

from __future__ import annotations

import csv
import doctest
import io
import re
import time
from collections.abc import Iterator
from datetime import date, timedelta
from urllib.parse import unquote
from zoneinfo import available_timezones

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from footfall.dashboard import csv_download
from footfall.dashboard.report import bucket_starts
from footfall.dashboard.state import (
    COMPARISONS,
    PERIODS,
    comparison_dates,
    parse_state,
    period_dates,
    utc_range,
)
from tests.dashboard.conftest import Dash
from tests.support.server import cli

NAME = "注文€"  # CJK and a euro sign: neither is Latin-1
FALLBACK = 'aria-current="true">Last 30 days'
# Past datetime's ends (the repros), and a day outside the span a custom range may take.
OUT_OF_RANGE = [("9999-12-30", "9999-12-31"), ("0001-01-01", "0001-01-02"), ("1969-12-31", "1970-01-01"), ("9000-12-31", "9001-01-01")]
# The first and last days it may take, and its longest range from the first.
EDGES = [("1970-01-01", "1970-01-02"), ("9000-12-30", "9000-12-31"), ("1970-01-01", "1980-01-08")]


def _disposition(r: httpx.Response) -> str:
    raw = dict(r.headers.raw)[b"content-disposition"]
    assert raw.isascii(), raw
    return raw.decode("ascii")


@pytest.mark.parametrize(("path", "params"), [
    ("/attribution", {"table": "models", "format": "csv"}),
    ("/attribution", {"table": "paths", "format": "csv"}),
    ("/attribution", {"table": "time", "format": "csv"}),
    ("/attribution/conversions.csv", {"bucket": "0"}),
])  # fmt: skip
def test_a_csv_named_after_a_non_latin1_conversion(
    admin: httpx.Client, dash: Dash, path: str, params: dict[str, str]
) -> None:
    r = admin.get(dash.report_path() + path, params={"conversion": NAME, **params})
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/csv")
    assert next(csv.reader(io.StringIO(r.text)))  # the header row
    header = _disposition(r)
    plain = re.fullmatch(r"attachment; filename=\"([A-Za-z0-9._-]+)\"; filename\*=UTF-8''([^;\s]+)", header)
    assert plain, header
    assert plain.group(1).startswith("attribution-") and plain.group(1).endswith("--.csv")
    assert unquote(plain.group(2)).endswith("-注文-.csv")  # the browser keeps the name


def test_csv_download_doctests() -> None:
    result = doctest.testmod(csv_download)
    assert result.failed == 0 and result.attempted > 0


PAGES = [
    ("", {}), ("", {"panel": "sources", "format": "csv"}), ("", {"panel": "sources", "all": "1"}),
    ("/attribution", {"conversion": "signup"}),
    ("/attribution", {"conversion": "signup", "table": "models", "format": "csv"}),
    ("/attribution/conversions", {"conversion": "signup", "bucket": "0"}),
    ("/attribution/conversions.csv", {"conversion": "signup", "bucket": "0"}),
    ("/funnels", {"s1": "$pageview", "s2": "signup"}),
    ("/funnels.csv", {"s1": "$pageview", "s2": "signup"}),
    ("/sessions", {}), ("/sessions", {"format": "csv"}),
    ("/events", {}), ("/events", {"format": "csv"}),
]  # fmt: skip


@pytest.mark.parametrize(("path", "params"), PAGES)
@pytest.mark.parametrize(("first", "last"), OUT_OF_RANGE)
def test_days_out_of_range_fall_back_on_every_page(
    admin: httpx.Client, dash: Dash, path: str, params: dict[str, str], first: str, last: str
) -> None:
    r = admin.get(dash.report_path() + path, params={"period": "custom", "from": first, "to": last, **params})
    assert r.status_code == 200, r.text[:500]
    if r.headers["content-type"].startswith("text/html") and "all" not in params:
        # The list of conversions has no period picker, only its way back to the attribution page.
        assert (FALLBACK if path != "/attribution/conversions" else "/attribution?period=30d&amp;") in r.text


@pytest.mark.parametrize("compare", list(COMPARISONS))
@pytest.mark.parametrize(("first", "last"), OUT_OF_RANGE)
def test_days_out_of_range_fall_back_with_each_comparison(
    admin: httpx.Client, dash: Dash, compare: str, first: str, last: str
) -> None:
    r = admin.get(dash.report_path(), params={"period": "custom", "from": first, "to": last, "compare": compare})
    assert r.status_code == 200, r.text[:500]
    assert FALLBACK in r.text


@pytest.fixture
def far_zone(dash: Dash, request: pytest.FixtureRequest) -> Iterator[str]:
    """The project in a zone far from UTC (the server picks it up within 10 s)."""
    tz: str = request.param
    cli(dash.server.data, "project", "update", dash.project, "--timezone", tz)
    try:
        yield tz
    finally:
        cli(dash.server.data, "project", "update", dash.project, "--timezone", "UTC")


@pytest.mark.parametrize("far_zone", ["Pacific/Kiritimati", "Etc/GMT+12"], indirect=True)
def test_the_first_and_last_days_taken_in_zones_far_from_utc(
    admin: httpx.Client, dash: Dash, far_zone: str
) -> None:
    deadline = time.monotonic() + 30  # the server's project cache holds the old zone up to 10 s
    while f"Times in {far_zone}" not in admin.get(dash.report_path(), params={"period": "7d"}).text:
        if time.monotonic() > deadline:
            pytest.fail(f"the report never said {far_zone}")
    for first, last in EDGES + OUT_OF_RANGE:
        for compare in COMPARISONS:
            params = {"period": "custom", "from": first, "to": last, "compare": compare}
            r = admin.get(dash.report_path(), params=params)
            assert r.status_code == 200, (params, r.text[:500])
            assert (FALLBACK in r.text) == ((first, last) in OUT_OF_RANGE)
        for path, extra in PAGES[1:]:
            r = admin.get(dash.report_path() + path, params={"period": "custom", "from": first, "to": last, **extra})
            assert r.status_code == 200, (path, first, r.text[:500])


ZONES = sorted(available_timezones())
DAYS = st.dates().map(date.isoformat)


@settings(max_examples=500, deadline=None)
@given(
    period=st.one_of(st.sampled_from(list(PERIODS)), st.text(max_size=10)),
    first=st.one_of(DAYS, st.text(max_size=12)),
    last=st.one_of(DAYS, st.text(max_size=12)),
    compare=st.one_of(st.sampled_from(list(COMPARISONS)), st.text(max_size=10)),
    interval=st.one_of(st.sampled_from(["hour", "day", "week", "month"]), st.text(max_size=6)),
    tz=st.one_of(st.sampled_from(ZONES), st.text(max_size=20)),
    today=st.dates(date(1970, 1, 1), date(9000, 12, 31)),
)
@example(period="custom", first="9999-12-30", last="9999-12-31", compare="previous", interval="day", tz="UTC", today=date(2026, 5, 9))
@example(period="custom", first="0001-01-01", last="0001-01-02", compare="previous", interval="day", tz="UTC", today=date(2026, 5, 9))
@example(period="custom", first="0001-01-01", last="0001-01-02", compare="year", interval="day", tz="UTC", today=date(2026, 5, 9))
@example(period="custom", first="9000-12-31", last="9000-12-31", compare="year", interval="month", tz="Etc/GMT+12", today=date(2026, 5, 9))
@example(period="custom", first="1970-01-01", last="1980-01-08", compare="previous", interval="day", tz="Pacific/Kiritimati", today=date(2026, 5, 9))
@example(period="7d", first="", last="", compare="off", interval="", tz="America", today=date(2026, 5, 9))  # a folder
def test_any_state_gives_days_and_utc_times_in_range(
    period: str, first: str, last: str, compare: str, interval: str, tz: str, today: date
) -> None:
    state = parse_state({"period": period, "from": first, "to": last, "compare": compare, "interval": interval})
    days = period_dates(state, today)
    before = comparison_dates(state, *days)
    for lo, hi in (days, before) if before else (days,):
        assert lo <= hi
        start, end = utc_range(lo, hi, tz)
        assert start < end <= start + timedelta(days=(hi - lo).days + 2)  # give or take an offset
        for step in ("week", "month"):
            assert bucket_starts(lo, hi, step)
