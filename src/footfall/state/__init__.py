"""Hot state: what a node remembers between requests about visitors and budgets.

Four kinds, each with an in-process implementation (one node, no `--state`, today's
behaviour) and a Redis one (`--state redis://…`, shared by every node behind a load balancer):

* **visitors**: open sessions and session attribution (`pipeline.sessions.VisitorState`);
* **sightings**: values seen before per project (Sankofa's "first sighting" of a screen);
* **limiter**: token buckets per project and route class (`limits.RateLimiter`);
* **logins**: the dashboard's password budgets per client IP and per e-mail address or share
  link (`LoginLimiter`; the process's one is `LOGINS`).

Redis outages degrade to the in-process implementation (docs/multinode.md "Redis outage"):
ingestion never stops or answers 500 because the shared state is away.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from footfall.limits import Limit, RateLimiter, TokenBucket
from footfall.pipeline.sessions import Sessionizer, VisitorState

__all__ = [
    "LOGINS",
    "PER_EMAIL",
    "PER_IP",
    "HotState",
    "Limiter",
    "LoginLimiter",
    "Logins",
    "MemorySightings",
    "ProcessLogins",
    "SightingKey",
    "Sightings",
    "StateUnavailable",
    "open_state",
]

SightingKey = tuple[str, str, tuple[str, ...], str]  # project, env, event names, property

# A guesser gets 5 tries per address, then one per 12 s; one IP gets 30 at once, then 1 per 2 s.
PER_EMAIL = Limit(rate=5 / 60, burst=5)
PER_IP = Limit(rate=0.5, burst=30)


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


class Logins(Protocol):
    def wait(self, ip: str | None, subject: str, kind: str = "email") -> float:
        """Seconds to wait before this attempt (0: go ahead). `subject` is what is guessed at:
        an e-mail address, or (kind "share") a share link's id."""
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


class LoginLimiter:
    """Token buckets per e-mail address and per client IP, checked before any password work."""

    MAX_BUCKETS = 50_000

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._swept = -1.0

    def wait(self, ip: str | None, subject: str, kind: str = "email") -> float:
        """See `Logins.wait`."""
        now = time.monotonic()
        # An attempt its IP's budget refuses makes no bucket for what it names, so a refused
        # flood of new addresses does not fill the table.
        refused = self._take(("ip", ip or "?"), PER_IP, now)
        return refused or self._take((kind, subject), PER_EMAIL, now)

    def _take(self, key: tuple[str, str], limit: Limit, now: float) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.MAX_BUCKETS and now - self._swept >= 1.0:
                self._swept = now
                self._forget_refilled(now)
            if len(self._buckets) >= self.MAX_BUCKETS:
                # Every bucket holds recent attempts (a flood from many addresses): no new one
                # for now. Forgetting buckets instead (they were all cleared once) gave a
                # password's guesser fresh tries for the price of 50k requests.
                return 1 / limit.rate
            bucket = self._buckets[key] = TokenBucket(limit, now)
        return bucket.take(now)

    def _forget_refilled(self, now: float) -> None:
        """Drop the buckets that have refilled: a new one would answer the same."""
        self._buckets = {
            k: b for k, b in self._buckets.items() if b.tokens + (now - b.stamp) * b.rate < b.burst
        }


class ProcessLogins:
    """The node's one login budget (`dashboard.auth.LIMITER`), for logins and share-link
    passwords alike, so a client's per-IP budget covers both: in this process's memory, or in
    Redis while a shared state is open (`open_state` switches it; N nodes then admit one
    budget of guesses, not N). Process-wide because a node serves one `Footfall` and the
    dashboard's forms take from it by name."""

    def __init__(self) -> None:
        self.memory = LoginLimiter()
        self.shared: Logins | None = None

    def wait(self, ip: str | None, subject: str, kind: str = "email") -> float:
        """See `Logins.wait`."""
        return (self.shared or self.memory).wait(ip, subject, kind)


LOGINS = ProcessLogins()


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
