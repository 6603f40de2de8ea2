"""CORS for browser keys on `/v1/*` (and any other prefixes a dialect's browser SDK uses).

A preflight carries no key, so it is answered for any origin that some project allows; the
actual request is then checked against the key's own project (`origin_not_allowed`), and its
answer carries CORS headers only for an allowed origin.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ALLOW_HEADERS", "BrowserCors"]

ALLOW_HEADERS = b"Authorization, Content-Type, Content-Encoding"
_MAX_AGE = b"600"


class BrowserCors:
    def __init__(
        self,
        app: ASGIApp,
        origin_known: Callable[[Scope, str], bool],
        prefixes: tuple[str, ...] = ("/v1/",),
        allow_headers: Callable[[str], bytes] = lambda path: ALLOW_HEADERS,
    ) -> None:
        self.app = app
        self.origin_known = origin_known  # (scope, origin) -> allowed by some project?
        self.prefixes = prefixes
        self.allow_headers = allow_headers  # path -> the request headers a preflight allows

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The snippet is a public script: it answers `*` itself.
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes) or scope["path"] == "/v1/a.js":
            await self.app(scope, receive, send)
            return
        origin = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"origin"), None)
        allowed = origin is not None and self.origin_known(scope, origin)
        if scope["method"] == "OPTIONS" and origin is not None:
            await self._preflight(send, origin if allowed else None, scope["path"])
            return
        if not allowed:
            await self.app(scope, receive, send)
            return
        assert origin is not None

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"vary", b"Origin"),
                    (b"access-control-expose-headers", b"Retry-After"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, send: Send, origin: str | None, path: str) -> None:
        if origin is None:
            headers = [(b"content-type", b"application/json"), (b"vary", b"Origin")]
            body = b'{"error":"origin_not_allowed","details":{}}'
            await send({"type": "http.response.start", "status": 403, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", self.allow_headers(path)),
            (b"access-control-max-age", _MAX_AGE),
            (b"vary", b"Origin"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
