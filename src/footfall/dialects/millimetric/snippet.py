"""`GET /v1/a.js`: the browser snippet, cacheable with a strong ETag (gzip when accepted)."""

from __future__ import annotations

import gzip
import hashlib
from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["Snippet", "routes", "snippet"]

_PACKAGE = "footfall.dialects.millimetric"
_MEDIA_TYPE = "application/javascript; charset=utf-8"
_CACHE = {
    "Cache-Control": "public, max-age=3600",
    "Vary": "Accept-Encoding",
    "X-Content-Type-Options": "nosniff",
}


class Snippet:
    """The script's bytes, gzipped once, and a strong ETag for each representation."""

    def __init__(self, body: bytes) -> None:
        digest = hashlib.sha256(body).hexdigest()[:32]
        self.body, self.etag = body, f'"{digest}"'
        self.gzip, self.gzip_etag = gzip.compress(body, 9, mtime=0), f'"{digest}-gz"'


@cache
def snippet() -> Snippet:
    return Snippet(resources.files(_PACKAGE).joinpath("static", "a.js").read_bytes())


def _accepts_gzip(accept_encoding: str) -> bool:
    """
    >>> [_accepts_gzip(v) for v in ("gzip, br", "br;q=1, GZIP;q=0.5", "gzip;q=0", "identity", "")]
    [True, True, False, False, False]
    """
    for item in accept_encoding.lower().split(","):
        coding, _, param = item.partition(";")
        if coding.strip() == "gzip":
            q = param.strip()
            if not q.startswith("q="):
                return True
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
    return False


def _matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match compares weakly: `W/"x"` matches `"x"`; `*` matches anything.

    >>> [_matches(v, '"x"') for v in ('"x"', '"a", W/"x"', "*", '"y"', "")]
    [True, True, True, False, False]
    """
    return any(
        tag.strip() == "*" or tag.strip().removeprefix("W/") == etag
        for tag in if_none_match.split(",")
    )


async def script(request: Request) -> Response:
    s = snippet()
    zipped = _accepts_gzip(request.headers.get("accept-encoding", ""))
    body, etag = (s.gzip, s.gzip_etag) if zipped else (s.body, s.etag)
    headers = {**_CACHE, "ETag": etag}
    # Any page may load the script (what it sends is origin-checked through its key).
    headers["Access-Control-Allow-Origin"] = "*"
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    if zipped:
        headers["Content-Encoding"] = "gzip"
    return Response(body, headers=headers, media_type=_MEDIA_TYPE)


routes = [Route("/v1/a.js", script, methods=["GET", "HEAD"])]
