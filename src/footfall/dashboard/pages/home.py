"""`/dashboard/`: the overview of the projects this user may see, visitors and trend per project
(straight to the report when there is one project)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from footfall.dashboard import auth
from footfall.dashboard.overview import overview
from footfall.dashboard.pages._access import allowed_projects
from footfall.dashboard.state import PERIODS, parse_state
from footfall.dashboard.web import page

__all__ = ["routes"]

OVERVIEW_PERIODS = ("today", "7d", "30d", "12mo")


async def home(request: Request) -> Response:
    session = auth.current(request)
    if session is None:
        return auth.login_redirect(request)
    projects = allowed_projects(request, session)
    if len(projects) == 1:
        return RedirectResponse(f"/dashboard/p/{projects[0].id}/live", 303)
    state = parse_state({"period": request.query_params.get("period", "30d")})
    rows = await overview(auth.service(request), projects, state)
    return page(request, "home.html", {
        "session": session, "projects": projects, "rows": rows, "state": state,
        "periods": {k: PERIODS[k][0] for k in OVERVIEW_PERIODS},
    })


async def bare(request: Request) -> Response:
    return RedirectResponse("/dashboard/", 308)


routes = [
    Route("/dashboard/", home, methods=["GET"]),
    Route("/dashboard", bare, methods=["GET"]),
]
