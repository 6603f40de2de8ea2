"""`/dashboard/`: the projects this user may see (straight to the report when there is one)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from footfall.dashboard import auth
from footfall.dashboard.pages._access import allowed_projects
from footfall.dashboard.web import page

__all__ = ["routes"]


async def home(request: Request) -> Response:
    session = auth.current(request)
    if session is None:
        return auth.login_redirect(request)
    projects = allowed_projects(request, session)
    if len(projects) == 1:
        return RedirectResponse(f"/dashboard/p/{projects[0].id}/live", 303)
    return page(request, "home.html", {"session": session, "projects": projects})


async def bare(request: Request) -> Response:
    return RedirectResponse("/dashboard/", 308)


routes = [
    Route("/dashboard/", home, methods=["GET"]),
    Route("/dashboard", bare, methods=["GET"]),
]
