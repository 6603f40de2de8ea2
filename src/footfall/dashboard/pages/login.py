"""`/dashboard/login` and `/dashboard/logout`."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from footfall.dashboard import auth
from footfall.dashboard.web import page
from footfall.errors import FootfallError
from footfall.http import read_body, request_context

__all__ = ["routes"]

MAX_FORM_BYTES = 8 * 1024


def _form_page(
    request: Request, next_url: str, error: str | None = None, status: int = 200,
    email: str = "", headers: dict[str, str] | None = None,
) -> Response:
    token = auth.new_login_csrf()
    response = page(
        request, "login.html",
        {"session": None, "csrf": token, "next": next_url, "error": error, "email": email},
        status, headers,
    )
    response.set_cookie(
        auth.LOGIN_CSRF_COOKIE, token, max_age=3600, path="/dashboard/login", httponly=True,
        samesite="strict", secure=auth.is_https(request),
    )
    return response


async def login_form(request: Request) -> Response:
    next_url = auth.safe_next(request.query_params.get("next"))
    if auth.current(request) is not None:
        return RedirectResponse(next_url, 303)
    return _form_page(request, next_url)


async def read_form(request: Request) -> dict[str, str] | None:
    """A small url-encoded form (at most MAX_FORM_BYTES however it is sent); None if larger or
    not readable. The last value of a repeated field wins."""
    try:
        body = await read_body(request, MAX_FORM_BYTES)
    except FootfallError:
        return None
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=10))
    except ValueError:  # not UTF-8, or too many fields
        return None


async def login(request: Request) -> Response:
    form = await read_form(request)
    if form is None:
        return _form_page(request, "/dashboard/", "That request could not be read.", 400)
    next_url = auth.safe_next(str(form.get("next") or ""))
    email = str(form.get("email") or "").strip().lower()[:254]
    password = str(form.get("password") or "")[:1024]
    if not auth.check_csrf(request, str(form.get("csrf") or ""), request.cookies.get(auth.LOGIN_CSRF_COOKIE)):
        return _form_page(request, next_url, "The form expired; please try again.", 403, email)
    wait = auth.LIMITER.wait(request_context(request).ip, email)
    if wait > 0:
        return _form_page(
            request, next_url, "Too many attempts; wait a moment and try again.", 429, email,
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    user = await auth.check_login(request, email, password) if email and password else None
    if user is None:
        return _form_page(request, next_url, "Wrong e-mail address or password.", 401, email)
    token = auth.service(request).meta.users.open_session(user.email)
    response = RedirectResponse(next_url, 303)
    auth.set_session_cookie(request, response, token)
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/dashboard/login")
    return response


async def logout(request: Request) -> Response:
    session = auth.current(request)
    form = await read_form(request) or {}
    if session is None:
        return RedirectResponse("/dashboard/login", 303)
    if not auth.check_csrf(request, str(form.get("csrf") or ""), session.csrf_token):
        return page(request, "error.html", {"session": session, "message": "The form expired; reload and try again."}, 403)
    auth.service(request).meta.users.close_session(request.cookies[auth.COOKIE])
    response = RedirectResponse("/dashboard/login", 303)
    response.delete_cookie(auth.COOKIE, path="/dashboard")
    return response


routes = [
    Route("/dashboard/login", login_form, methods=["GET"]),
    Route("/dashboard/login", login, methods=["POST"]),
    Route("/dashboard/logout", logout, methods=["POST"]),
]
