"""Attribution compared: the page's state, and its three reads (every model side by side,
conversion paths, time to convert) asked through the same parameters `/v1/attribution` takes.

The page builds the API's query string first and parses it with the API's own parser
(`read.params`), so the "API" link under each panel is the very call the panel answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import msgspec

from footfall.dashboard.state import (
    ReportState,
    default_interval,
    parse_state,
    period_dates,
    utc_range,
    zone,
)
from footfall.errors import FootfallError
from footfall.model import Scope
from footfall.read import params
from footfall.read.queries import ATTRIBUTION_MODELS, StatsQuery
from footfall.service import Footfall

__all__ = [
    "BY",
    "LOOKBACKS",
    "MEASURES",
    "MODEL_LABELS",
    "Answer",
    "AttributionState",
    "Compared",
    "flag_disagreement",
    "parse_attribution_state",
    "read_attribution",
]

MODEL_LABELS = {
    "first_touch": "First touch", "last_touch": "Last touch", "last_non_direct": "Last non-direct",
    "linear": "Linear", "position_based": "Position-based", "time_decay": "Time decay",
}  # fmt: skip
BY = {"channel": "Channel", "source": "Source", "campaign": "Campaign"}
LOOKBACKS = {"7d": "7 days", "14d": "14 days", "30d": "30 days", "60d": "60 days", "90d": "90 days"}
MEASURES = {"conversions": "Conversions", "value": "Value"}
# The rows the page's models table shows: the API's own maximum, so that the panel's "API"
# link is a call the API takes.
ROWS = 1000
# The CSVs' limit: every group, with no cap. The read holds its answer in memory, so no store
# could answer more groups than this; it is also within the LIMIT every store binds
# (ClickHouse's is a UInt32 parameter).
EVERY_ROW = 2**31 - 1
PATHS = 20
FLAGGED = 3  # rows marked as "the models disagree most"
_MAX_TEXT = 500


class AttributionState(msgspec.Struct, frozen=True, kw_only=True):
    period: ReportState  # period, from, to (the report's parsing)
    conversion: str | None = None
    value: str | None = None  # a numeric property of the conversion event
    lookback: str = "30d"
    by: str = "channel"
    measure: str = "conversions"  # conversions | value (needs `value`)

    def params(self, **change: object) -> dict[str, str]:
        s = msgspec.structs.replace(self, **change) if change else self
        out = s.period.params()
        if s.conversion:
            out["conversion"] = s.conversion
            if s.value:
                out["value"] = s.value
        if s.lookback != "30d":
            out["lookback"] = s.lookback
        if s.by != "channel":
            out["by"] = s.by
        if s.measure != "conversions" and s.value:
            out["measure"] = s.measure
        return out

    def url(self, **change: object) -> str:
        return "?" + urlencode(self.params(**change))

    def preset(self, period: str) -> str:
        return self.url(period=ReportState(period=period, interval=default_interval(period)))

    def visits_url(self, base: str, key: str) -> str:
        """The sessions list of the period filtered to one row's channel, source or campaign:
        the visits the models credit, and who made them, also those that led to no conversion
        (the lookback reaches before the period too), so the page's link says what it shows.
        The conversions behind a row's credit are `behind_url(model=…, key=…)`.

        >>> AttributionState(period=ReportState(period="7d"), by="source").visits_url("/b", "a&b")
        '/b/sessions?period=7d&source=a%26b'
        """
        return f"{base}/sessions?" + urlencode({**self.period.params(), self.by: key})

    def behind_url(self, base: str, **choice: Any) -> str:
        """The list of the conversions behind one number of the page: `path=[…]` (a path as
        the paths answer gives it), `bucket=<from_seconds>`, or `model=…, key=<the row's value,
        None for the row without one>` (pages/conversions.py).

        >>> s = AttributionState(period=ReportState(period="7d"), conversion="buy")
        >>> s.behind_url("/b", path=["Organic Search", "Direct"])
        '/b/attribution/conversions?period=7d&conversion=buy&path=%5B%22Organic+Search%22%2C%22Direct%22%5D'
        >>> s.behind_url("/b", model="linear", key=None)
        '/b/attribution/conversions?period=7d&conversion=buy&model=linear&key_null=true'
        """
        out = self.params()
        if "path" in choice:
            out["path"] = msgspec.json.encode(list(choice["path"])).decode()
        elif "bucket" in choice:
            out["bucket"] = str(choice["bucket"])
        else:
            out["model"] = str(choice["model"])
            if choice["key"] is None:
                out["key_null"] = "true"
            else:
                out["key"] = str(choice["key"])
        return f"{base}/attribution/conversions?" + urlencode(out)

    def conversions_url(self, base: str) -> str:
        """The event log of every conversion the page counts: the conversion events of the period."""
        assert self.conversion
        return f"{base}/events?" + urlencode({**self.period.params(), "event": self.conversion})


def _text(raw: str | None) -> str | None:
    raw = (raw or "").strip()
    return raw[:_MAX_TEXT] if raw else None


def parse_attribution_state(p: Mapping[str, str]) -> AttributionState:
    """Never fails: an unknown value falls back to the default.

    >>> s = parse_attribution_state({"period": "7d", "conversion": "buy", "by": "nope", "measure": "value"})
    >>> s.period.period, s.conversion, s.by, s.measure, s.url()
    ('7d', 'buy', 'channel', 'conversions', '?period=7d&conversion=buy')
    """
    report = parse_state({k: v for k, v in p.items() if k in ("period", "from", "to")})
    conversion = _text(p.get("conversion"))
    value = _text(p.get("value")) if conversion else None
    lookback, by, measure = p.get("lookback", "30d"), p.get("by", "channel"), p.get("measure", "conversions")
    return AttributionState(
        period=ReportState(period=report.period, start=report.start, end=report.end, interval=report.interval),
        conversion=conversion, value=value,
        lookback=lookback if lookback in LOOKBACKS else "30d",
        by=by if by in BY else "channel",
        measure=measure if measure in MEASURES and value else "conversions",
    )


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Answer(msgspec.Struct):
    """One panel's read: the API call that gives the same numbers, its answer or its error."""

    api: str  # path and query string, no key
    data: dict[str, Any] | None = None
    error: str | None = None
    retryable: bool = False


class Compared(msgspec.Struct):
    first: date
    last: date
    events: list[str]  # the period's event names, for the conversion picker
    models: Answer | None = None  # None until a conversion event is chosen
    paths: Answer | None = None
    time: Answer | None = None


def api_params(
    state: AttributionState, start: datetime, end: datetime, paths: int = PATHS
) -> dict[str, dict[str, str]]:
    """The query strings of `/v1/attribution` (all models), `…/paths` (the `paths` most common)
    and `…/time_to_convert`."""
    assert state.conversion
    base = {"from": _iso(start), "to": _iso(end), "conversion": state.conversion}
    if state.value:
        base["value_property"] = state.value
    base["lookback"] = state.lookback
    return {
        "/v1/attribution": {**base, "model": "all", "group_by": state.by, "limit": str(ROWS)},
        "/v1/attribution/paths": {**base, "dimension": state.by, "limit": str(paths)},
        "/v1/attribution/time_to_convert": base,
    }


_PARSE: dict[str, Callable[[Scope, Mapping[str, str]], Any]] = {
    "/v1/attribution": lambda scope, p: params.attribution_query(scope, p, (*ATTRIBUTION_MODELS, "all")),
    "/v1/attribution/paths": params.journey_query,
    "/v1/attribution/time_to_convert": params.journey_query,
}
_ASK: dict[str, Callable[[Footfall, Any], dict[str, Any]]] = {
    "/v1/attribution": lambda svc, q: svc.store.attribution_compared(q),
    "/v1/attribution/paths": lambda svc, q: svc.store.conversion_paths(q),
    "/v1/attribution/time_to_convert": lambda svc, q: svc.store.time_to_convert(q),
}


async def _answer(
    svc: Footfall, scope: Scope, route: str, query: dict[str, str], every: bool = False
) -> Answer:
    """`every`: all of the answer's rows (a CSV). The API caps `limit` at ROWS, as its answer is
    one JSON document; the query itself has no cap, so the CSV asks it for EVERY_ROW."""
    api = f"{route}?{urlencode(query)}"
    try:
        q = _PARSE[route](scope, query)
        if every:
            q = msgspec.structs.replace(q, limit=EVERY_ROW)
        data = await svc.read(lambda: _ASK[route](svc, q))
    except FootfallError as err:  # out of memory, catching up, a bad value: said in the panel
        retryable = err.retryable or err.retry_after is not None
        return Answer(api, error=err.message, retryable=retryable)
    return Answer(api, data=data)


def _events(svc: Footfall, scope: Scope, rng: tuple[datetime, datetime]) -> list[str]:
    rows = svc.store.stats(StatsQuery(
        scope=scope, start=rng[0], end=rng[1], metric="count", group_by=("event_name",), limit=200,
    ))  # fmt: skip
    return sorted(str(r["event_name"]) for r in rows if r["event_name"] is not None)


async def read_attribution(
    svc: Footfall, scope: Scope, tz: str, state: AttributionState, only: str | None = None
) -> Compared:
    """The page's reads, side by side; `only` (an API route) reads that panel alone, every
    row of it (its CSV)."""
    first, last = period_dates(state.period, datetime.now(zone(tz)).date())
    rng = utc_range(first, last, tz)
    try:
        events = [] if only else await svc.read(lambda: _events(svc, scope, rng))
    except FootfallError:
        events = []  # the picker still takes a typed name
    out = Compared(first, last, events)
    if not state.conversion:
        return out
    calls = {r: q for r, q in api_params(state, *rng, ROWS if only else PATHS).items() if only in (None, r)}
    # One after another: each read already uses the store's threads, and at once they share
    # its memory (10M events under 96 MB: a panel ran out of it in about half the loads).
    answers = {r: await _answer(svc, scope, r, q, every=only is not None) for r, q in calls.items()}
    out.models = answers.get("/v1/attribution")
    out.paths = answers.get("/v1/attribution/paths")
    out.time = answers.get("/v1/attribution/time_to_convert")
    return out


def flag_disagreement(rows: list[dict[str, Any]], measure: str, total: float) -> dict[int, tuple[str, str]]:
    """Where the models disagree most: per row, the spread (max - min) of the models' credit as
    a share of the total; the FLAGGED rows with the largest positive spread →
    (row index → (the model crediting most, the model crediting least)).

    >>> rows = [{"conversions": {"a": 1, "b": 1}}, {"conversions": {"a": 3, "b": 0}}]
    >>> flag_disagreement(rows, "conversions", 4)
    {1: ('a', 'b')}
    """
    spread = []
    for i, row in enumerate(rows):
        credit = row[measure]
        high, low = max(credit, key=credit.get), min(credit, key=credit.get)
        gap = (credit[high] - credit[low]) / total if total else 0.0
        if gap > 1e-6:
            spread.append((-gap, i, high, low))
    return {i: (high, low) for _gap, i, high, low in sorted(spread)[:FLAGGED]}
