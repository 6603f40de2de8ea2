"""Round trip: events sent live → export → import into an empty environment → every read
route answers the same, for hypothesis-made events with hostile strings, 8 KB properties and
every UTC offset. Export and import run through a real server's API, as `footfall export
--server` and `footfall import --server` do."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from footfall.model import Scope
from footfall.portability.exporter import HttpSource, export_tables
from footfall.portability.importer import HttpSink, run_import
from tests.portability.conftest import new_project
from tests.support.server import Server

BASE = datetime(2025, 1, 1, tzinfo=UTC)
_window = itertools.count()

hostile = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40
) | st.sampled_from(["'; DROP TABLE events; --", "\u2028\u2029", "\x00\x1f", "<script>", "😀" * 10, "a\\\"b", "{}", "null"])
properties = st.one_of(
    st.dictionaries(hostile, hostile | st.integers(-2**53, 2**53) | st.booleans() | st.none() | st.floats(allow_nan=False, allow_infinity=False), max_size=5),
    st.builds(lambda k, n: {k[:8]: "x" * n}, hostile, st.integers(7_900, 8_150)),  # up to 8 KB as JSON
)
urls = st.sampled_from([
    None, "https://shop.example/", "https://shop.example/p?utm_source=news&utm_medium=email&utm_campaign=spring",
    "https://shop.example/l?gclid=abc", "https://shop.example/?utm_source=%F0%9F%98%80",
])  # fmt: skip
referrers = st.sampled_from([None, "https://www.google.com/", "https://t.co/x", "https://shop.example/other"])


@st.composite
def visit_events(draw: st.DrawFn) -> tuple[int, list[dict[str, Any]]]:
    window = next(_window)
    visitors = [f"w{window}-v{i}" for i in range(draw(st.integers(1, 3)))]
    events = []
    for i in range(draw(st.integers(1, 12))):
        offset = timezone(timedelta(minutes=draw(st.integers(-14 * 60, 14 * 60))))
        ts = BASE + timedelta(days=10 * window, minutes=draw(st.integers(0, 2 * 24 * 60)))
        visitor = draw(st.sampled_from(visitors))
        event: dict[str, Any] = {
            "event": draw(st.sampled_from(["$pageview", "signup", "purchase"]) | hostile),
            "anonymous_id": visitor,
            "timestamp": ts.astimezone(offset).isoformat(),
            "url": draw(urls), "referrer": draw(referrers), "properties": draw(properties),
        }  # fmt: skip
        if draw(st.booleans()):
            event["user_id"] = f"{visitor}-user"  # an implied identity link
        if draw(st.booleans()):
            event["event_id"] = draw(hostile)[:100] + f"-{window}-{i}"  # a copy would be deduplicated
        events.append({k: v for k, v in event.items() if v is not None})
    return window, events


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, Any]]]:
    srv = Server(tmp_path_factory.mktemp("roundtrip") / "data").start()
    try:
        yield srv, new_project(srv, "roundtrip")
    finally:
        srv.stop()


def reads(srv: Server, key: str, start: datetime, end: datetime, names: list[str]) -> dict[str, Any]:
    rng = {"from": start.isoformat(), "to": end.isoformat()}
    asks: dict[str, tuple[str, dict[str, Any]]] = {
        "query": ("/v1/query", {"limit": 1000}),
        "sources": ("/v1/sources", {}),
        "sessions": ("/v1/sessions", {"limit": 1000}),
        "attribution": ("/v1/attribution", {"conversion": names[-1], "model": "first_touch"}),
        "funnel": ("/v1/funnel", {"steps": ",".join(n.replace(",", "") or "x" for n in names[:2] * (2 if len(names) < 2 else 1))}),
    }
    for metric in ("count", "uniques", "sessions", "users"):
        asks[f"stats-{metric}"] = ("/v1/stats", {"metric": metric, "group_by": "source,medium,channel,device_type,path", "limit": 1000})
    asks["stats-day-kolkata"] = ("/v1/stats", {"interval": "day", "timezone": "Asia/Kolkata"})
    asks["stats-hour"] = ("/v1/stats", {"interval": "hour", "metric": "uniques"})
    out = {}
    with srv.client(key) as c:
        for name, (path, params) in asks.items():
            r = c.get(path, params={**rng, **params})
            out[name] = (r.status_code, r.json())
    return out


def export_rows(srv: Server, key: str, start: datetime, end: datetime) -> dict[str, list[dict[str, Any]]]:
    out = {}
    with srv.client(key) as c:
        for what in ("events", "links"):
            body = c.get("/v1/export", params={"what": what, "from": start.isoformat(), "to": end.isoformat()}).content
            out[what] = [{**json.loads(line), "env": "-"} for line in body.split(b"\n") if line]
    return out


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # a failing case's repr is large
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None,
          phases=(Phase.explicit, Phase.generate))  # shrinking a server round trip takes minutes
@given(drawn=visit_events())
def test_export_then_import_answers_every_read_the_same(
    roundtrip: tuple[Server, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory,
    drawn: tuple[int, list[dict[str, Any]]],
) -> None:
    srv, keys = roundtrip
    window, events = drawn
    with srv.client(keys["sk_live"]) as c:
        r = c.post("/v1/batch", json={"events": events})
        assert r.status_code == 202, r.text
    # Each example has its own 10 days: reads and exports see only its events.
    start = BASE + timedelta(days=10 * window - 1)
    end = start + timedelta(days=5)
    out = tmp_path_factory.mktemp("export")
    source = HttpSource(srv.url, keys["rk_live"])
    try:
        manifest = export_tables(source, Scope(keys["project_id"], "live"), ["events", "links"], "ndjson", out, start, end)
    finally:
        source.close()
    assert manifest["files"]["events.ndjson"]["rows"] == len(events)
    sink = HttpSink(srv.url, keys["sk_test"])
    try:
        report = run_import([out], "footfall", Scope(keys["project_id"], "test"), sink, reenrich=False,
                            state_path=out / "state.json", rejects_path=out / "rejects.ndjson")  # fmt: skip
    finally:
        sink.close()
    assert report.rejected == 0 and report.events == len(events)
    names = sorted({e["event"] for e in events})
    live, imported = reads(srv, keys["rk_live"], start, end, names), reads(srv, keys["rk_test"], start, end, names)
    for name in live:
        assert live[name] == imported[name], name
    assert live["query"][0] == 200 and len(live["query"][1]["rows"]) == len(events)
    assert export_rows(srv, keys["rk_live"], start, end) == export_rows(srv, keys["rk_test"], start, end)


def test_profiles_and_identify_links_round_trip(tmp_path: Path, server: Server) -> None:
    keys = new_project(server, "profiles-roundtrip")
    with server.client(keys["sk_live"]) as c:
        for i in range(3):
            assert c.post("/v1/identify", json={"anonymous_id": f"pa{i}", "user_id": "pu", "traits": {"n": i, f"k{i}": "v"}}).status_code == 200
    source = HttpSource(server.url, keys["rk_live"])
    try:
        export_tables(source, Scope(keys["project_id"], "live"), ["events", "links", "profiles"], "ndjson", tmp_path)
    finally:
        source.close()
    sink = HttpSink(server.url, keys["sk_test"])
    try:
        run_import([tmp_path], "footfall", Scope(keys["project_id"], "test"), sink, reenrich=False,
                   state_path=tmp_path / "s.json", rejects_path=tmp_path / "r.ndjson")  # fmt: skip
    finally:
        sink.close()

    def tables(key: str) -> list[list[dict[str, Any]]]:
        with server.client(key) as c:
            return [[{**json.loads(line), "env": "-"} for line in c.get("/v1/export", params={"what": w}).content.split(b"\n") if line]
                    for w in ("events", "links", "profiles")]  # fmt: skip

    live, test = tables(keys["rk_live"]), tables(keys["rk_test"])
    assert live == test and len(live[1]) == 3 and json.loads(live[2][0]["attributes"]) == {"n": 2, "k0": "v", "k1": "v", "k2": "v"}
