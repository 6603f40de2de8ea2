"""The funnels page's state, all of it in the URL, and its numbers shaped for the template.

A funnel is step rows `s1`, `w1`, `s2`, `w2`, … (event name, then property filters as
`key=value;key=value`), `window`, `breakdown`, and the report's period (`period`, `from`, `to`).
The rows become exactly the `steps` string `/v1/funnel` takes, and the query is read by the
same parser (`read.params.funnel_query`), so the page, its "API" link and the API answer the
same question with the same numbers and the same errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import msgspec

from footfall.dashboard.state import ReportState, parse_state
from footfall.read.queries import FUNNEL_BREAKDOWNS

__all__ = [
    "BREAKDOWN_LABELS",
    "MAX_STEPS",
    "FunnelState",
    "StepBar",
    "bars",
    "definition",
    "from_definition",
    "iso",
    "parse_funnel",
]

MAX_STEPS = 10
DEFAULT_WINDOW = "7d"
_MAX_TEXT = 500
BREAKDOWN_LABELS = {
    "channel": "Channel", "source": "Source", "campaign": "Campaign", "device_type": "Device",
    "country": "Country",
}  # fmt: skip
assert set(BREAKDOWN_LABELS) == set(FUNNEL_BREAKDOWNS)


class FunnelState(msgspec.Struct, frozen=True, kw_only=True):
    period: ReportState  # only period, start and end are used
    rows: tuple[tuple[str, str], ...] = (("$pageview", ""), ("", ""))  # (event, where) as typed
    window: str = DEFAULT_WINDOW
    breakdown: str | None = None

    @property
    def steps(self) -> tuple[tuple[str, str], ...]:
        """The rows with an event name (empty rows are places to type the next step)."""
        return tuple(r for r in self.rows if r[0])

    @property
    def ready(self) -> bool:
        return len(self.steps) >= 2

    @property
    def steps_param(self) -> str:
        """`/v1/funnel`'s `steps`.

        >>> FunnelState(period=ReportState(), rows=(("$pageview", "path=/p"), ("", ""), ("signup", ""))).steps_param
        '$pageview[path=/p],signup'
        """
        return ",".join(f"{e}[{w}]" if w else e for e, w in self.steps)

    def params(self, **change: Any) -> dict[str, str]:
        s = msgspec.structs.replace(self, **change) if change else self
        out = {k: v for k, v in s.period.params().items() if k in ("period", "from", "to")}
        for i, (event, where) in enumerate(s.rows, start=1):
            out[f"s{i}"] = event
            if where:
                out[f"w{i}"] = where
        if s.window != DEFAULT_WINDOW:
            out["window"] = s.window
        if s.breakdown:
            out["breakdown"] = s.breakdown
        return out

    def url(self, **change: Any) -> str:
        return "?" + urlencode(self.params(**change))

    def preset(self, period: str) -> str:
        return self.url(period=ReportState(period=period))

    def edited(self, add: bool, remove: int | None) -> FunnelState:
        """The state after the "Add step" or a "Remove" button (forms that work without JS).

        >>> s = FunnelState(period=ReportState(), rows=(("a", ""), ("b", ""), ("c", "")))
        >>> s.edited(False, 2).rows, len(s.edited(True, None).rows)
        ((('a', ''), ('c', '')), 4)
        """
        rows = list(self.rows)
        if remove is not None and 1 <= remove <= len(rows) and len(rows) > 2:
            del rows[remove - 1]
        if add and len(rows) < MAX_STEPS:
            rows.append(("", ""))
        return msgspec.structs.replace(self, rows=tuple(rows))

    def api_params(self, start: datetime, end: datetime) -> dict[str, str]:
        """The `/v1/funnel` query of this state over the UTC range [start, end)."""
        out = {"from": iso(start), "to": iso(end), "steps": self.steps_param}
        if self.window != DEFAULT_WINDOW:
            out["window"] = self.window
        if self.breakdown:
            out["breakdown"] = self.breakdown
        return out


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(raw: str | None) -> str:
    return (raw or "").strip()[:_MAX_TEXT]


def parse_funnel(p: Mapping[str, str]) -> FunnelState:
    """Never fails: unknown values fall back to defaults; the step text is checked when read.

    >>> s = parse_funnel({"s1": "$pageview", "w1": "path=/pricing", "s2": "signup", "breakdown": "x"})
    >>> s.rows, s.breakdown, s.window
    ((('$pageview', 'path=/pricing'), ('signup', '')), None, '7d')
    """
    period = parse_state(p)
    period = ReportState(period=period.period, start=period.start, end=period.end)
    rows = []
    for i in range(1, MAX_STEPS + 1):
        if f"s{i}" not in p and f"w{i}" not in p:
            break
        rows.append((_text(p.get(f"s{i}")), _text(p.get(f"w{i}"))))
    while len(rows) < 2:
        rows.append(("$pageview", "") if not rows else ("", ""))
    breakdown = p.get("breakdown") or None
    return FunnelState(
        period=period, rows=tuple(rows), window=_text(p.get("window")) or DEFAULT_WINDOW,
        breakdown=breakdown if breakdown in FUNNEL_BREAKDOWNS else None,
    )


def definition(state: FunnelState) -> dict[str, Any]:
    """What a saved funnel keeps: the steps, window and breakdown (not the period)."""
    return {
        "steps": [{"event": e, "where": w} for e, w in state.steps],
        "window": state.window,
        "breakdown": state.breakdown,
    }


def from_definition(saved: Mapping[str, Any], period: ReportState) -> FunnelState:
    """A saved funnel over the period on screen (a definition it cannot read opens empty)."""
    steps = saved.get("steps")
    rows = tuple(
        (str(s.get("event") or ""), str(s.get("where") or ""))
        for s in (steps if isinstance(steps, list) else [])[:MAX_STEPS]
        if isinstance(s, dict)
    )
    return parse_funnel({
        **{k: v for k, v in period.params().items() if k in ("period", "from", "to")},
        **{f"s{i}": e for i, (e, _w) in enumerate(rows, 1)},
        **{f"w{i}": w for i, (_e, w) in enumerate(rows, 1)},
        "window": str(saved.get("window") or ""), "breakdown": str(saved.get("breakdown") or ""),
    })  # fmt: skip


class StepBar(msgspec.Struct, frozen=True):
    step: int
    event: str
    where: dict[str, str]
    people: int
    conversion_rate: float  # of step 1
    step_conversion_rate: float  # of the previous step
    share: float  # people / step 1, the bar's length
    previous_share: float  # the previous step's, the drop-off drawn after the bar
    dropped: int | None  # reached this step, not the next (None for the last)

    @property
    def dropped_rate(self) -> float | None:
        """
        >>> StepBar(1, "a", {}, 4, 1, 1, 1, 1, 3).dropped_rate
        0.75
        """
        if self.dropped is None:
            return None
        return self.dropped / self.people if self.people else 0.0


def bars(steps: list[dict[str, Any]]) -> list[StepBar]:
    """The API's steps as bars, with each step's drop-off to the next."""
    first = steps[0]["people"] if steps else 0
    out = []
    for i, s in enumerate(steps):
        nxt = steps[i + 1]["people"] if i + 1 < len(steps) else None
        prev = steps[i - 1]["people"] if i else s["people"]
        out.append(StepBar(
            step=s["step"], event=s["event"], where=s["where"], people=s["people"],
            conversion_rate=s["conversion_rate"], step_conversion_rate=s["step_conversion_rate"],
            share=s["people"] / first if first else 0.0,
            previous_share=prev / first if first else 0.0,
            dropped=None if nxt is None else s["people"] - nxt,
        ))  # fmt: skip
    return out
