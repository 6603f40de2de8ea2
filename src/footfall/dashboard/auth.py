"""Dashboard sessions: the login cookie, CSRF tokens, login rate limits, access checks."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import secrets
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from footfall.auth.passwords import verify_password
from footfall.service import Footfall
from footfall.state import LOGINS
from footfall.store.meta.users import SESSION_LIFETIME, DashboardSession, DashboardUser

__all__ = [
    "COOKIE",
    "LIMITER",
    "LOGIN_CSRF_COOKIE",
    "check_csrf",
    "check_login",
    "current",
    "is_https",
    "login_redirect",
    "safe_next",
    "set_session_cookie",
]

COOKIE = "footfall_session"
LOGIN_CSRF_COOKIE = "footfall_login_csrf"


def service(request: Request) -> Footfall:
    svc: Footfall = request.app.state.footfall
    return svc


def is_https(request: Request) -> bool:
    """Behind a trusted proxy that terminated TLS, X-Forwarded-Proto tells; else the socket."""
    if request.url.scheme == "https":
        return True
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    if proto != "https" or request.client is None:
        return False
    try:
        peer = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(peer in net for net in service(request).settings.trusted_proxies)


def current(request: Request) -> DashboardSession | None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 128:
        return None
    return service(request).meta.users.session(token)


def safe_next(raw: str | None) -> str:
    """Only a path inside the dashboard: never an open redirect.

    >>> safe_next("/dashboard/p/prj_1/live?period=7d"), safe_next("//evil.example/"), safe_next(None)
    ('/dashboard/p/prj_1/live?period=7d', '/dashboard/', '/dashboard/')
    """
    if raw and raw.startswith("/dashboard/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/dashboard/"


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/dashboard/login?next={quote(target, safe='')}", 303)


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()), path="/dashboard",
        httponly=True, samesite="lax", secure=is_https(request),
    )


def _same_origin(request: Request) -> bool:
    """A browser's POST says where it comes from; a form on another site is refused even
    before the token is compared."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    forwarded = f"https://{request.headers.get('host', '')}"
    return origin in (own, forwarded) if is_https(request) else origin == own


def check_csrf(request: Request, sent: str | None, expected: str | None) -> bool:
    return (
        _same_origin(request) and bool(sent) and bool(expected)
        and hmac.compare_digest(str(sent).encode(), str(expected).encode())
    )


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


# One for logins and share-link passwords alike: a client's per-IP budget covers both. In
# Redis while the node shares state (`--state`), so N nodes admit one budget of guesses.
LIMITER = LOGINS


async def check_login(request: Request, email: str, password: str) -> DashboardUser | None:
    users = service(request).meta.users
    stored = users.password_hash(email)
    ok = await asyncio.to_thread(verify_password, password, stored)
    return users.get(email) if ok else None
