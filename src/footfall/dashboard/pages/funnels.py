"""`/dashboard/p/{project}/{env}/funnels`: build a funnel in the page (the state is the URL), its
bars, breakdown and drop-offs; the people behind a step (`/funnels/people`); CSV of both; saved
funnels per project (POST with the session's CSRF token).

Saving: anyone who sees the project (admins, and viewers given it) may save a funnel; deleting
one needs its author or an admin.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from footfall.dashboard import auth
from footfall.dashboard.csv_download import csv_download
from footfall.dashboard.funnel import (
    BREAKDOWN_LABELS,
    MAX_STEPS,
    FunnelState,
    bars,
    definition,
    from_definition,
    parse_funnel,
)
from footfall.dashboard.lists import CSV_BATCH, person_path, streamed_rows
from footfall.dashboard.pages._access import Access, not_found, project_access
from footfall.dashboard.pages.login import read_form
from footfall.dashboard.state import PERIODS, period_dates, utc_range, zone
from footfall.dashboard.web import page
from footfall.errors import FootfallError, Invalid
from footfall.model import Scope
from footfall.read import params
from footfall.read.queries import FunnelQuery, StatsQuery
from footfall.store.meta.funnels import SavedFunnel
from footfall.store.meta.users import DashboardSession

__all__ = ["may_delete", "routes"]

PEOPLE_PER_PAGE = 50
MAX_NAME = 100


class _Funnel:
    """One request's funnel: the state, its UTC range, the API query and the parsed read query."""

    def __init__(self, access: Access, state: FunnelState) -> None:
        self.access = access
        self.state = state
        tz = access.project.timezone
        self.first, self.last = period_dates(state.period, datetime.now(zone(tz)).date())
        self.start, self.end = utc_range(self.first, self.last, tz)
        self.api = state.api_params(self.start, self.end)
        self.scope = Scope(access.project.id, access.env)
        self.errors: dict[str, list[str]] = {}
        self.query: FunnelQuery | None = None
        if state.ready:
            try:
                self.query = params.funnel_query(self.scope, self.api)
            except Invalid as err:  # the API's own messages, shown by the form
                self.errors = dict(err.details.get("errors", {}))


def _state(request: Request) -> FunnelState:
    return parse_funnel(request.query_params)


def _failed(request: Request, access: Access, err: FootfallError) -> Response:
    headers = {"Retry-After": str(round(err.retry_after))} if err.retry_after else None
    return page(request, "error.html", {"session": access.session, "message": err.message}, err.status, headers)


def may_delete(session: DashboardSession, saved: SavedFunnel) -> bool:
    return session.user.role == "admin" or saved.created_by == session.user.email


async def funnels(request: Request) -> Response:
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    q = request.query_params
    if "add" in q or "remove" in q:  # the step buttons: the same funnel, one row more or less
        remove = q.get("remove", "")
        edited = _state(request).edited("add" in q, int(remove) if remove.isascii() and remove.isdigit() and len(remove) <= 4 else None)
        return RedirectResponse(f"{access.base}/funnels{edited.url()}", 303)
    f = _Funnel(access, _state(request))
    svc = auth.service(request)
    query = f.query
    # The event names the step boxes suggest: counts, which the daily rollup answers.
    names = StatsQuery(
        scope=f.scope, start=f.start, end=f.end, metric="count", group_by=("event_name",), limit=100
    )
    try:
        answer, events = await asyncio.gather(
            svc.read(lambda: svc.store.funnel(query) if query is not None else None),
            svc.read(lambda: svc.store.stats(names)),
        )
    except FootfallError as err:
        return _failed(request, access, err)
    saved = svc.meta.funnels.list(access.project.id)
    return page(request, "funnels.html", {
        **access.context(request), "state": f.state, "periods": PERIODS, "first": f.first,
        "last": f.last, "errors": f.errors, "answer": answer,
        "bars": bars(answer["steps"]) if answer else [],
        "groups": [(g["value"], bars(g["steps"])) for g in (answer or {}).get("groups", [])],
        "api_url": "/v1/funnel?" + urlencode(f.api), "breakdowns": BREAKDOWN_LABELS,
        "max_steps": MAX_STEPS, "event_names": [r["event_name"] for r in events if r["event_name"]],
        "saved": [(s, from_definition(s.definition, f.state.period), may_delete(access.member, s)) for s in saved],
        "message": q.get("saved_as"),
    })


def _table(answer: dict[str, Any]) -> list[list[Any]]:
    groups = [(None, answer["steps"])] + [(g["value"], g["steps"]) for g in answer.get("groups", [])]
    rows = []
    for group, steps in groups:
        for bar in bars(steps):
            where = ";".join(f"{k}={v}" for k, v in bar.where.items())
            rows.append([
                "(all)" if group is None and answer["breakdown"] else group, bar.step, bar.event,
                where, bar.people, bar.conversion_rate, bar.step_conversion_rate, bar.dropped,
            ])  # fmt: skip
    return rows


async def funnels_csv(request: Request) -> Response:
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    f = _Funnel(access, _state(request))
    if f.query is None:
        return _bad(request, access, f)
    svc = auth.service(request)
    query = f.query
    try:
        answer = await svc.read(lambda: svc.store.funnel(query))
    except FootfallError as err:
        return _failed(request, access, err)
    header = ["group", "step", "event", "where", "people", "conversion_rate", "step_conversion_rate", "dropped"]
    if not answer["breakdown"]:
        return csv_download("funnel.csv", header[1:], [r[1:] for r in _table(answer)])
    return csv_download("funnel.csv", header, _table(answer))


def _bad(request: Request, access: Access, f: _Funnel) -> Response:
    problems = "; ".join(f"{k}: {', '.join(v)}" for k, v in f.errors.items()) or "give at least two steps"
    return page(request, "error.html", {"session": access.session, "message": f"Cannot read this funnel ({problems})."}, 400)


def _people_params(f: _Funnel, request: Request, limit: int, offset: int) -> dict[str, str]:
    q = request.query_params
    out = {**f.api, "step": q.get("step", ""), "outcome": q.get("outcome", "dropped")}
    if q.get("group"):
        out["group"] = q["group"]
    return out | {"limit": str(limit), "offset": str(offset)}


async def funnel_people(request: Request) -> Response:
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    f = _Funnel(access, _state(request))
    raw_page = request.query_params.get("page", "1")
    number = int(raw_page) if raw_page.isascii() and raw_page.isdigit() and len(raw_page) <= 5 and 0 < int(raw_page) <= 20_000 else 1
    p = _people_params(f, request, PEOPLE_PER_PAGE, (number - 1) * PEOPLE_PER_PAGE)
    try:
        query = params.funnel_people_query(f.scope, p) if f.query is not None else None
    except Invalid as err:
        f.errors = dict(err.details.get("errors", {}))
        query = None
    if query is None:
        return _bad(request, access, f)
    svc = auth.service(request)
    try:
        answer = await svc.read(lambda: svc.store.funnel_people(query))
    except FootfallError as err:
        return _failed(request, access, err)
    here = {k: v for k, v in p.items() if k in ("step", "outcome", "group")}
    link = {**f.state.params(), **here}
    return page(request, "funnel_people.html", {
        **access.context(request), "state": f.state, "answer": answer, "query": query,
        "people": [(r, person_path(access.base, r["person"]) if r["person"] else None) for r in answer["people"]],
        "page": number, "pages": max(1, -(-answer["total"] // PEOPLE_PER_PAGE)),
        "link": lambda **change: "?" + urlencode({**link, **{k: str(v) for k, v in change.items()}}),
        "csv_url": f"{access.base}/funnels/people.csv?" + urlencode(link),
        "api_url": "/v1/funnel/people?" + urlencode(p),
        "funnel_url": f"{access.base}/funnels{f.state.url()}",
    })


async def funnel_people_csv(request: Request) -> Response:
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    f = _Funnel(access, _state(request))
    try:
        q = params.funnel_people_query(f.scope, _people_params(f, request, PEOPLE_PER_PAGE, 0)) if f.query else None
    except Invalid as err:
        f.errors = dict(err.details.get("errors", {}))
        q = None
    if q is None:
        return _bad(request, access, f)
    svc = auth.service(request)
    header = ["person", "entered_at", "reached_at", *(["group"] if q.funnel.breakdown else [])]
    try:  # the first batch before the headers: a store that cannot answer gets its status
        rows = await streamed_rows(svc, svc.store.funnel_people_batches(q, CSV_BATCH), header)
    except FootfallError as err:
        return _failed(request, access, err)
    return csv_download(f"funnel-step{q.step}-{q.outcome}.csv", header, rows)


async def _posted(request: Request) -> tuple[Access, dict[str, str]] | Response:
    """The project's access and the form, once the session's CSRF token checks out."""
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    form = await read_form(request)
    if form is None or not auth.check_csrf(request, form.get("csrf"), access.member.csrf_token):
        message = "The form expired; reload and try again."
        return page(request, "error.html", {"session": access.session, "message": message}, 403)
    return access, form


async def save(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    access, form = posted
    state = parse_funnel(dict(parse_qsl(form.get("state", ""), keep_blank_values=True)))
    name = " ".join(form.get("name", "").split())[:MAX_NAME]
    f = _Funnel(access, state)
    if not name or f.query is None:
        message = "Name the funnel and give it at least two readable steps."
        return page(request, "error.html", {"session": access.session, "message": message}, 400)
    saved = auth.service(request).meta.funnels.save(
        access.project.id, name, definition(state), access.member.user.email
    )
    return RedirectResponse(f"{access.base}/funnels{state.url()}&saved_as={saved.id}", 303)


async def delete(request: Request) -> Response:
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    access, form = posted
    meta = auth.service(request).meta
    saved = meta.funnels.get(access.project.id, str(request.path_params["funnel_id"]))
    if saved is None:
        return not_found(request, access.session)
    if not may_delete(access.member, saved):
        message = "Only its author or an admin may delete this funnel."
        return page(request, "error.html", {"session": access.session, "message": message}, 403)
    meta.funnels.delete(access.project.id, saved.id)
    back = auth.safe_next(form.get("next"))
    return RedirectResponse(back if back != "/dashboard/" else f"{access.base}/funnels", 303)


_BASE = "/dashboard/p/{project_id}/{env}/funnels"
routes = [
    Route(_BASE, funnels, methods=["GET"]),
    Route(_BASE + ".csv", funnels_csv, methods=["GET"]),
    Route(_BASE + "/people", funnel_people, methods=["GET"]),
    Route(_BASE + "/people.csv", funnel_people_csv, methods=["GET"]),
    Route(_BASE + "/saved", save, methods=["POST"]),
    Route(_BASE + "/saved/{funnel_id}/delete", delete, methods=["POST"]),
]
