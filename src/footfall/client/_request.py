"""Read an incoming web request into A-TRACK's `context.url` / `context.client` shapes.

Accepted: a WSGI environ (Flask/Werkzeug `request.environ`, Django `request.META`), an ASGI scope
(Starlette/FastAPI `request.scope`), or any object carrying one as `.scope`, `.environ` or `.META`.
No web framework is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

__all__ = ["request_context"]

_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def _as_mapping(request: Any) -> Mapping[str, Any]:
    if isinstance(request, Mapping):
        return request
    for attr in ("scope", "environ", "META"):
        value = getattr(request, attr, None)
        if isinstance(value, Mapping):
            return value
    raise TypeError(
        "request must be a WSGI environ, an ASGI scope, or have .scope/.environ/.META, "
        f"got {type(request).__name__}"
    )


def _from_scope(scope: Mapping[str, Any]) -> tuple[dict[str, str], str, str, str, str | None]:
    """(headers, scheme, path, query, peer ip) of an ASGI scope."""
    headers: dict[str, str] = {}
    for name, value in scope.get("headers") or ():
        key = name.decode("latin-1").lower() if isinstance(name, bytes) else str(name).lower()
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    if "host" not in headers and scope.get("server"):
        host, port = scope["server"][0], scope["server"][1]
        headers["host"] = str(host) if port in (None, 80, 443) else f"{host}:{port}"
    path = str(scope.get("root_path") or "") + str(scope.get("path") or "/")
    query = scope.get("query_string") or b""
    client = scope.get("client")
    peer = str(client[0]) if client else None
    qs = query.decode("latin-1") if isinstance(query, bytes) else str(query)
    return headers, str(scope.get("scheme") or "http"), path, qs, peer


def _from_environ(env: Mapping[str, Any]) -> tuple[dict[str, str], str, str, str, str | None]:
    """(headers, scheme, path, query, peer ip) of a WSGI environ (or Django's META)."""
    headers = {
        k[5:].replace("_", "-").lower(): str(v) for k, v in env.items() if k.startswith("HTTP_")
    }
    for k in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if env.get(k):
            headers[k.replace("_", "-").lower()] = str(env[k])
    if "host" not in headers and env.get("SERVER_NAME"):
        port = str(env.get("SERVER_PORT") or "")
        name = str(env["SERVER_NAME"])
        headers["host"] = name if port in ("", "80", "443") else f"{name}:{port}"
    # PEP 3333: PATH_INFO holds the raw bytes decoded as latin-1
    raw_path = str(env.get("SCRIPT_NAME") or "") + str(env.get("PATH_INFO") or "/")
    path = raw_path.encode("latin-1", "replace").decode("utf-8", "replace")
    scheme = str(env.get("wsgi.url_scheme") or ("https" if env.get("HTTPS") == "on" else "http"))
    peer = env.get("REMOTE_ADDR")
    return headers, scheme, path, str(env.get("QUERY_STRING") or ""), str(peer) if peer else None


def _languages(accept_language: str | None) -> list[str]:
    """`Accept-Language` as an ordered list of tags (by q, then by position)."""
    tags: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > 0:
            tags.append((-q, position, tag))
    return [tag for _, _, tag in sorted(tags)][:16]


def request_context(request: Any, *, trust_forwarded: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """`(context.url, context.client)` for an A-TRACK `/init` describing this request's visitor.

    With `trust_forwarded` (the default; you run behind a proxy or load balancer) the visitor's IP
    is the first `X-Forwarded-For` hop, else `X-Real-IP`, else the socket peer.
    """
    scope = _as_mapping(request)
    if "type" in scope and "headers" in scope:
        headers, scheme, path, query, peer = _from_scope(scope)
    else:
        headers, scheme, path, query, peer = _from_environ(scope)
    if trust_forwarded:
        scheme = headers.get("x-forwarded-proto", scheme).split(",")[0].strip() or scheme
    host = headers.get("x-forwarded-host") if trust_forwarded else None
    host = (host or headers.get("host") or "localhost").split(",")[0].strip()
    quoted = quote(path, safe=_PATH_SAFE)
    raw = quoted + (f"?{query}" if query else "")
    url: dict[str, Any] = {"href": f"{scheme}://{host}{raw}", "raw": raw, "path": quoted}
    if query:
        url["query"] = query
    if headers.get("referer"):
        url["referer"] = headers["referer"]
    ip = peer
    if trust_forwarded:
        forwarded = headers.get("x-forwarded-for", "").split(",")[0].strip()
        ip = forwarded or headers.get("x-real-ip", "").strip() or peer
    client: dict[str, Any] = {}
    if ip:
        client["ipAddress"] = ip
    if headers.get("user-agent"):
        client["userAgent"] = headers["user-agent"]
    languages = _languages(headers.get("accept-language"))
    if languages:
        client.update(locale=languages[0], language=languages[0], languages=languages)
    return url, client
