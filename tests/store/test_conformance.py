"""One suite, every backend: the same events give the same answers on DuckDB and ClickHouse.

DuckDB's answers are the reference (its own tests check them against hand-computed values);
each ClickHouse way in (chDB in-process, chDB over real HTTP, a real server when configured)
must give them exactly (floats within 1e-9).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pytest
from msgspec.structs import astuple, replace

from footfall.model import Event
from footfall.read.queries import (
    ATTRIBUTION_MODELS,
    AttributionQuery,
    ConversionsQuery,
    EventLogQuery,
    FunnelPeopleQuery,
    FunnelQuery,
    FunnelStep,
    PageQuery,
    SessionsQuery,
    SessionSummaryQuery,
    SourcesQuery,
    StatsQuery,
)
from footfall.store.base import EventQuery, ExportQuery, Scope, Store
from tests.store.conformance import BACKENDS, END, SCOPE, START, assert_same, fill, open_backend
from tests.support.clickhouse import ClickHouseHTTP

Read = Callable[[Store], Any]
MIDNIGHT = datetime(2026, 3, 25, tzinfo=START.tzinfo)


@pytest.fixture(scope="module")
def http() -> Iterator[Callable[[], ClickHouseHTTP]]:
    servers: list[ClickHouseHTTP] = []

    def get() -> ClickHouseHTTP:
        if not servers:
            servers.append(ClickHouseHTTP().start())
        return servers[0]

    yield get
    for s in servers:
        s.stop()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = fill(open_backend("duckdb", tmp_path_factory.mktemp("ref"), lambda: None))  # type: ignore[arg-type,return-value]
    yield store
    store.close()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
    http: Callable[[], ClickHouseHTTP],
) -> Iterator[Store]:
    store = fill(open_backend(request.param, tmp_path_factory.mktemp("ch"), http))
    yield store
    store.close()


def stats(**kw: Any) -> Read:
    kw = {"scope": SCOPE, "start": START, "end": END, **kw}
    return lambda s: s.stats(StatsQuery(**kw))


def _after(s: Store, **kw: Any) -> tuple[datetime, str]:
    """The keyset of the 5th session of the list: the next page starts after it."""
    row = s.sessions(SessionsQuery(scope=SCOPE, start=START, end=END, limit=5, **kw))[-1]
    return datetime.fromisoformat(row["start"]), row["session_id"]


def _before(s: Store, **kw: Any) -> tuple[datetime, str]:
    row = s.event_log(EventLogQuery(scope=SCOPE, start=START, end=END, limit=3, **kw))[-1]
    return datetime.fromisoformat(row["ts"]), row["uid"]


def _batches(s: Store, q: EventLogQuery | SessionsQuery) -> list[dict[str, Any]]:
    """Every row, in 7-row batches: the same rows, order and shape as one page of them all."""
    if isinstance(q, EventLogQuery):
        batches, page = list(s.event_log_batches(q, batch_rows=7)), s.event_log
    else:
        batches, page = list(s.sessions_batches(q, batch_rows=7)), s.sessions  # type: ignore[assignment]
    assert all(0 < len(b) <= 7 for b in batches)  # (test_same_answer checks there are rows)
    rows = [r for b in batches for r in b]
    assert rows == page(msgspec.structs.replace(q, limit=100_000))  # type: ignore[arg-type]
    return rows


def _every(batches: Iterator[list[dict[str, Any]]], rows: list[dict[str, Any]], size: int = 2) -> list[dict[str, Any]]:
    """The rows of a batch reader: batches of at most `size` (so several when there are more
    rows), together `rows` (its paged read's with every row on one page), in order."""
    got = list(batches)
    assert all(0 < len(b) <= size for b in got) and (len(got) > 1 or len(rows) <= size)
    flat = [r for b in got for r in b]
    assert flat == rows
    return flat


def stats_batches(**kw: Any) -> Read:
    q = StatsQuery(**{"scope": SCOPE, "start": START, "end": END, **kw})
    return lambda s: _every(s.stats_batches(q, 2), s.stats(msgspec.structs.replace(q, limit=100_000)))


def summary_batches(**kw: Any) -> Read:
    q = SessionSummaryQuery(**{"scope": SCOPE, "start": START, "end": END, **kw})
    return lambda s: _every(s.session_summary_batches(q, 2), s.session_summary(msgspec.structs.replace(q, limit=100_000)))


READS: dict[str, Read] = {
    "applied_seq": lambda s: s.applied_seq(),
    "query_all": lambda s: s.query_events(EventQuery(scope=SCOPE, start=START, end=END, limit=1000)),
    "query_filtered": lambda s: s.query_events(EventQuery(
        scope=SCOPE, start=START, end=END, event="signup", source="facebook", limit=50)),
    "query_person": lambda s: s.query_events(EventQuery(scope=SCOPE, start=START, end=END, user_id="user0")),
    "query_anonymous": lambda s: s.query_events(EventQuery(scope=SCOPE, start=START, end=END, anonymous_id="v7", country="DE")),
    "query_other_env": lambda s: s.query_events(EventQuery(scope=Scope("prj_c", "test"), start=START, end=END)),
    "stats_count": stats(),
    "stats_bots": stats(include_bots=True),
    "stats_uniques": stats(metric="uniques"),
    "stats_users": stats(metric="users"),
    "stats_sessions": stats(metric="sessions"),
    "stats_group": stats(group_by=("source", "medium"), event="$pageview"),
    "stats_group_people": stats(metric="uniques", group_by=("channel", "country", "device_type")),
    "stats_filters": stats(filters=(("source", "facebook"), ("campaign", "spring")), group_by=("event_name",)),
    "stats_hour": stats(interval="hour", start=START, end=START + timedelta(days=2)),
    "stats_day_rollup": stats(interval="day", group_by=("source",)),
    "stats_week_rollup": stats(interval="week", start=MIDNIGHT),
    "stats_month_rollup": stats(interval="month", group_by=("browser", "os")),
    "stats_day_partial": stats(interval="day", start=START + timedelta(hours=5)),
    "stats_tz_day": stats(interval="day", timezone="Europe/Berlin", metric="uniques"),
    "stats_tz_hour_dst": stats(
        interval="hour", timezone="Europe/Berlin", start=datetime(2026, 3, 28, 20, tzinfo=START.tzinfo),
        end=datetime(2026, 3, 29, 6, tzinfo=START.tzinfo)),
    "stats_tz_week": stats(interval="week", timezone="America/New_York", group_by=("event_name",)),
    "stats_limit": stats(group_by=("path",), limit=3),
    "stats_other_project": stats(scope=Scope("prj_other", "live"), group_by=("source",)),
    "stats_empty": stats(event="nothing"),
    "stats_sum": stats(metric="sum", value_property="amount_cents", event="purchase", group_by=("source",)),
    "stats_sum_day": stats(metric="sum", value_property="amount_cents", interval="day", start=MIDNIGHT),
    "stats_sum_not_numbers": stats(metric="sum", value_property="plan", group_by=("event_name",)),
    "stats_sum_none": stats(metric="sum", value_property="amount_cents", event="nothing"),
    "stats_utm_geo": stats(group_by=("utm_content", "utm_term", "region"), filters=(("city", "Berlin"),)),
    "stats_city_day": stats(interval="day", group_by=("city",), filters=(("utm_term", "shoes"),), start=MIDNIGHT),
    "stats_utm_content_people": stats(metric="uniques", group_by=("utm_content",), filters=(("region", "CA"),)),
    # DuckDB: from page_hours / event_hours (whole hours), ClickHouse: from the events.
    "stats_page_people": stats(metric="uniques", event="$pageview", group_by=("path",), interval="day"),
    "stats_event_people": stats(metric="uniques", group_by=("event_name",), timezone="Europe/Berlin", interval="day"),
    "stats_goal_people": stats(metric="uniques", event="signup", filters=(("event_name", "signup"),)),
    "sources": lambda s: s.sources(SourcesQuery(scope=SCOPE, start=START, end=END)),
    "sources_by_source_bots": lambda s: s.sources(SourcesQuery(
        scope=SCOPE, start=START, end=END, breakdown="source", include_bots=True)),
    "sessions": lambda s: s.sessions(SessionsQuery(scope=SCOPE, start=START, end=END, limit=1000)),
    "sessions_person": lambda s: s.sessions(SessionsQuery(scope=SCOPE, start=START, end=END, user_id="user0")),
    "sessions_visitor_bots": lambda s: s.sessions(SessionsQuery(
        scope=SCOPE, start=START, end=END, anonymous_id="v39", include_bots=True)),
    "sessions_filtered": lambda s: s.sessions(SessionsQuery(
        scope=SCOPE, start=START, end=END, filters=(("channel", "Paid Social"), ("path", "/pricing")),
        limit=1000)),
    "sessions_after": lambda s: s.sessions(SessionsQuery(
        scope=SCOPE, start=START, end=END, limit=7, after=_after(s))),
    "sessions_filtered_after": lambda s: s.sessions(SessionsQuery(
        scope=SCOPE, start=START, end=END, limit=4, filters=(("device_type", "mobile"),),
        after=_after(s, filters=(("device_type", "mobile"),)))),
    "event_log": lambda s: s.event_log(EventLogQuery(scope=SCOPE, start=START, end=END, limit=1000)),
    "event_log_filtered_page": lambda s: s.event_log(EventLogQuery(
        scope=SCOPE, start=START, end=END, filters=(("event_name", "signup"), ("country", "US")),
        limit=5, before=_before(s, filters=(("event_name", "signup"), ("country", "US"))))),
    "event_log_person_bots": lambda s: s.event_log(EventLogQuery(
        scope=SCOPE, start=START, end=END, person="user0", include_bots=True, limit=1000)),
    "event_log_anonymous_person": lambda s: s.event_log(EventLogQuery(
        scope=SCOPE, start=START, end=END, person="v7", limit=1000)),
    "sessions_batches": lambda s: _batches(s, SessionsQuery(scope=SCOPE, start=START, end=END)),
    "sessions_batches_person_after": lambda s: _batches(s, SessionsQuery(
        scope=SCOPE, start=START, end=END, user_id="user0", after=_after(s), include_bots=True)),
    "sessions_batches_filtered": lambda s: _batches(s, SessionsQuery(
        scope=SCOPE, start=START, end=END, filters=(("channel", "Paid Social"), ("path", "/pricing")))),
    "event_log_batches": lambda s: _batches(s, EventLogQuery(scope=SCOPE, start=START, end=END)),
    "event_log_batches_filtered_person": lambda s: _batches(s, EventLogQuery(
        scope=SCOPE, start=START, end=END, person="user0", filters=(("event_name", "signup"),),
        before=_before(s))),
    # A report panel's CSV: every row, in the order of the limited read.
    "stats_batches_pages": stats_batches(metric="uniques", event="$pageview", group_by=("path",),
                                         filters=(("country", "DE"),), limit=2),
    "stats_batches_rollup_day": stats_batches(interval="day", group_by=("source",), include_bots=True),
    "stats_batches_people_tz": stats_batches(metric="uniques", group_by=("channel",), interval="day",
                                             timezone="Europe/Berlin", filters=(("device_type", "mobile"),)),
    "stats_batches_events_sum": stats_batches(metric="sum", value_property="amount_cents", event="purchase",
                                              group_by=("campaign", "source"), start=START + timedelta(hours=5)),
    "stats_batches_event_names": stats_batches(metric="uniques", group_by=("event_name",),
                                               filters=(("source", "facebook"),)),
    "stats_batches_one_row": stats_batches(metric="sessions"),
    "summary_batches_entry": summary_batches(group_by="entry_path", include_bots=True),
    "summary_batches_exit_filtered": summary_batches(group_by="exit_path", filters=(
        ("source", "facebook"), ("path", "/pricing"))),
    "summary_batches_one_row": summary_batches(filters=(("country", "US"),)),
    "summary": lambda s: s.session_summary(SessionSummaryQuery(scope=SCOPE, start=START, end=END)),
    "summary_bots_empty": lambda s: s.session_summary(SessionSummaryQuery(
        scope=SCOPE, start=END, end=END + timedelta(days=1), include_bots=True)),
    "summary_entry": lambda s: s.session_summary(SessionSummaryQuery(
        scope=SCOPE, start=START, end=END, group_by="entry_path", include_bots=True)),
    "summary_exit_filtered": lambda s: s.session_summary(SessionSummaryQuery(
        scope=SCOPE, start=START + timedelta(days=2), end=END, group_by="exit_path",
        filters=(("source", "facebook"), ("event_name", "signup")), limit=3)),
    "summary_event_columns": lambda s: s.session_summary(SessionSummaryQuery(
        scope=SCOPE, start=START, end=END, filters=(("path", "/pricing"), ("city", "Berlin")))),
    "page_events": lambda s: s.page_events(PageQuery(scope=SCOPE, page=2, per_page=10)),
    "page_events_oldest": lambda s: s.page_events(PageQuery(
        scope=SCOPE, anonymous_id="v5", exclude_names=("click",), descending=False)),
    "distinct_values": lambda s: sorted(s.distinct_values(SCOPE, ("$pageview", "purchase"), "plan")),
    "profile_visitor": lambda s: s.profile(SCOPE, "visitor", "v3"),
    "profile_person": lambda s: s.profile(SCOPE, "person", "user0"),
    "profile_unknown": lambda s: s.profile(SCOPE, "person", "nobody"),
    "session_tails": lambda s: sorted(astuple(t) for t in s.session_tails(START + timedelta(days=18))),
    "session_attributions": lambda s: sorted(
        s.session_attributions(START + timedelta(days=18), ("source", "medium", "campaign")),
        key=lambda r: r[0]),
}  # fmt: skip


PRICING = FunnelStep("$pageview", (("path", "/pricing"),))
PRO = FunnelStep("purchase", (("plan", "pro"),))


def funnel(*steps: FunnelStep, **kw: Any) -> Read:
    kw = {"scope": SCOPE, "start": START, "end": END, "steps": steps, **kw}
    return lambda s: s.funnel(FunnelQuery(**kw))


def people(*steps: FunnelStep, step: int, outcome: str, page: dict[str, Any] | None = None, **kw: Any) -> Read:
    f = FunnelQuery(**{"scope": SCOPE, "start": START, "end": END, "steps": steps, **kw})
    return lambda s: s.funnel_people(FunnelPeopleQuery(funnel=f, step=step, outcome=outcome, **(page or {})))


def people_batches(*steps: FunnelStep, step: int, outcome: str, group: str | None = None, **kw: Any) -> Read:
    """The people CSV's read: every person of the list, as `funnel_people` pages them."""
    f = FunnelQuery(**{"scope": SCOPE, "start": START, "end": END, "steps": steps, **kw})
    q = FunnelPeopleQuery(funnel=f, step=step, outcome=outcome, group=group, limit=3, offset=2)
    return lambda s: _every(s.funnel_people_batches(q, 2), s.funnel_people(
        msgspec.structs.replace(q, limit=100_000, offset=0))["people"])


def attribution(**kw: Any) -> Read:
    kw = {"scope": SCOPE, "start": START, "end": END, "conversion": "purchase", **kw}
    return lambda s: s.attribution(AttributionQuery(**kw))


READS |= {
    "funnel_steps": funnel(PRICING, FunnelStep("signup"), PRO),
    "funnel_channel": funnel(PRICING, FunnelStep("signup"), FunnelStep("purchase"), breakdown="channel"),
    "funnel_source_bots": funnel(FunnelStep("$pageview"), FunnelStep("purchase"), breakdown="source",
                                 include_bots=True),
    "funnel_short_window": funnel(FunnelStep("signup"), FunnelStep("purchase"), FunnelStep("signup"),
                                  window_seconds=3600),
    "funnel_column_key": funnel(FunnelStep("$pageview", (("country", "DE"),)), FunnelStep("click")),
    **{
        f"funnel_{column}": funnel(FunnelStep("$pageview"), FunnelStep("signup"), breakdown=column)
        for column in ("campaign", "device_type", "country")
    },
    "people_country": people(FunnelStep("$pageview"), FunnelStep("signup"), step=1, outcome="dropped",
                             breakdown="country", page={"group": "DE"}),
    "people_dropped": people(PRICING, FunnelStep("signup"), PRO, step=1, outcome="dropped"),
    "people_converted_page": people(FunnelStep("$pageview"), FunnelStep("signup"), step=2,
                                    outcome="converted", page={"limit": 5, "offset": 3}),
    "people_group": people(FunnelStep("$pageview"), FunnelStep("purchase"), step=1, outcome="dropped",
                           breakdown="channel", page={"group": "Paid Social"}),
    "people_source_bots": people(FunnelStep("$pageview"), FunnelStep("click"), step=2, outcome="converted",
                                 breakdown="source", include_bots=True),
    "people_repeated_step": people(FunnelStep("signup"), FunnelStep("purchase"), FunnelStep("signup"),
                                   step=2, outcome="dropped", window_seconds=3600),
    # event_times (DuckDB): no filters, no breakdown; then from the events, with them.
    "people_batches_dropped": people_batches(FunnelStep("$pageview"), FunnelStep("signup"), step=1,
                                             outcome="dropped"),
    "people_batches_converted_filtered": people_batches(PRICING, FunnelStep("signup"), PRO, step=2,
                                                       outcome="converted"),
    "people_batches_group": people_batches(FunnelStep("$pageview"), FunnelStep("purchase"), step=1,
                                           outcome="dropped", breakdown="channel", group="Paid Social"),
    "people_batches_repeated_step": people_batches(FunnelStep("signup"), FunnelStep("purchase"),
                                                   FunnelStep("signup"), step=2, outcome="dropped",
                                                   include_bots=True),
    "people_past_the_end": people(FunnelStep("$pageview"), step=1, outcome="converted",
                                  page={"offset": 10_000}),
    **{
        f"attribution_{model}": attribution(
            model=model, value_property="amount_cents", group_by=("source", "medium", "campaign"))
        for model in ATTRIBUTION_MODELS
    },
    "compared": lambda s: s.attribution_compared(AttributionQuery(
        scope=SCOPE, start=START, end=END, conversion="purchase", model="all",
        value_property="amount_cents", group_by=("source", "medium", "campaign"))),
    "compared_channel_lookback": lambda s: s.attribution_compared(AttributionQuery(
        scope=SCOPE, start=START, end=END, conversion="signup", model="all",
        group_by=("channel",), lookback_seconds=3 * 86400, limit=3, include_bots=True)),
    "paths_channel": lambda s: s.conversion_paths(AttributionQuery(
        scope=SCOPE, start=START, end=END, conversion="purchase", value_property="amount_cents",
        group_by=("channel",))),
    "paths_campaign_short": lambda s: s.conversion_paths(AttributionQuery(
        scope=SCOPE, start=START, end=END, conversion="signup", group_by=("campaign",),
        lookback_seconds=86400, limit=4)),
    "time_to_convert": lambda s: s.time_to_convert(AttributionQuery(
        scope=SCOPE, start=START, end=END, conversion="purchase")),
    "time_to_convert_bots_lookback": lambda s: s.time_to_convert(AttributionQuery(
        scope=SCOPE, start=START + timedelta(days=4), end=END, conversion="signup",
        lookback_seconds=2 * 86400, include_bots=True)),
    "time_to_convert_none": lambda s: s.time_to_convert(AttributionQuery(
        scope=SCOPE, start=START, end=END, conversion="nothing")),
    "attribution_channel_lookback": attribution(group_by=("channel",), lookback_seconds=3 * 86400,
                                                conversion="signup", limit=3),
}  # fmt: skip


def behind(conversion: str = "purchase", page: dict[str, Any] | None = None, **kw: Any) -> Read:
    """The conversions behind one number (#19): `kw` are ConversionsQuery's, `attribution`'s
    keys (model, group_by, value_property, …) go to its AttributionQuery."""
    own = {k: kw.pop(k) for k in ("behind", "path", "bucket", "key") if k in kw}
    a = AttributionQuery(scope=SCOPE, start=START, end=END, conversion=conversion, **kw)
    return lambda s: s.conversions_behind(ConversionsQuery(attribution=a, **own, **(page or {})))


def behind_batches(conversion: str = "purchase", size: int = 3, **kw: Any) -> Read:
    """The conversions CSV's read: every conversion of the list, as `conversions_behind` pages
    them."""
    own = {k: kw.pop(k) for k in ("behind", "path", "bucket", "key") if k in kw}
    a = AttributionQuery(scope=SCOPE, start=START, end=END, conversion=conversion, **kw)
    q = ConversionsQuery(attribution=a, **own, limit=3, offset=1)
    return lambda s: _every(s.conversions_behind_batches(q, size), s.conversions_behind(
        msgspec.structs.replace(q, limit=100_000, offset=0))["rows"], size)


READS |= {
    "behind_batches_path": behind_batches(behind="path", path=("Email", "Direct"), group_by=("channel",),
                                          value_property="amount_cents", size=1),
    "behind_batches_bucket_bots": behind_batches("signup", behind="bucket", bucket=0, include_bots=True,
                                                 lookback_seconds=2 * 86400),
    "behind_batches_credit": behind_batches(behind="credit", model="linear", group_by=("campaign",),
                                            key="spring", value_property="amount_cents"),
    "behind_batches_credit_none": behind_batches("signup", behind="credit", model="first_touch",
                                                 group_by=("campaign",), key=None),
    "behind_path": behind(behind="path", path=("Direct",), group_by=("channel",),
                          value_property="amount_cents"),
    "behind_path_campaign_none": behind("signup", behind="path", path=(None,), group_by=("campaign",)),
    "behind_bucket_page": behind(behind="bucket", bucket=3600, page={"limit": 3, "offset": 1}),
    "behind_bucket_bots": behind("signup", behind="bucket", bucket=0, include_bots=True,
                                 lookback_seconds=2 * 86400),
    **{
        f"behind_credit_{model}": behind(behind="credit", model=model, group_by=("campaign",),
                                         key="spring", value_property="amount_cents")
        for model in ATTRIBUTION_MODELS
    },
    "behind_credit_none": behind("signup", behind="credit", model="position_based",
                                 group_by=("campaign",), key=None),
    "behind_past_the_end": behind(behind="bucket", bucket=0, page={"offset": 10_000}),
}  # fmt: skip


@pytest.mark.parametrize("read", READS, ids=list(READS))
def test_same_answer(read: str, reference: Store, backend: Store) -> None:
    expected = READS[read](reference)
    assert_same(expected, READS[read](backend))
    if read not in ("stats_empty", "profile_unknown", "behind_past_the_end"):
        assert expected, "the dataset must make this read answer something"
    if read.startswith("funnel"):
        assert expected["steps"][-1]["people"] > 0
    if read.startswith("attribution") and read != "attribution_channel_lookback":
        got = READS[read](backend)  # credits add up to the conversions and their value
        assert sum(r["conversions"] for r in got["rows"]) == pytest.approx(got["totals"]["conversions"])
        assert sum(r["value"] for r in got["rows"]) == pytest.approx(got["totals"]["value"])


@pytest.mark.parametrize(("table", "days"), [("events", None), ("events", (2, 9)), ("links", None),
                                             ("links", (1, 2)), ("profiles", None)])
def test_same_export(table: str, days: tuple[int, int] | None, reference: Store, backend: Store) -> None:
    """The same Arrow columns, types and rows in the same order, in batches of at most
    `batch_rows`."""
    span = {} if days is None else {"start": START + timedelta(days=days[0]), "end": START + timedelta(days=days[1])}
    query = ExportQuery(scope=SCOPE, table=table, batch_rows=64, **span)  # type: ignore[arg-type]
    expected = pa.Table.from_batches(list(reference.export(query)))
    batches = list(backend.export(query))
    assert batches and max(b.num_rows for b in batches) <= 64
    got = pa.Table.from_batches(batches)
    assert got.schema.equals(expected.schema), f"{got.schema} != {expected.schema}"
    assert expected.num_rows > 0 and got.to_pylist() == expected.to_pylist()


@pytest.fixture
def pair(
    request: pytest.FixtureRequest, tmp_path: Path, http: Callable[[], ClickHouseHTTP]
) -> Iterator[tuple[Store, Store]]:
    """A fresh DuckDB store and a fresh store of the backend, with the same events."""
    ref = fill(open_backend("duckdb", tmp_path, http))
    other = fill(open_backend(request.param, tmp_path, http))
    yield ref, other
    ref.close()
    other.close()


@pytest.mark.parametrize("pair", BACKENDS, indirect=True)
def test_forget_then_every_read_agrees(pair: tuple[Store, Store]) -> None:
    ref, other = pair
    # user0: identified events, linked anonymous ids (one through an alias chain), a profile.
    done = ref.forget(SCOPE, "user0")
    assert other.forget(SCOPE, "user0") == done
    assert done.events > 5 and done.sessions > 2 and done.identities >= 2
    ref.purge()
    other.purge()
    for read in READS:
        assert_same(READS[read](ref), READS[read](other))
    assert other.query_events(EventQuery(scope=SCOPE, start=START, end=END, user_id="user0")) == []
    assert other.profile(SCOPE, "person", "user0") is None
    assert other.profile(SCOPE, "visitor", "v0") is None


def _late_buyers(n: int) -> bytes:
    """Newer than every stored event: `n` visitors each landing on a page of their own and
    buying within the hour, in one session (they enter every list below, the newest first)."""
    out = []
    for i in range(n):
        at = END - timedelta(hours=3, minutes=i)
        for j, (name, path) in enumerate([("$pageview", f"/late/{i}"), ("purchase", None)]):
            ts = at + timedelta(minutes=10 * j)
            out.append(Event(
                project_id=SCOPE.project_id, env=SCOPE.env, uid=f"late{i}-{j}", name=name, ts=ts,
                received_at=ts, anonymous_id=f"late{i}", session_id=f"late{i}-s", path=path,
                url=f"https://site.example{path or '/'}", properties='{"amount_cents": 100}',
                source="google", medium="organic", channel="Organic Search", source_rule_id="utm",
            ))  # fmt: skip
    return b"".join(msgspec.json.encode(e) + b"\n" for e in out)


@pytest.mark.parametrize("pair", BACKENDS, indirect=True)
def test_a_download_reads_one_snapshot(pair: tuple[Store, Store]) -> None:
    """Events stored while a CSV's batches are being read (a period including today) change
    none of its rows: no row twice, none left out, none of the new ones; the next read has
    them. A list read page by page (LIMIT/OFFSET) repeated rows here: the new conversions and
    people are the newest, so they pushed every later page's rows down."""
    a = AttributionQuery(scope=SCOPE, start=START, end=END, conversion="purchase")
    conversions = ConversionsQuery(attribution=a, behind="bucket", bucket=0)
    funnel = FunnelQuery(scope=SCOPE, start=START, end=END, steps=(FunnelStep("$pageview"), FunnelStep("purchase")))
    people = FunnelPeopleQuery(funnel=funnel, step=1, outcome="converted")
    pages = StatsQuery(scope=SCOPE, start=START, end=END, metric="uniques", event="$pageview", group_by=("path",))
    entries = SessionSummaryQuery(scope=SCOPE, start=START, end=END, group_by="entry_path")
    for seq, store in enumerate(pair, start=2000):
        every: dict[str, Callable[[], list[dict[str, Any]]]] = {
            "conversions": lambda s=store: s.conversions_behind(replace(conversions, limit=100_000))["rows"],
            "people": lambda s=store: s.funnel_people(replace(people, limit=100_000))["people"],
            "pages": lambda s=store: s.stats(replace(pages, limit=100_000)),
            "entries": lambda s=store: s.session_summary(replace(entries, limit=100_000)),
        }
        before = {name: read() for name, read in every.items()}
        readers = {
            "conversions": store.conversions_behind_batches(conversions, 2),
            "people": store.funnel_people_batches(people, 2),
            "pages": store.stats_batches(pages, 2),
            "entries": store.session_summary_batches(entries, 2),
        }
        got = {name: next(batches) for name, batches in readers.items()}
        store.append(_late_buyers(5), b"", seq)
        for name, batches in readers.items():
            got[name] += [r for batch in batches for r in batch]
            assert got[name] == before[name], name
            assert len(every[name]()) == len(before[name]) + 5, name


def _classify(project_id: str, url: str | None, referrer: str | None) -> dict[str, Any]:
    """A new rule set: pricing pages become paid search, the blog a referral, the rest direct
    (which inherits its session's first signal)."""
    if url and url.endswith("/pricing"):
        return {"source": "ads", "medium": "cpc", "campaign": None, "channel": "Paid Search", "source_rule_id": "utm"}
    if url and url.endswith("/blog/a"):
        return {"source": "blog", "medium": "referral", "campaign": "b", "channel": "Referral", "source_rule_id": "referral"}
    return {"source": "direct", "medium": "direct", "campaign": None, "channel": "Direct", "source_rule_id": "direct"}


@pytest.mark.parametrize("pair", BACKENDS, indirect=True)
def test_reclassify_then_every_read_agrees(pair: tuple[Store, Store]) -> None:
    ref, other = pair
    since = START + timedelta(days=5)
    inherited = ("source", "medium", "campaign", "channel")
    changed = ref.reclassify(since, _classify, inherited)
    assert changed > 100
    # The other store writes in slices (DuckDB's in one): the answers must not depend on them.
    slices: list[tuple[int, int]] = []
    per_slice = changed // 4 + 1
    assert other.reclassify(
        since, _classify, inherited, rows_per_transaction=per_slice,
        progress=lambda done, total: slices.append((done, total)),
    ) == changed  # fmt: skip
    assert len(slices) >= 4 and slices == [(i, len(slices)) for i in range(1, len(slices) + 1)]
    assert other.reclassify(since, _classify, inherited) == 0  # nothing left to change
    for read in READS:
        assert_same(READS[read](ref), READS[read](other))


def _lists(s: Store, a: AttributionQuery, most: int = 1000) -> Iterator[tuple[str, Any, Any]]:
    """(what, the number on the page, the list's total behind it) for every path, bucket and
    model cell of `a`'s reads (of the first `most` paths and rows)."""

    def listed(**kw: Any) -> dict[str, Any]:
        got: dict[str, Any] = s.conversions_behind(ConversionsQuery(attribution=a, limit=1000, **kw))
        assert len(got["rows"]) == got["totals"]["conversions"]  # every row on one page here
        return got

    paths = s.conversion_paths(a)
    for row in paths["rows"][:most]:
        got = listed(behind="path", path=tuple(row["path"]))
        yield f"path {row['path']}", (row["conversions"], row["value"]), (
            got["totals"]["conversions"], got["totals"]["value"])
    for b in s.time_to_convert(a)["buckets"]:
        got = listed(behind="bucket", bucket=b["from_seconds"])
        yield f"bucket {b['from_seconds']}", b["conversions"], got["totals"]["conversions"]
    compared = s.attribution_compared(a)
    for row in compared["rows"][:most]:
        for model in ATTRIBUTION_MODELS:
            key = row[a.group_by[0]]
            got = s.conversions_behind(ConversionsQuery(
                attribution=msgspec.structs.replace(a, model=model), behind="credit", key=key, limit=1000))
            shares = sum(r["credit"] for r in got["rows"])
            yield f"{model} {key}", (row["conversions"][model], row["value"][model]), (
                got["totals"]["credit"], got["totals"]["credited_value"])
            assert shares == pytest.approx(got["totals"]["credit"], abs=1e-5)
            assert all(0 < r["credit"] <= 1 for r in got["rows"])


def _conversions(dimension: str) -> AttributionQuery:
    return AttributionQuery(scope=SCOPE, start=START, end=END, conversion="purchase",
                            value_property="amount_cents", group_by=(dimension,), model="all")


@pytest.mark.parametrize("dimension", ["channel", "campaign"])
def test_every_list_adds_up_to_its_number(dimension: str, reference: Store) -> None:
    """Each path's, bucket's and model cell's list holds exactly its number: the count of
    conversions, or the sum of their credit shares (#19)."""
    checked = 0
    for what, number, total in _lists(reference, _conversions(dimension)):
        assert total == pytest.approx(number, abs=1e-5), what
        checked += 1
    assert checked > 30


def test_lists_add_up_on_clickhouse(backend: Store) -> None:
    """As on DuckDB, over the first paths and rows (with the campaign-less row: a null key)."""
    a = _conversions("campaign")
    assert None in [r["campaign"] for r in backend.attribution_compared(a)["rows"][:3]]
    checked = 0
    for what, number, total in _lists(backend, a, most=3):
        assert total == pytest.approx(number, abs=1e-5), what
        checked += 1
    assert checked == 3 + 7 + 3 * 6
