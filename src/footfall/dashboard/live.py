"""The realtime view's feed: events pushed to open streams the moment they are durable.

The service calls `publish` after each request's WAL sync (`Footfall.on_stored`); each open
stream has a small queue of its project and environment. No stream open, no work beyond one
empty loop. Only what the page shows travels: no ids, no IP, no user agent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from footfall.model import Event, Scope
from footfall.service import Footfall

__all__ = ["LiveFeed", "feed", "summary"]

QUEUE_SIZE = 200


def summary(e: Event) -> dict[str, Any]:
    return {
        "ts": e.ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "name": e.name, "path": e.path,
        "source": e.source, "country": e.country, "device_type": e.device_type,
    }


class LiveFeed:
    def __init__(self) -> None:
        self._queues: dict[Scope, set[asyncio.Queue[list[dict[str, Any]]]]] = {}

    def publish(self, events: list[Event]) -> None:
        if not self._queues:
            return
        by_scope: dict[Scope, list[dict[str, Any]]] = {}
        for e in events:
            scope = Scope(e.project_id, e.env)
            if scope in self._queues:
                by_scope.setdefault(scope, []).append(summary(e))
        for scope, items in by_scope.items():
            for queue in self._queues[scope]:
                if queue.qsize() < QUEUE_SIZE:  # a stalled reader loses events, never the server
                    queue.put_nowait(items)

    @contextmanager
    def subscribe(self, scope: Scope) -> Iterator[asyncio.Queue[list[dict[str, Any]]]]:
        queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
        self._queues.setdefault(scope, set()).add(queue)
        try:
            yield queue
        finally:
            self._queues[scope].discard(queue)
            if not self._queues[scope]:
                del self._queues[scope]


def feed(svc: Footfall) -> LiveFeed:
    """The service's feed, registered on first use."""
    for listener in svc.on_stored:
        owner = getattr(listener, "__self__", None)
        if isinstance(owner, LiveFeed):
            return owner
    live = LiveFeed()
    svc.on_stored.append(live.publish)
    return live
