"""`/dashboard/p/{project}/{env}/sessions`: the visits of the report's period and filters,
newest first, 50 a page; `?format=csv` downloads all of them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from footfall.dashboard import auth
from footfall.dashboard.csv_download import csv_download
from footfall.dashboard.lists import (
    SESSION_COLUMNS,
    api_url,
    parse_keyset,
    report_range,
    session_page,
    sessions_csv_rows,
)
from footfall.dashboard.pages._access import Access, project_access
from footfall.dashboard.pages._lists import list_context, read_failed
from footfall.dashboard.pages.segments import report_state
from footfall.dashboard.web import page
from footfall.errors import FootfallError
from footfall.model import Scope

__all__ = ["routes"]


async def sessions(request: Request) -> Response:
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    state = report_state(request, access)  # a saved segment applies here as on the report
    tz = access.project.timezone
    rng = report_range(state, tz)
    scope = Scope(access.project.id, access.env)
    svc = auth.service(request)
    if request.query_params.get("format") == "csv":
        try:
            found = await sessions_csv_rows(svc, scope, rng, state)
        except FootfallError as err:
            return read_failed(request, access, err)
        return csv_download(f"sessions-{access.project.id}-{access.env}.csv", SESSION_COLUMNS, found)
    after = parse_keyset(request.query_params.get("after"))
    try:
        rows, nxt, total = await session_page(svc, scope, rng, state, after)
    except FootfallError as err:
        return read_failed(request, access, err)
    return page(request, "sessions.html", {
        **list_context(request, access, state),
        "rows": rows, "next": nxt, "paged": after is not None, "total": total,
        "api": api_url("/v1/sessions", rng, limit=50, **dict(state.filters)),
    })


routes = [Route("/dashboard/p/{project_id}/{env}/sessions", sessions, methods=["GET"])]
