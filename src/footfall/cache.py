"""Control-plane answers kept briefly in memory, and served stale while the control plane is away.

Keys, projects, rules and limits are read on every request; a node keeps each answer for a few
seconds (a revocation reaches every node within that time). When the control plane cannot be
reached (`MetaUnavailable`: PostgreSQL down or restarting), an expired answer is served instead
of failing, so ingestion goes on with what each node already knew; only what no node asked
about before the outage answers 503 `control_plane_unavailable`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from footfall.store.meta.dialect import MetaUnavailable

__all__ = ["TtlCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """
    >>> cache: TtlCache[str, int] = TtlCache(ttl=60)
    >>> cache.get("a", lambda: 1), cache.get("a", lambda: 2)
    (1, 1)
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self.stale_served = 0

    def get(self, key: K, load: Callable[[], V]) -> V:
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            value = load()
        except MetaUnavailable:
            if hit is None:
                raise
            self.stale_served += 1
            return hit[1]
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
