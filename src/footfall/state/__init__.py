"""Hot state: what a node remembers between requests about visitors and budgets.

Three kinds, each with an in-process implementation (one node, no `--state`, today's
behaviour) and a Redis one (`--state redis://…`, shared by every node behind a load balancer):

* **visitors**: open sessions and session attribution (`pipeline.sessions.VisitorState`);
* **sightings**: values seen before per project (Sankofa's "first sighting" of a screen);
* **limiter**: token buckets per project and route class (`limits.RateLimiter`).

Redis outages degrade to the in-process implementation (docs/multinode.md "Redis outage"):
ingestion never stops or answers 500 because the shared state is away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from footfall.limits import Limit, RateLimiter
from footfall.pipeline.sessions import Sessionizer, VisitorState

__all__ = [
    "HotState",
    "Limiter",
    "MemorySightings",
    "SightingKey",
    "Sightings",
    "StateUnavailable",
    "open_state",
]

SightingKey = tuple[str, str, tuple[str, ...], str]  # project, env, event names, property


class StateUnavailable(RuntimeError):
    """The shared state (Redis) cannot be reached at start-up."""


class Sightings(Protocol):
    def known(self, key: SightingKey) -> bool:
        """Has the set been read from the store already?"""
        ...

    def seed(self, key: SightingKey, values: set[str]) -> None: ...

    def sight(self, key: SightingKey, value: str) -> bool:
        """True the first time `value` is seen under `key` (atomically, across nodes)."""
        ...


class Limiter(Protocol):
    enabled: bool

    def check(self, project_id: str, route: str, limit: Limit | None) -> float:
        """0 when the request may go ahead, else seconds to wait."""
        ...


class MemorySightings:
    def __init__(self) -> None:
        self._seen: dict[SightingKey, set[str]] = {}

    def known(self, key: SightingKey) -> bool:
        return key in self._seen

    def seed(self, key: SightingKey, values: set[str]) -> None:
        self._seen.setdefault(key, set()).update(values)

    def sight(self, key: SightingKey, value: str) -> bool:
        seen = self._seen.setdefault(key, set())
        if value in seen:
            return False
        seen.add(value)
        return True


@dataclass
class HotState:
    visitors: VisitorState = field(default_factory=Sessionizer)
    sightings: Sightings = field(default_factory=MemorySightings)
    limiter: Limiter = field(default_factory=RateLimiter)
    shared: bool = False  # True: outlives this process, so not rebuilt from this node's store
    on_close: Callable[[], None] | None = None
    status: Callable[[], str] = field(default=lambda: "memory")  # or "redis", "fallback"
    fallbacks: Callable[[], int] = field(default=lambda: 0)  # calls answered in-process

    def close(self) -> None:
        if self.on_close is not None:
            self.on_close()


def open_state(url: str | None, rate_limits: bool = True) -> HotState:
    """In-process state, or Redis at `url` (checked now: `StateUnavailable` if unreachable)."""
    if not url:
        return HotState(limiter=RateLimiter(rate_limits))
    from footfall.state.redis import open_redis_state

    return open_redis_state(url, rate_limits)
