"""`GET /v1/funnel`, `/v1/funnel/people`, `/v1/attribution` (one model or all),
`/v1/attribution/paths` and `/v1/attribution/time_to_convert` end to end against a real server.

Each test uses its own event names and anonymous ids, so the shared server's other data never
shows up in its answers.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from footfall.read.queries import ATTRIBUTION_MODELS
from tests.support.server import Server

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
CRAWLER = "Googlebot/2.1 (+http://www.google.com/bot.html)"
T = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
RANGE = {"from": "2026-04-01T00:00:00Z", "to": "2026-04-20T00:00:00Z"}


def at(days: float = 0, hours: float = 0) -> str:
    return (T + timedelta(days=days, hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def uid(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def send(server: Server, events: list[dict[str, Any]], ua: str = BROWSER) -> None:
    with server.client(server.keys["sk_live"], **{"User-Agent": ua}) as c:
        r = c.post("/v1/batch", json={"events": events})
    assert r.status_code == 202, r.text


def identify(server: Server, anon: str, user: str) -> None:
    with server.client(server.keys["sk_live"], **{"User-Agent": BROWSER}) as c:
        r = c.post("/v1/identify", json={"anonymous_id": anon, "user_id": user})
    assert r.status_code == 200, r.text


def get(server: Server, route: str, key: str = "rk_live", **params: Any) -> Any:
    with server.client(server.keys[key]) as c:
        return c.get(route, params={**RANGE, **params})


@pytest.fixture(scope="module")
def funnel_names(server: Server) -> tuple[str, str, str]:
    view, signup, buy = uid("view"), uid("signup"), uid("buy")
    laptop, phone, late, bot = uid("fa"), uid("fb"), uid("fc"), uid("fbot")
    user = uid("fuser")
    send(server, [
        # one person on two devices: views pricing (direct), signs up, buys pro on the phone.
        {"event": view, "anonymous_id": laptop, "timestamp": at(), "url": "https://shop.example/",
         "properties": {"page": "pricing"}},
        {"event": signup, "anonymous_id": laptop, "timestamp": at(hours=1)},
        {"event": buy, "anonymous_id": phone, "user_id": user, "timestamp": at(hours=2),
         "properties": {"plan": "pro", "amount_cents": 4900}},
        # another views pricing from Google, signs up 8 days later (outside a 7-day window).
        {"event": view, "anonymous_id": late, "timestamp": at(hours=3), "url": "https://shop.example/",
         "referrer": "https://www.google.com/", "properties": {"page": "pricing"}},
        {"event": signup, "anonymous_id": late, "timestamp": at(days=8)},
    ])  # fmt: skip
    identify(server, laptop, user)
    send(server, [
        {"event": view, "anonymous_id": bot, "timestamp": at(), "properties": {"page": "pricing"}},
        {"event": signup, "anonymous_id": bot, "timestamp": at(hours=1)},
    ], ua=CRAWLER)  # fmt: skip
    return view, signup, buy


def people(answer: dict[str, Any]) -> list[int]:
    return [s["people"] for s in answer["steps"]]


def test_funnel(server: Server, funnel_names: tuple[str, str, str]) -> None:
    view, signup, buy = funnel_names
    steps = f"{view}[page=pricing],{signup},{buy}[plan=pro]"
    r = get(server, "/v1/funnel", steps=steps)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "steps": [
            {"step": 1, "event": view, "where": {"page": "pricing"}, "people": 2,
             "conversion_rate": 1.0, "step_conversion_rate": 1.0},
            {"step": 2, "event": signup, "where": {}, "people": 1,
             "conversion_rate": 0.5, "step_conversion_rate": 0.5},
            {"step": 3, "event": buy, "where": {"plan": "pro"}, "people": 1,
             "conversion_rate": 0.5, "step_conversion_rate": 1.0},
        ],
        "window_seconds": 604800,
        "breakdown": None,
    }  # fmt: skip
    assert people(get(server, "/v1/funnel", steps=steps, window="10d").json()) == [2, 2, 1]
    assert people(get(server, "/v1/funnel", steps=steps, include_bots="true").json()) == [3, 2, 1]
    assert people(get(server, "/v1/funnel", steps=f"{view},{buy}[plan=basic]").json()) == [2, 0]
    answer = get(server, "/v1/funnel", steps=steps, breakdown="source", key="sk_live").json()
    assert answer["breakdown"] == "source"
    assert [(g["value"], people(g)) for g in answer["groups"]] == [("direct", [1, 1, 1]), ("google", [1, 0, 0])]
    answer = get(server, "/v1/funnel", steps=steps, breakdown="channel").json()
    assert [(g["value"], people(g)) for g in answer["groups"]] == [
        ("Direct", [1, 1, 1]), ("Organic Search", [1, 0, 0])
    ]  # fmt: skip


@pytest.fixture(scope="module")
def conversion(server: Server) -> str:
    buy = uid("purchase")
    laptop, phone, other = uid("aa"), uid("ab"), uid("ac")
    user = uid("auser")
    send(server, [
        # a paid visit 3 days before, a direct one the day before, then a purchase on the phone.
        {"event": "$pageview", "anonymous_id": laptop, "timestamp": at(days=-3),
         "url": "https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=brand"},
        {"event": "$pageview", "anonymous_id": laptop, "timestamp": at(days=-1), "url": "https://shop.example/"},
        {"event": buy, "anonymous_id": phone, "user_id": user, "timestamp": at(),
         "url": "https://shop.example/", "properties": {"amount_cents": 4000}},
        # someone else buys straight from a Google search.
        {"event": buy, "anonymous_id": other, "timestamp": at(hours=1), "url": "https://shop.example/",
         "referrer": "https://www.google.com/", "properties": {"amount_cents": 1000}},
    ])  # fmt: skip
    identify(server, laptop, user)  # links the laptop's earlier sessions to the buyer
    return buy


def rows(answer: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in answer["rows"]]


def test_attribution(server: Server, conversion: str) -> None:
    r = get(server, "/v1/attribution", conversion=conversion, value_property="amount_cents")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "model": "last_non_direct", "conversion": conversion, "value_property": "amount_cents",
        "lookback_seconds": 30 * 86400, "totals": {"conversions": 2, "value": 5000.0},
        "rows": [
            {"source": "google", "medium": "paid", "conversions": 1.0, "value": 4000.0},
            {"source": "google", "medium": "organic", "conversions": 1.0, "value": 1000.0},
        ],
    }  # fmt: skip
    # linear: the buyer's three sessions get 1/3 each (1333.333333 of 4000).
    linear = get(server, "/v1/attribution", conversion=conversion, value_property="amount_cents", model="linear")
    assert rows(linear.json()) == [
        ("google", "organic", 1.0, 1000.0), ("direct", "direct", 0.666667, 2666.666667),
        ("google", "paid", 0.333333, 1333.333333),
    ]  # fmt: skip
    # a 2-day lookback leaves out the paid visit: the first touch is the direct one.
    first = get(
        server, "/v1/attribution", conversion=conversion, value_property="amount_cents",
        model="first_touch", lookback="2d", group_by="channel,campaign", key="sk_live",
    )  # fmt: skip
    assert first.json()["rows"] == [
        {"channel": "Direct", "campaign": None, "conversions": 1.0, "value": 4000.0},
        {"channel": "Organic Search", "campaign": None, "conversions": 1.0, "value": 1000.0},
    ]
    # position_based, no value property (`event` is an alias of `conversion`): the buyer's
    # first and last sessions get 0.4 each, the middle one 0.2 → direct 0.2 + 0.4.
    no_value = get(server, "/v1/attribution", event=conversion, model="position_based").json()
    assert no_value["totals"] == {"conversions": 2, "value": 0.0}
    assert rows(no_value) == [
        ("google", "organic", 1.0, 0.0), ("direct", "direct", 0.6, 0.0), ("google", "paid", 0.4, 0.0)
    ]  # fmt: skip
    limited = get(server, "/v1/attribution", conversion=conversion, model="position_based", limit="1")
    assert rows(limited.json()) == [("google", "organic", 1.0, 0.0)]


def test_funnel_people(server: Server, funnel_names: tuple[str, str, str]) -> None:
    view, signup, buy = funnel_names
    steps = f"{view}[page=pricing],{signup},{buy}[plan=pro]"
    dropped = get(server, "/v1/funnel/people", steps=steps, step="1")
    assert dropped.status_code == 200, dropped.text
    body = dropped.json()
    # the Google visitor signed up 8 days later, outside the 7-day window; the bot is left out.
    assert (body["outcome"], body["total"], len(body["people"])) == ("dropped", 1, 1)
    assert body["people"][0]["person"].startswith("fc_")
    assert body["people"][0]["reached_at"] == at(hours=3)
    # whoever bought: the identified user, across laptop and phone.
    done = get(server, "/v1/funnel/people", steps=steps, step="3", outcome="converted").json()
    assert [p["person"][:6] for p in done["people"]] == ["fuser_"]
    assert done["people"][0]["entered_at"] == at()
    # the same people as the funnel's bars, also per breakdown group.
    bars = people(get(server, "/v1/funnel", steps=steps, window="10d").json())
    for step, n in enumerate(bars, start=1):
        assert get(server, "/v1/funnel/people", steps=steps, window="10d", step=str(step), outcome="converted").json()["total"] == n
    google = get(server, "/v1/funnel/people", steps=steps, step="1", breakdown="source", group="google").json()
    assert google["total"] == 1 and google["people"][0]["group"] == "google"
    assert get(server, "/v1/funnel/people", steps=steps, step="1", include_bots="true", outcome="converted").json()["total"] == 3
    # newest entry first: the Google visitor (3 h in), then the buyer.
    second = get(server, "/v1/funnel/people", steps=steps, step="1", outcome="converted", limit="1", offset="1").json()
    assert [p["person"][:6] for p in second["people"]] == ["fuser_"] and second["total"] == 2


def test_attribution_all_models_side_by_side(server: Server, conversion: str) -> None:
    ask = {"conversion": conversion, "value_property": "amount_cents", "group_by": "channel"}
    r = get(server, "/v1/attribution", model="all", **ask)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["model"], body["models"], body["totals"]) == ("all", list(ATTRIBUTION_MODELS), {"conversions": 2, "value": 5000.0})
    for model in ATTRIBUTION_MODELS:
        alone = get(server, "/v1/attribution", model=model, **ask).json()["rows"]
        side = {r["channel"]: (r["conversions"][model], r["value"][model]) for r in body["rows"] if r["conversions"][model]}
        assert side == {r["channel"]: (r["conversions"], r["value"]) for r in alone}, model
    paid = next(r for r in body["rows"] if r["channel"] == "Paid Search")
    # the buyer's paid visit: all of it by first touch and last non-direct, none by last touch.
    assert (paid["conversions"]["first_touch"], paid["conversions"]["last_touch"]) == (1.0, 0.0)
    assert paid["disagreement"] == 0.5  # 1 of 2 conversions


def test_paths_and_time_to_convert(server: Server, conversion: str) -> None:
    paths = get(server, "/v1/attribution/paths", conversion=conversion, value_property="amount_cents")
    assert paths.status_code == 200, paths.text
    assert [(r["path"], r["conversions"], r["value"]) for r in paths.json()["rows"]] == [
        (["Paid Search", "Direct", "Direct"], 1, 4000.0),  # laptop, laptop, phone (linked)
        (["Organic Search"], 1, 1000.0),
    ]
    by_source = get(server, "/v1/attribution/paths", conversion=conversion, dimension="source", lookback="2d").json()
    assert by_source["dimension"] == "source"
    assert [r["path"] for r in by_source["rows"]] == [["google"], ["direct", "direct"]]  # tie: shorter first
    ttc = get(server, "/v1/attribution/time_to_convert", conversion=conversion).json()
    assert ttc["totals"] == {"conversions": 2, "with_touchpoints": 2}
    assert (ttc["seconds"]["min"], ttc["seconds"]["max"]) == (0.0, 3 * 86400.0)
    assert [b["conversions"] for b in ttc["buckets"]] == [1, 0, 0, 1, 0, 0, 0]


@pytest.mark.parametrize(
    "path", ["/v1/funnel", "/v1/funnel/people", "/v1/attribution", "/v1/attribution/paths", "/v1/attribution/time_to_convert",
             "/v1/attribution/conversions"]
)
def test_publishable_keys_cannot_read(server: Server, path: str) -> None:
    r = get(server, path, key="pk_live", steps="a,b", conversion="x", step="1")
    assert r.status_code == 403
    assert r.json()["error"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/funnel", {"steps": "only_one"}, "steps"),
        ("/v1/funnel", {"steps": "a,b[plan]"}, "steps"),
        ("/v1/funnel", {"steps": "a,b", "window": "forever"}, "window"),
        ("/v1/funnel", {"steps": "a,b", "breakdown": "browser"}, "breakdown"),
        ("/v1/funnel", {"steps": "a,b", "from": "2026-05-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}, "to"),
        ("/v1/attribution", {}, "conversion"),
        ("/v1/attribution", {"conversion": "x", "model": "u_shaped"}, "model"),
        ("/v1/attribution", {"conversion": "x", "lookback": "400d"}, "lookback"),
        ("/v1/attribution", {"conversion": "x", "limit": "0"}, "limit"),
        ("/v1/funnel/people", {"steps": "a,b"}, "step"),
        ("/v1/funnel/people", {"steps": "a,b", "step": "2"}, "step"),  # nothing after the last
        ("/v1/funnel/people", {"steps": "a,b", "step": "3", "outcome": "converted"}, "step"),
        ("/v1/funnel/people", {"steps": "a,b", "step": "1", "outcome": "left"}, "outcome"),
        ("/v1/funnel/people", {"steps": "a,b", "step": "1", "group": "google"}, "group"),
        ("/v1/funnel/people", {"steps": "a", "step": "1", "offset": "-1"}, "offset"),
        ("/v1/funnel/people", {"steps": "a", "step": "1"}, "steps"),
        ("/v1/attribution/paths", {"conversion": "x", "dimension": "country"}, "dimension"),
        ("/v1/attribution/paths", {"conversion": "x", "model": "linear"}, "model"),
        ("/v1/attribution/paths", {}, "conversion"),
        ("/v1/attribution/time_to_convert", {"conversion": "x", "lookback": "0d"}, "lookback"),
        ("/v1/attribution/time_to_convert", {"conversion": "x", "group_by": "source"}, "group_by"),
        ("/v1/attribution/conversions", {"conversion": "x"}, "behind"),
        ("/v1/attribution/conversions", {"conversion": "x", "bucket": "0", "path": '["Direct"]'}, "behind"),
        ("/v1/attribution/conversions", {"conversion": "x", "model": "u_shaped", "key": "Direct"}, "model"),
        ("/v1/attribution/conversions", {"conversion": "x", "model": "linear"}, "key"),
        ("/v1/attribution/conversions", {"conversion": "x", "model": "linear", "key": "a", "key_null": "true"}, "key"),
        ("/v1/attribution/conversions", {"conversion": "x", "bucket": "0", "key": "Direct"}, "key"),
        ("/v1/attribution/conversions", {"conversion": "x", "bucket": "60"}, "bucket"),
        ("/v1/attribution/conversions", {"conversion": "x", "bucket": "-1"}, "bucket"),
        ("/v1/attribution/conversions", {"conversion": "x", "path": "Organic Search > Direct"}, "path"),
        ("/v1/attribution/conversions", {"conversion": "x", "path": "[]"}, "path"),
        ("/v1/attribution/conversions", {"conversion": "x", "path": "[1, 2]"}, "path"),
        ("/v1/attribution/conversions", {"conversion": "x", "path": '{"a": 1}'}, "path"),
        ("/v1/attribution/conversions", {"conversion": "x", "path": '["Direct"]', "dimension": "country"}, "dimension"),
        ("/v1/attribution/conversions", {"conversion": "x", "path": '["Direct"]', "group_by": "source"}, "group_by"),
        ("/v1/attribution/conversions", {"path": '["Direct"]'}, "conversion"),
        ("/v1/attribution/conversions", {"conversion": "x", "bucket": "0", "limit": "1001"}, "limit"),
        ("/v1/attribution/conversions", {"conversion": "x", "bucket": "0", "offset": "x"}, "offset"),
    ],
)
def test_bad_params_are_invalid_params(server: Server, path: str, params: dict[str, str], field: str) -> None:
    with server.client(server.keys["rk_live"]) as c:  # params may name key and path
        r = c.get(path, params={**RANGE, **params})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "invalid_params"
    assert field in body["details"]["errors"]


def test_bad_group_by_is_invalid_group_by(server: Server) -> None:
    r = get(server, "/v1/attribution", conversion="x", group_by="source,country")
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "invalid_group_by"
    assert body["details"] == {"allowed": ["source", "medium", "campaign", "channel"], "invalid": ["country"]}


def behind(server: Server, conversion: str, **params: Any) -> dict[str, Any]:
    with server.client(server.keys["rk_live"]) as c:  # params may name key
        r = c.get("/v1/attribution/conversions",
                  params={**RANGE, "conversion": conversion, "value_property": "amount_cents", **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_conversions_behind_a_path_a_bucket_and_a_credit(server: Server, conversion: str) -> None:
    """Each list holds the conversions its number counts, each with its person (#19)."""
    first = behind(server, conversion, path='["Paid Search","Direct","Direct"]')
    assert first["behind"] == "path" and first["path"] == ["Paid Search", "Direct", "Direct"]
    assert first["totals"] == {"conversions": 1, "value": 4000.0, "people": 1}
    [row] = first["rows"]
    assert row["value"] == 4000.0 and row["ts"] == at() and row["person"].startswith("auser_")
    assert behind(server, conversion, path='["Direct"]')["totals"]["conversions"] == 0
    by_source = behind(server, conversion, path='["google"]', dimension="source", lookback="2d")
    assert [r["value"] for r in by_source["rows"]] == [1000.0]
    # buckets: the Google buyer at once (under an hour), the paid visit's buyer 3 days after.
    quick = behind(server, conversion, bucket="0")
    assert quick["bucket"] == {"from_seconds": 0, "to_seconds": 3600}
    assert [(r["value"], r["seconds"], r["touchpoints"]) for r in quick["rows"]] == [(1000.0, 0.0, 1)]
    assert [r["seconds"] for r in behind(server, conversion, bucket="259200")["rows"]] == [3 * 86400.0]
    # credit: under linear, Direct has 2 of the first buyer's 3 touchpoints.
    compared = get(server, "/v1/attribution", conversion=conversion, value_property="amount_cents",
                   model="all", group_by="channel").json()
    for row in compared["rows"]:
        for model in ATTRIBUTION_MODELS:
            got = behind(server, conversion, model=model, dimension="channel", key=row["channel"])
            assert got["totals"]["credit"] == pytest.approx(row["conversions"][model])
            assert got["totals"]["credited_value"] == pytest.approx(row["value"][model])
    linear = behind(server, conversion, model="linear", dimension="channel", key="Direct")
    assert linear["model"] == "linear" and linear["key"] == "Direct"
    assert [(r["credit"], r["credited_value"]) for r in linear["rows"]] == [(0.666667, 2666.666667)]
    # paged: a page past the end still says the totals.
    past = behind(server, conversion, bucket="0", offset="5")
    assert past["rows"] == [] and past["totals"]["conversions"] == 1
    none = behind(server, conversion, model="linear", dimension="campaign", key_null="true")
    assert none["key"] is None and none["totals"]["credit"] == pytest.approx(1 + 2 / 3)


def test_conversions_behind_hostile_values_are_data(server: Server, conversion: str) -> None:
    hostile = '<script>alert(1)</script>\'"; DROP TABLE events; --'
    got = behind(server, conversion, model="first_touch", dimension="source", key=hostile)
    assert got["key"] == hostile and got["rows"] == []
    got = behind(server, conversion, path=json.dumps([hostile, None]))
    assert got["path"] == [hostile, None] and got["rows"] == []
