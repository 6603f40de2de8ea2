"""`/dashboard/p/{project}/{env}/events`: the raw events of the report's period and filters,
newest first, each with its enrichment and properties; `?format=csv` downloads all of them.
With JavaScript, a toggle keeps the first page live (the realtime stream says when)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.dashboard import auth
from footfall.dashboard.csv_download import csv_download
from footfall.dashboard.lists import (
    EVENT_COLUMNS,
    PAGE_ROWS,
    api_url,
    event_page,
    events_csv_rows,
    parse_keyset,
    report_range,
)
from footfall.dashboard.pages._access import Access, project_access
from footfall.dashboard.pages._lists import list_context, read_failed
from footfall.dashboard.pages.segments import report_state
from footfall.dashboard.web import page
from footfall.errors import FootfallError
from footfall.model import Scope
from footfall.read.queries import EventLogQuery

__all__ = ["routes"]


async def events(request: Request) -> Response:
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    state = report_state(request, access)  # a saved segment applies here as on the report
    event = (request.query_params.get("event") or "").strip()[:500] or None
    rng = report_range(state, access.project.timezone)
    q = EventLogQuery(
        scope=Scope(access.project.id, access.env), start=rng[0], end=rng[1],
        filters=((("event_name", event),) if event else ()) + state.filters,
        before=parse_keyset(request.query_params.get("before")), limit=PAGE_ROWS,
    )
    svc = auth.service(request)
    if request.query_params.get("format") == "csv":
        try:
            found = await events_csv_rows(svc, q)
        except FootfallError as err:
            return read_failed(request, access, err)
        return csv_download(f"events-{access.project.id}-{access.env}.csv", EVENT_COLUMNS, found)
    try:
        rows, nxt = await event_page(svc, q)
    except FootfallError as err:
        return read_failed(request, access, err)
    here = state.url() + ("&" + urlencode({"event": event}) if event else "")
    context = {
        **list_context(request, access, state), "rows": rows, "next": nxt, "event": event,
        "here": here, "paged": q.before is not None,
        "api": api_url("/v1/events", rng, event=event, limit=PAGE_ROWS, **dict(state.filters)),
    }
    if request.headers.get("hx-request"):  # the live toggle refreshing the first page
        return page(request, "_event_rows.html", context)
    return page(request, "events.html", context)


routes = [Route("/dashboard/p/{project_id}/{env}/events", events, methods=["GET"])]
