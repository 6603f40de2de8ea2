"""Hot state in Redis, shared by every node: sessions, session attribution, sightings, buckets
(ingestion's per project and route, the dashboard's per client IP and per login or share link).

Each per-visitor update is one atomic step in Redis (a Lua script, or a single command), so two
nodes handling the same visitor at once cannot both open a session. Keys expire 31 minutes after
a visitor's last event (the session timeout plus the minute the in-process sweep also waits).

When Redis cannot be reached, every call falls back to this node's in-process state for a
second (doubling to five while it stays away) before trying Redis again: ingestion goes on, sessions of visitors who move between
nodes during the outage may split, and each node enforces the rate and login budgets on its own
(so N nodes admit up to N x a budget: open, never closed; docs/multinode.md).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from footfall.limits import Limit, RateLimiter
from footfall.pipeline.sessions import (
    SESSION_TIMEOUT,
    Sessionizer,
    SessionKey,
    session_id_for,
)
from footfall.state import (
    LOGINS,
    PER_EMAIL,
    PER_IP,
    HotState,
    LoginLimiter,
    MemorySightings,
    SightingKey,
    StateUnavailable,
)
from footfall.store.base import SessionTail
from footfall.store.meta.dialect import redacted

__all__ = [
    "RedisLimiter",
    "RedisLink",
    "RedisLoginLimiter",
    "RedisSightings",
    "RedisVisitors",
    "open_redis_state",
]

log = logging.getLogger("footfall")
T = TypeVar("T")
TTL_SECONDS = int(SESSION_TIMEOUT.total_seconds()) + 60
_RETRY_AFTER = 1.0  # seconds on the in-process fallback after a Redis failure, doubling
_MAX_BACKOFF = 5.0
_SEEDED = "\x00seeded"  # member marking a sightings set as read from the store

# KEYS[1] = the visitor; ARGV = ts (µs), timeout (µs), ttl (s), the id a new session gets, the
# prefix of attribution keys, "1" if the event may open a session. Returns {session id, its
# attribution or false}, or {false, false} for an event that may not open one outside an open
# one: the pipeline's next step asks for the attribution, so it comes in the same round trip.
# (The attribution key is derived in the script, so this assumes one Redis, not Redis Cluster.)
# Timestamps stay the strings the caller sent: Lua's number formatting would round them.
_ASSIGN = """
local ts = tonumber(ARGV[1])
local timeout = tonumber(ARGV[2])
local sid = ARGV[4]
local s = redis.call('HMGET', KEYS[1], 'sid', 'first', 'last')
local joined, late = false, false
if s[1] then
  local first, last = tonumber(s[2]), tonumber(s[3])
  if first - timeout <= ts and ts <= last + timeout then
    joined = true
  elseif ts < first then
    late = true  -- a late event from an earlier visit: its own session, the open one stays
  end
end
if not joined and ARGV[6] ~= '1' then
  return {false, false}
end
if joined then
  if ts < tonumber(s[2]) then redis.call('HSET', KEYS[1], 'first', ARGV[1]) end
  if ts > tonumber(s[3]) then redis.call('HSET', KEYS[1], 'last', ARGV[1]) end
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  sid = s[1]
elseif not late then
  redis.call('HSET', KEYS[1], 'sid', sid, 'first', ARGV[1], 'last', ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return {sid, redis.call('GETEX', ARGV[5] .. sid, 'EX', ARGV[3])}
"""

# KEYS = buckets, taken from in order until one refuses (whose wait is returned: a refused
# attempt costs the later ones nothing); ARGV = rate (tokens/s), burst of each. Redis's clock,
# so nodes agree on time. A bucket expires once it would have refilled: a new one answers the
# same, so Redis holds only buckets with recent takes.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local b = redis.call('HMGET', key, 'tokens', 'stamp')
  local tokens = tonumber(b[1]) or burst
  local stamp = tonumber(b[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
  local wait = 0
  if tokens >= 1 then
    tokens = tokens - 1
  elseif rate > 0 then
    wait = (1 - tokens) / rate
  else
    wait = 60
  end
  redis.call('HSET', key, 'tokens', string.format('%.6f', tokens), 'stamp', string.format('%.6f', now))
  redis.call('PEXPIRE', key, math.ceil((burst - tokens) / math.max(rate, 0.001) * 1000) + 1000)
  if wait > 0 then
    return string.format('%.6f', wait)
  end
end
return '0'
"""


class RedisLink:
    """One Redis client for the node, with the fallback switch every call goes through."""

    def __init__(self, url: str, timeout: float = 0.5, retry_after: float = _RETRY_AFTER) -> None:
        import redis

        self.target = redacted(url)
        self.client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
        )
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError,)
        self.retry_after = retry_after
        self._backoff = 0.0
        self._down_until = 0.0
        self._lock = threading.Lock()
        self.fallbacks = 0  # calls answered in-process because Redis was away

    @property
    def available(self) -> bool:
        """False while calls go to the in-process fallback."""
        return self._down_until <= time.monotonic()

    def check(self) -> None:
        """At start-up: raise `StateUnavailable` with a clear reason if Redis is away."""
        try:
            self.client.ping()
        except self._errors as err:
            raise StateUnavailable(f"cannot reach the shared state at {self.target}: {err}") from None

    def call(self, fn: Callable[[], T], fallback: Callable[[], T]) -> T:
        if self._down_until > time.monotonic():
            self.fallbacks += 1
            return fallback()
        try:
            result = fn()
        except self._errors as err:
            with self._lock:
                first = self._backoff == 0.0
                # A dead Redis costs a timeout per try: try again after 1 s, doubling to 5 s.
                self._backoff = min(_MAX_BACKOFF, max(self.retry_after, self._backoff * 2))
                self._down_until = time.monotonic() + self._backoff
            if first:
                log.warning(
                    "shared state unreachable, using this node's memory",
                    extra={"state": self.target, "error": str(err)},
                )
            self.fallbacks += 1
            return fallback()
        if self._backoff:
            self._backoff = 0.0
            log.info("shared state reachable again", extra={"state": self.target})
        return result

    def close(self) -> None:
        self.client.close()


def _micros(ts: datetime) -> int:
    return int(ts.timestamp() * 1_000_000)


class RedisVisitors:
    """One round trip per event: `assign` also fetches the session's attribution, which the
    same event's attribution step then takes from `_fetched` (once; a later event asks Redis
    again). Only the first event with a signal in a session makes a second one (`SET NX`)."""

    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self.local = Sessionizer()
        self._assign = link.client.register_script(_ASSIGN)
        self._timeout = str(int(SESSION_TIMEOUT.total_seconds() * 1_000_000))
        self._fetched: dict[SessionKey, tuple[object, ...] | None] = {}

    def assign(
        self, project_id: str, env: str, anonymous_id: str, ts: datetime, may_open: bool = True
    ) -> str | None:
        key = f"ff:visit:{project_id}:{env}:{anonymous_id}"
        new = session_id_for(anonymous_id, ts)
        args = [str(_micros(ts)), self._timeout, str(TTL_SECONDS), new,
                f"ff:attr:{project_id}:{env}:", "1" if may_open else "0"]

        def shared() -> str | None:
            sid, raw = self._assign(keys=[key], args=args)
            if sid is None:
                return None
            if len(self._fetched) > 10_000:  # entries a dropped event never took
                self._fetched.clear()
            self._fetched[(project_id, env, sid)] = _decode(raw)
            return str(sid)

        return self.link.call(
            shared, lambda: self.local.assign(project_id, env, anonymous_id, ts, may_open)
        )

    def attribution(self, key: SessionKey) -> tuple[object, ...] | None:
        if key in self._fetched:
            return self._fetched.pop(key)

        def shared() -> tuple[object, ...] | None:
            return _decode(self.link.client.getex(_attribution_key(key), ex=TTL_SECONDS))

        return self.link.call(shared, lambda: self.local.attribution(key))

    def remember_attribution(self, key: SessionKey, values: tuple[object, ...]) -> None:
        if key in self._fetched and self._fetched.pop(key) is not None:
            return  # the session has its attribution already: NX would change nothing
        raw = msgspec.json.encode(values).decode()
        self.link.call(
            # NX: the first event with a signal wins, on whichever node it landed.
            lambda: self.link.client.set(_attribution_key(key), raw, nx=True, ex=TTL_SECONDS),
            lambda: self.local.remember_attribution(key, values),
        )

    def restore(self, tails: list[SessionTail]) -> None:
        """Nothing to rebuild: Redis outlives the node (and this node's store holds only its
        own share of the visitors)."""

    def restore_attributions(self, rows: list[tuple[SessionKey, tuple[object, ...]]]) -> None:
        """See `restore`."""


def _decode(raw: str | None) -> tuple[object, ...] | None:
    return tuple(msgspec.json.decode(raw)) if raw else None


def _attribution_key(key: SessionKey) -> str:
    project_id, env, session_id = key
    return f"ff:attr:{project_id}:{env}:{session_id}"


class RedisSightings:
    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self.local = MemorySightings()

    @staticmethod
    def _key(key: SightingKey) -> str:
        project_id, env, names, prop = key
        return f"ff:seen:{project_id}:{env}:{','.join(names)}:{prop}"

    def known(self, key: SightingKey) -> bool:
        return self.link.call(
            lambda: bool(self.link.client.sismember(self._key(key), _SEEDED)),
            lambda: self.local.known(key),
        )

    def seed(self, key: SightingKey, values: set[str]) -> None:
        self.local.seed(key, values)
        self.link.call(lambda: self.link.client.sadd(self._key(key), _SEEDED, *values), lambda: 0)

    def sight(self, key: SightingKey, value: str) -> bool:
        return self.link.call(
            lambda: bool(self.link.client.sadd(self._key(key), value) == 1),
            lambda: self.local.sight(key, value),
        )


class RedisLimiter:
    """Token buckets in Redis: every node takes from the same bucket, atomically."""

    def __init__(self, link: RedisLink, enabled: bool = True) -> None:
        self.link = link
        self.enabled = enabled
        self.local = RateLimiter(enabled)
        self._take = link.client.register_script(_TAKE)

    def check(self, project_id: str, route: str, limit: Limit | None) -> float:
        if not self.enabled or limit is None:
            return 0.0
        key = f"ff:bucket:{project_id}:{route}:{limit.rate}/{limit.burst}"
        return self.link.call(
            lambda: float(self._take(keys=[key], args=[limit.rate, limit.burst])),
            lambda: self.local.check(project_id, route, limit),
        )


class RedisLoginLimiter:
    """`LoginLimiter` in Redis: the client IP's bucket, then the subject's, in one call of the
    rate limits' script, which stops at the IP's refusal (so it makes no subject bucket).
    Always on, like the in-process one: `FOOTFALL_RATE_LIMITS` is about ingestion."""

    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self.local = LoginLimiter()
        self._take = link.client.register_script(_TAKE)
        self._args = [PER_IP.rate, PER_IP.burst, PER_EMAIL.rate, PER_EMAIL.burst]

    @staticmethod
    def key(kind: str, name: str) -> str:
        # Hashed: what people type into the e-mail field (a password, at times) is not kept in
        # the clear in Redis, whose keys `MONITOR` or a dump show to whoever runs the cache.
        digest = hashlib.sha256(f"{kind}\x00{name}".encode()).hexdigest()[:32]
        return f"ff:login:{digest}"

    def wait(self, ip: str | None, subject: str, kind: str = "email") -> float:
        """See `state.Logins.wait`."""
        keys = [self.key("ip", ip or "?"), self.key(kind, subject)]
        return self.link.call(
            lambda: float(self._take(keys=keys, args=self._args)),
            lambda: self.local.wait(ip, subject, kind),
        )


def open_redis_state(url: str, rate_limits: bool = True) -> HotState:
    link = RedisLink(url)
    try:
        link.check()
    except StateUnavailable:
        link.close()
        raise
    logins = RedisLoginLimiter(link)
    LOGINS.shared = logins

    def close() -> None:
        if LOGINS.shared is logins:
            LOGINS.shared = None
        link.close()

    return HotState(
        visitors=RedisVisitors(link),
        sightings=RedisSightings(link),
        limiter=RedisLimiter(link, rate_limits),
        shared=True,
        on_close=close,
        status=lambda: "redis" if link.available else "fallback",
        fallbacks=lambda: link.fallbacks,
    )
