"""Share links: `/dashboard/p/{project}/{env}/share` lists, creates and revokes them (admins);
`/dashboard/share/{token}` is the report they open, read-only and logged out (the report page's
own handler, through the same `project_access`), with a password form first when the link has
a password, and `?embed=true` for a frame on another site."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from footfall.auth.passwords import hash_password, verify_password
from footfall.dashboard import auth, share
from footfall.dashboard.pages import report as report_page
from footfall.dashboard.pages._access import Access, link_gone, project_access
from footfall.dashboard.pages.login import read_form
from footfall.dashboard.web import page
from footfall.http import request_context

__all__ = ["routes"]

MIN_PASSWORD = 8
MAX_LABEL = 100


def _framed(request: Request, response: Response) -> Response:
    ancestors = getattr(request.state, "frame_ancestors", None)
    return share.allow_framing(response, ancestors) if ancestors else response


async def shared(request: Request) -> Response:
    """The report (or a panel of it, or the password form) as the link's holder sees it."""
    return _framed(request, await report_page.report(request))


async def unlock(request: Request) -> Response:
    """The password form's answer: on success a cookie for this link, back to the report."""
    token = str(request.path_params["token"])
    svc = auth.service(request)
    link = svc.meta.shares.open(token) if len(token) <= share.MAX_TOKEN else None
    if link is None:
        return link_gone(request)
    embed, _theme = share.embed_view(request)
    if embed:
        request.state.frame_ancestors = share.frame_ancestors(link)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if link.password_hash is None:
        return RedirectResponse(target, 303)
    form = await read_form(request)
    if form is None:
        return _framed(request, share.password_form(request, token, "That request could not be read.", 400))
    if not auth.check_csrf(request, form.get("csrf"), request.cookies.get(share.SHARE_CSRF_COOKIE)):
        return _framed(request, share.password_form(request, token, "The form expired; please try again.", 403))
    wait = auth.LIMITER.wait(request_context(request).ip, link.id, kind="share")
    if wait > 0:
        return _framed(request, share.password_form(
            request, token, "Too many attempts; wait a moment and try again.", 429,
            {"Retry-After": str(max(1, round(wait)))},
        ))
    password = str(form.get("password") or "")[:1024]
    if not password or not await asyncio.to_thread(verify_password, password, link.password_hash):
        return _framed(request, share.password_form(request, token, "Wrong password.", 401))
    response = RedirectResponse(target, 303)
    share.set_share_cookie(
        request, response, token, share.SHARE_COOKIE, share.unlock_value(link),
        int(share.UNLOCK_LIFETIME.total_seconds()),
    )
    return _framed(request, response)


def _public_url(request: Request, token: str) -> str:
    scheme = "https" if auth.is_https(request) else request.url.scheme
    return f"{scheme}://{request.headers.get('host', request.url.netloc)}{share.share_path(token)}"


def _page(
    request: Request, access: Access, status: int = 200, **extra: Any
) -> Response:
    svc = auth.service(request)
    assert access.session is not None
    context = {
        **access.context(request),
        "links": svc.meta.shares.list(access.project.id, access.env),
        "is_admin": access.session.user.role == "admin",
        "expiries": share.EXPIRIES, "error": None, "created": None, "form": {},
        **extra,
    }
    return page(request, "share.html", context, status)


async def share_page(request: Request) -> Response:
    access = project_access(request)
    if not isinstance(access, Access):
        return access
    return _page(request, access)


async def _admin_form(request: Request) -> tuple[Access, dict[str, str]] | Response:
    """The access and form of an admin's POST here, with its CSRF token checked."""
    access = project_access(request)
    if not isinstance(access, Access) or access.session is None:
        return access if isinstance(access, Response) else link_gone(request)
    form = await read_form(request)
    if form is None:
        return _page(request, access, 400, error="That request could not be read.")
    if not auth.check_csrf(request, form.get("csrf"), access.session.csrf_token):
        return _page(request, access, 403, error="The form expired; reload and try again.")
    if access.session.user.role != "admin":
        return _page(request, access, 403, error="Only an admin can create or revoke share links.")
    return access, form


async def create(request: Request) -> Response:
    got = await _admin_form(request)
    if isinstance(got, Response):
        return got
    access, form = got
    assert access.session is not None
    label = str(form.get("label") or "").strip()[:MAX_LABEL]
    password = str(form.get("password") or "")
    try:
        if password and len(password) < MIN_PASSWORD:
            raise ValueError(f"A password needs at least {MIN_PASSWORD} characters.")
        expires_at = share.expiry(str(form.get("expires") or "never"))
        origins = share.parse_origins(str(form.get("origins") or "")[:2000])
    except ValueError as err:
        return _page(request, access, 400, error=str(err), form=form)
    password_hash = await asyncio.to_thread(hash_password, password[:1024]) if password else None
    link, token = auth.service(request).meta.shares.create(
        access.project.id, access.env, access.session.user.email, label=label,
        password_hash=password_hash, expires_at=expires_at, embed_origins=origins,
    )
    # The token exists only in this answer (stored hashed): shown once, never again.
    return _page(request, access, 201, created={"link": link, "url": _public_url(request, token)})


async def revoke(request: Request) -> Response:
    got = await _admin_form(request)
    if isinstance(got, Response):
        return got
    access, _form = got
    if not auth.service(request).meta.shares.revoke(access.project.id, access.env, str(request.path_params["link_id"])):
        return _page(request, access, 404, error="No such link, or it was revoked already.")
    return RedirectResponse(f"{access.base}/share", 303)


routes = [
    Route("/dashboard/share/{token}", shared, methods=["GET"]),
    Route("/dashboard/share/{token}", unlock, methods=["POST"]),
    Route("/dashboard/p/{project_id}/{env}/share", share_page, methods=["GET"]),
    Route("/dashboard/p/{project_id}/{env}/share", create, methods=["POST"]),
    Route("/dashboard/p/{project_id}/{env}/share/{link_id}/revoke", revoke, methods=["POST"]),
]
