"""Share links on the page side: the cookie a link's password unlocks, embedding (who may frame
a shared report), and reading the form that makes a link.

The unlock cookie holds no state of its own on the server: it is `<issued>.<mac>`, the MAC keyed
with the link's password hash. So it opens only its own link, lapses after `UNLOCK_LIFETIME`,
stops working when the link is revoked or expires (the link is looked up first, on every
request) and works on every node of a cluster without a shared session table.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from footfall.dashboard import auth
from footfall.dashboard.state import VIEWS
from footfall.dashboard.web import CSP, page
from footfall.store.meta.sharing import ShareLink

__all__ = [
    "EXPIRIES",
    "SHARE_COOKIE",
    "SHARE_CSRF_COOKIE",
    "allow_framing",
    "embed_view",
    "expiry",
    "frame_ancestors",
    "parse_origins",
    "password_form",
    "set_share_cookie",
    "share_path",
    "unlock_value",
    "unlocked",
]

SHARE_COOKIE = "footfall_share"
SHARE_CSRF_COOKIE = "footfall_share_csrf"
UNLOCK_LIFETIME = timedelta(hours=12)
MAX_TOKEN = 128
# The choices of the form, key: (label, lifetime; None = until revoked)
EXPIRIES: dict[str, tuple[str, timedelta | None]] = {
    "never": ("Never (until revoked)", None), "1h": ("In an hour", timedelta(hours=1)),
    "1d": ("In a day", timedelta(days=1)), "7d": ("In 7 days", timedelta(days=7)),
    "30d": ("In 30 days", timedelta(days=30)), "90d": ("In 90 days", timedelta(days=90)),
}  # fmt: skip
_ORIGIN = re.compile(r"https?://(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?")
MAX_ORIGINS = 10


def share_path(token: str) -> str:
    return f"/dashboard/share/{token}"


def expiry(choice: str, now: datetime | None = None) -> datetime | None:
    """Raises ValueError for a choice the form does not offer."""
    if choice not in EXPIRIES:
        raise ValueError("Pick when the link expires.")
    life = EXPIRIES[choice][1]
    return None if life is None else (now or datetime.now(UTC)) + life


def parse_origins(text: str) -> tuple[str, ...]:
    """The sites allowed to embed a link, as CSP `frame-ancestors` takes them.

    >>> parse_origins("https://Blog.example  http://localhost:8080/ https://*.shop.example")
    ('https://blog.example', 'http://localhost:8080', 'https://*.shop.example')
    >>> parse_origins("javascript:alert(1)")
    Traceback (most recent call last):
    ...
    ValueError: Not an origin (https://host[:port]): javascript:alert(1)
    """
    out: list[str] = []
    for raw in text.replace(",", " ").split():
        origin = raw.strip().lower().rstrip("/")
        if not _ORIGIN.fullmatch(origin):
            raise ValueError(f"Not an origin (https://host[:port]): {raw[:100]}")
        if origin not in out:
            out.append(origin)
    if len(out) > MAX_ORIGINS:
        raise ValueError(f"At most {MAX_ORIGINS} sites may embed a link.")
    return tuple(out)


def frame_ancestors(link: ShareLink) -> str:
    """Who may frame an embedded link: its own list, or any site when it has none (the page
    is read-only: there is nothing to click a visitor into but the period and filters)."""
    return " ".join(link.embed_origins) if link.embed_origins else "*"


def allow_framing(response: Response, ancestors: str) -> Response:
    """Embed mode only: the strict CSP with `frame-ancestors` opened, no X-Frame-Options."""
    response.headers["Content-Security-Policy"] = CSP.replace(
        "frame-ancestors 'none'", f"frame-ancestors {ancestors}"
    )
    if "x-frame-options" in response.headers:
        del response.headers["x-frame-options"]
    return response


def _mac(link: ShareLink, issued: int) -> str:
    key = (link.password_hash or "").encode()
    return hmac.new(key, f"{link.id}.{issued}".encode(), hashlib.sha256).hexdigest()


def unlock_value(link: ShareLink, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    return f"{issued}.{_mac(link, issued)}"


def unlocked(request: Request, link: ShareLink) -> bool:
    """A link without a password is always open; with one, the cookie must be this link's
    and recent."""
    if link.password_hash is None:
        return True
    raw = request.cookies.get(SHARE_COOKIE, "")
    issued_text, _, mac = raw.partition(".")
    # isdigit() alone takes digits int() refuses (a superscript two): ASCII ones only.
    if not (issued_text.isascii() and issued_text.isdigit()) or len(raw) > 200:
        return False
    issued = int(issued_text)
    if not 0 <= time.time() - issued <= UNLOCK_LIFETIME.total_seconds():
        return False
    return hmac.compare_digest(mac.encode(), _mac(link, issued).encode())


def set_share_cookie(request: Request, response: Response, token: str, name: str, value: str, max_age: int) -> None:
    """Scoped to the one link's path. SameSite=None over HTTPS, so an embed on another site
    can unlock too (the page behind it is read-only); Lax over plain HTTP, where None is
    refused without Secure."""
    secure = auth.is_https(request)
    response.set_cookie(
        name, value, max_age=max_age, path=share_path(token), httponly=True,
        samesite="none" if secure else "lax", secure=secure,
    )


def embed_view(request: Request) -> tuple[bool, str]:
    """`?embed=true` and its `theme` (light, dark; "" follows the system)."""
    q = request.query_params
    embed = q.get("embed") in VIEWS["embed"]
    return embed, (q.get("theme", "") if embed and q.get("theme") in VIEWS["theme"] else "")


def password_form(
    request: Request, token: str, error: str | None = None, status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The form a password-protected link shows first; it posts back to the same URL."""
    embed, theme = embed_view(request)
    csrf = auth.new_login_csrf()
    response = page(
        request, "share_password.html",
        {"session": None, "csrf": csrf, "error": error, "embed": embed, "theme": theme},
        status, headers,
    )
    set_share_cookie(request, response, token, SHARE_CSRF_COOKIE, csrf, 3600)
    return response
