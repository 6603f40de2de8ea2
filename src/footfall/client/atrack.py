"""An A-TRACK-style helper: `init` a visitor from a web request, `set_attributes`, `track`.

    from footfall.client.atrack import ATrack

    atrack = ATrack("sk_live_…", host="https://analytics.example.com")
    uuid = atrack.init(request.environ, attributes={"plan": "free"})   # WSGI, ASGI scope, Django…
    atrack.set_attributes(uuid, {"plan": "pro"})
    atrack.track(uuid, "checkout_started", {"cart_value": 129.99})

Calls are synchronous (the A-TRACK flow needs the uuid back) and retried like the batch client: 429,
503 and network errors only, honouring `Retry-After`. Failures raise `APIError`. The A-TRACK `uuid`
is the same visitor identity the Millimetric API calls `anonymous_id`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from footfall.client._client import DEFAULT_HOST, USER_AGENT
from footfall.client._events import iso_timestamp, json_object
from footfall.client._http import APIError, RetryPolicy, raise_for_status, send
from footfall.client._request import request_context

__all__ = ["APIError", "ATrack", "request_context"]


class ATrack:
    """A client for Footfall's A-TRACK dialect. Thread-safe; close it (or use `with`) when done."""

    def __init__(
        self,
        key: str,
        host: str = DEFAULT_HOST,
        *,
        origin: str | None = None,
        trust_forwarded: bool = True,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`key` is an sk_ key on servers (a pk_ key also needs the allow-listed `origin`).
        `trust_forwarded`: take the visitor's IP/scheme/host from X-Forwarded-* headers."""
        if not isinstance(key, str) or not key:
            raise ValueError("key is required")
        headers = {"x-a-track-key": key, "User-Agent": USER_AGENT}
        if origin:
            headers["Origin"] = origin
        self.host = host.rstrip("/")
        self.trust_forwarded = trust_forwarded
        self.policy = RetryPolicy(max_retries, backoff_base, backoff_max)
        self._http = httpx.Client(
            base_url=self.host, headers=headers, timeout=timeout, transport=transport
        )

    def init(
        self,
        request: Any = None,
        *,
        uuid: str | None = None,
        url: str | None = None,
        referer: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        custom_data: Mapping[str, Any] | None = None,
    ) -> str:
        """Create (no `uuid`) or update a visitor profile and return its uuid.

        `request` (WSGI environ, ASGI scope, or an object with `.scope`/`.environ`/`.META`) fills
        `context.url` and `context.client`; the keyword arguments override what it says.
        """
        url_ctx: dict[str, Any] = {}
        client_ctx: dict[str, Any] = {}
        if request is not None:
            url_ctx, client_ctx = request_context(request, trust_forwarded=self.trust_forwarded)
        if url is not None:
            parts = urlsplit(url)
            raw = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            url_ctx = {**url_ctx, "href": url, "raw": raw, "path": parts.path or "/"}
            url_ctx.pop("query", None)
            if parts.query:
                url_ctx["query"] = parts.query
        if referer is not None:
            url_ctx["referer"] = referer
        if ip is not None:
            client_ctx["ipAddress"] = ip
        if user_agent is not None:
            client_ctx["userAgent"] = user_agent
        context: dict[str, Any] = {}
        if url_ctx:
            context["url"] = url_ctx
        if client_ctx:
            context["client"] = client_ctx
        if attributes is not None:
            context["user"] = {"attributes": json_object("attributes", attributes)}
        body: dict[str, Any] = {"context": context}
        if uuid is not None:
            body["uuid"] = uuid
        if custom_data is not None:
            body["custom_data"] = json_object("custom_data", custom_data)
        answer = self._post("/init", body)
        return str(answer["uuid"])

    def set_attributes(
        self, uuid: str, attributes: Mapping[str, Any], replace: bool = False
    ) -> dict[str, Any]:
        """Merge `attributes` into the profile (`replace=True`: replace the whole map)."""
        body: dict[str, Any] = {"uuid": uuid, "attributes": json_object("attributes", attributes)}
        if replace:
            body["replace"] = True
        return self._post("/attributes", body)

    def track(
        self,
        uuid: str,
        event: str,
        attributes: Mapping[str, Any] | None = None,
        timestamp: datetime | str | None = None,
    ) -> dict[str, Any]:
        """Record one event for the visitor; returns `{"success": true, "uuid": …, …}`."""
        body: dict[str, Any] = {"uuid": uuid, "event": event}
        if attributes is not None:
            body["attributes"] = json_object("attributes", attributes)
        if timestamp is not None:
            body["timestamp"] = iso_timestamp(timestamp)
        return self._post("/event", body)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ATrack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return raise_for_status(send(self._http, "POST", path, self.policy, json=body))
