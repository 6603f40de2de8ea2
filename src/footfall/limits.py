"""Token buckets per project and route: browser keys are public, so ingestion is rate limited.

Defaults follow the Millimetric spec (`/v1/track` 50/s burst 200, `/v1/batch` 5/s burst 20) and
apply likewise to the other dialects' ingest routes; every project can override them, and
`FOOTFALL_RATE_LIMITS=off` switches limiting off for the whole server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "Limit", "RateLimiter", "TokenBucket"]


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens per second
    burst: float  # bucket size


# Route class → default limit. Routes not listed are unlimited.
DEFAULT_LIMITS: dict[str, Limit] = {
    "track": Limit(50, 200),  # single events: /v1/track, A-TRACK /init /attributes /event,
    # Sankofa /api/v1/track /people /alias, /v1/identify
    "batch": Limit(5, 20),  # /v1/batch, Sankofa /api/v1/batch
}


class TokenBucket:
    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, limit: Limit, now: float) -> None:
        self.rate = limit.rate
        self.burst = limit.burst
        self.tokens = limit.burst
        self.stamp = now

    def take(self, now: float) -> float:
        """Take one token; returns 0 when granted, else the seconds until one is available.

        >>> b = TokenBucket(Limit(rate=1, burst=2), now=0.0)
        >>> b.take(0.0), b.take(0.0), b.take(0.0)
        (0.0, 0.0, 1.0)
        >>> b.take(1.0)
        0.0
        """
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate if self.rate > 0 else 60.0


class RateLimiter:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}

    def check(self, project_id: str, route: str, limit: Limit | None) -> float:
        """0 when the request may go ahead, else seconds to wait."""
        if not self.enabled or limit is None:
            return 0.0
        now = time.monotonic()
        key = (project_id, route, f"{limit.rate}/{limit.burst}")
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 100_000:
                self._buckets.clear()
            bucket = self._buckets[key] = TokenBucket(limit, now)
        return bucket.take(now)
