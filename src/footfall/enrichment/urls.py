"""Tolerant URL parsing for landing URLs and referrers.

Pure functions, no I/O. Nothing here raises on garbage input: a value that cannot be parsed
yields an empty :class:`ParsedUrl` (or ``None`` from :func:`host_of`).

>>> u = parse_url("https://Shop.Example.com:8443/p?utm_source=FB&utm_source=x#top")
>>> (u.scheme, u.host, u.path, u.params["utm_source"], u.params_all["utm_source"], u.hash)
('https', 'shop.example.com', '/p', 'FB', ['FB', 'x'], 'top')
>>> host_of("android-app://com.google.android.gm/")
'com.google.android.gm'
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, urlsplit

import msgspec

__all__ = ["MAX_URL_LENGTH", "ParsedUrl", "host_of", "parse_url", "path_of"]

MAX_URL_LENGTH = 8192
_BARE_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+(?::\d+)?$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_APP_SCHEMES = frozenset({"android-app", "ios-app"})


class ParsedUrl(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed URL. ``query`` is the raw query string without ``?``; ``hash`` the fragment
    without ``#``. ``params`` keeps the first value per key (keys as sent, values
    percent-decoded); ``params_all`` keeps every value in order."""

    href: str = ""
    scheme: str = ""
    host: str = ""
    path: str = ""
    query: str = ""
    hash: str = ""
    params: dict[str, str] = msgspec.field(default_factory=dict)
    params_all: dict[str, list[str]] = msgspec.field(default_factory=dict)


_EMPTY = ParsedUrl()


def _clean_host(netloc_host: str | None) -> str:
    if not netloc_host:
        return ""
    host = netloc_host.strip().lower().rstrip(".")
    return host if host and " " not in host else ""


def parse_url(url: str | None) -> ParsedUrl:
    """Split ``url`` into its parts. Relative URLs (``/p?x=1``) keep an empty host, and
    scheme-less ``example.com/p`` is read as a host plus path. Never raises."""
    if not url or not isinstance(url, str):
        return _EMPTY
    text = url.strip()[:MAX_URL_LENGTH]
    if not text:
        return _EMPTY
    try:
        candidate = text
        if not _SCHEME.match(text) and not text.startswith(("/", "?", "#")):
            first = re.split(r"[/?#]", text, maxsplit=1)[0]
            if _BARE_HOST.match(first):
                candidate = "//" + text
        parts = urlsplit(candidate)
        host = _clean_host(parts.hostname)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
    except (ValueError, TypeError, UnicodeError):
        return _EMPTY
    params: dict[str, str] = {}
    params_all: dict[str, list[str]] = {}
    for key, value in pairs:
        params.setdefault(key, value)
        params_all.setdefault(key, []).append(value)
    return ParsedUrl(
        href=text,
        scheme=parts.scheme.lower(),
        host=host,
        path=parts.path,
        query=parts.query,
        hash=parts.fragment,
        params=params,
        params_all=params_all,
    )


def host_of(url_or_host: str | None) -> str | None:
    """The lower-cased host of a URL or bare host, without port or trailing dot.

    ``android-app://<package>/...`` (and ``ios-app://<id>/...``) referrers yield the package
    name. Returns ``None`` when there is no usable host.

    >>> host_of("HTTPS://WWW.Example.COM:443/x"), host_of("example.com"), host_of("/relative")
    ('www.example.com', 'example.com', None)
    """
    if not url_or_host or not isinstance(url_or_host, str):
        return None
    text = url_or_host.strip()
    if not text:
        return None
    scheme = text.split(":", 1)[0].lower() if "://" in text else ""
    if scheme in _APP_SCHEMES:
        rest = text.split("://", 1)[1]
        package = re.split(r"[/?#]", rest, maxsplit=1)[0].strip().lower()
        return package or None
    parsed = parse_url(text)
    return parsed.host or None


@functools.lru_cache(maxsize=4096)
def path_of(url: str) -> str | None:
    """Just the path of a URL (no query parsing); None when there is none.

    >>> path_of("https://shop.example/pricing?utm_source=x"), path_of("garbage")
    ('/pricing', None)
    """
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        return None
    return path if path.startswith("/") else None
