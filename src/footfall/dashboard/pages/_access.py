"""Every page checks the session and the project before it reads anything."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from footfall.dashboard import auth
from footfall.dashboard.nav import SECTIONS
from footfall.dashboard.web import page
from footfall.store.meta import Project
from footfall.store.meta.users import DashboardSession

__all__ = ["Access", "allowed_projects", "project_access"]


class Access:
    def __init__(self, session: DashboardSession, project: Project, env: str) -> None:
        self.session = session
        self.project = project
        self.env = env

    @property
    def base(self) -> str:
        return f"/dashboard/p/{self.project.id}/{self.env}"

    def context(self, request: Request) -> dict[str, Any]:
        """What every project page's header needs (templates/_project_nav.html)."""
        return {
            "session": self.session, "project": self.project, "env": self.env, "base": self.base,
            "projects": allowed_projects(request, self.session), "sections": SECTIONS,
        }


def not_found(request: Request, session: DashboardSession | None) -> Response:
    # The same answer for a project that does not exist and one this user may not see.
    return page(request, "error.html", {"session": session, "message": "No such project."}, 404)


def allowed_projects(request: Request, session: DashboardSession) -> list[Project]:
    return [p for p in auth.service(request).meta.projects() if session.user.may_see(p.id)]


def project_access(request: Request) -> Access | Response:
    session = auth.current(request)
    if session is None:
        return auth.login_redirect(request)
    project_id = str(request.path_params.get("project_id", ""))
    env = str(request.path_params.get("env", ""))
    if env not in ("live", "test") or not session.user.may_see(project_id):
        return not_found(request, session)
    project = auth.service(request).meta.project(project_id)
    if project is None:
        return not_found(request, session)
    return Access(session, project, env)
