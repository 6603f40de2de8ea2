"""Footfall's Python SDK: send events to a Footfall server from Python code.

    import footfall.client as footfall

    footfall.init("sk_live_…", host="https://analytics.example.com")
    footfall.track("signup", anonymous_id="u_abc", user_id="user_42", properties={"plan": "free"})
    footfall.identify("u_abc", "user_42", traits={"plan": "pro"})
    footfall.flush()  # in serverless handlers, before returning

`track` queues and returns at once; a daemon thread sends `/v1/batch` in the background (see
`footfall.client._client` for the queue and retry rules). `identify` and `forget` are synchronous.
For several servers or keys in one process, create `Client` objects instead of calling `init`.
`footfall.client.atrack.ATrack` speaks the A-TRACK dialect (`/init`, `/attributes`, `/event`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from footfall.client._client import DEFAULT_HOST, Client, ErrorHandler
from footfall.client._http import APIError, FootfallClientError, QueueFull

__all__ = [
    "DEFAULT_HOST",
    "APIError",
    "Client",
    "ErrorHandler",
    "FootfallClientError",
    "QueueFull",
    "flush",
    "forget",
    "get_client",
    "identify",
    "init",
    "shutdown",
    "track",
]

_default: Client | None = None
_lock = threading.Lock()


def init(key: str | None = None, host: str | None = None, **options: Any) -> Client:
    """Create the module's default client (replacing, after a flush, any earlier one).

    `key` defaults to `$FOOTFALL_KEY`, `host` to `$FOOTFALL_HOST`, then `http://localhost:8787`.
    `options` are `Client`'s keyword arguments (flush_at, flush_interval, batch_size, …).
    """
    global _default
    key = key or os.environ.get("FOOTFALL_KEY")
    if not key:
        raise ValueError("pass a key to footfall.client.init() or set FOOTFALL_KEY")
    client = Client(key, host or os.environ.get("FOOTFALL_HOST") or DEFAULT_HOST, **options)
    with _lock:
        old, _default = _default, client
    if old is not None:
        old.shutdown(old.shutdown_timeout)
    return client


def get_client() -> Client:
    """The default client; created from `$FOOTFALL_KEY`/`$FOOTFALL_HOST` on first use."""
    client = _default
    if client is None:
        if not os.environ.get("FOOTFALL_KEY"):
            raise RuntimeError("call footfall.client.init(key, host) first (or set FOOTFALL_KEY)")
        with _lock:
            client = _default
        if client is None:
            client = init()
    return client


def track(
    event: str,
    *,
    anonymous_id: str | None = None,
    user_id: str | None = None,
    properties: Mapping[str, Any] | None = None,
    timestamp: datetime | str | None = None,
    event_id: str | None = None,
    url: str | None = None,
    referrer: str | None = None,
    path: str | None = None,
    session_id: str | None = None,
) -> str:
    """Queue one event on the default client; returns its `event_id`."""
    return get_client().track(
        event, anonymous_id=anonymous_id, user_id=user_id, properties=properties,
        timestamp=timestamp, event_id=event_id, url=url, referrer=referrer, path=path,
        session_id=session_id,
    )


def identify(
    anonymous_id: str, user_id: str, traits: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Link `anonymous_id` to `user_id` (synchronous); returns the server's answer."""
    return get_client().identify(anonymous_id, user_id, traits)


def forget(user_id: str) -> dict[str, Any]:
    """Delete everything about `user_id` (sk_ key; synchronous); returns the server's answer."""
    return get_client().forget(user_id)


def flush(timeout: float | None = None) -> bool:
    """Block until every queued event is answered; False if `timeout` ran out first."""
    client = _default
    return True if client is None else client.flush(timeout)


def shutdown(timeout: float | None = None) -> bool:
    """Flush and stop the default client; the next call creates a new one from the env."""
    global _default
    with _lock:
        client, _default = _default, None
    return True if client is None else client.shutdown(timeout)
