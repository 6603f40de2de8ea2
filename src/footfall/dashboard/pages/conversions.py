"""`/dashboard/p/{project}/{env}/attribution/conversions`: the conversions behind one number of
the attribution page (one conversion path, one time-to-convert bucket, or one row's credit under
one model), each with its person, 50 a page; `…/conversions.csv` downloads the whole list as one
streamed read (`Store.conversions_behind_batches`).

The list is `/v1/attribution/conversions` (`Store.conversions_behind`), asked with the
attribution page's own API parameters, so it is made of the same conversions as the number
it sits behind. Members only: share links never reach the attribution page.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.dashboard import auth
from footfall.dashboard.attribution import (
    BY,
    MODEL_LABELS,
    AttributionState,
    api_params,
    parse_attribution_state,
)
from footfall.dashboard.csv_download import csv_download
from footfall.dashboard.lists import CSV_BATCH, person_path, streamed_rows
from footfall.dashboard.pages._access import Access, project_access
from footfall.dashboard.pages.attribution import BUCKET_LABELS
from footfall.dashboard.state import period_dates, utc_range, zone
from footfall.dashboard.web import page
from footfall.errors import FootfallError, Invalid
from footfall.model import Scope
from footfall.read import params
from footfall.read.queries import ConversionsQuery
from footfall.service import Footfall

__all__ = ["routes"]

PER_PAGE = 50
# What picks the list, as `/v1/attribution/conversions` takes it.
_CHOICE = ("path", "bucket", "model", "key", "key_null")


class _Ask(msgspec.Struct):
    state: AttributionState
    api: dict[str, str]  # `/v1/attribution/conversions`'s parameters, paging aside
    query: ConversionsQuery | None = None
    error: str | None = None


def _ask(access: Access, p: Mapping[str, str], limit: int, offset: int) -> _Ask:
    state = parse_attribution_state(p)
    first, last = period_dates(state.period, datetime.now(zone(access.project.timezone)).date())
    if not state.conversion:
        return _Ask(state, {}, error="Choose a conversion event on the attribution page first.")
    base = api_params(state, *utc_range(first, last, access.project.timezone))["/v1/attribution/paths"]
    api = {**{k: v for k, v in base.items() if k != "limit"}, **{k: p[k] for k in _CHOICE if k in p}}
    try:
        query = params.conversions_query(Scope(access.project.id, access.env), {**api, "limit": str(limit), "offset": str(offset)})
    except Invalid as err:
        problems = "; ".join(f"{k}: {', '.join(v)}" for k, v in err.details.get("errors", {}).items())
        return _Ask(state, api, error=f"Cannot read this list ({problems or err.message}).")
    return _Ask(state, api, query)


def title(answer: dict[str, Any], state: AttributionState) -> str:
    """What the list is, in words (the page's heading and title)."""
    what = answer["conversion"]
    if answer["behind"] == "path":
        steps = " → ".join("(none)" if s is None else str(s) for s in answer["path"])
        return f"{what} conversions with the {BY[state.by].lower()} path {steps}"
    if answer["behind"] == "bucket":
        label = BUCKET_LABELS.get(answer["bucket"]["from_seconds"], "")
        return f"{what} conversions {label} after the first visit"
    key = "(none)" if answer["key"] is None else answer["key"]
    return f"{what} conversions crediting {BY[state.by].lower()} {key} under {MODEL_LABELS[answer['model']].lower()}"


async def _read(svc: Footfall, q: ConversionsQuery) -> dict[str, Any]:
    got: dict[str, Any] = await svc.read(lambda: svc.store.conversions_behind(q))
    return got


async def conversions(request: Request) -> Response:
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    raw_page = request.query_params.get("page", "1")
    number = int(raw_page) if raw_page.isascii() and raw_page.isdigit() and len(raw_page) <= 5 and 0 < int(raw_page) <= 20_000 else 1
    ask = _ask(access, request.query_params, PER_PAGE, (number - 1) * PER_PAGE)
    if ask.query is None:
        return page(request, "error.html", {"session": access.session, "message": ask.error}, 400)
    svc = auth.service(request)
    try:
        answer = await _read(svc, ask.query)
    except FootfallError as err:
        headers = {"Retry-After": str(round(err.retry_after))} if err.retry_after else None
        return page(request, "error.html", {"session": access.session, "message": err.message}, err.status, headers)
    here = {**ask.state.params(), **{k: request.query_params[k] for k in _CHOICE if k in request.query_params}}
    total = answer["totals"]["conversions"]
    return page(request, "conversions.html", {
        **access.context(request), "state": ask.state, "answer": answer,
        "title": title(answer, ask.state), "by_label": BY[ask.state.by], "model_labels": MODEL_LABELS,
        "rows": [(r, person_path(access.base, r["person"]) if r["person"] else None) for r in answer["rows"]],
        "page": number, "pages": max(1, -(-total // PER_PAGE)),
        "link": lambda **change: "?" + urlencode({**here, **{k: str(v) for k, v in change.items()}}),
        "csv": f"{access.base}/attribution/conversions.csv?" + urlencode(here),
        "api": "/v1/attribution/conversions?" + urlencode({**ask.api, "limit": str(PER_PAGE), "offset": str((number - 1) * PER_PAGE)}),
        "back": f"{access.base}/attribution{ask.state.url()}",
    })  # fmt: skip


def _columns(q: ConversionsQuery) -> list[str]:
    extra = {"bucket": ["seconds", "touchpoints"], "credit": ["credit", "credited_value"]}
    return ["ts", "person", "value", *extra.get(q.behind, []), "session_id", "uid"]


async def conversions_csv(request: Request) -> Response:
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    ask = _ask(access, request.query_params, PER_PAGE, 0)
    if ask.query is None:
        return page(request, "error.html", {"session": access.session, "message": ask.error}, 400)
    q, svc = ask.query, auth.service(request)
    columns = _columns(q)
    try:  # the first batch before the headers: a store that cannot answer gets its status
        rows = await streamed_rows(svc, svc.store.conversions_behind_batches(q, CSV_BATCH), columns)
    except FootfallError as err:
        headers = {"Retry-After": str(round(err.retry_after))} if err.retry_after else None
        return page(request, "error.html", {"session": access.session, "message": err.message}, err.status, headers)
    return csv_download(f"attribution-conversions-{q.behind}-{q.attribution.conversion}.csv", columns, rows)


_BASE = "/dashboard/p/{project_id}/{env}/attribution/conversions"
routes = [
    Route(_BASE, conversions, methods=["GET"]),
    Route(_BASE + ".csv", conversions_csv, methods=["GET"]),
]
