"""Every page checks the session and the project before it reads anything. One check for both
ways in: a logged-in user's session, or a share link (read-only, logged out)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from footfall.dashboard import auth, share
from footfall.dashboard.nav import SECTIONS
from footfall.dashboard.web import page
from footfall.store.meta import Project
from footfall.store.meta.sharing import ShareLink
from footfall.store.meta.users import DashboardSession

__all__ = ["Access", "allowed_projects", "project_access"]


class Access:
    """Who is looking at which project's env: a session, or a share link (`read_only`: no
    other project, no section but the report, no user, nothing that changes anything)."""

    def __init__(
        self, session: DashboardSession | None, project: Project, env: str,
        link: ShareLink | None = None, base: str = "", embed: bool = False, theme: str = "",
    ) -> None:
        self.session = session
        self.project = project
        self.env = env
        self.link = link
        self.embed = embed and link is not None  # embed mode exists for share links only
        self.theme = theme if self.embed else ""  # an embed's fixed theme; "" follows the system
        self._base = base

    @property
    def read_only(self) -> bool:
        return self.link is not None

    @property
    def member(self) -> DashboardSession:
        """The signed-in session: only `/dashboard/share/{token}` routes resolve links, so every
        other page has one."""
        if self.session is None:
            raise RuntimeError("a share link reached a members-only page")
        return self.session

    @property
    def base(self) -> str:
        return self._base or f"/dashboard/p/{self.project.id}/{self.env}"

    def context(self, request: Request) -> dict[str, Any]:
        """What every project page's header needs (templates/_project_nav.html)."""
        if self.session is None:
            return {
                "session": None, "project": self.project, "env": self.env, "base": self.base,
                "projects": [self.project], "sections": (), "share": self.link, "embed": self.embed,
                "theme": self.theme,
            }
        return {
            "session": self.session, "project": self.project, "env": self.env, "base": self.base,
            "projects": allowed_projects(request, self.session), "sections": SECTIONS,
            "share": None, "embed": False,
        }


def not_found(request: Request, session: DashboardSession | None) -> Response:
    # The same answer for a project that does not exist and one this user may not see.
    return page(request, "error.html", {"session": session, "message": "No such project."}, 404)


def allowed_projects(request: Request, session: DashboardSession) -> list[Project]:
    return [p for p in auth.service(request).meta.projects() if session.user.may_see(p.id)]


def project_access(request: Request) -> Access | Response:
    token = request.path_params.get("token")
    if token is not None:
        return _share_access(request, str(token))
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


def link_gone(request: Request) -> Response:
    """A revoked, expired or unknown link: all alike, at once."""
    return page(request, "error.html", {"session": None, "message": "This link does not exist or has expired."}, 404)


def _share_access(request: Request, token: str) -> Access | Response:
    svc = auth.service(request)
    link = svc.meta.shares.open(token) if 20 <= len(token) <= share.MAX_TOKEN else None
    project = svc.meta.project(link.project_id) if link else None
    if link is None or project is None:
        return link_gone(request)
    embed, theme = share.embed_view(request)
    if embed:  # the share route's handler opens the CSP's frame-ancestors to this
        request.state.frame_ancestors = share.frame_ancestors(link)
    if not share.unlocked(request, link):
        return share.password_form(request, token)
    return Access(None, project, link.env, link, share.share_path(token), embed, theme)
