"""`/dashboard/account`: a logged-in user changes their password (the current one, the new one
twice). CSRF-checked like every form, rate-limited like the login: a stolen session cookie must
not become a way to guess the password."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from footfall.auth.passwords import MIN_PASSWORD, hash_password
from footfall.dashboard import auth
from footfall.dashboard.pages.login import read_form
from footfall.dashboard.web import page
from footfall.http import request_context
from footfall.store.meta.users import DashboardSession

__all__ = ["routes"]

def _form(
    request: Request, session: DashboardSession, error: str | None = None, status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    done = request.query_params.get("changed") == "1" and error is None
    context = {"session": session, "error": error, "done": done, "min_length": MIN_PASSWORD}
    return page(request, "account.html", context, status, headers)


async def account(request: Request) -> Response:
    session = auth.current(request)
    if session is None:
        return auth.login_redirect(request)
    return _form(request, session)


async def change_password(request: Request) -> Response:
    session = auth.current(request)
    if session is None:
        return auth.login_redirect(request)
    form = await read_form(request)
    if form is None:
        return _form(request, session, "That request could not be read.", 400)
    if not auth.check_csrf(request, form.get("csrf"), session.csrf_token):
        return _form(request, session, "The form expired; reload and try again.", 403)
    # The process's limiter (shared in Redis across nodes), on a budget of its own: a password
    # change does not spend the address's logins.
    wait = auth.LIMITER.wait(request_context(request).ip, session.user.email, kind="account")
    if wait > 0:
        return _form(
            request, session, "Too many attempts; wait a moment and try again.", 429,
            {"Retry-After": str(max(1, round(wait)))},
        )
    current, new, again = (str(form.get(k) or "")[:1024] for k in ("current", "new", "again"))
    if await auth.check_login(request, session.user.email, current) is None:
        return _form(request, session, "The current password is wrong.", 401)
    if len(new) < MIN_PASSWORD:
        return _form(request, session, f"The new password needs at least {MIN_PASSWORD} characters.", 400)
    if new != again:
        return _form(request, session, "The new password and its repetition differ.", 400)
    hashed = await asyncio.to_thread(hash_password, new)
    auth.service(request).meta.users.set_password(session.user.email, hashed, keep_session=request.cookies[auth.COOKIE])
    return RedirectResponse("/dashboard/account?changed=1", 303)


routes = [
    Route("/dashboard/account", account, methods=["GET"]),
    Route("/dashboard/account", change_password, methods=["POST"]),
]
